// Package adaptertest is the conformance table that every HTTP adapter
// (core.Middleware, ginauth, echoauth) must pass identically, under every
// option the adapters share: the same request gets the same status,
// challenge, body and handler outcome, for token failures and route-level
// failures alike.
package adaptertest

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/dpop"
)

// Audience is the audience every adapter must require.
const Audience = "orders-api"

// Options are the settings every adapter offers, in neutral terms; each
// adapter's builder maps them to its own options.
type Options struct {
	Realm        string // a realm other than the default ("" for the default)
	CustomErrors bool   // install an error handler that answers with [WriteCustom]
	Cookie       string // also read the token from this cookie
	Optional     bool   // let requests without a token through without claims
	SkipHealth   bool   // leave the route /health unauthenticated, by its routed pattern
	// ResourceMetadata is the RFC 9728 metadata URL every 401 challenge
	// must name ("" for none).
	ResourceMetadata string
	// DPoP is the DPoP policy (nil for none).
	DPoP *core.DPoP
	// LogRefusals makes the table give each handler a Logger, which every
	// refused request must reach once and no accepted one at all.
	LogRefusals bool
	// Logger is what the builder must pass on (core.Options.Logger).
	Logger *slog.Logger
}

// MetadataURL is the resource metadata URL of the table's option set.
const MetadataURL = "https://api.example/.well-known/oauth-protected-resource/orders"

// Routes an adapter must serve, all behind Require(Audience):
//
//	GET  /me      no scope required
//	POST /me      no scope required
//	GET  /orders  RequireScope("orders:read")
//	GET  /both    RequireScope("orders:read", "orders:write")
//	GET  /either  RequireAnyScope("orders:read", "orders:write")
//	GET  /stepup  RequireStepUp(StepUp)
//	GET  /health  no scope required (skipped with Options.SkipHealth)
//
// Every route answers 200 with the body Describe(claims) using the adapter's
// own claims getter, and calls reached with its pattern before writing.
type Builder func(v core.TokenVerifier, opts Options, reached func(route string)) http.Handler

// Clock is the time of every verifier and check in the table.
func Clock() time.Time { return time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC) }

// StepUp is the requirement of the /stepup route (RFC 9470).
var StepUp = core.StepUp{ACR: []string{"urn:example:mfa"}, MaxAge: 5 * time.Minute, Now: Clock}

// Describe renders what a handler saw, so the table can check that claims
// reach handlers intact.
func Describe(c *core.Claims, ok bool) string {
	if !ok {
		return "anonymous"
	}
	return "sub=" + c.Subject + " client=" + c.ClientID + " scopes=" + strings.Join(c.Scopes, ",")
}

// CustomStatus is the status of every answer of the custom error handlers
// of Options.CustomErrors.
const CustomStatus = http.StatusTeapot

// Custom is what a custom error handler of Options.CustomErrors answers
// for err: CustomStatus, the RFC 6750 error code of err's default answer
// (sent in an X-Failure header), and the body "custom". That every adapter
// calls its handler for route-level failures too is what the table checks.
func Custom(err error) (status int, failure, body string) {
	return CustomStatus, core.NewErrorResponse(err, core.Options{}).Code, "custom"
}

// row is one request and its answer under the default options.
type row struct {
	name      string
	method    string
	path      string
	auth      []string
	cookie    string
	form      string // a form-encoded body
	header    http.Header
	down      bool // the issuer's JWKS is failing
	status    int
	challenge string // for realm "api"
	body      string
	reached   string // the route whose handler runs; "" when none
	// needs restricts the row to the options it is about.
	needs func(Options) bool
	// probe marks a request aimed at the skipped route's neighbours: it
	// must not reach any handler but /health's, and /health's only
	// anonymously; the status is the router's business.
	probe bool
	// dpop, when set, makes the request a DPoP one, with proofs made as
	// the request is sent; challenge is then written for DPoP allowed
	// (Bearer challenge first).
	dpop *dpopRequest
}

