package dpop_test

import (
	"context"
	"crypto"
	"strconv"
	"testing"

	"github.com/bearerkit/bearerkit/dpop"
)

// BenchmarkVerify measures one full verification, replay check in a
// MemoryStore included, per key type. Proofs are made before the timer
// starts, one per iteration.
func BenchmarkVerify(b *testing.B) {
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"ES256", p256Key()}, {"EdDSA", edKey()}, {"RS256", rsaKey()}} {
		b.Run(k.name, func(b *testing.B) {
			c := &clock{}
			s := newSigner(b, c, k.key)
			proofs := make([]string, b.N)
			for i := range proofs {
				proofs[i] = must(s.Proof(testMethod, testURL, testToken, ""))
			}
			v := newVerifier(b, c, dpop.Config{Replay: dpop.NewMemoryStoreWithClock(2*b.N+1024, c.Now)})
			req := testRequest()
			req.AccessToken, req.JKT = testToken, s.Thumbprint()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := v.Verify(context.Background(), proofs[i], req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyJunk measures refusing a proof with duplicate members: the
// cost an attacker can impose without a key.
func BenchmarkVerifyJunk(b *testing.B) {
	ec := p256Key()
	proof := sign(b, ec, "ES256", `{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":`+jwkJSON(&ec.PublicKey)+`}`, claims(t0, ""))
	v := newVerifier(b, &clock{}, dpop.Config{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), proof, testRequest()); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkSignerProof(b *testing.B) {
	s := newSigner(b, &clock{}, p256Key())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Proof(testMethod, testURL, testToken, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryStoreRemember(b *testing.B) {
	c := &clock{}
	m := dpop.NewMemoryStoreWithClock(200_000, c.Now) // headroom: the keys fill it to half
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			// Keys repeat: most calls find a live entry; the rest fill the store.
			if _, err := m.Remember(context.Background(), keys[i%len(keys)], t0.Add(65e9)); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
