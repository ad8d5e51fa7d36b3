// Package httpbench measures bearerkit end to end through each HTTP
// adapter against the same routes without authentication.
package httpbench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/echoauth"
	"github.com/bearerkit/bearerkit/ginauth"
	"github.com/bearerkit/bearerkit/internal/adaptertest"
	"github.com/bearerkit/bearerkit/introspect"
)

const audience = "orders-api"

type setup struct {
	srv *authtest.Server
	v   *core.Verifier
}

func newSetup(b *testing.B, cacheSize int) *setup {
	b.Helper()
	srv, v := adaptertest.Verifier(b, core.Config{TokenCacheSize: cacheSize})
	if err := v.Prefetch(context.Background()); err != nil {
		b.Fatal(err)
	}
	return &setup{srv: srv, v: v}
}

func ok(w http.ResponseWriter) { w.Write([]byte("ok")) }

func ginRouter(v core.TokenVerifier) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if v != nil {
		r.Use(ginauth.New(v).Require(audience))
		r.GET("/orders", ginauth.RequireScope("orders:read"), func(c *gin.Context) { ok(c.Writer) })
	} else {
		r.GET("/orders", func(c *gin.Context) { ok(c.Writer) })
	}
	return r
}

func echoRouter(v core.TokenVerifier) http.Handler {
	e := echo.New()
	if v != nil {
		e.Use(echoauth.New(v).Require(audience))
		e.GET("/orders", func(c echo.Context) error { ok(c.Response()); return nil }, echoauth.RequireScope("orders:read"))
	} else {
		e.GET("/orders", func(c echo.Context) error { ok(c.Response()); return nil })
	}
	return e
}

func netHTTP(v core.TokenVerifier) http.Handler {
	h := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ok(w) }))
	if v != nil {
		h = core.Middleware(v, audience)(core.RequireScope("orders:read")(h))
	}
	return h
}

// serve runs one request per iteration. tokens are used in turn; with a
// single token every request after the first is a repeated token.
func serve(b *testing.B, h http.Handler, tokens []string) {
	b.Helper()
	req := httptest.NewRequest("GET", "/orders", nil)
	rec := httptest.NewRecorder()
	headers := make([][]string, len(tokens))
	for i, tok := range tokens {
		headers[i] = []string{"Bearer " + tok}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if len(headers) > 0 {
			req.Header["Authorization"] = headers[i%len(headers)]
			i++
		}
		rec.Body.Reset()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

func BenchmarkHTTP(b *testing.B) {
	frameworks := []struct {
		name  string
		build func(core.TokenVerifier) http.Handler
	}{{"gin", ginRouter}, {"echo", echoRouter}, {"nethttp", netHTTP}}
	for _, fw := range frameworks {
		b.Run("fw="+fw.name+"/auth=none", func(b *testing.B) { serve(b, fw.build(nil), nil) })
		b.Run("fw="+fw.name+"/auth=repeated", func(b *testing.B) {
			s := newSetup(b, 0)
			serve(b, fw.build(s.v), []string{s.srv.Token(audience, "orders:read")})
		})
		b.Run("fw="+fw.name+"/auth=first-seen", func(b *testing.B) {
			s := newSetup(b, -1)
			serve(b, fw.build(s.v), []string{s.srv.Token(audience, "orders:read")})
		})
	}
}

// serveLoopback sends each request through a real loopback connection,
// the way a service receives it, with keep-alive.
func serveLoopback(b *testing.B, h http.Handler, tokens []string) {
	b.Helper()
	ts := httptest.NewServer(h)
	defer ts.Close()
	client := ts.Client()
	req, err := http.NewRequest("GET", ts.URL+"/orders", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if len(tokens) > 0 {
			req.Header["Authorization"] = []string{"Bearer " + tokens[i%len(tokens)]}
			i++
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func BenchmarkLoopback(b *testing.B) {
	for _, fw := range []struct {
		name  string
		build func(core.TokenVerifier) http.Handler
	}{{"gin", ginRouter}, {"echo", echoRouter}, {"nethttp", netHTTP}} {
		b.Run("fw="+fw.name+"/auth=none", func(b *testing.B) { serveLoopback(b, fw.build(nil), nil) })
		b.Run("fw="+fw.name+"/auth=repeated", func(b *testing.B) {
			s := newSetup(b, 0)
			serveLoopback(b, fw.build(s.v), []string{s.srv.Token(audience, "orders:read")})
		})
		// An opaque token whose introspection answer is cached: the same
		// route, against the cached JWT above.
		b.Run("fw="+fw.name+"/auth=introspected", func(b *testing.B) {
			srv := authtest.NewServer(authtest.WithClient(authtest.Client{ID: "rs", Secret: "rs-secret"}))
			b.Cleanup(srv.Close)
			in, err := introspect.New(introspect.Config{URL: srv.IntrospectionURL(), ClientID: "rs", ClientSecret: "rs-secret"})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(in.Close)
			serveLoopback(b, fw.build(in), []string{srv.OpaqueToken(srv.Claims(audience, "orders:read"))})
		})
	}
}

// TestRoutesAnswer keeps the benchmark set-up honest: each router refuses
// a missing token and serves a valid one.
func TestRoutesAnswer(t *testing.T) {
	srv, v := adaptertest.Verifier(t)
	for i, h := range []http.Handler{ginRouter(v), echoRouter(v), netHTTP(v)} {
		for tok, want := range map[string]int{"": 401, srv.Token(audience, "orders:read"): 200, srv.Token(audience): 403} {
			req := httptest.NewRequest("GET", "/orders", nil)
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != want {
				t.Errorf("router %d: status %d, want %d", i, rec.Code, want)
			}
		}
	}
}
