package integration

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/bearerkit/bearerkit/clientcreds"
	"github.com/bearerkit/bearerkit/core"
)

// ccConfig is the clientcreds configuration for c at s, asking for aud
// with the server's own audience parameter.
func ccConfig(s *authServer, c client, method clientcreds.AuthMethod, aud string, scopes ...string) clientcreds.Config {
	cfg := clientcreds.Config{
		ClientID:   c.id,
		TokenURL:   s.disc.TokenEndpoint,
		Scopes:     scopes,
		AuthMethod: method,
	}
	if method == clientcreds.PrivateKeyJWT {
		cfg.PrivateKey, cfg.KeyID = c.key, c.kid
	} else {
		cfg.ClientSecret = c.secret
	}
	switch s.audParam {
	case "audience":
		cfg.Audience = []string{aud}
	case "resource":
		cfg.Resource = []string{aud}
	}
	return cfg
}

func newCC(t *testing.T, cfg clientcreds.Config) *clientcreds.Client {
	t.Helper()
	cc, err := clientcreds.New(cfg)
	if err != nil {
		t.Fatalf("clientcreds.New: %v", err)
	}
	return cc
}

// scenarioClientCreds (scenario 1): clientcreds obtains tokens with each
// client authentication method the server registered for the client (the
// server refuses any other), with scopes and the audience or resource
// parameter, and the verifier accepts them.
func scenarioClientCreds(t *testing.T, s *authServer) {
	v := newVerifier(t, core.Config{Issuer: s.issuer})
	methods := []struct {
		method clientcreds.AuthMethod
		client client
	}{
		{clientcreds.ClientSecretBasic, s.basic},
		{clientcreds.ClientSecretPost, s.post},
		{clientcreds.PrivateKeyJWT, s.keyed},
	}
	for _, m := range methods {
		t.Run(string(m.method), func(t *testing.T) {
			ctx := ctxFor(t)
			cc := newCC(t, ccConfig(s, m.client, m.method, s.audience, readScope, writeScope))
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			claims, err := v.Verify(ctx, tok, s.audience)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if claims.ClientID != m.client.id || !claims.HasScopes(readScope, writeScope) ||
				!slices.Equal(claims.Audience, []string{s.audience}) {
				t.Errorf("claims: client_id %q, scopes %q, aud %q", claims.ClientID, claims.Scopes, claims.Audience)
			}
			again, err := cc.Token(ctx)
			if err != nil || again != tok {
				t.Errorf("second Token call: %v; same token: %v", err, again == tok)
			}

			// The other audience, through the same parameter.
			other := newCC(t, ccConfig(s, m.client, m.method, s.other, readScope))
			otok, err := other.Token(ctx)
			if err != nil {
				t.Fatalf("Token for the other audience: %v", err)
			}
			if _, err := v.Verify(ctx, otok, s.other); err != nil {
				t.Errorf("Verify for the other audience: %v", err)
			}
			_, err = v.Verify(ctx, otok, s.audience)
			expectReason(t, "other audience's token at this API", err, core.ReasonAudience)
		})
	}

	// Only the issuer: the token endpoint comes from the server's
	// discovery document.
	t.Run("discovered_token_endpoint", func(t *testing.T) {
		ctx := ctxFor(t)
		cfg := ccConfig(s, s.basic, clientcreds.ClientSecretBasic, s.audience, readScope)
		cfg.TokenURL, cfg.Issuer = "", s.issuer
		tok, err := newCC(t, cfg).Token(ctx)
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		if _, err := v.Verify(ctx, tok, s.audience); err != nil {
			t.Errorf("Verify: %v", err)
		}
	})

	// A wrong secret: the server's RFC 6749 §5.2 error reaches the caller
	// as an *oauth2.RetrieveError, and the secret appears nowhere.
	t.Run("wrong_secret", func(t *testing.T) {
		ctx := ctxFor(t)
		bad := s.basic
		bad.secret = "wrong-" + s.basic.secret
		_, err := newCC(t, ccConfig(s, bad, clientcreds.ClientSecretBasic, s.audience, readScope)).Token(ctx)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) {
			t.Fatalf("Token with a wrong secret: %v, want an *oauth2.RetrieveError", err)
		}
		if re.ErrorCode != "invalid_client" {
			t.Errorf("error code %q, want invalid_client", re.ErrorCode)
		}
		if strings.Contains(err.Error(), bad.secret) || strings.Contains(string(re.Body), bad.secret) {
			t.Errorf("the error shows the secret: %v", err)
		}
	})
}

// scenarioEndToEnd (scenario 7): a service calls the Gin and Echo APIs
// through clientcreds.HTTPClient(), which fetches and sends the token.
func scenarioEndToEnd(t *testing.T, s *authServer) {
	v := newVerifier(t, core.Config{Issuer: s.issuer})
	apis := newAPIs(t, v, s.audience)

	reader := newCC(t, ccConfig(s, s.basic, clientcreds.ClientSecretBasic, s.audience, readScope)).HTTPClient()
	keyed := newCC(t, ccConfig(s, s.keyed, clientcreds.PrivateKeyJWT, s.audience, readScope)).HTTPClient()
	writer := newCC(t, ccConfig(s, s.post, clientcreds.ClientSecretPost, s.audience, writeScope)).HTTPClient()
	elsewhere := newCC(t, ccConfig(s, s.basic, clientcreds.ClientSecretBasic, s.other, readScope)).HTTPClient()

	for _, a := range apis {
		t.Run(a.name, func(t *testing.T) {
			for _, c := range []struct {
				hc *http.Client
				id string
			}{{reader, s.basic.id}, {keyed, s.keyed.id}} {
				w := a.expectOK(t, a.callWith(t, c.hc, ""))
				if w.ClientID != c.id || !slices.Equal(w.Scopes, []string{readScope}) {
					t.Errorf("handler saw %+v, want client %q with %q", w, c.id, readScope)
				}
			}
			a.expectRefusal(t, a.callWith(t, writer, ""), refusedScope)
			a.expectRefusal(t, a.callWith(t, elsewhere, ""), refusedAudience)
		})
	}
}
