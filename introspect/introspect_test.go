package introspect_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/introspect"
)

func TestVerifyOpaqueToken(t *testing.T) {
	e := newEnv(t, introspect.Config{})
	tok := e.opaque(func(c map[string]any) { c["tenant_id"] = "t-1"; c["username"] = "alice" }, "orders:read")
	c, err := e.in.Verify(context.Background(), tok, audience)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != e.srv.Issuer || c.ClientID != "test-client" || !slices.Equal(c.Scopes, []string{"orders:read"}) || !c.Expiry.Equal(e.clock.Now().Add(time.Hour)) {
		t.Errorf("claims %+v", c)
	}
	var custom struct {
		Tenant   string `json:"tenant_id"`
		Username string `json:"username"`
		Type     string `json:"token_type"`
	}
	if err := c.Decode(&custom); err != nil || custom.Tenant != "t-1" || custom.Username != "alice" || custom.Type != "Bearer" {
		t.Errorf("Decode: %+v, %v", custom, err)
	}
	// Cached: no second request, and callers get copies.
	c.Scopes[0] = "changed"
	c2, err := e.in.Verify(context.Background(), tok, audience)
	if err != nil || c2.Scopes[0] != "orders:read" || e.srv.IntrospectionRequests() != 1 {
		t.Errorf("second call: %v, %q, %d requests", err, c2.Scopes, e.srv.IntrospectionRequests())
	}
}

// Every client authentication method, and "none" for an endpoint the
// network protects; the endpoint refusing the resource server's own
// credentials is an outage (503), never a refused token.
func TestClientAuthentication(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cases := []struct {
		name string
		cfg  introspect.Config
		opts []authtest.Option
	}{
		{"basic", introspect.Config{ClientID: rsID, ClientSecret: rsSecret}, nil},
		{"post", introspect.Config{ClientID: rsID, ClientSecret: rsSecret, AuthMethod: introspect.ClientSecretPost}, nil},
		{"private_key_jwt", introspect.Config{ClientID: "jwt-rs", AuthMethod: introspect.PrivateKeyJWT, PrivateKey: key},
			[]authtest.Option{authtest.WithClient(authtest.Client{ID: "jwt-rs", PublicKey: key.Public()})}},
		{"none", introspect.Config{AuthMethod: introspect.None}, []authtest.Option{authtest.WithOpenIntrospection()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.cfg, tc.opts...)
			if _, err := e.in.Verify(context.Background(), e.opaque(nil), audience); err != nil {
				t.Fatal(err)
			}
		})
	}
	e := newEnv(t, introspect.Config{ClientID: rsID, ClientSecret: "wrong-secret"})
	_, err := e.in.Verify(context.Background(), e.opaque(nil), audience)
	if !errors.Is(err, core.ErrUnavailable) || errors.Is(err, core.ErrInvalidToken) || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("refused credentials: %v", err)
	}
	if _, err := introspect.New(introspect.Config{URL: "https://a.example/i"}); err == nil {
		t.Error("no client credentials and no explicit None accepted")
	}
	if _, err := introspect.New(introspect.Config{URL: "http://a.example/i", ClientID: "x", ClientSecret: "y"}); err == nil {
		t.Error("plain http to a remote host accepted")
	}
}

// K1: only the JSON literal true is active.
func TestK1ActiveMustBeJSONTrue(t *testing.T) {
	good := `"iss":"https://as.example","aud":"` + audience + `","exp":9999999999`
	for name, body := range map[string]string{
		"string true":    `{"active":"true",` + good + `}`,
		"number one":     `{"active":1,` + good + `}`,
		"missing":        `{` + good + `}`,
		"duplicated":     `{"active":true,"active":true,` + good + `}`,
		"dup true false": `{"active":false,"active":true,` + good + `}`,
		"false":          `{"active":false}`,
		"escaped name":   `{"\u0061ctive":true,` + good + `}`,
		"null":           `{"active":null,` + good + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixed(t, body)
			in, err := introspect.New(introspect.Config{URL: f.URL, AuthMethod: introspect.None})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			for range 3 {
				c, err := in.Verify(context.Background(), "opaque-token-1", audience)
				if c != nil || core.ReasonOf(err) != core.ReasonInactive || !errors.Is(err, core.ErrInvalidToken) {
					t.Fatalf("claims %v, err %v; want inactive", c, err)
				}
			}
			if n := f.n.Load(); n != 1 {
				t.Errorf("%d requests, want 1 (the inactive answer is cached)", n)
			}
		})
	}
}

