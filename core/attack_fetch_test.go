package core_test

// docs/security-checklist.md, section E: fetching the JWKS and discovery documents.

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// hostile is a JWKS endpoint that serves the issuer's real key set until
// told to misbehave.
type hostile struct {
	*httptest.Server
	good     []byte
	requests atomic.Int64
	mu       sync.Mutex
	handler  http.HandlerFunc
}

func newHostile(t *testing.T, srv *authtest.Server) *hostile {
	t.Helper()
	resp, err := srv.Client().Get(srv.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	h := &hostile{good: buf.Bytes()}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		h.mu.Lock()
		fn := h.handler
		h.mu.Unlock()
		if fn == nil {
			w.Write(h.good)
			return
		}
		fn(w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hostile) set(fn http.HandlerFunc) {
	h.mu.Lock()
	h.handler = fn
	h.mu.Unlock()
}

// hostileEnv is a verifier whose JWKS URL is a hostile endpoint, with its
// own transport so that its connections can be counted and closed.
func hostileEnv(t *testing.T, cfg core.Config) (*env, *hostile, *http.Transport) {
	t.Helper()
	clk := newClock()
	srv := authtest.NewServer(authtest.WithClock(clk.Now))
	t.Cleanup(srv.Close)
	h := newHostile(t, srv)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	cfg.Issuer, cfg.JWKSURL, cfg.Now = srv.Issuer, h.URL, clk.Now
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: tr}
	}
	v, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return &env{srv: srv, v: v, clock: clk, retries: core.HoldRetries(v)}, h, tr
}

func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func dribble(w http.ResponseWriter, r *http.Request) {
	w.Write([]byte(`{"keys":[`))
	for {
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(20 * time.Millisecond):
			w.Write([]byte(" "))
		}
	}
}

func TestE1SlowEndpoints(t *testing.T) {
	stalled, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never speaks TLS
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	var held sync.WaitGroup
	go func() {
		for {
			c, err := stalled.Accept()
			if err != nil {
				return
			}
			held.Go(func() {
				buf := make([]byte, 1)
				c.Read(buf) // until the client gives up
				c.Close()
			})
		}
	}()
	for name, fn := range map[string]http.HandlerFunc{"hung": hang, "one byte at a time": dribble} {
		t.Run(name, func(t *testing.T) {
			e, h, _ := hostileEnv(t, core.Config{FetchTimeout: 200 * time.Millisecond})
			h.set(fn)
			_, err := e.verify(e.srv.Token(testAudience))
			expectReject(t, nil, err, core.ErrKeySetUnavailable, core.ReasonKeySetUnavailable)
			if st := e.v.KeySetStatus(); !errors.Is(st.LastError, context.DeadlineExceeded) {
				t.Errorf("LastError = %v", st.LastError)
			}
		})
	}
	t.Run("stalled TLS handshake", func(t *testing.T) {
		clk := newClock()
		srv := authtest.NewServer(authtest.WithClock(clk.Now))
		defer srv.Close()
		v, err := core.New(core.Config{Issuer: srv.Issuer, JWKSURL: "https://" + stalled.Addr().String() + "/jwks", Now: clk.Now, FetchTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		_, err = v.Verify(t.Context(), srv.Token(testAudience), testAudience)
		expectReject(t, nil, err, core.ErrKeySetUnavailable, core.ReasonKeySetUnavailable)
	})
	t.Run("request deadline holds", func(t *testing.T) {
		e, h, _ := hostileEnv(t, core.Config{}) // 10 s fetch timeout
		h.set(hang)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := e.v.Verify(ctx, e.srv.Token(testAudience), testAudience)
		if !errors.Is(err, core.ErrKeySetUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no goroutine pile-up", func(t *testing.T) {
		e, h, tr := hostileEnv(t, core.Config{FetchTimeout: time.Hour})
		arrived := make(chan struct{}, 1)
		h.set(func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			hang(w, r)
		})
		tok := e.srv.Token(testAudience)
		before := runtime.NumGoroutine()
		var wg sync.WaitGroup
		for range 1000 {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
				defer cancel()
				if _, err := e.v.Verify(ctx, tok, testAudience); !errors.Is(err, core.ErrKeySetUnavailable) {
					t.Errorf("err = %v", err)
				}
			})
		}
		wg.Wait()
		<-arrived // the one fetch, still hanging
		if got := h.requests.Load(); got != 1 {
			t.Errorf("JWKS requests = %d, want 1", got)
		}
		// Ending the fetch (Close cancels it and waits) and dropping idle
		// connections leaves nothing that grew with the 1,000 requests. The
		// margin covers server-side connection goroutines that end
		// asynchronously.
		e.v.Close()
		tr.CloseIdleConnections()
		if after := runtime.NumGoroutine(); after > before+10 {
			t.Errorf("goroutines: %d before, %d after 1000 requests", before, after)
		}
	})
	stalled.Close()
	held.Wait()
}

