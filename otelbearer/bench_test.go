package otelbearer_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/otelbearer"
)

// BenchmarkVerify measures core verification with no hooks and with
// otelbearer's, on the OpenTelemetry SDK, in the same run: first-seen (the
// token cache off) and cached, ES256.
func BenchmarkVerify(b *testing.B) {
	srv := authtest.NewServer(authtest.WithAlgorithm("ES256"))
	defer srv.Close()
	tok := srv.Token(audience, "orders:read")
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(context.Background())
	obs, err := otelbearer.New(otelbearer.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		cache int
		hooks core.Hooks
	}{
		{"first-seen/no-hooks", -1, core.Hooks{}},
		{"first-seen/otel", -1, obs.Hooks()},
		{"cached/no-hooks", 0, core.Hooks{}},
		{"cached/otel", 0, obs.Hooks()},
		{"cached/noop", 0, core.Hooks{Verification: func(context.Context, core.VerificationEvent) {}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			v, err := core.New(core.Config{Issuer: srv.Issuer, TokenCacheSize: c.cache, Hooks: c.hooks})
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			ctx := context.Background()
			if _, err := v.Verify(ctx, tok, audience); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok, audience); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
