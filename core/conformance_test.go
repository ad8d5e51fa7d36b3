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

func build(v core.TokenVerifier, o adaptertest.Options, reached func(string)) http.Handler {
	opts := core.Options{Realm: o.Realm, Optional: o.Optional, ResourceMetadata: o.ResourceMetadata, DPoP: o.DPoP, Logger: o.Logger}
	if o.Cookie != "" {
		opts.Extractor = core.FromCookie(o.Cookie)
	}
	if o.CustomErrors {
		opts.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
			status, failure, body := adaptertest.Custom(err)
			w.Header().Set("X-Failure", failure)
			w.WriteHeader(status)
			w.Write([]byte(body))
		}
	}
	if o.SkipHealth {
		opts.Skip = func(r *http.Request) bool { return r.Pattern == "GET /health" }
	}
	show := func(route string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached(route)
			w.Write([]byte(adaptertest.Describe(core.ClaimsFromContext(r.Context()))))
		})
	}
	mux := http.NewServeMux()
	mux.Handle("GET /me", show("/me"))
	mux.Handle("POST /me", show("/me"))
	mux.Handle("GET /health", show("/health"))
	mux.Handle("GET /orders", core.RequireScope("orders:read")(show("/orders")))
	mux.Handle("GET /both", core.RequireScope("orders:read", "orders:write")(show("/both")))
	mux.Handle("GET /either", core.RequireAnyScope("orders:read", "orders:write")(show("/either")))
	mux.Handle("GET /stepup", core.RequireStepUp(adaptertest.StepUp)(show("/stepup")))
	return core.MiddlewareWithOptions(v, opts, adaptertest.Audience)(mux)
}

func TestPanicLogsHoldNoToken(t *testing.T) {
	adaptertest.RunPanicLogs(t, func(v core.TokenVerifier, _ io.Writer) http.Handler {
		return core.Middleware(v, adaptertest.Audience)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("handler failed")
		}))
	})
}
