package core_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/dpop"
)

// uniqueStore is a MemoryStore whose every write has a key of its own, so
// that one proof can be sent again and again while each request still
// pays for a real write to the store.
type uniqueStore struct {
	mem *dpop.MemoryStore
	n   atomic.Int64
}

func (s *uniqueStore) Remember(ctx context.Context, key string, expiry time.Time) (bool, error) {
	return s.mem.Remember(ctx, key+strconv.FormatInt(s.n.Add(1), 36), expiry)
}

// BenchmarkDPoP measures a DPoP request through core.Authenticate (ES256
// token, ES256 proof) against the bare signature checks it needs,
// measured on the same token and proof in the same run:
//
//	floor/two-signatures    the token's and the proof's signature checks
//	floor/proof+store       the proof's signature check and a replay-store write
//	first-seen              token cache off: proof and token checked in full
//	cached                  token cache on: the proof checked, the token a cache hit
//	bearer/first-seen       the same token as a bearer token, for the overhead
func BenchmarkDPoP(b *testing.B) {
	e := newBenchEnv(b, "ES256", -1)
	cached := newBenchEnv(b, "ES256", 0)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := dpop.NewSigner(key)
	if err != nil {
		b.Fatal(err)
	}
	store := &uniqueStore{mem: dpop.NewMemoryStore(1 << 20)}
	dv, err := dpop.NewVerifier(dpop.Config{Replay: store, MaxAge: 10 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	const target = "http://api.example/orders"
	request := func(srvToken string) *http.Request {
		proof, err := signer.Proof(http.MethodGet, target, srvToken, "")
		if err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Authorization", "DPoP "+srvToken)
		r.Header.Set("DPoP", proof)
		return r
	}
	opts := core.Options{DPoP: &core.DPoP{Verifier: dv, ExternalURL: &url.URL{Scheme: "http", Host: "api.example"}}}
	ctx := context.Background()

	b.Run("floor/two-signatures", func(b *testing.B) {
		tok := e.srv.DPoPToken(signer.Thumbprint(), "orders-api")
		checkToken := floor(b, "ES256", e.srv.SigningKey().Public(), tok)
		checkProof := floor(b, "ES256", key.Public(), request(tok).Header.Get("DPoP"))
		b.ReportAllocs()
		for b.Loop() {
			if !checkToken() || !checkProof() {
				b.Fatal("floor check failed")
			}
		}
	})
	b.Run("floor/proof+store", func(b *testing.B) {
		tok := e.srv.DPoPToken(signer.Thumbprint(), "orders-api")
		checkProof := floor(b, "ES256", key.Public(), request(tok).Header.Get("DPoP"))
		exp := time.Now().Add(time.Minute)
		b.ReportAllocs()
		for b.Loop() {
			if !checkProof() {
				b.Fatal("floor check failed")
			}
			if fresh, err := store.Remember(ctx, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG", exp); !fresh || err != nil {
				b.Fatal("store refused")
			}
		}
	})
	run := func(name string, env *benchEnv) {
		b.Run(name, func(b *testing.B) {
			r := request(env.srv.DPoPToken(signer.Thumbprint(), "orders-api"))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := core.Authenticate(env.v, r, opts, "orders-api"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("proof-only", func(b *testing.B) {
		tok := e.srv.DPoPToken(signer.Thumbprint(), "orders-api")
		r := request(tok)
		u, _ := url.Parse(target)
		req := dpop.Request{Method: http.MethodGet, URL: u, AccessToken: tok}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := dv.Verify(ctx, r.Header.Get("DPoP"), req); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("first-seen", e)
	run("cached", cached)
	b.Run("bearer/first-seen", func(b *testing.B) {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Authorization", "Bearer "+e.token)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := core.Authenticate(e.v, r, opts, "orders-api"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