func TestE2FailuresAfterKeysAreCached(t *testing.T) {
	for _, status := range []int{500, 502, 503, 429, 404} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			e, h, _ := hostileEnv(t, core.Config{})
			tok := e.srv.Token(testAudience)
			e.srv.Claims(testAudience)
			long := e.srv.Claims(testAudience)
			long["exp"] = e.clock.Now().Add(48 * time.Hour).Unix()
			longTok := e.mint(t, long)
			if _, err := e.verify(tok); err != nil {
				t.Fatal(err)
			}
			h.set(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3600")
				w.WriteHeader(status)
			})
			if err := e.v.Prefetch(t.Context()); !errors.Is(err, core.ErrKeySetUnavailable) {
				t.Fatalf("Prefetch = %v", err)
			}
			e.clock.Advance(core.DefaultMaxStaleness - time.Minute)
			if _, err := e.verify(longTok); err != nil {
				t.Fatalf("within max staleness: %v", err)
			}
			e.clock.Advance(2 * time.Minute)
			_, err := e.verify(longTok)
			expectReject(t, nil, err, core.ErrKeySetUnavailable, core.ReasonKeySetUnavailable)
		})
	}
}

func TestE3BadBodiesKeepKeys(t *testing.T) {
	for name, body := range map[string]string{
		"HTML": "<html><body>maintenance</body></html>", "truncated": `{"keys":[{"kty":"RSA"`, "keys string": `{"keys":"x"}`,
		"BOM": "\ufeff{\"keys\":[]}", "empty": "",
	} {
		t.Run(name, func(t *testing.T) {
			e, h, _ := hostileEnv(t, core.Config{})
			tok := e.srv.Token(testAudience)
			if _, err := e.verify(tok); err != nil {
				t.Fatal(err)
			}
			h.set(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) })
			if err := e.v.Prefetch(t.Context()); !errors.Is(err, core.ErrKeySetUnavailable) {
				t.Fatalf("Prefetch = %v", err)
			}
			if _, err := e.v.Verify(t.Context(), e.srv.Token(testAudience), testAudience); err != nil {
				t.Fatalf("good keys lost: %v", err)
			}
		})
	}
}

func TestE4HugeBodiesAreCapped(t *testing.T) {
	zeros := make([]byte, 1<<20)
	var bomb bytes.Buffer
	gz := gzip.NewWriter(&bomb)
	for range 8 { // 8 MiB of zeros, eight times the cap, in about 8 KiB
		gz.Write(zeros)
	}
	gz.Close()
	for name, fn := range map[string]http.HandlerFunc{
		"100 MB": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000000")
			for range 100000000 / len(zeros) {
				if _, err := w.Write(zeros); err != nil {
					return
				}
			}
		},
		"endless chunked": func(w http.ResponseWriter, r *http.Request) {
			for {
				if _, err := w.Write(zeros); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		},
		"lying Content-Length": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			w.Write([]byte(`{"keys":[]}   more than ten bytes`))
		},
		"gzip bomb": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb.Bytes())
		},
	} {
		t.Run(name, func(t *testing.T) {
			e, h, _ := hostileEnv(t, core.Config{})
			if err := e.v.Prefetch(t.Context()); err != nil {
				t.Fatal(err)
			}
			h.set(fn)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			if err := e.v.Prefetch(t.Context()); !errors.Is(err, core.ErrKeySetUnavailable) {
				t.Fatalf("Prefetch = %v", err)
			}
			runtime.ReadMemStats(&after)
			// The cap is 1 MiB after decompression; reading to the cap and
			// giving up allocates a few MiB at most, never the body's size.
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 16<<20 {
				t.Errorf("allocated %d MiB while refusing the body", grown>>20)
			}
			if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
				t.Errorf("good keys lost: %v", err)
			}
		})
	}
}

