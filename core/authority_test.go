package core_test

// docs/security-checklist.md, section J: authority from any claim,
// validation hooks, step-up.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/core"
)

// J3: authority from the claims ScopeClaims names — names and JSON
// Pointers — merged into Claims.Scopes; wrong types refuse the token, and
// an array element with a space is refused, never split.
func TestJ3ScopeClaims(t *testing.T) {
	e := newEnv(t, core.Config{ScopeClaims: []string{"scope", "roles", "/realm_access/roles", "/https:~1~1example.com~1roles"}})
	cases := []struct {
		name   string
		claims string // extra members of the claim set
		want   []string
		reason core.Reason // "" means accepted
	}{
		{"scope only", `"scope":"a b"`, []string{"a", "b"}, ""},
		{"roles array", `"roles":["orders:admin","x"]`, []string{"orders:admin", "x"}, ""},
		{"roles string", `"roles":"orders:admin x"`, []string{"orders:admin", "x"}, ""},
		{"nested Keycloak roles", `"realm_access":{"roles":["kc:read"],"other":1}`, []string{"kc:read"}, ""},
		{"namespaced claim", `"https://example.com/roles":["ns:write"]`, []string{"ns:write"}, ""},
		{"all merged, without duplicates", `"scope":"a x","roles":["x","b"],"realm_access":{"roles":["c","a"]}`, []string{"a", "x", "b", "c"}, ""},
		{"absent everywhere", `"sub2":"x"`, nil, ""},
		{"nested parent without the member", `"realm_access":{}`, nil, ""},
		{"scp is not configured", `"scp":["ignored"]`, nil, ""},
		{"scp of another type is not read", `"scp":7`, nil, ""},
		{"roles number", `"roles":7`, nil, core.ReasonClaimType},
		{"roles object", `"roles":{"a":1}`, nil, core.ReasonClaimType},
		{"roles array of numbers", `"roles":[1,2]`, nil, core.ReasonClaimType},
		{"roles element with a space", `"roles":["a b"]`, nil, core.ReasonClaimType},
		{"roles empty element", `"roles":["a",""]`, nil, core.ReasonClaimType},
		{"scope as an array", `"scope":["a"]`, nil, core.ReasonClaimType},
		{"nested parent of the wrong type", `"realm_access":"admin"`, nil, core.ReasonClaimType},
		{"nested member of the wrong type", `"realm_access":{"roles":true}`, nil, core.ReasonClaimType},
		{"nested element with a space", `"realm_access":{"roles":["a b"]}`, nil, core.ReasonClaimType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			payload := strings.TrimSuffix(e.claimsWith("x", "1"), "}") + "," + tc.claims + "}"
			c, err := e.verify(e.rawClaims(t, payload))
			if tc.reason != "" {
				expectReject(t, c, err, core.ErrInvalidToken, tc.reason)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Scopes, tc.want) {
				t.Errorf("Scopes = %q, want %q", c.Scopes, tc.want)
			}
		})
	}
	for _, bad := range [][]string{{}, {""}, {"/"}, {"/a/~2"}, {"/a~"}} {
		if _, err := core.New(core.Config{Issuer: "https://a.example", ScopeClaims: bad}); err == nil {
			t.Errorf("ScopeClaims %q accepted", bad)
		}
	}
}

// The 403 names what the route requires, whatever claim carried the
// grants, and RequireScope works on roles like on scopes.
func TestScopeClaimsThroughMiddleware(t *testing.T) {
	e := newEnv(t, core.Config{ScopeClaims: []string{"permissions"}})
	h := core.Middleware(e.v, testAudience)(core.RequireScope("orders:admin")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	for perms, want := range map[string]int{`["orders:admin"]`: 200, `["orders:read"]`: 403} {
		c := e.srv.Claims(testAudience, "orders:admin") // a scope claim, not configured: ignored
		var list []string
		if err := json.Unmarshal([]byte(perms), &list); err != nil {
			t.Fatal(err)
		}
		c["permissions"] = list
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+e.mint(t, c))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("permissions %s: %d, want %d", perms, rec.Code, want)
		}
		if want == 403 && rec.Header().Get("WWW-Authenticate") != `Bearer realm="api", error="insufficient_scope", scope="orders:admin"` {
			t.Errorf("challenge %q", rec.Header().Get("WWW-Authenticate"))
		}
	}
}