// dpopRequest is how a row sends a DPoP-bound token: "Authorization: DPoP
// <token>" and proofs made when the request is sent (each run of the row
// needs fresh ones: the replay store remembers them).
type dpopRequest struct {
	scheme string // "DPoP " unless set
	token  string
	proofs int    // DPoP headers sent: 1 unless -1 (none) or 2
	method string // the proof's htm, when not the request's
	url    string // the proof's htu, when not the request's
	ath    string // the token the proof hashes, when not token
}

const realm = `Bearer realm="api"`

func invalid(desc string) string {
	return realm + `, error="invalid_token", error_description="` + desc + `"`
}

func errBody(code, desc string) string {
	return `{"error":"` + code + `","error_description":"` + desc + `"}` + "\n"
}

// optionSets are the options every row runs under.
var optionSets = map[string]Options{
	"defaults":      {},
	"realm":         {Realm: "orders"},
	"error handler": {CustomErrors: true},
	"cookie":        {Cookie: "access_token"},
	"optional":      {Optional: true},
	"skipper":       {SkipHealth: true},
	"metadata":      {ResourceMetadata: MetadataURL},
	"logger":        {LogRefusals: true},
	"all":           {Realm: "orders", CustomErrors: true, Cookie: "access_token", Optional: true, SkipHealth: true, ResourceMetadata: MetadataURL},
}

// Run runs the conformance table against an adapter, once per verifier
// kind: the same answers are due whatever TokenVerifier the adapter wraps.
func Run(t *testing.T, build Builder) {
	clock := Clock
	srv := authtest.NewServer(authtest.WithClock(clock), authtest.WithAlgorithm("EdDSA"))
	t.Cleanup(srv.Close)
	down := authtest.NewServer(authtest.WithClock(clock), authtest.WithAlgorithm("EdDSA"))
	t.Cleanup(down.Close)
	down.SetJWKSFault(&authtest.Fault{Status: http.StatusInternalServerError})
	other := authtest.NewServer(authtest.WithClock(clock), authtest.WithAlgorithm("ES256"))
	t.Cleanup(other.Close)
	verifiers := newVerifiers(t, clock, srv, down, other)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	client, err := dpop.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	rows := table(t, srv, down, clock, client)
	sets := maps.Clone(optionSets)
	// The proofs are made and checked on the wall clock; tokens on Clock.
	dv, err := dpop.NewVerifier(dpop.Config{})
	if err != nil {
		t.Fatal(err)
	}
	external := &url.URL{Scheme: "http", Host: "api.example"}
	sets["dpop"] = Options{DPoP: &core.DPoP{Verifier: dv, ExternalURL: external}}
	sets["dpop required"] = Options{DPoP: &core.DPoP{Verifier: dv, ExternalURL: external, Required: true}}
	sets["dpop all"] = Options{Realm: "orders", CustomErrors: true, Cookie: "access_token", Optional: true, SkipHealth: true,
		ResourceMetadata: MetadataURL, DPoP: &core.DPoP{Verifier: dv, ExternalURL: external}}
	for _, vk := range verifiers {
		for setName, opts := range sets {
			t.Run(vk.name+"/"+setName, func(t *testing.T) {
				for _, r := range rows {
					if r.needs != nil && !r.needs(opts) || r.dpop != nil && opts.DPoP == nil {
						continue
					}
					t.Run(r.name, func(t *testing.T) { check(t, build, vk, opts, r, client) })
				}
			})
		}
	}
}

// verifierKind is a TokenVerifier for the table's issuer and one for its
// failing twin.
type verifierKind struct {
	name     string
	up, down core.TokenVerifier
}

