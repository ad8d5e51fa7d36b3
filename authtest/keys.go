package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // registers crypto.SHA256
	_ "crypto/sha512" // registers crypto.SHA384 and SHA512
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// Key is a signing key of the test server.
type Key struct {
	// ID is the kid published in the JWKS and put in minted token headers.
	ID string
	// Alg is the JWS algorithm the key signs with: RS256/384/512,
	// PS256/384/512, ES256/384/512, EdDSA or Ed25519 (RFC 9864).
	Alg string
	// Private is an *rsa.PrivateKey, *ecdsa.PrivateKey or
	// ed25519.PrivateKey.
	Private crypto.Signer
	// HideAlg publishes the key without an "alg" member, as many servers do.
	HideAlg bool
}

// NewKey generates a key for alg with a random key id. RSA keys have 2048
// bits.
func NewKey(alg string) (*Key, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA", "Ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("authtest: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, err
	}
	return &Key{ID: randomID(), Alg: alg, Private: priv}, nil
}

// Public returns the public half of the key.
func (k *Key) Public() crypto.PublicKey { return k.Private.Public() }

// JWK returns the public key as a JWK (RFC 7517) with use "sig".
func (k *Key) JWK() json.RawMessage {
	jwk := jose.JSONWebKey{Key: k.Public(), KeyID: k.ID, Use: "sig"}
	if !k.HideAlg {
		jwk.Algorithm = k.Alg
	}
	b, err := jwk.MarshalJSON()
	if err != nil {
		panic("authtest: cannot encode key: " + err.Error())
	}
	return b
}

// Sign returns the JWS signature of input (RFC 7518 §3) made with the key's
// private half under its Alg.
func (k *Key) Sign(input []byte) ([]byte, error) {
	h, ok := hashFor(k.Alg)
	var digest []byte
	if ok {
		hh := h.New()
		hh.Write(input)
		digest = hh.Sum(nil)
	}
	switch priv := k.Private.(type) {
	case *rsa.PrivateKey:
		if k.Alg[0] == 'P' {
			return rsa.SignPSS(rand.Reader, priv, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.SignPKCS1v15(rand.Reader, priv, h, digest)
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, priv, digest)
		if err != nil {
			return nil, err
		}
		size := (priv.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig, nil
	case ed25519.PrivateKey:
		return ed25519.Sign(priv, input), nil
	}
	return nil, fmt.Errorf("authtest: unsupported private key %T", k.Private)
}

func hashFor(alg string) (crypto.Hash, bool) {
	switch alg[len(alg)-3:] {
	case "256":
		return crypto.SHA256, true
	case "384":
		return crypto.SHA384, true
	case "512":
		return crypto.SHA512, true
	}
	return 0, false
}

// SignRaw builds a compact JWS from exact header and payload bytes, signed
// with k. Tests use it for tokens whose JSON must be spelled a particular
// way (duplicate members, odd whitespace, wrong types).
func SignRaw(k *Key, header, payload []byte) (string, error) {
	input := b64(header) + "." + b64(payload)
	sig, err := k.Sign([]byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewKeyID returns a random key id.
func NewKeyID() string { return randomID() }