// K2: an active answer for another issuer or audience, or expired, is
// refused like a JWT would be.
func TestK2ActiveButNotForUs(t *testing.T) {
	e := newEnv(t, introspect.Config{})
	now := e.clock.Now()
	cases := []struct {
		name   string
		edit   func(map[string]any)
		reason core.Reason
	}{
		{"another audience", func(c map[string]any) { c["aud"] = "billing-api" }, core.ReasonAudience},
		{"no audience", func(c map[string]any) { delete(c, "aud") }, core.ReasonAudience},
		{"audience with different case", func(c map[string]any) { c["aud"] = strings.ToUpper(audience) }, core.ReasonAudience},
		{"not yet valid", func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }, core.ReasonNotYetValid},
		{"wrong claim type", func(c map[string]any) { c["iat"] = "yesterday" }, core.ReasonClaimType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.in.Verify(context.Background(), e.opaque(tc.edit), audience)
			if c != nil || core.ReasonOf(err) != tc.reason {
				t.Errorf("claims %v, err %v; want %s", c, err, tc.reason)
			}
		})
	}
	// Another issuer: refused when the Introspector knows its issuer.
	clk := newClock()
	srv := authtest.NewServer(authtest.WithClock(clk.Now), authtest.WithClient(authtest.Client{ID: rsID, Secret: rsSecret}))
	defer srv.Close()
	in, err := introspect.New(introspect.Config{Issuer: srv.Issuer, ClientID: rsID, ClientSecret: rsSecret, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	claims := srv.Claims(audience)
	claims["iss"] = "https://evil.example"
	if _, err := in.Verify(context.Background(), srv.OpaqueToken(claims), audience); core.ReasonOf(err) != core.ReasonIssuer {
		t.Errorf("another issuer: %v", err)
	}
	if _, err := in.Verify(context.Background(), srv.OpaqueToken(srv.Claims(audience)), audience); err != nil {
		t.Errorf("discovered endpoint, own issuer: %v", err)
	}
	// Expired while cached: refused at once, without asking again.
	tok := e.opaque(func(c map[string]any) { c["exp"] = now.Add(time.Minute).Unix() })
	if _, err := e.in.Verify(context.Background(), tok, audience); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute + core.DefaultLeeway)
	if _, err := e.in.Verify(context.Background(), tok, audience); core.ReasonOf(err) != core.ReasonExpired && core.ReasonOf(err) != core.ReasonInactive {
		t.Errorf("past exp: %v", err)
	}
	// A missing aud is accepted only when allowed.
	open := newEnv(t, introspect.Config{AudienceOptional: true})
	if _, err := open.in.Verify(context.Background(), open.opaque(func(c map[string]any) { delete(c, "aud") }), audience); err != nil {
		t.Errorf("AudienceOptional, no aud: %v", err)
	}
}

