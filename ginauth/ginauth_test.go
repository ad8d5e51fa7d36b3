package ginauth_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/ginauth"
	"github.com/bearerkit/bearerkit/internal/adaptertest"
)

func init() { gin.SetMode(gin.ReleaseMode) }

func TestConformance(t *testing.T) { adaptertest.Run(t, build) }

func TestRejections(t *testing.T) { adaptertest.RunRejections(t, build) }

func build(v core.TokenVerifier, o adaptertest.Options, reached func(string)) http.Handler {
	var opts []ginauth.Option
	if o.Realm != "" {
		opts = append(opts, ginauth.WithRealm(o.Realm))
	}
	if o.Optional {
		opts = append(opts, ginauth.WithOptionalCredentials())
	}
	if o.ResourceMetadata != "" {
		opts = append(opts, ginauth.WithResourceMetadata(o.ResourceMetadata))
	}
	if o.Cookie != "" {
		opts = append(opts, ginauth.WithCookie(o.Cookie))
	}
	if o.DPoP != nil {
		opts = append(opts, ginauth.WithDPoP(o.DPoP))
	}
	if o.Logger != nil {
		opts = append(opts, ginauth.WithLogger(o.Logger))
	}
	if o.CustomErrors {
		opts = append(opts, ginauth.WithErrorHandler(func(c *gin.Context, err error) {
			status, failure, body := adaptertest.Custom(err)
			c.Header("X-Failure", failure)
			c.String(status, body)
			c.Abort()
		}))
	}
	if o.SkipHealth {
		opts = append(opts, ginauth.WithSkipper(func(c *gin.Context) bool { return c.FullPath() == "/health" }))
	}
	show := func(route string) gin.HandlerFunc {
		return func(c *gin.Context) {
			reached(route)
			c.String(http.StatusOK, adaptertest.Describe(ginauth.Claims(c)))
		}
	}
	r := gin.New()
	r.Use(ginauth.New(v, opts...).Require(adaptertest.Audience))
	r.GET("/me", show("/me"))
	r.POST("/me", show("/me"))
	r.GET("/health", show("/health"))
	r.GET("/orders", ginauth.RequireScope("orders:read"), show("/orders"))
	r.GET("/both", ginauth.RequireScope("orders:read", "orders:write"), show("/both"))
	r.GET("/either", ginauth.RequireAnyScope("orders:read", "orders:write"), show("/either"))
	r.GET("/stepup", ginauth.RequireStepUp(adaptertest.StepUp), show("/stepup"))
	return r
}

func TestRequireNeedsAudience(t *testing.T) {
	_, v := adaptertest.Verifier(t)
	defer func() {
		if recover() == nil {
			t.Error("Require() without audience did not panic")
		}
	}()
	ginauth.New(v).Require()
}

// In debug mode Gin's Recovery prints the request headers of a panicking
// handler, masking only Authorization; a token read from a cookie must not
// be printed.
func TestDebugRecoveryHidesCookieToken(t *testing.T) {
	gin.SetMode(gin.DebugMode)
	defer gin.SetMode(gin.ReleaseMode)
	srv, v := adaptertest.Verifier(t)
	var log bytes.Buffer
	r := gin.New()
	r.Use(gin.RecoveryWithWriter(&log), ginauth.New(v, ginauth.WithCookie("session")).Require(adaptertest.Audience))
	r.GET("/orders", func(*gin.Context) { panic("handler failed") })
	tok := srv.Token(adaptertest.Audience)
	req := httptest.NewRequest(http.MethodGet, "/orders", nil)
	req.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
	req.AddCookie(&http.Cookie{Name: "session", Value: tok})
	req.AddCookie(&http.Cookie{Name: "session2", Value: "keep"})
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	out := log.String()
	if rec.Code != http.StatusInternalServerError || !strings.Contains(out, "panic recovered") {
		t.Fatalf("status %d, log:\n%s", rec.Code, out)
	}
	if strings.Contains(out, tok[:20]) || !strings.Contains(out, "Cookie: theme=dark; session=[redacted]; session2=keep") {
		t.Errorf("recovery log:\n%s", out)
	}
}

func TestPanicLogsHoldNoToken(t *testing.T) {
	adaptertest.RunPanicLogs(t, func(v core.TokenVerifier, log io.Writer) http.Handler {
		r := gin.New()
		r.Use(gin.RecoveryWithWriter(log), gin.LoggerWithWriter(log), ginauth.New(v).Require(adaptertest.Audience))
		r.GET("/orders", func(*gin.Context) { panic("handler failed") })
		return r
	})
}

// The metadata is served at its well-known path, outside authentication,
// and 401 challenges point at it.
func TestServeResourceMetadata(t *testing.T) {
	_, v := adaptertest.Verifier(t)
	meta := core.ResourceMetadata{Resource: "https://api.example/orders", AuthorizationServers: []string{"https://as.example"}}
	r := gin.New()
	ginauth.ServeResourceMetadata(r, meta)
	r.GET("/orders", ginauth.New(v, ginauth.WithResourceMetadata(meta.URL())).Require(adaptertest.Audience), func(c *gin.Context) {})
	for path, want := range map[string]int{meta.WellKnownPath(): 200, "/orders": 401} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("%s: %d", path, rec.Code)
		}
		if want == 401 && rec.Header().Get("WWW-Authenticate") != `Bearer realm="api", resource_metadata="`+meta.URL()+`"` {
			t.Errorf("challenge %q", rec.Header().Get("WWW-Authenticate"))
		}
	}
}
