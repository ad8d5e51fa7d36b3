package ginauth_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/ginauth"
	"github.com/bearerkit/bearerkit/internal/adaptertest"
)

func init() { gin.SetMode(gin.ReleaseMode) }

func TestConformance(t *testing.T) { adaptertest.Run(t, build) }

func TestRejections(t *testing.T) { adaptertest.RunRejections(t, build) }

func build(v *core.Verifier, mode adaptertest.Mode, reached func()) http.Handler {
	var opts []ginauth.Option
	if mode.Optional {
		opts = append(opts, ginauth.WithOptionalCredentials())
	}
	if mode.Cookie != "" {
		opts = append(opts, ginauth.WithCookie(mode.Cookie))
	}
	show := func(c *gin.Context) {
		reached()
		c.String(http.StatusOK, adaptertest.Describe(ginauth.Claims(c)))
	}
	r := gin.New()
	r.Use(ginauth.New(v, opts...).Require(adaptertest.Audience))
	r.GET("/me", show)
	r.GET("/orders", ginauth.RequireScope("orders:read"), show)
	r.GET("/both", ginauth.RequireScope("orders:read", "orders:write"), show)
	r.GET("/either", ginauth.RequireAnyScope("orders:read", "orders:write"), show)
	return r
}

func TestOptions(t *testing.T) {
	_, v := adaptertest.Verifier(t)
	var seen error
	r := gin.New()
	r.Use(ginauth.New(v, ginauth.WithRealm("orders"), ginauth.WithErrorHandler(func(c *gin.Context, err error) {
		seen = err
		c.AbortWithStatusJSON(http.StatusTeapot, gin.H{"custom": true})
	})).Require("orders-api"))
	r.GET("/x", func(c *gin.Context) { c.String(200, "ok") })
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != http.StatusTeapot || !errors.Is(seen, core.ErrMissingToken) {
		t.Errorf("custom handler: %d %v", rec.Code, seen)
	}

	r = gin.New()
	r.Use(ginauth.New(v, ginauth.WithRealm("orders")).Require("orders-api"))
	r.GET("/x", func(c *gin.Context) { c.String(200, "ok") })
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="orders"` {
		t.Errorf("realm: %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("Require() without audience did not panic")
		}
	}()
	ginauth.New(v).Require()
}

func TestPanicLogsHoldNoToken(t *testing.T) {
	adaptertest.RunPanicLogs(t, func(v *core.Verifier, log io.Writer) http.Handler {
		r := gin.New()
		r.Use(gin.RecoveryWithWriter(log), gin.LoggerWithWriter(log), ginauth.New(v).Require(adaptertest.Audience))
		r.GET("/orders", func(*gin.Context) { panic("handler failed") })
		return r
	})
}