// J4: Validate runs after every built-in check and on every cache hit; its
// errors never reach the client verbatim, and one wrapping
// ErrInsufficientScope is a 403. Custom claims are read with Decode.
func TestJ4Validate(t *testing.T) {
	var calls atomic.Int64
	var suspended atomic.Bool
	validate := func(_ context.Context, c *core.Claims) error {
		calls.Add(1)
		var custom struct {
			Tenant string `json:"tenant_id"`
		}
		if err := c.Decode(&custom); err != nil {
			return err
		}
		switch {
		case custom.Tenant != "t-1":
			return fmt.Errorf("tenant %q is not served here (secret detail: ACCT-7)", custom.Tenant)
		case suspended.Load():
			return fmt.Errorf("account suspended: %w", core.ErrInsufficientScope)
		}
		return nil
	}
	e := newEnv(t, core.Config{Validate: validate})
	h := core.Middleware(e.v, testAudience)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	mint := func(tenant string) string {
		c := e.srv.Claims(testAudience)
		c["tenant_id"] = tenant
		return e.mint(t, c)
	}
	good, other := mint("t-1"), mint("t-2")
	call := func(tok string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for range 3 { // the second and third are cache hits, validated again
		if rec := call(good); rec.Code != 200 {
			t.Fatalf("valid tenant: %d", rec.Code)
		}
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("Validate ran %d times for 3 requests, want 3", got)
	}
	rec := call(other)
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer realm="api", error="invalid_token", error_description="the token is invalid"` ||
		strings.Contains(rec.Body.String(), "ACCT") || strings.Contains(rec.Body.String(), "tenant") {
		t.Errorf("refused tenant: %d %q %s", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
	}
	_, err := e.verify(other)
	if core.ReasonOf(err) != core.ReasonValidation || !errors.Is(err, core.ErrInvalidToken) || !strings.Contains(err.Error(), "ACCT-7") {
		t.Errorf("Verify error = %v; the cause should stay reachable for logs", err)
	}
	suspended.Store(true) // state changed: the cached token is refused now
	if rec := call(good); rec.Code != 403 || !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Errorf("suspended: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

func TestCheckStepUp(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	mfa := &core.Claims{ACR: "mfa", AuthTime: now.Add(-time.Minute)}
	for _, tc := range []struct {
		name string
		c    *core.Claims
		s    core.StepUp
		ok   bool
	}{
		{"acr met", mfa, core.StepUp{ACR: []string{"pwd", "mfa"}}, true},
		{"acr not met", &core.Claims{ACR: "pwd"}, core.StepUp{ACR: []string{"mfa"}}, false},
		{"age met", mfa, core.StepUp{MaxAge: time.Minute, Now: clock}, true},
		{"age exceeded", mfa, core.StepUp{MaxAge: time.Minute - time.Second, Now: clock}, false},
		{"no auth_time", &core.Claims{ACR: "mfa"}, core.StepUp{MaxAge: time.Hour, Now: clock}, false},
		{"both", mfa, core.StepUp{ACR: []string{"mfa"}, MaxAge: time.Hour, Now: clock}, true},
	} {
		err := core.CheckStepUp(tc.c, tc.s)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, core.ErrInsufficientUserAuthentication)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if err := core.CheckStepUp(nil, core.StepUp{ACR: []string{"mfa"}}); !errors.Is(err, core.ErrMissingToken) {
		t.Errorf("no claims: %v", err)
	}
	for _, s := range []core.StepUp{{}, {ACR: []string{""}}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RequireStepUp(%+v) did not panic", s)
				}
			}()
			core.RequireStepUp(s)
		}()
	}
}

// The claims a step-up check reads: acr and auth_time, typed.
func TestACRAndAuthTimeClaims(t *testing.T) {
	e := newEnv(t, core.Config{})
	c, err := e.verify(e.rawClaims(t, strings.TrimSuffix(e.claimsWith("x", "1"), "}")+`,"acr":"urn:mfa","auth_time":1893553445}`))
	if err != nil || c.ACR != "urn:mfa" || !c.AuthTime.Equal(time.Unix(1893553445, 0)) {
		t.Fatalf("%+v, %v", c, err)
	}
	for _, bad := range []string{`"acr":1`, `"auth_time":"yesterday"`, `"auth_time":-1`} {
		c, err := e.verify(e.rawClaims(t, strings.TrimSuffix(e.claimsWith("x", "1"), "}")+","+bad+"}"))
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonClaimType)
	}
}
