package integration

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bearerkit/bearerkit/core"
)

// TestMultiIssuer runs one core.MultiIssuer over Ory Hydra and
// oidc-provider at once, behind Gin and Echo: tokens of each are accepted,
// a token of one carrying the other's key id is refused without touching
// the other, a key rotation at one leaves the other alone, and authority
// carried in oidc-provider's roles claim (extraTokenClaims) is required per
// route.
func TestMultiIssuer(t *testing.T) {
	t.Parallel()
	h := startHydra(t)
	op := startOIDCProvider(t, withRolesClient)
	ctx := ctxFor(t)

	hydraCT, opCT := newCountingTransport(), newCountingTransport()
	mi, err := core.NewMultiIssuer(
		core.Config{Issuer: h.issuer, HTTPClient: hydraCT.client()},
		core.Config{Issuer: op.issuer, HTTPClient: opCT.client(), ScopeClaims: []string{"scope", "roles"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mi.Close)
	apis := newAPIs(t, mi, h.audience, op.audience)

	hydraTok := h.token(t, h.audience, readScope)
	opTok := op.token(t, op.audience, readScope)
	for _, a := range apis {
		if w := a.expectOK(t, a.call(t, hydraTok)); w.ClientID != h.basic.id {
			t.Errorf("%s: Hydra token seen as client %q", a.name, w.ClientID)
		}
		if w := a.expectOK(t, a.call(t, opTok)); w.ClientID != op.basic.id {
			t.Errorf("%s: oidc-provider token seen as client %q", a.name, w.ClientID)
		}
	}
	if err := mi.Ready(); err != nil {
		t.Errorf("Ready: %v", err)
	}
	hydraJWKS, opJWKS := hydraCT.count(h.disc.jwksPath(t)), opCT.count(op.disc.jwksPath(t))
	if hydraJWKS != 1 || opJWKS != 1 {
		t.Fatalf("JWKS requests: Hydra %d, oidc-provider %d; want 1 each", hydraJWKS, opJWKS)
	}

	// Each token with the other server's key id in its header: refused,
	// and the server whose key id it names is never asked.
	crossed := []string{withKid(t, opTok, kidOf(t, hydraTok)), withKid(t, hydraTok, kidOf(t, opTok))}
	for _, tok := range crossed {
		for _, a := range apis {
			a.expectRefusal(t, a.call(t, tok), refusedInvalid)
		}
		if _, err := mi.Verify(ctx, tok, h.audience, op.audience); err == nil {
			t.Error("a token with the other issuer's kid verified")
		}
	}
	// Each issuer may refetch once for the unknown kid; neither fetches
	// for the other's.
	if n := hydraCT.count(h.disc.jwksPath(t)); n > hydraJWKS+1 {
		t.Errorf("Hydra JWKS fetched %d times, want at most %d", n, hydraJWKS+1)
	}
	if n := opCT.count(op.disc.jwksPath(t)); n > opJWKS+1 {
		t.Errorf("oidc-provider JWKS fetched %d times, want at most %d", n, opJWKS+1)
	}

	// A new Hydra signing key: its tokens verify after one refetch at
	// Hydra; oidc-provider is not asked again.
	mi.Close() // a fresh MultiIssuer, on a clock the test moves past the refetch cooldown
	clock := newFakeClock()
	hydraCT, opCT = newCountingTransport(), newCountingTransport()
	mi, err = core.NewMultiIssuer(
		core.Config{Issuer: h.issuer, HTTPClient: hydraCT.client(), Now: clock.Now},
		core.Config{Issuer: op.issuer, HTTPClient: opCT.client(), ScopeClaims: []string{"scope", "roles"}, Now: clock.Now},
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mi.Close)
	if err := mi.Prefetch(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(core.DefaultRefetchCooldown)
	h.addKey(t, "ES256", "bearerkit-multi-rotated")
	rotated := h.token(t, h.audience, readScope)
	if kidOf(t, rotated) != "bearerkit-multi-rotated" {
		t.Fatalf("Hydra signed with kid %q after the rotation", kidOf(t, rotated))
	}
	for _, tok := range []string{rotated, hydraTok, opTok} {
		if _, err := mi.Verify(ctx, tok, h.audience, op.audience); err != nil {
			t.Errorf("after the rotation: %v", err)
		}
	}
	if n, m := hydraCT.count(h.disc.jwksPath(t)), opCT.count(op.disc.jwksPath(t)); n != 2 || m != 1 {
		t.Errorf("after the rotation: Hydra JWKS %d (want 2: prefetch and refetch), oidc-provider %d (want 1)", n, m)
	}

	// Authority from oidc-provider's roles claim, required per route.
	rolesTok := fetchToken(t, op.disc.TokenEndpoint, tokenRequest{
		clientID: opRolesClient, secret: op.rolesSecret, scopes: []string{readScope},
		params: map[string][]string{"resource": {op.audience}},
	})
	admins := newAPIs(t, mi, h.audience, op.audience)
	for _, a := range admins {
		if w := a.expectOK(t, a.get(t, http.DefaultClient, adminPath, rolesTok)); !strings.Contains(strings.Join(w.Scopes, " "), adminRole) {
			t.Errorf("%s: scopes %q lack the role", a.name, w.Scopes)
		}
		a.expectRefusal(t, a.get(t, http.DefaultClient, adminPath, opTok), refusal{status: http.StatusForbidden,
			challenge: `Bearer realm="api", error="insufficient_scope", scope="` + adminRole + `"`, code: "insufficient_scope"})
	}
}

// kidOf returns the kid of a JWT's header.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	return headerString(t, token, "kid")
}

// withKid returns token with its header's kid replaced (which breaks the
// signature, as a forger's token would be broken).
func withKid(t *testing.T, token, kid string) string {
	t.Helper()
	parts := strings.SplitN(token, ".", 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	h["kid"] = kid
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b) + "." + parts[1] + "." + parts[2]
}
