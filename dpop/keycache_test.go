package dpop

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/bearerkit/bearerkit/internal/jose"
)

func okpJWK(pub ed25519.PublicKey) []byte {
	return []byte(`{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`)
}

// The cache answers as parsing does, keeps no refused key, and stays
// within its bound however many keys come by.
func TestKeyCache(t *testing.T) {
	var c keyCache
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	want, err := Thumbprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		key, jkt, err := c.key(okpJWK(pub))
		if err != nil || jkt != want || key.algs != jose.Ed25519Algs {
			t.Fatalf("lookup %d: %q, %v", i, jkt, err)
		}
	}
	private := []byte(`{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `","d":"AAAA"}`)
	for i := range 2 {
		if _, _, err := c.key(private); err != errKeyPrivate {
			t.Fatalf("private jwk, lookup %d: %v", i, err)
		}
	}
	for range keyCacheEntries + 100 {
		p, _, _ := ed25519.GenerateKey(rand.Reader)
		if _, _, err := c.key(okpJWK(p)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.m); n != keyCacheEntries {
		t.Errorf("%d entries, want the bound %d", n, keyCacheEntries)
	}
	small := okpJWK(pub)
	big := append(small[:len(small)-1:len(small)-1], `,"pad":"`+base64.RawURLEncoding.EncodeToString(make([]byte, keyCacheMaxJWK))+`"}`...)
	if _, jkt, err := c.key(big); err != nil || jkt != want {
		t.Fatalf("large jwk: %q, %v", jkt, err)
	}
	if _, ok := c.m[string(big)]; ok {
		t.Error("a jwk over the size limit was kept")
	}
}
