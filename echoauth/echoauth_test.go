package echoauth_test

import (
	"errors"
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

func build(v *core.Verifier, mode adaptertest.Mode, reached func()) http.Handler {
	var opts []echoauth.Option
	if mode.Optional {
		opts = append(opts, echoauth.WithOptionalCredentials())
	}
	if mode.Cookie != "" {
		opts = append(opts, echoauth.WithCookie(mode.Cookie))
	}
	show := func(c echo.Context) error {
		reached()
		return c.String(http.StatusOK, adaptertest.Describe(echoauth.Claims(c)))
	}
	e := echo.New()
	e.Use(echoauth.New(v, opts...).Require(adaptertest.Audience))
	e.GET("/me", show)
	e.GET("/orders", show, echoauth.RequireScope("orders:read"))
	e.GET("/both", show, echoauth.RequireScope("orders:read", "orders:write"))
	e.GET("/either", show, echoauth.RequireAnyScope("orders:read", "orders:write"))
	return e
}

func TestEchoConventions(t *testing.T) {
	_, v := adaptertest.Verifier(t)

	// The application's HTTPErrorHandler receives an *echo.HTTPError whose
	// Internal error matches core's sentinel; the challenge is already set.
	e := echo.New()
	var handled *echo.HTTPError
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		errors.As(err, &handled)
		_ = c.JSON(handled.Code, map[string]string{"app": "owned"})
	}
	skipped := 0
	e.Use(echoauth.New(v, echoauth.WithRealm("orders"), echoauth.WithSkipper(func(c echo.Context) bool {
		return c.Path() == "/health"
	})).Require("orders-api"))
	e.GET("/health", func(c echo.Context) error { skipped++; return c.String(200, "up") })
	e.GET("/x", func(c echo.Context) error { return c.String(200, "ok") })

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 401 || handled == nil || handled.Code != 401 || !errors.Is(handled.Internal, core.ErrMissingToken) {
		t.Fatalf("got %d, handled %+v", rec.Code, handled)
	}
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="orders"` || !strings.Contains(rec.Body.String(), "owned") {
		t.Errorf("challenge %q, body %s", got, rec.Body)
	}

	for _, path := range []string{"/health", "/Health", "/health/", "/x/../health"} {
		rec = httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if path == "/health" && rec.Code != 200 {
			t.Errorf("%s: %d", path, rec.Code)
		}
		if path != "/health" && rec.Code == 200 {
			t.Errorf("%s skipped authentication", path)
		}
	}
	if skipped != 1 {
		t.Errorf("skipped route served %d times", skipped)
	}
}

func TestPanicLogsHoldNoToken(t *testing.T) {
	adaptertest.RunPanicLogs(t, func(v *core.Verifier, log io.Writer) http.Handler {
		e := echo.New()
		e.Logger.SetOutput(log)
		e.Use(echoauth.New(v).Require(adaptertest.Audience))
		e.GET("/orders", func(echo.Context) error { panic("handler failed") })
		return e
	})
}