func TestE5RedirectsNotFollowed(t *testing.T) {
	var target atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { target.Add(1) }))
	defer other.Close()
	for name, loc := range map[string]string{
		"other host": other.URL + "/jwks", "http": "http://example.com/jwks", "link-local": "http://169.254.169.254/latest/meta-data/",
		"loop": "/jwks",
	} {
		t.Run(name, func(t *testing.T) {
			e, h, _ := hostileEnv(t, core.Config{})
			h.set(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, loc, http.StatusFound) })
			_, err := e.verify(e.srv.Token(testAudience))
			expectReject(t, nil, err, core.ErrKeySetUnavailable, core.ReasonKeySetUnavailable)
			if got := h.requests.Load(); got != 1 {
				t.Errorf("JWKS endpoint requests = %d, want 1", got)
			}
		})
	}
	if target.Load() != 0 {
		t.Errorf("redirect target saw %d requests", target.Load())
	}
}

func TestE6TransportSecurity(t *testing.T) {
	for _, u := range []string{"http://auth.example.com/jwks", "http://10.0.0.1/jwks", "http://[fe80::1]/jwks"} {
		if _, err := core.New(core.Config{Issuer: "https://auth.example.com", JWKSURL: u}); err == nil {
			t.Errorf("New accepted %s", u)
		}
		v, err := core.New(core.Config{Issuer: "https://auth.example.com", JWKSURL: u, AllowInsecureHTTP: true})
		if err != nil {
			t.Errorf("New with AllowInsecureHTTP refused %s: %v", u, err)
		} else {
			v.Close()
		}
	}
	// A self-signed certificate is refused: verification is never skipped.
	srv := authtest.NewServer()
	defer srv.Close()
	tlsJWKS := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsJWKS.Close()
	v, err := core.New(core.Config{Issuer: srv.Issuer, JWKSURL: tlsJWKS.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Prefetch(t.Context()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Prefetch against a self-signed server = %v", err)
	}
}

func TestE7DiscoveryChecks(t *testing.T) {
	for name, opt := range map[string]authtest.Option{
		"trailing slash": nil, "other issuer": authtest.WithMetadataIssuer("https://other.example"),
	} {
		t.Run(name, func(t *testing.T) {
			srv := authtest.NewServer()
			if opt != nil {
				srv.Close()
				srv = authtest.NewServer(opt)
			}
			defer srv.Close()
			issuer := srv.Issuer
			if name == "trailing slash" {
				issuer += "/" // the documents say the issuer without the slash
			}
			v, err := core.New(core.Config{Issuer: issuer})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if err := v.Prefetch(t.Context()); err == nil || !strings.Contains(err.Error(), "issuer") {
				t.Errorf("Prefetch = %v", err)
			}
			if srv.JWKSRequests() != 0 {
				t.Error("JWKS fetched from a mismatching document")
			}
		})
	}
	t.Run("jwks_uri over http", func(t *testing.T) {
		var doc atomic.Value
		meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(doc.Load().(string)))
		}))
		defer meta.Close()
		doc.Store(`{"issuer":"` + meta.URL + `","jwks_uri":"http://auth.example.com/jwks"}`)
		v, err := core.New(core.Config{Issuer: meta.URL})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		if err := v.Prefetch(t.Context()); err == nil || !strings.Contains(err.Error(), "jwks_uri") {
			t.Errorf("Prefetch = %v", err)
		}
	})
}

func TestE10RequestHeaders(t *testing.T) {
	var got http.Header
	var mu sync.Mutex
	e, h, _ := hostileEnv(t, core.Config{HTTPClient: &http.Client{Jar: jarWith(t)}})
	inner := h.good
	h.set(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		w.Write(inner)
	})
	tok := e.mintWith(t, e.srv.SigningKey(), map[string]any{"kid": "not-there"}, e.srv.Claims(testAudience))
	_, _ = e.verify(tok)
	mu.Lock()
	defer mu.Unlock()
	if got.Get("Cookie") != "" || got.Get("Authorization") != "" || got.Get("User-Agent") != "bearerkit" ||
		!strings.Contains(got.Get("Accept"), "application/jwk-set+json") {
		t.Errorf("JWKS request headers: %v", got)
	}
}

// jarWith returns a cookie jar holding a session cookie for 127.0.0.1,
// which JWKS requests must never send.
func jarWith(t *testing.T) http.CookieJar {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("http://127.0.0.1/")
	jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: "secret"}})
	return jar
}
