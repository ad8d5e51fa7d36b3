// Package adaptertest is the conformance table that every HTTP adapter
// (core.Middleware, ginauth, echoauth) must pass identically: the same
// request gets the same status, challenge, body, and handler outcome.
package adaptertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// Audience is the audience every adapter must require.
const Audience = "orders-api"

// Mode selects adapter options for a row.
type Mode struct {
	Optional bool   // anonymous requests pass through without claims
	Cookie   string // also read the token from this cookie
}

// Routes an adapter must serve, all behind Require(Audience):
//
//	GET /me      no scope required
//	GET /orders  RequireScope("orders:read")
//	GET /both    RequireScope("orders:read", "orders:write")
//	GET /either  RequireAnyScope("orders:read", "orders:write")
//
// Every route answers 200 with the body Describe(claims) using the adapter's
// own claims getter, and calls Reached before writing.
type Builder func(v *core.Verifier, mode Mode, reached func()) http.Handler

// Describe renders what a handler saw, so the table can check that claims
// reach handlers intact.
func Describe(c *core.Claims, ok bool) string {
	if !ok {
		return "anonymous"
	}
	return "sub=" + c.Subject + " client=" + c.ClientID + " scopes=" + strings.Join(c.Scopes, ",")
}

type row struct {
	name      string
	mode      Mode
	path      string
	auth      []string
	cookie    string
	down      bool // the issuer's JWKS is failing
	status    int
	challenge string
	body      string
	reached   bool
}

const realm = `Bearer realm="api"`

func invalid(desc string) string {
	return realm + `, error="invalid_token", error_description="` + desc + `"`
}

func errBody(code, desc string) string {
	return `{"error":"` + code + `","error_description":"` + desc + `"}` + "\n"
}

