package dpop

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/bearerkit/bearerkit/internal/jose"
)

func okpJWK(pub ed25519.PublicKey) []byte {
	return []byte(`{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`)
}

// The cache answers as parsing does, holds only what it was told to keep,
// and stays within its bound however many keys come by.
func TestKeyCache(t *testing.T) {
	var c keyCache
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	want, err := Thumbprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	key, jkt, cached, err := c.key(okpJWK(pub))
	if err != nil || jkt != want || key.algs != jose.Ed25519Algs || cached {
		t.Fatalf("first lookup: %q, %v, cached %v", jkt, err, cached)
	}
	if _, _, cached, _ := c.key(okpJWK(pub)); cached {
		t.Fatal("kept before keep")
	}
	c.keep(okpJWK(pub), key, jkt)
	if k, j, cached, err := c.key(okpJWK(pub)); err != nil || !cached || k != key || j != want {
		t.Fatalf("after keep: %q, %v, cached %v", j, err, cached)
	}
	private := []byte(`{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `","d":"AAAA"}`)
	if _, _, _, err := c.key(private); err != errKeyPrivate {
		t.Fatalf("private jwk: %v", err)
	}
	for range keyCacheEntries + 100 {
		p, _, _ := ed25519.GenerateKey(rand.Reader)
		k, j, _, err := c.key(okpJWK(p))
		if err != nil {
			t.Fatal(err)
		}
		c.keep(okpJWK(p), k, j)
	}
	if n := len(c.m); n != keyCacheEntries {
		t.Errorf("%d entries, want the bound %d", n, keyCacheEntries)
	}
	small := okpJWK(pub)
	big := append(small[:len(small)-1:len(small)-1], `,"pad":"`+base64.RawURLEncoding.EncodeToString(make([]byte, keyCacheMaxJWK))+`"}`...)
	k, j, _, err := c.key(big)
	if err != nil || j != want {
		t.Fatalf("large jwk: %q, %v", j, err)
	}
	c.keep(big, k, j)
	if _, ok := c.m[string(big)]; ok {
		t.Error("a jwk over the size limit was kept")
	}
}

// A proof whose signature fails leaves its key out of the cache.
func TestKeyCacheKeepsOnlyVerifiedKeys(t *testing.T) {
	v, err := NewVerifier(Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	u := &url.URL{Scheme: "https", Host: "api.example", Path: "/"}
	proof, err := s.Proof("GET", u.String(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	forged := proof[:strings.LastIndexByte(proof, '.')+1] + base64.RawURLEncoding.EncodeToString(make([]byte, ed25519.SignatureSize))
	if _, err := v.Verify(t.Context(), forged, Request{Method: "GET", URL: u}); err == nil {
		t.Fatal("forged proof accepted")
	}
	if len(v.keys.m) != 0 {
		t.Fatal("a forged proof's key was kept")
	}
	if _, err := v.Verify(t.Context(), proof, Request{Method: "GET", URL: u}); err != nil {
		t.Fatal(err)
	}
	if len(v.keys.m) != 1 {
		t.Errorf("%d keys kept after a verified proof, want 1", len(v.keys.m))
	}
}
