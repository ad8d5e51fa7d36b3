package echoauth_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/echoauth"
	"github.com/bearerkit/bearerkit/internal/adaptertest"
)

func TestConformance(t *testing.T) { adaptertest.Run(t, build) }

func TestRejections(t *testing.T) { adaptertest.RunRejections(t, build) }

func build(v core.TokenVerifier, o adaptertest.Options, reached func(string)) http.Handler {
	var opts []echoauth.Option
	if o.Realm != "" {
		opts = append(opts, echoauth.WithRealm(o.Realm))
	}
	if o.Optional {
		opts = append(opts, echoauth.WithOptionalCredentials())
	}
	if o.ResourceMetadata != "" {
		opts = append(opts, echoauth.WithResourceMetadata(o.ResourceMetadata))
	}
	if o.Cookie != "" {
		opts = append(opts, echoauth.WithCookie(o.Cookie))
	}
	if o.DPoP != nil {
		opts = append(opts, echoauth.WithDPoP(o.DPoP))
	}
	if o.Logger != nil {
		opts = append(opts, echoauth.WithLogger(o.Logger))
	}
	if o.CustomErrors {
		opts = append(opts, echoauth.WithErrorHandler(func(c echo.Context, err error) error {
			status, failure, body := adaptertest.Custom(err)
			c.Response().Header().Set("X-Failure", failure)
			return c.String(status, body)
		}))
	}
	if o.SkipHealth {
		opts = append(opts, echoauth.WithSkipper(func(c echo.Context) bool { return c.Path() == "/health" }))
	}
	show := func(route string) echo.HandlerFunc {
		return func(c echo.Context) error {
			reached(route)
			return c.String(http.StatusOK, adaptertest.Describe(echoauth.Claims(c)))
		}
	}
	e := echo.New()
	e.HTTPErrorHandler = echoauth.HTTPErrorHandler(e, nil)
	e.Use(echoauth.New(v, opts...).Require(adaptertest.Audience))
	e.GET("/me", show("/me"))
	e.POST("/me", show("/me"))
	e.GET("/health", show("/health"))
	e.GET("/orders", show("/orders"), echoauth.RequireScope("orders:read"))
	e.GET("/both", show("/both"), echoauth.RequireScope("orders:read", "orders:write"))
	e.GET("/either", show("/either"), echoauth.RequireAnyScope("orders:read", "orders:write"))
	e.GET("/stepup", show("/stepup"), echoauth.RequireStepUp(adaptertest.StepUp))
	return e
}

// The application's HTTPErrorHandler receives an *echo.HTTPError in
// Echo's convention: a string Message (the fixed description), the core
// error as Internal (matching core's sentinels), the status as Code; the
// challenge is already set. fmt.Sprint of the message reads as text.
func TestEchoConventions(t *testing.T) {
	srv, v := adaptertest.Verifier(t)
	e := echo.New()
	var handled *echo.HTTPError
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		errors.As(err, &handled)
		_ = c.JSON(handled.Code, map[string]string{"app": fmt.Sprint(handled.Message)})
	}
	e.Use(echoauth.New(v, echoauth.WithRealm("orders")).Require("orders-api"))
	e.GET("/x", func(c echo.Context) error { return c.String(200, "ok") }, echoauth.RequireScope("orders:read"))

	for _, c := range []struct {
		token, message, challenge string
		status                    int
		sentinel                  error
	}{
		{"", "a bearer token is required", `Bearer realm="orders"`, 401, core.ErrMissingToken},
		{srv.Token("orders-api"), "the token lacks a required scope", `Bearer realm="orders", error="insufficient_scope", scope="orders:read"`, 403, core.ErrInsufficientScope},
	} {
		handled = nil
		req := httptest.NewRequest("GET", "/x", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if handled == nil || handled.Code != c.status || handled.Message != c.message || !errors.Is(handled.Internal, c.sentinel) {
			t.Fatalf("handled %+v", handled)
		}
		if rec.Code != c.status || rec.Header().Get("WWW-Authenticate") != c.challenge || !strings.Contains(rec.Body.String(), c.message) {
			t.Errorf("answer %d %q %s", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
		}
	}

	// With Echo's own default handler the body is Echo's {"message": …}.
	e = echo.New()
	e.Use(echoauth.New(v).Require("orders-api"))
	e.GET("/x", func(c echo.Context) error { return c.String(200, "ok") })
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 401 || strings.TrimSpace(rec.Body.String()) != `{"message":"a bearer token is required"}` {
		t.Errorf("default handler: %d %s", rec.Code, rec.Body)
	}
}

func TestPanicLogsHoldNoToken(t *testing.T) {
	adaptertest.RunPanicLogs(t, func(v core.TokenVerifier, log io.Writer) http.Handler {
		e := echo.New()
		e.Logger.SetOutput(log)
		e.Use(echoauth.New(v).Require(adaptertest.Audience))
		e.GET("/orders", func(echo.Context) error { panic("handler failed") })
		return e
	})
}

// The metadata is served at its well-known path, outside authentication,
// and 401 challenges point at it.
func TestServeResourceMetadata(t *testing.T) {
	_, v := adaptertest.Verifier(t)
	meta := core.ResourceMetadata{Resource: "https://api.example/orders", AuthorizationServers: []string{"https://as.example"}}
	e := echo.New()
	echoauth.ServeResourceMetadata(e, meta)
	e.GET("/orders", func(c echo.Context) error { return nil }, echoauth.New(v, echoauth.WithResourceMetadata(meta.URL())).Require(adaptertest.Audience))
	for path, want := range map[string]int{meta.WellKnownPath(): 200, "/orders": 401} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("%s: %d", path, rec.Code)
		}
		if want == 401 && rec.Header().Get("WWW-Authenticate") != `Bearer realm="api", resource_metadata="`+meta.URL()+`"` {
			t.Errorf("challenge %q", rec.Header().Get("WWW-Authenticate"))
		}
	}
}