// K3: endpoint failures answer 503 with Retry-After within the timeout,
// with bounded memory, and are never remembered as inactive.
func TestK3EndpointFailures(t *testing.T) {
	huge := strings.Repeat(" ", 10<<20)
	faults := map[string]*authtest.Fault{
		"500":        {Status: http.StatusInternalServerError},
		"hang":       {Wait: make(chan struct{})},
		"10 MiB":     {Body: []byte(`{"active":true` + huge + `}`)},
		"redirect":   {Status: http.StatusTemporaryRedirect, Header: http.Header{"Location": {"https://evil.example/introspect"}}},
		"not JSON":   {Body: []byte(`<html>oops</html>`)},
		"bad status": {Status: http.StatusUnauthorized},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, introspect.Config{Timeout: 50 * time.Millisecond})
			tok := e.opaque(nil)
			e.srv.SetIntrospectionFault(f)
			h := core.Middleware(e.in, audience)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler reached") }))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || rec.Header().Get("WWW-Authenticate") != "" {
				t.Fatalf("answer %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
			}
			// Within the pause, no new request; then the restored endpoint
			// vouches for the token, which was never cached as inactive.
			n := e.srv.IntrospectionRequests()
			if _, err := e.in.Verify(context.Background(), tok, audience); !errors.Is(err, core.ErrUnavailable) || e.srv.IntrospectionRequests() != n {
				t.Errorf("within the pause: %v, %d requests", err, e.srv.IntrospectionRequests()-n)
			}
			if st := e.in.Status(); st.Failures != 1 || e.in.Ready() == nil {
				t.Errorf("status %+v", st)
			}
			e.srv.SetIntrospectionFault(nil)
			e.clock.Advance(time.Second)
			if _, err := e.in.Verify(context.Background(), tok, audience); err != nil {
				t.Errorf("after recovery: %v", err)
			}
			if e.in.Ready() != nil {
				t.Error("not ready after recovery")
			}
		})
	}
}

// K4: junk never reaches the endpoint; distinct plausible tokens are
// bounded by the concurrency cap; one token from 100 goroutines is one
// request.
func TestK4BoundedRequests(t *testing.T) {
	e := newEnv(t, introspect.Config{MaxInFlight: 8})
	junk := []string{strings.Repeat("a", 16<<10+1), "tok en", "tök", "a\r\nb", "", "=", "a b", `"x"`}
	for i := range 10000 {
		_, err := e.in.Verify(context.Background(), junk[i%len(junk)]+strings.Repeat("%", i%3), audience)
		if err == nil || errors.Is(err, core.ErrUnavailable) {
			t.Fatalf("junk %d: %v", i, err)
		}
	}
	if n := e.srv.IntrospectionRequests(); n != 0 {
		t.Fatalf("%d requests for junk", n)
	}

	tok := e.opaque(nil)
	hold, arrived := make(chan struct{}), make(chan struct{}, 100)
	e.srv.SetIntrospectionFault(&authtest.Fault{Wait: hold, Arrived: arrived})
	errs := make(chan error, 100)
	for range 100 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := e.in.Verify(ctx, tok, audience)
			errs <- err
		}()
	}
	<-arrived
	// Distinct tokens while the slots are taken: at most 7 more requests,
	// the rest answered 503 at once.
	unavailable := 0
	for i := range 1000 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		if _, err := e.in.Verify(ctx, e.opaque(nil)+strings.Repeat("A", i%5), audience); errors.Is(err, core.ErrUnavailable) {
			unavailable++
		}
		cancel()
	}
	close(hold)
	for range 100 {
		if err := <-errs; err != nil {
			t.Errorf("shared introspection: %v", err)
		}
	}
	if unavailable < 1000-7 {
		t.Errorf("%d of 1000 distinct tokens answered 503, want at least 993", unavailable)
	}
	if n := e.srv.IntrospectionRequests(); n > 8 {
		t.Errorf("%d requests, want at most 8 (the cap)", n)
	}
}

// The same token from 100 goroutines causes exactly one request.
func TestOneRequestPerToken(t *testing.T) {
	e := newEnv(t, introspect.Config{})
	tok := e.opaque(nil)
	hold, arrived := make(chan struct{}), make(chan struct{}, 1)
	e.srv.SetIntrospectionFault(&authtest.Fault{Wait: hold, Arrived: arrived})
	errs := make(chan error, 100)
	for range 100 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := e.in.Verify(ctx, tok, audience)
			errs <- err
		}()
	}
	<-arrived
	close(hold)
	for range 100 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := e.srv.IntrospectionRequests(); n != 1 {
		t.Errorf("%d requests for one token from 100 goroutines, want 1", n)
	}
}
