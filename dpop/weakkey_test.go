package dpop_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"math/big"
	"strconv"
	"testing"

	"github.com/bearerkit/bearerkit/dpop"
)

// weakKey is an Ed25519 public key encoding that must be refused.
type weakKey struct {
	enc []byte
	// canonical: y < p and x positive, an encoding every decoder takes.
	canonical bool
}

// smallOrderKeys are the Ed25519 public keys of small order (y with either
// sign bit) and non-canonical encodings (y >= p).
func smallOrderKeys() map[string]weakKey {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	y8 := "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
	le := func(n *big.Int) []byte { // 32-byte little-endian
		b := n.FillBytes(make([]byte, 32))
		for i, j := 0, 31; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return b
	}
	fromLE := func(b []byte) *big.Int {
		r := make([]byte, 32)
		for i := range b {
			r[31-i] = b[i]
		}
		return new(big.Int).SetBytes(r)
	}
	y8n := fromLE(must(hex.DecodeString(y8)))
	ys := map[string]*big.Int{
		"y=0 (order 4)":    big.NewInt(0),
		"y=1 (identity)":   big.NewInt(1),
		"y=p-1 (order 2)":  new(big.Int).Sub(p, big.NewInt(1)),
		"y8 (order 8)":     y8n,
		"p-y8 (order 8)":   new(big.Int).Sub(p, y8n),
		"y=p (y=0 again)":  new(big.Int).Set(p),
		"y=p+1 (identity)": new(big.Int).Add(p, big.NewInt(1)),
		"y=2^255-1":        new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1)),
	}
	keys := map[string]weakKey{}
	for name, y := range ys {
		enc := le(y)
		keys[name] = weakKey{enc: enc, canonical: y.Cmp(p) < 0}
		signed := append([]byte(nil), enc...)
		signed[31] |= 0x80
		keys[name+", x negative"] = weakKey{enc: signed}
	}
	return keys
}

// A proof with a small-order Ed25519 key proves possession of nothing: its
// forged signature (R = identity, S = 0) verifies for a share of all
// messages, and for every message under the identity. Such keys are
// refused as keys, before the signature is looked at.
func TestL1SmallOrderEd25519Key(t *testing.T) {
	identity := must(hex.DecodeString("0100000000000000000000000000000000000000000000000000000000000000"))
	forged := append(append([]byte(nil), identity...), make([]byte, 32)...)
	// The list is right: every small-order key among them lets the forged
	// signature through ed25519.Verify for some message.
	for name, key := range smallOrderKeys() {
		if !key.canonical {
			continue // not every decoder takes them
		}
		ok := false
		for i := 0; i < 64 && !ok; i++ {
			ok = ed25519.Verify(key.enc, []byte(strconv.Itoa(i)), forged)
		}
		if !ok {
			t.Errorf("%s: not of small order, the test's list is wrong", name)
		}
	}

	c := &clock{}
	v := newVerifier(t, c, dpop.Config{})
	for name, key := range smallOrderKeys() {
		t.Run(name, func(t *testing.T) {
			hdr := `{"typ":"dpop+jwt","alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"` + b64.EncodeToString(key.enc) + `"}}`
			input := b64.EncodeToString([]byte(hdr)) + "." + b64.EncodeToString([]byte(claims(c.Now(), "")))
			_, err := v.Verify(t.Context(), input+"."+b64.EncodeToString(forged), testRequest())
			wantReason(t, err, dpop.ErrInvalidProof, "jwk")
		})
	}
	// An ordinary key still works.
	ed := edKey()
	if _, err := v.Verify(t.Context(), sign(t, ed, "EdDSA", header("EdDSA", ed.Public(), ""), claims(c.Now(), "")), testRequest()); err != nil {
		t.Errorf("ordinary Ed25519 key: %v", err)
	}
}