// Run runs the conformance table against an adapter.
func Run(t *testing.T, build Builder) {
	clock := func() time.Time { return time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC) }
	srv := authtest.NewServer(authtest.WithClock(clock))
	t.Cleanup(srv.Close)
	down := authtest.NewServer(authtest.WithClock(clock))
	t.Cleanup(down.Close)
	down.SetJWKSFault(&authtest.Fault{Status: http.StatusInternalServerError})

	verifier := func(s *authtest.Server) *core.Verifier {
		v, err := core.New(core.Config{Issuer: s.Issuer, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		return v
	}
	v, vDown := verifier(srv), verifier(down)

	mint := func(edit func(map[string]any), scopes ...string) string {
		c := srv.Claims(Audience, scopes...)
		if edit != nil {
			edit(c)
		}
		tok, err := srv.Mint(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	read := mint(nil, "orders:read")
	hs, err := srv.MintWith(srv.SigningKey(), map[string]any{"alg": "HS256"}, srv.Claims(Audience, "orders:read"))
	if err != nil {
		t.Fatal(err)
	}
	missing := errBody("unauthorized", "a bearer token is required")
	badReq := realm + `, error="invalid_request", error_description="the request must carry exactly one well-formed bearer token"`
	badReqBody := errBody("invalid_request", "the request must carry exactly one well-formed bearer token")

	rows := []row{
		{name: "no token", path: "/orders", status: 401, challenge: realm, body: missing},
		{name: "basic credentials", path: "/orders", auth: []string{"Basic dXNlcjpwYXNz"}, status: 401, challenge: realm, body: missing},
		{name: "token scheme", path: "/orders", auth: []string{"Token " + read}, status: 401, challenge: realm, body: missing},
		{name: "garbage token", path: "/orders", auth: []string{"Bearer abc.def.ghi"}, status: 401,
			challenge: invalid("the token is invalid"), body: errBody("invalid_token", "the token is invalid")},
		{name: "expired", path: "/orders", auth: []string{"Bearer " + mint(func(c map[string]any) { c["exp"] = clock().Add(-time.Hour).Unix() }, "orders:read")},
			status: 401, challenge: invalid("the token has expired"), body: errBody("invalid_token", "the token has expired")},
		{name: "wrong audience", path: "/orders", auth: []string{"Bearer " + mint(func(c map[string]any) { c["aud"] = "billing-api" }, "orders:read")},
			status: 401, challenge: invalid("the token is not meant for this resource"), body: errBody("invalid_token", "the token is not meant for this resource")},
		{name: "wrong issuer", path: "/orders", auth: []string{"Bearer " + mint(func(c map[string]any) { c["iss"] = down.Issuer }, "orders:read")},
			status: 401, challenge: invalid("the token was issued by an untrusted issuer"), body: errBody("invalid_token", "the token was issued by an untrusted issuer")},
		{name: "wrong alg", path: "/orders", auth: []string{"Bearer " + hs}, status: 401,
			challenge: invalid("the token algorithm is not accepted"), body: errBody("invalid_token", "the token algorithm is not accepted")},
		{name: "two authorization headers", path: "/orders", auth: []string{"Bearer " + read, "Bearer " + read}, status: 400, challenge: badReq, body: badReqBody},
		{name: "empty bearer token", path: "/orders", auth: []string{"Bearer "}, status: 400, challenge: badReq, body: badReqBody},
		{name: "bearer without token", path: "/orders", auth: []string{"Bearer"}, status: 400, challenge: badReq, body: badReqBody},
		{name: "two tokens in one header", path: "/orders", auth: []string{"Bearer " + read + " " + read}, status: 400, challenge: badReq, body: badReqBody},
		{name: "missing scope", path: "/orders", auth: []string{"Bearer " + mint(nil, "orders:write")}, status: 403,
			challenge: realm + `, error="insufficient_scope", scope="orders:read"`, body: errBody("insufficient_scope", "the token lacks a required scope")},
		{name: "keys unavailable", path: "/orders", down: true, auth: []string{"Bearer " + down.Token(Audience, "orders:read")}, status: 503,
			body: errBody("temporarily_unavailable", "token verification is temporarily unavailable")},
		{name: "valid", path: "/orders", auth: []string{"Bearer " + read}, status: 200, body: "sub=test-subject client=test-client scopes=orders:read", reached: true},
		{name: "lower-case scheme", path: "/orders", auth: []string{"bearer " + read}, status: 200, body: "sub=test-subject client=test-client scopes=orders:read", reached: true},
		{name: "extra spaces", path: "/orders", auth: []string{"BEARER    " + read}, status: 200, body: "sub=test-subject client=test-client scopes=orders:read", reached: true},
		{name: "scope only in scp", path: "/orders", auth: []string{"Bearer " + mint(func(c map[string]any) { c["scp"] = []string{"orders:read"} })}, status: 200,
			body: "sub=test-subject client=test-client scopes=orders:read", reached: true},
		{name: "all-of satisfied", path: "/both", auth: []string{"Bearer " + mint(nil, "orders:write", "orders:read")}, status: 200,
			body: "sub=test-subject client=test-client scopes=orders:write,orders:read", reached: true},
		{name: "all-of with one scope", path: "/both", auth: []string{"Bearer " + read}, status: 403,
			challenge: realm + `, error="insufficient_scope", scope="orders:read orders:write"`, body: errBody("insufficient_scope", "the token lacks a required scope")},
		{name: "any-of with one scope", path: "/either", auth: []string{"Bearer " + mint(nil, "orders:write")}, status: 200,
			body: "sub=test-subject client=test-client scopes=orders:write", reached: true},
		{name: "any-of with neither", path: "/either", auth: []string{"Bearer " + mint(nil, "users:read")}, status: 403,
			challenge: realm + `, error="insufficient_scope", scope="orders:read orders:write"`, body: errBody("insufficient_scope", "the token lacks a required scope")},
		{name: "no scope needed", path: "/me", auth: []string{"Bearer " + mint(nil)}, status: 200, body: "sub=test-subject client=test-client scopes=", reached: true},
		{name: "cookie token", mode: Mode{Cookie: "access_token"}, path: "/orders", cookie: read, status: 200,
			body: "sub=test-subject client=test-client scopes=orders:read", reached: true},
		{name: "cookie ignored by default", path: "/orders", cookie: read, status: 401, challenge: realm, body: missing},
		{name: "header and cookie", mode: Mode{Cookie: "access_token"}, path: "/orders", auth: []string{"Bearer " + read}, cookie: read,
			status: 400, challenge: badReq, body: badReqBody},
		{name: "header and query token", path: "/orders?access_token=" + read, auth: []string{"Bearer " + read}, status: 400, challenge: badReq, body: badReqBody},
		{name: "query token ignored by default", path: "/orders?access_token=" + read, status: 401, challenge: realm, body: missing},
		{name: "optional without token", mode: Mode{Optional: true}, path: "/me", status: 200, body: "anonymous", reached: true},
		{name: "optional with valid token", mode: Mode{Optional: true}, path: "/me", auth: []string{"Bearer " + read}, status: 200,
			body: "sub=test-subject client=test-client scopes=orders:read", reached: true},
		{name: "optional with bad token", mode: Mode{Optional: true}, path: "/me", auth: []string{"Bearer x.y.z"}, status: 401,
			challenge: invalid("the token is invalid"), body: errBody("invalid_token", "the token is invalid")},
		{name: "optional without token on a scoped route", mode: Mode{Optional: true}, path: "/orders", status: 401, challenge: realm, body: missing},
	}

	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var reached atomic.Int64
			ver := v
			if r.down {
				ver = vDown
			}
			h := build(ver, r.mode, func() { reached.Add(1) })
			req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, r.path, nil)
			for _, a := range r.auth {
				req.Header.Add("Authorization", a)
			}
			if r.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "access_token", Value: r.cookie})
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != r.status {
				t.Errorf("status = %d, want %d", rec.Code, r.status)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != r.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, r.challenge)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != "" {
				CheckChallenge(t, got)
			}
			if got := rec.Header().Values("WWW-Authenticate"); len(got) > 1 {
				t.Errorf("%d WWW-Authenticate headers", len(got))
			}
			if wantRetry := r.status == 503; (rec.Header().Get("Retry-After") != "") != wantRetry {
				t.Errorf("Retry-After = %q", rec.Header().Get("Retry-After"))
			}
			if rec.Body.String() != r.body {
				t.Errorf("body = %q, want %q", rec.Body.String(), r.body)
			}
			if r.status != 200 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type = %q", rec.Header().Get("Content-Type"))
			}
			if got := reached.Load() == 1; got != r.reached {
				t.Errorf("handler reached = %v, want %v", got, r.reached)
			}
		})
	}
}

// Expect sends method path to h with the bearer token (none when "") and
// checks the status.
func Expect(t *testing.T, h http.Handler, method, path, token string, status int) {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != status {
		t.Errorf("%s %s: status %d, want %d (%s)", method, path, rec.Code, status, rec.Header().Get("WWW-Authenticate"))
	}
}

// Verifier starts an authtest issuer and returns it with a verifier for
// it (configured by cfg, whose Issuer it sets); both are stopped when the
// test or benchmark ends.
func Verifier(tb testing.TB, cfg ...core.Config) (*authtest.Server, *core.Verifier) {
	tb.Helper()
	srv := authtest.NewServer()
	tb.Cleanup(srv.Close)
	var c core.Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	c.Issuer = srv.Issuer
	v, err := core.New(c)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.Close)
	return srv, v
}
