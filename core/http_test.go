package core_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

func TestMiddlewareStatusTable(t *testing.T) {
	e := newEnv(t, core.Config{})
	var reached atomic.Int64
	handler := core.Middleware(e.v, testAudience)(core.RequireScope("orders:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		c, ok := core.ClaimsFromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", 500)
			return
		}
		w.Write([]byte(c.Subject))
	})))
	expired := e.srv.Claims(testAudience, "orders:read")
	expired["exp"] = e.clock.Now().Add(-core.DefaultLeeway - 1e9).Unix()
	realm := `Bearer realm="api"`
	cases := []struct {
		name      string
		auth      []string
		status    int
		challenge string
		body      string
		reached   bool
	}{
		{"no token", nil, 401, realm, `{"error":"unauthorized","error_description":"a bearer token is required"}`, false},
		{"basic credentials", []string{"Basic dXNlcjpwYXNz"}, 401, realm, "", false},
		{"garbage token", []string{"Bearer abc.def.ghi"}, 401, realm + `, error="invalid_token", error_description="the token is invalid"`,
			`{"error":"invalid_token","error_description":"the token is invalid"}`, false},
		{"expired", []string{"Bearer " + e.mint(t, expired)}, 401, realm + `, error="invalid_token", error_description="the token has expired"`, "", false},
		{"wrong audience", []string{"Bearer " + e.srv.Token("billing-api", "orders:read")}, 401, realm + `, error="invalid_token", error_description="the token is not meant for this resource"`, "", false},
		{"wrong alg", []string{"Bearer " + e.mintWith(t, e.srv.SigningKey(), map[string]any{"alg": "HS256"}, e.srv.Claims(testAudience))}, 401, realm + `, error="invalid_token", error_description="the token algorithm is not accepted"`, "", false},
		{"two headers", []string{"Bearer " + e.srv.Token(testAudience, "orders:read"), "Bearer x"}, 400, realm + `, error="invalid_request", error_description="the request must carry exactly one well-formed bearer token"`,
			`{"error":"invalid_request","error_description":"the request must carry exactly one well-formed bearer token"}`, false},
		{"empty bearer", []string{"Bearer "}, 400, "", "", false},
		{"two words", []string{"Bearer a b"}, 400, "", "", false},
		{"missing scope", []string{"Bearer " + e.srv.Token(testAudience, "orders:write")}, 403, realm + `, error="insufficient_scope", scope="orders:read"`,
			`{"error":"insufficient_scope","error_description":"the token lacks a required scope"}`, false},
		{"valid", []string{"Bearer " + e.srv.Token(testAudience, "orders:read")}, 200, "", "test-subject", true},
		{"lower-case scheme", []string{"bearer " + e.srv.Token(testAudience, "orders:read")}, 200, "", "test-subject", true},
		{"extra spaces", []string{"BEARER   " + e.srv.Token(testAudience, "orders:read")}, 200, "", "test-subject", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := reached.Load()
			req := httptest.NewRequest("GET", "/orders", nil)
			for _, a := range tc.auth {
				req.Header.Add("Authorization", a)
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); tc.challenge != "" && got != tc.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.challenge)
			}
			if tc.status != 200 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("no challenge")
			}
			if tc.body != "" && strings.TrimSuffix(rec.Body.String(), "\n") != tc.body {
				t.Errorf("body = %s, want %s", rec.Body, tc.body)
			}
			if (reached.Load() > before) != tc.reached {
				t.Errorf("handler reached = %v, want %v", reached.Load() > before, tc.reached)
			}
		})
	}
}

func TestMiddlewareKeysUnavailable(t *testing.T) {
	e := newEnv(t, core.Config{})
	e.srv.SetJWKSFault(&authtest.Fault{Status: 500})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+e.srv.Token(testAudience))
	core.Middleware(e.v, testAudience)(http.NotFoundHandler()).ServeHTTP(rec, req)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || rec.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("got %d %v", rec.Code, rec.Header())
	}
	if strings.Contains(rec.Body.String(), "127.0.0.1") || strings.Contains(rec.Body.String(), "500") {
		t.Errorf("body leaks internals: %s", rec.Body)
	}
}

func TestMiddlewareOptions(t *testing.T) {
	e := newEnv(t, core.Config{})
	tok := e.srv.Token(testAudience, "a")
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, has := core.ClaimsFromContext(r.Context())
		if has {
			w.Write([]byte("claims"))
		} else {
			w.Write([]byte("anonymous"))
		}
	})
	serve := func(h http.Handler, mutate func(*http.Request)) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/x", nil)
		mutate(req)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	optional := core.MiddlewareWithOptions(e.v, core.Options{Optional: true, Realm: "orders"}, testAudience)(ok)
	if rec := serve(optional, func(*http.Request) {}); rec.Code != 200 || rec.Body.String() != "anonymous" {
		t.Errorf("optional, no token: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(optional, func(r *http.Request) { r.Header.Set("Authorization", "Bearer x.y.z") }); rec.Code != 401 ||
		!strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Bearer realm="orders", error="invalid_token"`) {
		t.Errorf("optional, bad token: %d %v", rec.Code, rec.Header())
	}
	query := core.MiddlewareWithOptions(e.v, core.Options{Extractor: core.FromQuery()}, testAudience)(ok)
	if rec := serve(query, func(r *http.Request) { r.URL.RawQuery = "access_token=" + tok }); rec.Code != 200 {
		t.Errorf("query token: %d", rec.Code)
	}
	if rec := serve(query, func(r *http.Request) {
		r.URL.RawQuery = "access_token=" + tok
		r.Header.Set("Authorization", "Bearer "+tok)
	}); rec.Code != 400 {
		t.Errorf("query and header: %d", rec.Code)
	}
	plain := core.Middleware(e.v, testAudience)(ok)
	if rec := serve(plain, func(r *http.Request) { r.URL.RawQuery = "access_token=" + tok }); rec.Code != 401 {
		t.Errorf("query token with the default extractor: %d", rec.Code)
	}
	cookie := core.MiddlewareWithOptions(e.v, core.Options{Extractor: core.FromCookie("at")}, testAudience)(ok)
	if rec := serve(cookie, func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "at", Value: tok}) }); rec.Code != 200 {
		t.Errorf("cookie token: %d", rec.Code)
	}
	if rec := serve(cookie, func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: "at", Value: tok})
		r.Header.Set("Authorization", "Bearer "+tok)
	}); rec.Code != 400 {
		t.Errorf("cookie and header: %d", rec.Code)
	}
	anyOf := core.Middleware(e.v, testAudience)(core.RequireAnyScope("b", "a")(ok))
	if rec := serve(anyOf, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }); rec.Code != 200 {
		t.Errorf("any-of scopes: %d", rec.Code)
	}
	allOf := core.Middleware(e.v, testAudience)(core.RequireScope("b", "a")(ok))
	if rec := serve(allOf, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }); rec.Code != 403 ||
		!strings.Contains(rec.Header().Get("WWW-Authenticate"), `scope="b a"`) {
		t.Errorf("all-of scopes: %d %v", rec.Code, rec.Header())
	}
}

func TestMiddlewareNeedsAudience(t *testing.T) {
	e := newEnv(t, core.Config{})
	for _, aud := range [][]string{nil, {""}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Middleware(%q) did not panic", aud)
				}
			}()
			core.Middleware(e.v, aud...)
		}()
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RequireScope(%q) did not panic", aud)
				}
			}()
			core.RequireScope(aud...)
		}()
	}
}
