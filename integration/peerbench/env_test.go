package peerbench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
)

// The request every verifier checks: a token for this audience carrying
// this scope, with this clock-skew tolerance where a library lets it be set.
const (
	audience = "orders-api"
	scope    = "orders:read"
	leeway   = 30 * time.Second
)

// algorithms are the signing algorithms compared.
var algorithms = []string{"RS256", "PS256", "ES256", "EdDSA"}

// offListAlg signs a key that every issuer publishes but no verifier
// allows, so that each allow-list is seen to work.
const offListAlg = "ES384"

// env is an issuer for one algorithm, the token every library verifies,
// and tokens every library must refuse.
type env struct {
	alg   string
	srv   *authtest.Server
	token string
	bad   []badToken
}

type badToken struct {
	name  string
	token string
}

// newEnv starts an issuer signing with alg and mints the tokens. The
// issuer is closed when tb's test ends.
func newEnv(tb testing.TB, alg string) *env {
	tb.Helper()
	srv := authtest.NewServer(authtest.WithAlgorithm(alg))
	tb.Cleanup(srv.Close)
	offList, err := srv.AddKey(offListAlg)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{alg: alg, srv: srv, token: srv.Token(audience, scope)}

	now := time.Now()
	variant := func(change func(map[string]any)) string {
		c := srv.Claims(audience, scope)
		change(c)
		tok, err := srv.Mint(c)
		if err != nil {
			tb.Fatal(err)
		}
		return tok
	}
	offListToken, err := srv.MintWith(offList, nil, srv.Claims(audience, scope))
	if err != nil {
		tb.Fatal(err)
	}
	good := strings.Split(e.token, ".")
	other := strings.Split(srv.Token(audience, scope, "orders:write"), ".")
	sig, err := base64.RawURLEncoding.DecodeString(good[2])
	if err != nil {
		tb.Fatal(err)
	}
	sig[len(sig)/2] ^= 1
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + good[1] + "."

	e.bad = []badToken{
		{"wrong-aud", variant(func(c map[string]any) { c["aud"] = "billing-api" })},
		{"wrong-iss", variant(func(c map[string]any) { c["iss"] = "https://issuer.invalid" })},
		{"expired", variant(func(c map[string]any) {
			c["iat"] = now.Add(-2 * time.Hour).Unix()
			c["exp"] = now.Add(-time.Hour).Unix()
		})},
		{"not-yet-valid", variant(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })},
		{"no-exp", variant(func(c map[string]any) { delete(c, "exp") })},
		{"tampered-payload", good[0] + "." + other[1] + "." + good[2]},
		{"tampered-signature", good[0] + "." + good[1] + "." + base64.RawURLEncoding.EncodeToString(sig)},
		{"alg-none", unsigned},
		{"alg-off-list", offListToken},
	}
	return e
}

// floor returns the bare signature check of token under alg with the
// standard library: no parsing beyond splitting off the signature, no
// claims, no key lookup.
func floor(tb testing.TB, alg string, key crypto.PublicKey, token string) func() bool {
	tb.Helper()
	dot := strings.LastIndexByte(token, '.')
	input := []byte(token[:dot])
	sig, err := base64.RawURLEncoding.DecodeString(token[dot+1:])
	if err != nil {
		tb.Fatal(err)
	}
	switch alg {
	case "RS256":
		pub := key.(*rsa.PublicKey)
		return func() bool {
			d := sha256.Sum256(input)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig) == nil
		}
	case "PS256":
		pub := key.(*rsa.PublicKey)
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
		return func() bool {
			d := sha256.Sum256(input)
			return rsa.VerifyPSS(pub, crypto.SHA256, d[:], sig, opts) == nil
		}
	case "ES256":
		pub := key.(*ecdsa.PublicKey)
		if len(sig) != 64 {
			return func() bool { return false }
		}
		return func() bool {
			d := sha256.Sum256(input)
			r := new(big.Int).SetBytes(sig[:32])
			s := new(big.Int).SetBytes(sig[32:])
			return ecdsa.Verify(pub, d[:], r, s)
		}
	case "EdDSA":
		pub := key.(ed25519.PublicKey)
		return func() bool { return ed25519.Verify(pub, input, sig) }
	}
	tb.Fatalf("no floor for %s", alg)
	return nil
}
