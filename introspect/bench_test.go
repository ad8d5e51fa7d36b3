package introspect_test

import (
	"context"
	"testing"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/introspect"
)

// BenchmarkCachedAnswer is a token whose answer is cached: the cost of a
// hit (hash, lookup, audience and time checks, the caller's copy).
func BenchmarkCachedAnswer(b *testing.B) {
	srv := authtest.NewServer(authtest.WithClient(authtest.Client{ID: rsID, Secret: rsSecret}))
	b.Cleanup(srv.Close)
	in, err := introspect.New(introspect.Config{URL: srv.IntrospectionURL(), ClientID: rsID, ClientSecret: rsSecret})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(in.Close)
	tok := srv.OpaqueToken(srv.Claims(audience, "orders:read", "orders:write"))
	ctx := context.Background()
	aud := []string{audience}
	if _, err := in.Verify(ctx, tok, aud...); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := in.Verify(ctx, tok, aud...); err != nil {
			b.Fatal(err)
		}
	}
	if n := srv.IntrospectionRequests(); n != 1 {
		b.Fatalf("%d introspection requests, want 1", n)
	}
}
