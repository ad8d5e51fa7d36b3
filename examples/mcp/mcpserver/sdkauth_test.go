package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// serveWithSDKAuth serves the main endpoint's MCP server behind the SDK's
// auth.RequireBearerToken with TokenVerifier(v), as a server already built
// on that middleware would, and returns the resource URL.
func serveWithSDKAuth(t *testing.T, v core.TokenVerifier) (resource, metaURL string) {
	t.Helper()
	serve(t, func(base string) http.Handler {
		resource = base + "/mcp"
		meta := core.ResourceMetadata{Resource: resource, AuthorizationServers: []string{"unused"}}
		metaURL = meta.URL()
		srv := newServer(newBook())
		h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: true})
		mux := http.NewServeMux()
		mux.Handle(meta.WellKnownPath(), meta)
		mux.Handle("/mcp", auth.RequireBearerToken(TokenVerifier(v, resource), &auth.RequireBearerTokenOptions{ResourceMetadataURL: metaURL})(h))
		return mux
	})
	return resource, metaURL
}

// Behind auth.RequireBearerToken, a valid token reaches the tools, whose
// scope checks read the claims from the token info; bad tokens get 401
// with bearerkit's description and nothing of the token or the cause.
func TestSDKMiddleware(t *testing.T) {
	clock := authtest.NewClock(time.Now())
	as := authtest.NewServer(authtest.WithClock(clock.Now))
	defer as.Close()
	stranger := authtest.NewServer()
	defer stranger.Close()
	resource, metaURL := serveWithSDKAuth(t, newVerifier(t, as.Issuer))

	cs := mustConnect(t, resource, withToken(as.Token(resource, ScopeRead)))
	if r := callTool(t, cs, "list_orders", nil); r.isError || !strings.Contains(r.output, `"id":"o-1"`) {
		t.Errorf("list_orders: %+v", r)
	}
	want := "cancel_order needs the orders:write scope, which the access token does not grant"
	if r := callTool(t, cs, "cancel_order", map[string]string{"id": "o-1"}); !r.isError || r.text != want {
		t.Errorf("cancel_order without its scope: %+v, want tool error %q", r, want)
	}

	expired := as.Claims(resource, ScopeRead)
	expired["exp"] = clock.Now().Add(-time.Hour).Unix()
	expiredToken, err := as.Mint(expired)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, token, body string }{
		{"other audience", as.Token("https://other.example.com/mcp", ScopeRead), "invalid token: the token is not meant for this resource"},
		{"other issuer", stranger.Token(resource, ScopeRead), "invalid token: the token was issued by an untrusted issuer"},
		{"expired", expiredToken, "invalid token: the token has expired"},
		{"tampered", tamper(as.Token(resource, ScopeRead)), "invalid token: the token is invalid"},
		{"not a JWT", "not-a-jwt", "invalid token: the token is invalid"},
	} {
		a := post(t, resource, c.token)
		if a.status != http.StatusUnauthorized || strings.TrimSpace(a.body) != c.body {
			t.Errorf("%s: %d %q, want 401 %q", c.name, a.status, a.body, c.body)
		}
		if want := `Bearer resource_metadata="` + metaURL + `"`; a.challenge != want {
			t.Errorf("%s: challenge %q, want %q", c.name, a.challenge, want)
		}
		if _, err := connect(t, resource, withToken(c.token)); err == nil {
			t.Errorf("%s: the MCP client connected", c.name)
		}
	}
	if a := post(t, resource, ""); a.status != http.StatusUnauthorized {
		t.Errorf("no token: %d", a.status)
	}
}

// With the issuer's keys out of reach, the SDK answers 500 (it has no
// 503) with bearerkit's description, never 401, which would make clients
// throw their valid tokens away.
func TestSDKMiddlewareKeysUnavailable(t *testing.T) {
	as := authtest.NewServer()
	defer as.Close()
	as.SetJWKSFault(&authtest.Fault{Status: http.StatusInternalServerError, Body: []byte("jwks-internal-detail")})
	resource, _ := serveWithSDKAuth(t, newVerifier(t, as.Issuer))
	a := post(t, resource, as.Token(resource, ScopeRead))
	if a.status != http.StatusInternalServerError || strings.TrimSpace(a.body) != "token verification is temporarily unavailable" {
		t.Errorf("keys unavailable: %d %q", a.status, a.body)
	}
}

