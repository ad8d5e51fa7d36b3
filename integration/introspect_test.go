package integration

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/introspect"
)

// opaqueServer is what the introspection scenario needs of a server that
// issues opaque tokens.
type opaqueServer struct {
	*authServer
	config   introspect.Config                // the Introspector's endpoint and credentials
	audience string                           // the aud the opaque tokens carry
	token    func(t *testing.T) string        // a fresh opaque token with the read scope
	revoke   func(t *testing.T, token string) // RFC 7009
}

// scenarioIntrospection (scenario 9): an Introspector behind Gin and
// Echo. A valid opaque token is served; a revoked one is refused once its
// cache entry has ended (at most CacheTTL after the revocation); with the
// server stopped, a token not in the cache is answered 503 with
// Retry-After, never 401; after a restart the Introspector recovers.
func scenarioIntrospection(t *testing.T, s opaqueServer) {
	ctx := ctxFor(t)
	clock := newFakeClock()
	cfg := s.config
	cfg.Now, cfg.CacheTTL = clock.Now, time.Minute
	in, err := introspect.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	apis := newAPIs(t, in, s.audience)

	tok := s.token(t)
	if strings.Count(tok, ".") == 2 {
		t.Fatalf("%s issued a JWT, not an opaque token", s.name)
	}
	for _, a := range apis {
		if w := a.expectOK(t, a.call(t, tok)); w.ClientID == "" || !strings.Contains(strings.Join(w.Scopes, " "), readScope) {
			t.Errorf("%s: claims %+v", a.name, w)
		}
	}
	claims, err := in.Verify(ctx, tok, s.audience)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := claims.Decode(&raw); err != nil || raw["active"] != true {
		t.Errorf("Decode of the answer: %v, %v", raw, err)
	}

	s.revoke(t, tok)
	for _, a := range apis {
		a.expectOK(t, a.call(t, tok)) // still cached
	}
	clock.Advance(time.Minute)
	for _, a := range apis {
		a.expectRefusal(t, a.call(t, tok), refusal{status: http.StatusUnauthorized,
			challenge: `Bearer realm="api", error="invalid_token", error_description="the token is not active"`, code: "invalid_token"})
	}

	// A token the server issued before stopping, not yet in the cache.
	pending := s.token(t)
	s.stop(t)
	for _, a := range apis {
		a.expectRefusal(t, a.call(t, pending), refusal{status: http.StatusServiceUnavailable, retryAfterMax: 1, code: "temporarily_unavailable"})
	}
	if _, err := in.Verify(ctx, pending, s.audience); !errors.Is(err, core.ErrUnavailable) || errors.Is(err, core.ErrInvalidToken) {
		t.Errorf("server stopped: %v", err)
	}
	if in.Ready() == nil {
		t.Error("Ready with the endpoint down")
	}
	s.restart(t)
	clock.Advance(time.Minute) // past the pause after the failures
	fresh := s.token(t)
	for _, a := range apis {
		a.expectOK(t, a.call(t, fresh))
	}
	if err := in.Ready(); err != nil {
		t.Errorf("Ready after recovery: %v", err)
	}
}

// hydraOpaque: Hydra's admin introspection endpoint, guarded by the
// network only (no client authentication), and its public revocation.
func hydraOpaque(h *hydra) opaqueServer {
	return opaqueServer{
		authServer: h.authServer,
		config:     introspect.Config{URL: h.admin + "/admin/oauth2/introspect", Issuer: h.issuer, AuthMethod: introspect.None},
		audience:   h.audience,
		token: func(t *testing.T) string {
			return fetchToken(t, h.disc.TokenEndpoint, tokenRequest{clientID: h.opaque.id, secret: h.opaque.secret,
				scopes: []string{readScope}, params: url.Values{"audience": {h.audience}}})
		},
		revoke: func(t *testing.T, token string) {
			revokeToken(t, h.issuer+"/oauth2/revoke", h.opaque, token)
		},
	}
}

// opOpaqueServer: oidc-provider's introspection endpoint, found by
// discovery and requiring client authentication, for tokens of a resource
// configured as opaque.
func opOpaqueServer(op *oidcProvider) opaqueServer {
	return opaqueServer{
		authServer: op.authServer,
		config:     introspect.Config{Issuer: op.issuer, ClientID: op.basic.id, ClientSecret: op.basic.secret},
		audience:   opOpaque,
		token: func(t *testing.T) string {
			return fetchToken(t, op.disc.TokenEndpoint, tokenRequest{clientID: op.basic.id, secret: op.basic.secret,
				scopes: []string{readScope}, params: url.Values{"resource": {opOpaque}}})
		},
		revoke: func(t *testing.T, token string) {
			revokeToken(t, op.disc.RevocationEndpoint, op.basic, token)
		},
	}
}

// revokeToken revokes an access token at endpoint (RFC 7009), with the
// client's Basic credentials.
func revokeToken(t *testing.T, endpoint string, c client, token string) {
	t.Helper()
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation at %s: status %d", endpoint, resp.StatusCode)
	}
}