func newVerifiers(t *testing.T, clock func() time.Time, srv, down, other *authtest.Server) []verifierKind {
	single := func(s *authtest.Server) *core.Verifier {
		v, err := core.New(core.Config{Issuer: s.Issuer, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		return v
	}
	multi := func(ss ...*authtest.Server) *core.MultiIssuer {
		var cfgs []core.Config
		for _, s := range ss {
			cfgs = append(cfgs, core.Config{Issuer: s.Issuer, Now: clock})
		}
		m, err := core.NewMultiIssuer(cfgs...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		return m
	}
	return []verifierKind{
		{name: "Verifier", up: single(srv), down: single(down)},
		// Another issuer beside the table's: the answers must not change.
		{name: "MultiIssuer", up: multi(other, srv), down: multi(other, down)},
	}
}

const (
	stepUpChallenge = realm + `, error="insufficient_user_authentication", error_description="a different authentication level is required", acr_values="urn:example:mfa", max_age="300"`
	stepUpBody      = `{"error":"insufficient_user_authentication","error_description":"a different authentication level is required"}` + "\n"
)

// stepUp sets acr (none when "") and auth_time (none when ago is 0) on a
// claim set.
func stepUp(acr string, ago time.Duration) func(map[string]any) {
	return func(c map[string]any) {
		if acr != "" {
			c["acr"] = acr
		}
		if ago != 0 {
			c["auth_time"] = Clock().Add(ago).Unix()
		}
	}
}

func table(t *testing.T, srv, down *authtest.Server, clock func() time.Time, client *dpop.Signer) []row {
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
	readOK := "sub=test-subject client=test-client scopes=orders:read"
	withCookie := func(o Options) bool { return o.Cookie != "" }
	withoutCookie := func(o Options) bool { return o.Cookie == "" }
	bearer := []string{"Bearer " + read}
	bound := func(jkt string, scopes ...string) string {
		return mint(func(c map[string]any) { c["cnf"] = map[string]any{"jkt": jkt} }, scopes...)
	}
	boundRead := bound(client.Thumbprint(), "orders:read")
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherJKT, err := dpop.Thumbprint(otherKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	otherBound := bound(otherJKT, "orders:read")
	badProof := realm + `, DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof is invalid"`
	badProofBody := errBody("invalid_dpop_proof", "the DPoP proof is invalid")
	return []row{
		{name: "no token", path: "/orders", status: 401, challenge: realm, body: missing},
		{name: "basic credentials", path: "/orders", auth: []string{"Basic dXNlcjpwYXNz"}, status: 401, challenge: realm, body: missing},
		{name: "token scheme", path: "/orders", auth: []string{"Token " + read}, status: 401, challenge: realm, body: missing},
		{name: "no token, no scope needed", path: "/me", status: 401, challenge: realm, body: missing},
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
		{name: "valid", path: "/orders", auth: bearer, status: 200, body: readOK, reached: "/orders"},
		{name: "lower-case scheme", path: "/orders", auth: []string{"bearer " + read}, status: 200, body: readOK, reached: "/orders"},
		{name: "extra spaces", path: "/orders", auth: []string{"BEARER    " + read}, status: 200, body: readOK, reached: "/orders"},
		{name: "scope only in scp", path: "/orders", auth: []string{"Bearer " + mint(func(c map[string]any) { c["scp"] = []string{"orders:read"} })}, status: 200,
			body: readOK, reached: "/orders"},
		{name: "all-of satisfied", path: "/both", auth: []string{"Bearer " + mint(nil, "orders:write", "orders:read")}, status: 200,
			body: "sub=test-subject client=test-client scopes=orders:write,orders:read", reached: "/both"},
		{name: "all-of with one scope", path: "/both", auth: bearer, status: 403,
			challenge: realm + `, error="insufficient_scope", scope="orders:read orders:write"`, body: errBody("insufficient_scope", "the token lacks a required scope")},
		{name: "any-of with one scope", path: "/either", auth: []string{"Bearer " + mint(nil, "orders:write")}, status: 200,
			body: "sub=test-subject client=test-client scopes=orders:write", reached: "/either"},
		{name: "any-of with neither", path: "/either", auth: []string{"Bearer " + mint(nil, "users:read")}, status: 403,
			challenge: realm + `, error="insufficient_scope", scope="orders:read orders:write"`, body: errBody("insufficient_scope", "the token lacks a required scope")},
		{name: "no scope needed", path: "/me", auth: []string{"Bearer " + mint(nil)}, status: 200, body: "sub=test-subject client=test-client scopes=", reached: "/me"},

		// Step-up (RFC 9470): acr among the accepted, auth_time recent enough.
		{name: "step-up met", path: "/stepup", auth: []string{"Bearer " + mint(stepUp("urn:example:mfa", -time.Minute))}, status: 200,
			body: "sub=test-subject client=test-client scopes=", reached: "/stepup"},
		{name: "step-up without acr", path: "/stepup", auth: []string{"Bearer " + mint(stepUp("", -time.Minute))}, status: 401,
			challenge: stepUpChallenge, body: stepUpBody},
		{name: "step-up with another acr", path: "/stepup", auth: []string{"Bearer " + mint(stepUp("urn:example:pwd", -time.Minute))}, status: 401,
			challenge: stepUpChallenge, body: stepUpBody},
		{name: "step-up too long ago", path: "/stepup", auth: []string{"Bearer " + mint(stepUp("urn:example:mfa", -10*time.Minute))}, status: 401,
			challenge: stepUpChallenge, body: stepUpBody},
		{name: "step-up without auth_time", path: "/stepup", auth: []string{"Bearer " + mint(stepUp("urn:example:mfa", 0))}, status: 401,
			challenge: stepUpChallenge, body: stepUpBody},
		{name: "step-up without token", path: "/stepup", status: 401, challenge: realm, body: missing},

		// A token in two places (RFC 6750 §2) is decided on the parsed
		// request, whatever the spelling.
		{name: "header and query token", path: "/orders?access_token=" + read, auth: bearer, status: 400, challenge: badReq, body: badReqBody},
		{name: "header and escaped query name", path: "/orders?access%5Ftoken=x", auth: bearer, status: 400, challenge: badReq, body: badReqBody},
		{name: "header and escaped first letter", path: "/orders?%61ccess_token=x", auth: bearer, status: 400, challenge: badReq, body: badReqBody},
		{name: "header and bare query name", path: "/orders?access_token", auth: bearer, status: 400, challenge: badReq, body: badReqBody},
		{name: "header and form body", method: http.MethodPost, path: "/me", auth: bearer, form: "access_token=x&a=1", status: 400, challenge: badReq, body: badReqBody},
		{name: "form body token is not read", method: http.MethodPost, path: "/me", form: "access_token=" + read, status: 401, challenge: realm, body: missing},
		{name: "header and form body without a token", method: http.MethodPost, path: "/me", auth: bearer, form: "a=access_token", status: 200, body: readOK, reached: "/me"},
		{name: "query token ignored by default", path: "/orders?access_token=" + read, status: 401, challenge: realm, body: missing},
		{name: "unrelated query", path: "/orders?q=access%20token", auth: bearer, status: 200, body: readOK, reached: "/orders"},

		// Cookies: read only when chosen, and one place like any other.
		{name: "cookie token", needs: withCookie, path: "/orders", cookie: read, status: 200, body: readOK, reached: "/orders"},
		{name: "cookie ignored by default", needs: withoutCookie, path: "/orders", cookie: read, status: 401, challenge: realm, body: missing},
		{name: "header and cookie", needs: withCookie, path: "/orders", auth: bearer, cookie: read, status: 400, challenge: badReq, body: badReqBody},
		{name: "cookie and query", needs: withCookie, path: "/orders?access_token=x", cookie: read, status: 400, challenge: badReq, body: badReqBody},
		{name: "cookie and form body", needs: withCookie, method: http.MethodPost, path: "/me", cookie: read, form: "access_token=x", status: 400, challenge: badReq, body: badReqBody},

		// Skipping: decided on the routed pattern, never the raw path or a
		// forwarded header.
		{name: "health without token", path: "/health", status: 401, challenge: realm, body: missing},
		{name: "health with token", path: "/health", auth: bearer, status: 200, body: readOK, reached: "/health"},
		{name: "dot-dot past health", path: "/health/../me", probe: true},
		{name: "double slash", path: "//health", probe: true},
		{name: "upper case", path: "/HEALTH", probe: true},
		{name: "trailing slash", path: "/health/", probe: true},
		{name: "encoded letter", path: "/%68ealth", probe: true},
		{name: "forwarded URI", path: "/me", header: http.Header{"X-Forwarded-Uri": {"/health"}, "X-Original-Url": {"/health"}}, probe: true},
		{name: "health as a query", path: "/me?path=/health", probe: true},

		// DPoP (RFC 9449): the scheme, one proof for this request and this
		// token, and a token bound to the proof's key. Written for DPoP
		// allowed; expect adapts them.
		{name: "dpop valid", path: "/orders", dpop: &dpopRequest{token: boundRead}, status: 200, body: readOK, reached: "/orders"},
		{name: "dpop scheme in lower case", path: "/orders", dpop: &dpopRequest{scheme: "dpop  ", token: boundRead}, status: 200, body: readOK, reached: "/orders"},
		{name: "dpop without proof", path: "/orders", dpop: &dpopRequest{token: boundRead, proofs: -1}, status: 401, challenge: badProof, body: badProofBody},
		{name: "dpop with two proofs", path: "/orders", dpop: &dpopRequest{token: boundRead, proofs: 2}, status: 401, challenge: badProof, body: badProofBody},
		{name: "dpop proof for another method", path: "/orders", dpop: &dpopRequest{token: boundRead, method: "POST"}, status: 401, challenge: badProof, body: badProofBody},
		{name: "dpop proof for another URL", path: "/orders", dpop: &dpopRequest{token: boundRead, url: "http://api.example/either"}, status: 401, challenge: badProof, body: badProofBody},
		{name: "dpop proof for another host", path: "/orders", dpop: &dpopRequest{token: boundRead, url: "http://evil.example/orders"}, status: 401, challenge: badProof, body: badProofBody},
		{name: "dpop proof over https", path: "/orders", dpop: &dpopRequest{token: boundRead, url: "https://api.example/orders"}, status: 401, challenge: badProof, body: badProofBody},
		{name: "dpop proof for another token", path: "/orders", dpop: &dpopRequest{token: boundRead, ath: read}, status: 401, challenge: badProof, body: badProofBody},
		{name: "dpop with an unbound token", path: "/orders", dpop: &dpopRequest{token: read}, status: 401,
			challenge: dpopInvalid("the token is not bound to a DPoP key"), body: errBody("invalid_token", "the token is not bound to a DPoP key")},
		{name: "dpop token bound to another key", path: "/orders", dpop: &dpopRequest{token: otherBound}, status: 401,
			challenge: dpopInvalid("the token is bound to another key"), body: errBody("invalid_token", "the token is bound to another key")},
		{name: "dpop expired token", path: "/orders", dpop: &dpopRequest{token: mint(func(c map[string]any) {
			c["cnf"] = map[string]any{"jkt": client.Thumbprint()}
			c["exp"] = clock().Add(-time.Hour).Unix()
		}, "orders:read")}, status: 401, challenge: dpopInvalid("the token has expired"), body: errBody("invalid_token", "the token has expired")},
		{name: "dpop missing scope", path: "/both", dpop: &dpopRequest{token: boundRead}, status: 403,
			challenge: realm + `, DPoP realm="api", error="insufficient_scope", scope="orders:read orders:write"`,
			body:      errBody("insufficient_scope", "the token lacks a required scope")},
		{name: "dpop and a query token", path: "/orders?access_token=x", dpop: &dpopRequest{token: boundRead}, status: 400,
			challenge: realm + `, DPoP realm="api", error="invalid_request", error_description="the request must carry exactly one well-formed bearer token"`, body: badReqBody},
		{name: "dpop-bound token as bearer", path: "/orders", auth: []string{"Bearer " + boundRead}, status: 401,
			challenge: invalid("sender-constrained tokens cannot be used as bearer tokens"),
			body:      errBody("invalid_token", "sender-constrained tokens cannot be used as bearer tokens")},
		{name: "dpop-bound token as bearer with a proof", path: "/orders", auth: []string{"Bearer " + boundRead},
			header: http.Header{"Dpop": {"a.b.c"}}, status: 401,
			challenge: invalid("sender-constrained tokens cannot be used as bearer tokens"),
			body:      errBody("invalid_token", "sender-constrained tokens cannot be used as bearer tokens")},
	}
}

// dpopRequiredDesc is the description of a bearer token where DPoP is
// required.
const dpopRequiredDesc = "this resource requires a DPoP-bound token"

// dpopInvalid is the challenge pair of an invalid token sent with DPoP.
func dpopInvalid(desc string) string {
	return realm + `, DPoP realm="api", error="invalid_token", error_description="` + desc + `"`
}

// expect returns the answer due for r under opts.
func expect(r row, opts Options) row {
	want := r
	missing := r.status == 401 && r.challenge == realm && r.dpop == nil // no token, as the extractor sees it
	required := opts.DPoP != nil && opts.DPoP.Required
	switch {
	case opts.SkipHealth && r.path == "/health":
		// Skipped: no authentication at all, even with a token.
		want.status, want.challenge, want.body, want.reached = 200, "", "anonymous", "/health"
	case opts.Optional && missing && (r.path == "/me" || r.path == "/health"):
		// Let through without claims to a route that needs none; routes
		// with scopes still refuse (route-level, with the same options).
		want.status, want.challenge, want.body, want.reached = 200, "", "anonymous", r.path
	case required && r.dpop == nil && !missing && r.status != 400 && !r.probe:
		// A bearer token where DPoP is required: refused unverified.
		want.status, want.challenge, want.body, want.reached = 401, invalid(dpopRequiredDesc), errBody("invalid_token", dpopRequiredDesc), ""
	}
	if want.status == 200 || want.probe {
		return want
	}
	if opts.CustomErrors {
		want.challenge, want.body = "", "custom"
		return want
	}
	if d := opts.DPoP; d != nil && want.challenge != "" {
		// RFC 9449 §7.1: a DPoP challenge with its algorithms after the
		// Bearer one, or alone when DPoP is required; the error goes with
		// the scheme the request used (DPoP when Bearer is not offered).
		algs := `, algs="` + strings.Join(d.Verifier.Algorithms(), " ") + `"`
		switch {
		case r.dpop == nil && required:
			want.challenge = "DPoP" + strings.TrimPrefix(want.challenge, "Bearer")
		case r.dpop == nil:
			want.challenge += `, DPoP realm="api"`
		case required:
			want.challenge = strings.TrimPrefix(want.challenge, realm+", ")
		}
		want.challenge += algs
	}
	if opts.Realm != "" {
		want.challenge = strings.ReplaceAll(want.challenge, `realm="api"`, `realm="`+opts.Realm+`"`)
	}
	if opts.ResourceMetadata != "" && want.status == 401 {
		meta := `, resource_metadata="` + opts.ResourceMetadata + `"`
		if i := strings.Index(want.challenge, `, DPoP realm=`); i >= 0 {
			want.challenge = want.challenge[:i] + meta + want.challenge[i:]
		}
		want.challenge += meta
	}
	return want
}

// failureCode is the error code the custom handler reports for r's
// default answer.
func failureCode(r row) string {
	if code, ok := strings.CutPrefix(r.body, `{"error":"`); ok {
		code, _, _ = strings.Cut(code, `"`)
		return code
	}
	switch {
	case r.status == 503:
		return "temporarily_unavailable"
	case r.status == 400:
		return "invalid_request"
	case r.status == 403:
		return "insufficient_scope"
	case strings.Contains(r.challenge, "insufficient_user_authentication"):
		return "insufficient_user_authentication"
	case strings.Contains(r.challenge, "invalid_token"):
		return "invalid_token"
	}
	return "unauthorized"
}

func check(t *testing.T, build Builder, vk verifierKind, opts Options, r row, client *dpop.Signer) {
	want := expect(r, opts)
	var reached atomic.Value
	reached.Store("")
	v := vk.up
	if r.down {
		v = vk.down
	}
	var logs lockedBuilder
	if opts.LogRefusals {
		opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h := build(v, opts, func(route string) { reached.Store(route) })
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	var body *strings.Reader
	if r.form != "" {
		body = strings.NewReader(r.form)
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequestWithContext(context.Background(), method, "http://api.example"+r.path, body)
	if r.form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	for _, a := range r.auth {
		req.Header.Add("Authorization", a)
	}
	if d := r.dpop; d != nil {
		req.Header.Set("Authorization", cmp.Or(d.scheme, "DPoP ")+d.token)
		htu := "http://api.example" + req.URL.Path
		for range max(d.proofs, 1) {
			if d.proofs < 0 {
				break
			}
			proof, err := client.Proof(cmp.Or(d.method, method), cmp.Or(d.url, htu), cmp.Or(d.ath, d.token), "")
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Add("DPoP", proof)
		}
	}
	if r.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "access_token", Value: r.cookie})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	got := reached.Load().(string)

	if want.probe {
		// Only anonymous calls that the options allow anyway: the skipped
		// route, or, with optional credentials, a route without scopes.
		allowed := (got == "/health" && opts.SkipHealth) || (opts.Optional && (got == "/health" || got == "/me"))
		if got != "" && (!allowed || rec.Body.String() != "anonymous") {
			t.Errorf("%s %s reached %s: %d %q", method, r.path, got, rec.Code, rec.Body)
		}
		if rec.Code == 200 && got == "" {
			t.Errorf("200 without a handler")
		}
		return
	}
	if want.status != 200 && opts.CustomErrors {
		base := opts
		base.CustomErrors = false
		code := failureCode(expect(r, base))
		if rec.Code != CustomStatus || rec.Header().Get("X-Failure") != code {
			t.Errorf("custom handler: status %d, X-Failure %q; want %d, %q", rec.Code, rec.Header().Get("X-Failure"), CustomStatus, code)
		}
	} else if rec.Code != want.status {
		t.Errorf("status = %d, want %d (body %q)", rec.Code, want.status, rec.Body)
	}
	if c := rec.Header().Get("WWW-Authenticate"); c != want.challenge {
		t.Errorf("WWW-Authenticate = %q, want %q", c, want.challenge)
	} else if c != "" {
		CheckChallenge(t, c)
	}
	if n := len(rec.Header().Values("WWW-Authenticate")); n > 1 {
		t.Errorf("%d WWW-Authenticate headers", n)
	}
	if wantRetry := want.status == 503 && !opts.CustomErrors; (rec.Header().Get("Retry-After") != "") != wantRetry {
		t.Errorf("Retry-After = %q", rec.Header().Get("Retry-After"))
	}
	if rec.Body.String() != want.body {
		t.Errorf("body = %q, want %q", rec.Body.String(), want.body)
	}
	if want.status != 200 && !opts.CustomErrors && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Errorf("Content-Type = %q", rec.Header().Get("Content-Type"))
	}
	if got != want.reached {
		t.Errorf("handler reached: %q, want %q", got, want.reached)
	}
	if opts.LogRefusals {
		lines := strings.Count(logs.String(), "bearerkit: request refused")
		switch {
		case want.status == 200 && lines != 0:
			t.Errorf("an accepted request was logged as refused:\n%s", logs.String())
		case want.status != 200 && (lines != 1 || !strings.Contains(logs.String(), "status="+strconv.Itoa(want.status))):
			t.Errorf("refusal log for %d:\n%s", want.status, logs.String())
		case want.status == 403 && !strings.Contains(logs.String(), "required_scopes="):
			t.Errorf("403 log without the required scopes:\n%s", logs.String())
		}
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
