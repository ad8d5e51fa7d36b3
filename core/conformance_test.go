package core_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/internal/adaptertest"
)

func TestConformance(t *testing.T) { adaptertest.Run(t, build) }

func TestRejections(t *testing.T) { adaptertest.RunRejections(t, build) }

func build(v *core.Verifier, mode adaptertest.Mode, reached func()) http.Handler {
	opts := core.Options{Optional: mode.Optional}
	if mode.Cookie != "" {
		opts.Extractor = core.FromCookie(mode.Cookie)
	}
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached()
		w.Write([]byte(adaptertest.Describe(core.ClaimsFromContext(r.Context()))))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /me", show)
	mux.Handle("GET /orders", core.RequireScope("orders:read")(show))
	mux.Handle("GET /both", core.RequireScope("orders:read", "orders:write")(show))
	mux.Handle("GET /either", core.RequireAnyScope("orders:read", "orders:write")(show))
	return core.MiddlewareWithOptions(v, opts, adaptertest.Audience)(mux)
}

func TestPanicLogsHoldNoToken(t *testing.T) {
	adaptertest.RunPanicLogs(t, func(v *core.Verifier, _ io.Writer) http.Handler {
		return core.Middleware(v, adaptertest.Audience)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("handler failed")
		}))
	})
}
