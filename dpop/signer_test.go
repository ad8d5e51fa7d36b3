package dpop_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"

	"github.com/bearerkit/bearerkit/dpop"
)

// decodePart decodes one part of a proof made by this package's Signer.
func decodePart(t *testing.T, proof string, i int) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(must(b64.DecodeString(strings.Split(proof, ".")[i])), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSignerRoundTrip: proofs made with every supported key type verify,
// here and with go-jose's independent verifier, and hold what §4.2 asks.
func TestSignerRoundTrip(t *testing.T) {
	keys := []struct {
		key crypto.Signer
		alg string
	}{
		{rsaKey(), "RS256"},
		{p256Key(), "ES256"},
		{p384Key(), "ES384"},
		{p521Key(), "ES512"},
		{edKey(), "EdDSA"},
	}
	c := &clock{}
	nonces := must(dpop.NewNonces(testSecret(3), time.Minute, c.Now))
	for _, k := range keys {
		t.Run(k.alg, func(t *testing.T) {
			s := newSigner(t, c, k.key)
			proof, err := s.Proof(testMethod, testURL+"?q=1#frag", testToken, nonces.Current())
			if err != nil {
				t.Fatal(err)
			}
			req := testRequest()
			req.AccessToken, req.JKT = testToken, s.Thumbprint()
			v := newVerifier(t, c, dpop.Config{Nonces: nonces})
			p, err := v.Verify(context.Background(), proof, req)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if want := must(dpop.Thumbprint(k.key.Public())); p.JKT != want || s.Thumbprint() != want {
				t.Fatalf("jkt %s, signer %s, want %s", p.JKT, s.Thumbprint(), want)
			}

			jws, err := gojose.ParseSigned(proof, []gojose.SignatureAlgorithm{gojose.SignatureAlgorithm(k.alg)})
			if err != nil {
				t.Fatalf("go-jose cannot parse the proof: %v", err)
			}
			embedded := jws.Signatures[0].Protected.JSONWebKey
			if embedded == nil || !embedded.IsPublic() {
				t.Fatal("the jwk is missing or not public")
			}
			if _, err := jws.Verify(embedded); err != nil {
				t.Fatalf("go-jose does not verify the proof: %v", err)
			}

			h, body := decodePart(t, proof, 0), decodePart(t, proof, 1)
			if h["typ"] != "dpop+jwt" || h["alg"] != k.alg || len(h) != 3 {
				t.Fatalf("header %v", h)
			}
			ath := sha256.Sum256([]byte(testToken))
			want := map[string]any{
				"htm": testMethod, "htu": testURL, "iat": float64(t0.Unix()),
				"ath": base64.RawURLEncoding.EncodeToString(ath[:]), "nonce": nonces.Current(),
			}
			for name, value := range want {
				if body[name] != value {
					t.Errorf("%s = %v, want %v", name, body[name], value)
				}
			}
			if len(body) != 6 {
				t.Errorf("payload %v has %d members, want 6", body, len(body))
			}
		})
	}
}

// TestSignerJTI: every proof has its own jti of at least 96 random bits, and
// no ath or nonce member when none is given.
func TestSignerJTI(t *testing.T) {
	s := newSigner(t, &clock{}, edKey())
	seen := map[string]bool{}
	for range 1000 {
		body := decodePart(t, must(s.Proof("GET", testURL, "", "")), 1)
		jti, _ := body["jti"].(string)
		if len(jti) < 16 || seen[jti] {
			t.Fatalf("jti %q is short or repeated", jti)
		}
		seen[jti] = true
		if _, ok := body["ath"]; ok {
			t.Fatal("ath without an access token")
		}
		if _, ok := body["nonce"]; ok {
			t.Fatal("nonce without a nonce")
		}
	}
}

type otherSigner struct{ pub crypto.PublicKey }

func (o otherSigner) Public() crypto.PublicKey { return o.pub }
func (otherSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, nil
}

func TestNewSignerRefuses(t *testing.T) {
	p224 := must(ecdsa.GenerateKey(elliptic.P224(), rand.Reader))
	tests := []struct {
		name string
		key  crypto.Signer
	}{
		{"nil", nil},
		{"RSA 1024", rsa1024()},
		{"P-224", p224},
		{"unknown public key type", otherSigner{pub: "key"}},
		{"RSA over 4096 bits", otherSigner{pub: &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 4096), E: 65537}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dpop.NewSigner(tt.key); err == nil {
				t.Fatal("NewSigner accepted the key")
			}
		})
	}
}

func TestSignerProofArguments(t *testing.T) {
	s := newSigner(t, &clock{}, edKey())
	tests := []struct {
		name, method, url, nonce string
	}{
		{"empty method", "", testURL, ""},
		{"method with a space", "GE T", testURL, ""},
		{"relative URL", "GET", "/orders", ""},
		{"ftp URL", "GET", "ftp://api.example.com/x", ""},
		{"opaque URL", "GET", "https:api.example.com", ""},
		{"unparsable URL", "GET", "https://api.example.com/%zz", ""},
		{"nonce with a space", "GET", testURL, "a b"},
		{"nonce with a quote", "GET", testURL, `a"b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := s.Proof(tt.method, tt.url, "", tt.nonce); err == nil {
				t.Fatalf("Proof accepted the arguments: %d bytes", len(p))
			}
		})
	}
}

// TestThumbprintRFC7638: the example of RFC 7638 §3.1, and agreement with
// go-jose for every supported key type.
func TestThumbprintRFC7638(t *testing.T) {
	n := "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(must(b64.DecodeString(n))), E: 65537}
	if got := must(dpop.Thumbprint(pub)); got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("Thumbprint = %s, want the RFC's NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", got)
	}
	for _, key := range []crypto.PublicKey{&rsaKey().PublicKey, &p256Key().PublicKey, &p384Key().PublicKey, &p521Key().PublicKey, edKey().Public()} {
		jwk := gojose.JSONWebKey{Key: key}
		want := b64.EncodeToString(must(jwk.Thumbprint(crypto.SHA256)))
		if got := must(dpop.Thumbprint(key)); got != want {
			t.Errorf("Thumbprint(%T) = %s, go-jose says %s", key, got, want)
		}
	}
	for _, bad := range []crypto.PublicKey{nil, "key", p256Key(), &rsa.PublicKey{}, (*ecdsa.PublicKey)(nil)} {
		if _, err := dpop.Thumbprint(bad); err == nil {
			t.Errorf("Thumbprint(%T) succeeded", bad)
		}
	}
}
