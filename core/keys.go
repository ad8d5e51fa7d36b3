package core

import (
	"github.com/bearerkit/bearerkit/internal/jose"

	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"

	gojose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/json"

	"github.com/bearerkit/bearerkit/internal/safetext"
)

// RSA moduli outside [minRSABits, maxRSABits] are skipped: small ones are
// forgeable, huge ones make every verification a denial-of-service lever.
const (
	// maxKidLength bounds key ids: a longer one could never match a token
	// under the size limit, and only costs memory.
	maxKidLength = 1024
	minRSABits   = 2048
	maxRSABits   = 4096
)

// verificationKey is one usable public key of a key set, parsed and
// validated once when the set is loaded.
type verificationKey struct {
	kid   string
	algs  jose.AlgSet // the algorithms this key may verify
	pub   crypto.PublicKey
	index int // position in the set, for deterministic ordering
}

// jwkMeta holds the JWK members that decide whether a key is usable, read
// before go-jose parses the key material itself.
type jwkMeta struct {
	Kty    *string         `json:"kty"`
	Kid    json.RawMessage `json:"kid"`
	Alg    *string         `json:"alg"`
	Use    *string         `json:"use"`
	KeyOps []string        `json:"key_ops"`
	Crv    string          `json:"crv"`
	// Private or symmetric material: a JWKS that publishes any of these is
	// leaking secrets, and the key is refused.
	D    json.RawMessage `json:"d"`
	P    json.RawMessage `json:"p"`
	Q    json.RawMessage `json:"q"`
	DP   json.RawMessage `json:"dp"`
	DQ   json.RawMessage `json:"dq"`
	QI   json.RawMessage `json:"qi"`
	Oth  json.RawMessage `json:"oth"`
	K    json.RawMessage `json:"k"`
	Priv json.RawMessage `json:"priv"`
}

// errPrivateKey marks keys that carry secret material; they are logged at
// warning level.
var errPrivateKey = errors.New("key carries private or symmetric material")

// parseJWK turns one JWKS entry into a verification key, or explains why
// the entry is unusable. Unusable entries are skipped, never fatal.
func parseJWK(raw []byte) (*verificationKey, string, error) {
	var meta jwkMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, "", errors.New("not a JWK object")
	}
	var kid string
	if len(meta.Kid) > 0 && string(meta.Kid) != "null" {
		if err := json.Unmarshal(meta.Kid, &kid); err != nil {
			return nil, "", errors.New("kid is not a string")
		}
	}
	if len(kid) > maxKidLength {
		return nil, "", fmt.Errorf("kid longer than %d bytes", maxKidLength)
	}
	if meta.Kty != nil && *meta.Kty == "oct" {
		return nil, kid, errPrivateKey
	}
	for _, m := range []json.RawMessage{meta.D, meta.P, meta.Q, meta.DP, meta.DQ, meta.QI, meta.Oth, meta.K, meta.Priv} {
		if m != nil {
			return nil, kid, errPrivateKey
		}
	}
	if meta.Kty == nil {
		return nil, kid, errors.New("kty missing")
	}
	if meta.Use != nil && *meta.Use != "sig" {
		return nil, kid, fmt.Errorf("use %q is not sig", truncate(*meta.Use, 16))
	}
	if meta.KeyOps != nil && !contains(meta.KeyOps, "verify") {
		return nil, kid, errors.New("key_ops lacks verify")
	}
	var jwkAlg jose.Alg
	if meta.Alg != nil {
		a, ok := jose.AlgByName(*meta.Alg)
		if !ok {
			return nil, kid, fmt.Errorf("alg %q is not supported", truncate(*meta.Alg, 16))
		}
		jwkAlg = a
	}

	var k gojose.JSONWebKey
	if err := k.UnmarshalJSON(raw); err != nil {
		return nil, kid, fmt.Errorf("invalid key material: %w", err)
	}
	if !k.Valid() || !k.IsPublic() {
		return nil, kid, errors.New("invalid key material")
	}
	var algs jose.AlgSet
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		if *meta.Kty != "RSA" {
			return nil, kid, errors.New("kty does not match the key")
		}
		bits := pub.N.BitLen()
		if bits < minRSABits || bits > maxRSABits {
			return nil, kid, fmt.Errorf("RSA key of %d bits", bits)
		}
		if pub.E < 3 || pub.E%2 == 0 {
			return nil, kid, errors.New("RSA exponent is not an odd number of at least 3")
		}
		algs = jose.RSAAlgs
	case *ecdsa.PublicKey:
		if *meta.Kty != "EC" {
			return nil, kid, errors.New("kty does not match the key")
		}
		switch pub.Curve {
		case elliptic.P256():
			algs = 1 << jose.ES256
		case elliptic.P384():
			algs = 1 << jose.ES384
		case elliptic.P521():
			algs = 1 << jose.ES512
		default:
			return nil, kid, errors.New("unsupported curve")
		}
	case ed25519.PublicKey:
		if *meta.Kty != "OKP" || meta.Crv != "Ed25519" {
			return nil, kid, errors.New("kty does not match the key")
		}
		algs = jose.Ed25519Algs
	default:
		return nil, kid, errors.New("unsupported key type")
	}
	if jwkAlg != 0 {
		// RFC 7517 §4.4: a key that names its algorithm is used with no other.
		if !algs.Has(jwkAlg) {
			return nil, kid, errors.New("alg does not fit the key type")
		}
		algs = 1 << jwkAlg
	}
	return &verificationKey{kid: kid, algs: algs, pub: k.Key}, kid, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// truncate shortens s for logs and makes it safe to print.
func truncate(s string, n int) string { return safetext.Truncate(s, n) }
