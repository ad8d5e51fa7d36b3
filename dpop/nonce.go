package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"time"
)

// Nonces issues and checks server nonces (RFC 9449 §8, §9) without
// remembering any: a nonce is an HMAC of the number of the current period
// under a secret, so replicas sharing the secret agree, and checking one
// costs no memory however many are presented. A nonce is valid in the
// period it was issued in and the next, so a client always has at least
// one full period to use it. Nonces limit how far ahead a proof can be
// made; they do not replace the replay check on jti, which runs as well.
//
// It is safe for concurrent use.
type Nonces struct {
	key    []byte
	period time.Duration
	now    func() time.Time
	cache  atomic.Pointer[nonceWindow]
}

// nonceWindow holds the nonces of one period and the one before it.
type nonceWindow struct {
	index     int64
	cur, prev string
}

const (
	minNonceSecret = 32
	minNoncePeriod = time.Second
	// nonceBytes is the MAC length kept: 192 bits, 32 base64url characters.
	nonceBytes = 24
	nonceLen   = 32
)

// NewNonces returns nonces that rotate every period (at least 1 s; a
// minute or a few suits most servers). secret must hold at least 32
// random bytes, the same on every replica; now is the clock, nil meaning
// time.Now.
func NewNonces(secret []byte, period time.Duration, now func() time.Time) (*Nonces, error) {
	if len(secret) < minNonceSecret {
		return nil, errors.New("dpop: nonce secret shorter than 32 bytes")
	}
	if period < minNoncePeriod {
		return nil, errors.New("dpop: nonce period shorter than 1s")
	}
	if now == nil {
		now = time.Now
	}
	return &Nonces{key: append([]byte(nil), secret...), period: period, now: now}, nil
}

// Current returns the nonce of the current period, for the DPoP-Nonce
// response header.
func (n *Nonces) Current() string { return n.window().cur }

// Valid reports whether nonce was issued in the current period or the one
// before it.
func (n *Nonces) Valid(nonce string) bool {
	if len(nonce) != nonceLen {
		return false
	}
	w := n.window()
	// Both comparisons always run, in constant time.
	a := subtle.ConstantTimeCompare([]byte(nonce), []byte(w.cur))
	b := subtle.ConstantTimeCompare([]byte(nonce), []byte(w.prev))
	return a|b == 1
}

func (n *Nonces) window() *nonceWindow {
	t := n.now().UnixNano()
	p := int64(n.period)
	i := t / p
	if t%p < 0 {
		i-- // floor, for clocks before 1970
	}
	if w := n.cache.Load(); w != nil && w.index == i {
		return w
	}
	w := &nonceWindow{index: i, cur: n.mac(i), prev: n.mac(i - 1)}
	n.cache.Store(w)
	return w
}

// mac derives the nonce of period i.
func (n *Nonces) mac(i int64) string {
	h := hmac.New(sha256.New, n.key)
	var msg [len("bearerkit dpop nonce v1 ") + 8]byte
	copy(msg[:], "bearerkit dpop nonce v1 ")
	binary.BigEndian.PutUint64(msg[len(msg)-8:], uint64(i))
	h.Write(msg[:])
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:nonceBytes])
}
