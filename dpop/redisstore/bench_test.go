package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/dpop"
	"github.com/bearerkit/bearerkit/dpop/redisstore"
)

// BenchmarkRemember measures one Remember: one SET NX PXAT round trip to
// Redis over loopback.
func BenchmarkRemember(b *testing.B) {
	c := newClient(b)
	store := redisstore.New(c, testPrefix(b, c))
	expiry := time.Now().Add(time.Minute)
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.Remember(ctx, strconv.Itoa(i), expiry); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerify measures one full verification of an Ed25519 proof with
// the Redis store and with the in-memory store.
func BenchmarkVerify(b *testing.B) {
	c := newClient(b)
	stores := []struct {
		name  string
		store func(n int) dpop.ReplayStore
	}{
		{"redis", func(int) dpop.ReplayStore { return redisstore.New(c, testPrefix(b, c)) }},
		{"memory", func(n int) dpop.ReplayStore { return dpop.NewMemoryStore(2*n + 1024) }},
	}
	s := newSigner(b)
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			proofs := make([]string, b.N)
			for i := range proofs {
				proofs[i] = proof(b, s)
			}
			v := newVerifier(b, st.store(b.N))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := v.Verify(context.Background(), proofs[i], testRequest()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