func TestTokenVerifierInfo(t *testing.T) {
	as := authtest.NewServer()
	defer as.Close()
	const aud = "https://mcp.example.com/mcp"
	verify := TokenVerifier(newVerifier(t, as.Issuer), "https://elsewhere.example.com", aud)
	claims := as.Claims(aud, ScopeRead, ScopeWrite)
	token, err := as.Mint(claims)
	if err != nil {
		t.Fatal(err)
	}
	info, err := verify(ctxFor(t), token, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := info.Extra[ClaimsKey].(*core.Claims)
	if strings.Join(info.Scopes, " ") != "orders:read orders:write" ||
		!info.Expiration.Equal(time.Unix(claims["exp"].(int64), 0)) ||
		info.UserID != as.Issuer+" test-subject" ||
		c == nil || c.ClientID != "test-client" {
		t.Errorf("token info %+v, claims %+v", info, c)
	}

	// No subject: no user id, rather than one that several callers share.
	delete(claims, "sub")
	if token, err = as.Mint(claims); err != nil {
		t.Fatal(err)
	}
	if info, err := verify(ctxFor(t), token, nil); err != nil || info.UserID != "" {
		t.Errorf("token without sub: %v, %+v; want no user id", err, info)
	}
}

// stubVerifier fails every token with err.
type stubVerifier struct{ err error }

func (s stubVerifier) Verify(context.Context, string, ...string) (*core.Claims, error) {
	return nil, s.err
}

// Every bearerkit failure maps onto the SDK class the status table of
// core gives it, with core's client-safe text and nothing of the cause.
func TestTokenVerifierErrors(t *testing.T) {
	cause := errors.New("https://keys.internal.example/jwks kid=secret-kid")
	for _, c := range []struct {
		err          error
		invalid, bad bool // auth.ErrInvalidToken, auth.ErrOAuth
		text         string
	}{
		{&core.Error{Reason: core.ReasonAudience, Cause: cause}, true, false, "invalid token: the token is not meant for this resource"},
		{&core.Error{Reason: core.ReasonExpired}, true, false, "invalid token: the token has expired"},
		{&core.Error{Reason: core.ReasonSignature, Cause: cause}, true, false, "invalid token: the token is invalid"},
		{fmt.Errorf("validate: %w", core.ErrInsufficientScope), true, false, "invalid token: the token lacks a required scope"},
		{&core.Error{Reason: core.ReasonMultipleTokens}, false, true, "oauth error: the request must carry exactly one well-formed bearer token"},
		{&core.Error{Reason: core.ReasonKeySetUnavailable, Cause: cause}, false, false, "token verification is temporarily unavailable"},
		{cause, false, false, "the request could not be authorized"},
	} {
		verify := TokenVerifier(stubVerifier{c.err}, "https://mcp.example.com/mcp")
		info, err := verify(context.Background(), "token", nil)
		if info != nil || err == nil {
			t.Fatalf("%v: %v, %v", c.err, info, err)
		}
		if errors.Is(err, auth.ErrInvalidToken) != c.invalid || errors.Is(err, auth.ErrOAuth) != c.bad || err.Error() != c.text {
			t.Errorf("%v: got %q (invalid %v, oauth %v), want %q (%v, %v)", c.err, err,
				errors.Is(err, auth.ErrInvalidToken), errors.Is(err, auth.ErrOAuth), c.text, c.invalid, c.bad)
		}
	}
}

func TestTokenVerifierNeedsAudience(t *testing.T) {
	for _, aud := range [][]string{nil, {""}, {"https://mcp.example.com/mcp", ""}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("TokenVerifier(v, %q) did not panic", aud)
				}
			}()
			TokenVerifier(stubVerifier{}, aud...)
		}()
	}
}
