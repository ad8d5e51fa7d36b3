package dpop

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/bearerkit/bearerkit/internal/jose"
)

// Defaults and bounds of [Config].
const (
	defaultMaxAge        = 60 * time.Second
	defaultLeeway        = 5 * time.Second
	defaultMaxProofSize  = 8 << 10
	defaultReplayEntries = 100_000
	maxWindow            = 10 * time.Minute
	maxProofSize         = 64 << 10
)

// defaultAlgorithms is the allow-list used when Config.Algorithms is nil:
// every asymmetric algorithm clients commonly sign proofs with.
var defaultAlgorithms = []string{"ES256", "ES384", "ES512", "EdDSA", "Ed25519", "RS256", "PS256"}

// Config configures a [Verifier]. The zero value is usable: every field
// has a documented default.
type Config struct {
	// Algorithms is the allow-list of proof algorithms. nil means ES256,
	// ES384, ES512, EdDSA, Ed25519 (RFC 9864), RS256 and PS256. Only asymmetric algorithms exist here: naming
	// none, any HS*, an unknown algorithm or none at all (an empty,
	// non-nil list) is a configuration error.
	Algorithms []string
	// MaxAge is how old a proof's iat may be. 0 means 60 s; at most 10 min.
	MaxAge time.Duration
	// Leeway is how far in the future a proof's iat may lie, for clients
	// whose clocks run ahead. 0 means 5 s; at most 10 min.
	Leeway time.Duration
	// Replay remembers the jti of each accepted proof for the time it could
	// be accepted (RFC 9449 §11.1). nil means a [MemoryStore] of 100,000
	// entries on this Verifier's clock. Replicas
	// behind one load balancer must share a store (see the redisstore
	// module), or a proof can be replayed against each of them once.
	Replay ReplayStore
	// Nonces, when set, makes every proof carry a server nonce (§9).
	Nonces *Nonces
	// MaxProofSize bounds a proof in bytes, checked before any decoding.
	// 0 means 8 KiB; at most 64 KiB.
	MaxProofSize int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Verifier checks DPoP proofs (RFC 9449 §4.3) for a resource server or an
// authorization server. It is safe for concurrent use.
type Verifier struct {
	algs     []string
	allowed  jose.AlgSet
	maxAge   time.Duration
	leeway   time.Duration
	replay   ReplayStore
	nonces   *Nonces
	maxSize  int
	now      func() time.Time
	checkSig func(a jose.Alg, key crypto.PublicKey, input string, sig []byte) bool
	keys     keyCache
}

// NewVerifier checks cfg and returns a Verifier. It does no I/O.
func NewVerifier(cfg Config) (*Verifier, error) {
	v := &Verifier{
		maxAge:   cfg.MaxAge,
		leeway:   cfg.Leeway,
		replay:   cfg.Replay,
		nonces:   cfg.Nonces,
		maxSize:  cfg.MaxProofSize,
		now:      cfg.Now,
		checkSig: jose.VerifySignature,
	}
	names := cfg.Algorithms
	if names == nil {
		names = defaultAlgorithms
	}
	if len(names) == 0 {
		return nil, errors.New("dpop: Config.Algorithms is empty")
	}
	for _, name := range names {
		if strings.EqualFold(name, "none") || len(name) >= 2 && strings.EqualFold(name[:2], "HS") {
			return nil, fmt.Errorf("dpop: algorithm %q is never allowed: proofs need an asymmetric key", name)
		}
		a, ok := jose.AlgByName(name)
		if !ok {
			return nil, fmt.Errorf("dpop: unsupported algorithm %q", name)
		}
		if !v.allowed.Has(a) {
			v.allowed |= 1 << a
			v.algs = append(v.algs, name)
		}
	}
	switch {
	case v.maxAge < 0 || v.maxAge > maxWindow:
		return nil, fmt.Errorf("dpop: Config.MaxAge must lie in [0, %v]", maxWindow)
	case v.maxAge == 0:
		v.maxAge = defaultMaxAge
	}
	switch {
	case v.leeway < 0 || v.leeway > maxWindow:
		return nil, fmt.Errorf("dpop: Config.Leeway must lie in [0, %v]", maxWindow)
	case v.leeway == 0:
		v.leeway = defaultLeeway
	}
	switch {
	case v.maxSize < 0 || v.maxSize > maxProofSize:
		return nil, fmt.Errorf("dpop: Config.MaxProofSize must lie in [0, %d]", maxProofSize)
	case v.maxSize == 0:
		v.maxSize = defaultMaxProofSize
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.replay == nil {
		v.replay = newMemoryStore(defaultReplayEntries, v.now)
	}
	return v, nil
}

// Algorithms returns the allow-list, for the algs parameter of DPoP
// challenges (RFC 9449 §7.1) and dpop_signing_alg_values_supported.
func (v *Verifier) Algorithms() []string {
	return append([]string(nil), v.algs...)
}

// Request is what a proof must match.
type Request struct {
	// Method is the HTTP method, compared exactly with htm.
	Method string
	// URL is the request's external URL: scheme, host and path as the
	// client addressed them. Behind a proxy, build it from configuration,
	// never from forwarded headers a client can set. Query and fragment
	// are ignored.
	URL *url.URL
	// AccessToken, when set, must be hashed in the proof's ath claim:
	// base64url(SHA-256(AccessToken)) (§4.2, §4.3 check 11). Leave it
	// empty at a token endpoint.
	AccessToken string
	// JKT, when set, must equal the proof key's RFC 7638 thumbprint: the
	// cnf.jkt of a DPoP-bound token (§6.1), or a dpop_jkt (§10).
	JKT string
	// Check, when set, is called once the proof is otherwise valid (its
	// signature and nonce included) and before the replay store is
	// written, with the proof key's thumbprint. Its error refuses the
	// proof and is returned unchanged. A resource server verifies the
	// access token here, bound to that thumbprint, so that only proofs
	// that come with a valid token take a place in the replay store: a
	// client with keys of its own and no token cannot fill it.
	Check func(jkt string) error
}

// Proof is what a verified proof proved.
type Proof struct {
	JKT      string // base64url SHA-256 RFC 7638 thumbprint of the proof key
	ID       string // jti
	IssuedAt time.Time
}

// Verify checks one DPoP header value for req and returns what it proved.
// Cheap checks run first: the size, before any decoding; the shape,
// encoding and JSON of both parts, before any key is read; the header and
// claims, before the signature. A proof is remembered in the replay store
// only once everything else has passed. Errors match [ErrInvalidProof],
// [ErrUseNonce] or [ErrReplayStore].
func (v *Verifier) Verify(ctx context.Context, proof string, req Request) (*Proof, error) {
	if req.Method == "" {
		return nil, errRequestMeth
	}
	target, ok := requestTarget(req.URL)
	if !ok {
		return nil, errRequestURL
	}
	if len(proof) > v.maxSize {
		return nil, errOversize
	}
	dot1, dot2, err := jose.SplitCompact(proof)
	if err != nil {
		return nil, errMalformed
	}
	segs := jose.NewSegments(proof, dot1, dot2)
	header, okh := segs.Header()
	payload, sig, okb := segs.Body()
	if !okh || !okb {
		return nil, errMalformed
	}
	var hbuf, pbuf [8]jose.Member
	hm, err := jose.ScanObject(header, hbuf[:0])
	if err != nil {
		return nil, errMalformed
	}
	pm, err := jose.ScanObject(payload, pbuf[:0])
	if err != nil {
		return nil, errMalformed
	}

	h, err := readHeader(hm, v.allowed)
	if err != nil {
		return nil, err
	}
	c, err := readClaims(pm)
	if err != nil {
		return nil, err
	}
	if c.htm != req.Method {
		return nil, errMethod
	}
	if got, ok := htuTarget(c.htu); !ok || got != target {
		return nil, errURL
	}
	now := v.now()
	if c.iat.Before(now.Add(-v.maxAge)) || c.iat.After(now.Add(v.leeway)) {
		return nil, errIssuedAt
	}
	if req.AccessToken != "" && (!c.hasAth || !equal(c.ath, tokenHash(req.AccessToken))) {
		return nil, errTokenHash
	}
	key, jkt, cached, err := v.keys.key(h.jwk)
	if err != nil {
		return nil, err
	}
	if !key.algs.Has(h.alg) {
		return nil, errKeyAlg
	}
	if req.JKT != "" && !equal(jkt, req.JKT) {
		return nil, errThumbprint
	}

	if !v.checkSig(h.alg, key.pub, proof[:dot2], sig) {
		return nil, errSignature
	}
	if !cached {
		v.keys.keep(h.jwk, key, jkt)
	}

	if v.nonces != nil && (!c.hasNonce || !v.nonces.Valid(c.nonce)) {
		return nil, &Error{Reason: reasonNonce, Nonce: v.nonces.Current()}
	}
	if req.Check != nil {
		if err := req.Check(jkt); err != nil {
			return nil, err
		}
	}
	fresh, err := v.replay.Remember(ctx, replayKey(jkt, c.jti), c.iat.Add(v.maxAge+v.leeway))
	if err != nil {
		return nil, &Error{Reason: reasonReplayStore, Cause: err}
	}
	if !fresh {
		return nil, errReplayed
	}
	return &Proof{JKT: jkt, ID: c.jti, IssuedAt: c.iat}, nil
}

// tokenHash is the ath of an access token (§4.2): the base64url SHA-256
// hash of its ASCII bytes.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// replayKey names a proof in the replay store: a fixed-length hash of the
// proof key's thumbprint and the jti, so that keys stay small whatever the
// jti, and two clients cannot collide by choosing the same jti. The
// thumbprint has a fixed length, so the concatenation is unambiguous.
func replayKey(jkt, jti string) string {
	h := sha256.New()
	h.Write([]byte(jkt))
	h.Write([]byte(jti))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
