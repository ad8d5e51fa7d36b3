package introspect_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/introspect"
)

// Active answers are cached until min(exp, now+CacheTTL), inactive ones
// for NegativeTTL; a revoked token keeps working until its entry ends.
func TestCacheLifetimesAndRevocation(t *testing.T) {
	e := newEnv(t, introspect.Config{CacheTTL: time.Minute, NegativeTTL: 10 * time.Second})
	tok := e.opaque(nil) // exp in an hour
	verify := func() error { _, err := e.in.Verify(context.Background(), tok, audience); return err }
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	e.srv.Revoke(tok)
	e.clock.Advance(time.Minute - time.Second)
	if err := verify(); err != nil || e.srv.IntrospectionRequests() != 1 {
		t.Fatalf("within CacheTTL after revocation: %v, %d requests", err, e.srv.IntrospectionRequests())
	}
	e.clock.Advance(time.Second)
	if err := verify(); core.ReasonOf(err) != core.ReasonInactive || e.srv.IntrospectionRequests() != 2 {
		t.Fatalf("after CacheTTL: %v, %d requests", err, e.srv.IntrospectionRequests())
	}
	// The inactive answer is remembered for NegativeTTL only.
	for range 5 {
		_ = verify()
	}
	e.clock.Advance(10 * time.Second)
	_ = verify()
	if n := e.srv.IntrospectionRequests(); n != 3 {
		t.Errorf("%d requests, want 3 (one more after NegativeTTL)", n)
	}
	// An exp sooner than CacheTTL ends the entry at exp.
	short := e.opaque(func(c map[string]any) { c["exp"] = e.clock.Now().Add(20 * time.Second).Unix() })
	if _, err := e.in.Verify(context.Background(), short, audience); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(20 * time.Second)
	before := e.srv.IntrospectionRequests()
	if _, err := e.in.Verify(context.Background(), short, audience); core.ReasonOf(err) != core.ReasonInactive || e.srv.IntrospectionRequests() != before+1 {
		t.Errorf("after exp: %v, %d requests", err, e.srv.IntrospectionRequests()-before)
	}
	if st := e.in.Status(); st.CacheEntries == 0 || st.CacheBytes == 0 {
		t.Errorf("status %+v", st)
	}
}

// K5: neither the token nor the resource server's secret appears in an
// error, a log line or the status, whatever the endpoint says; the cache
// is keyed by a hash of the token.
func TestK5NoTokenOrSecretShown(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		// A hostile endpoint echoing everything it got.
		w.Header().Set("X-Echo", r.Header.Get("Authorization")+r.PostForm.Get("token"))
		http.Error(w, "bad request for "+r.PostForm.Get("token")+" by "+r.Header.Get("Authorization"), http.StatusBadRequest)
	}))
	defer srv.Close()
	in, err := introspect.New(introspect.Config{URL: srv.URL, ClientID: rsID, ClientSecret: rsSecret, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	tok := "opaque-" + strings.Repeat("Zq9", 20)
	_, err = in.Verify(context.Background(), tok, audience)
	if !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	st := fmt.Sprintf("%+v %v", in.Status(), in.Ready())
	for where, text := range map[string]string{"error": err.Error() + fmt.Sprintf("%+v", err), "log": logs.String(), "status": st} {
		for _, secret := range []string{tok, tok[:20], rsSecret} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows %q: %s", where, secret, text)
			}
		}
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("the failure was not logged:\n%s", logs.String())
	}
}

// RFC 9701: the answer as a JWT signed by the issuer, verified with its
// key set; a plain answer when a JWT was asked for, or a tampered one, is
// an endpoint failure.
func TestJWTResponses(t *testing.T) {
	clk := newClock()
	srv := authtest.NewServer(authtest.WithClock(clk.Now), authtest.WithClient(authtest.Client{ID: rsID, Secret: rsSecret}))
	defer srv.Close()
	in, err := introspect.New(introspect.Config{Issuer: srv.Issuer, ClientID: rsID, ClientSecret: rsSecret, JWTResponses: true, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	c, err := in.Verify(context.Background(), srv.OpaqueToken(srv.Claims(audience, "orders:read")), audience)
	if err != nil || !c.HasScopes("orders:read") {
		t.Fatalf("signed answer: %v", err)
	}
	if _, err := in.Verify(context.Background(), "unknown-opaque-token", audience); core.ReasonOf(err) != core.ReasonInactive {
		t.Errorf("signed inactive answer: %v", err)
	}
	for name, body := range map[string]string{
		"plain JSON": `{"active":true,"aud":"` + audience + `"}`,
		"tampered":   "eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
	} {
		srv.SetIntrospectionFault(&authtest.Fault{Body: []byte(body), Header: http.Header{"Content-Type": {"application/token-introspection+jwt"}}})
		if name == "plain JSON" {
			srv.SetIntrospectionFault(&authtest.Fault{Body: []byte(body), Header: http.Header{"Content-Type": {"application/json"}}})
		}
		clk.Advance(time.Minute) // past any pause
		if _, err := in.Verify(context.Background(), srv.OpaqueToken(srv.Claims(audience)), audience); !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := introspect.New(introspect.Config{URL: srv.IntrospectionURL(), ClientID: rsID, ClientSecret: rsSecret, JWTResponses: true}); err == nil {
		t.Error("JWTResponses without Issuer accepted")
	}
}

// Combine: JWTs are verified locally (no introspection), everything else
// is introspected; behind the middleware both work on one route.
func TestCombine(t *testing.T) {
	e := newEnv(t, introspect.Config{})
	v, err := core.New(core.Config{Issuer: e.srv.Issuer, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	h := core.Middleware(introspect.Combine(v, e.in), audience)(core.RequireScope("orders:read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	call := func(tok string) int {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := call(e.srv.Token(audience, "orders:read")); got != 200 || e.srv.IntrospectionRequests() != 0 {
		t.Errorf("JWT: %d, %d introspections", got, e.srv.IntrospectionRequests())
	}
	if got := call(e.opaque(nil, "orders:read")); got != 200 || e.srv.IntrospectionRequests() != 1 {
		t.Errorf("opaque: %d, %d introspections", got, e.srv.IntrospectionRequests())
	}
	if got := call(e.opaque(nil, "orders:write")); got != 403 {
		t.Errorf("opaque without the scope: %d", got)
	}
	if got := call("a.b.c"); got != 401 || e.srv.IntrospectionRequests() != 3 {
		t.Errorf("three segments that are no JWT: %d, %d introspections", got, e.srv.IntrospectionRequests())
	}
}
