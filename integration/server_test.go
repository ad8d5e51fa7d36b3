package integration

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/bearerkit/bearerkit/core"
)

// authServer is a running authorization server as the shared scenarios
// see it. hydra_test.go and oidcprovider_test.go fill it in.
type authServer struct {
	name     string
	issuer   string // what the server puts in "iss"
	disc     discovery
	audience string // the test API's identifier
	other    string // another API's identifier, also granted to the clients
	// audParam is the token-request parameter that selects the audience:
	// "audience" for Hydra, "resource" (RFC 8707) for oidc-provider.
	audParam string

	basic client // client_secret_basic
	post  client // client_secret_post
	keyed client // private_key_jwt

	// stop kills the server; restart starts it again on the same ports
	// and provisions it as before.
	stop    func(t *testing.T)
	restart func(t *testing.T)
}

// client is a registered OAuth client. Every client may ask for the read
// and write scopes and for both audiences.
type client struct {
	id     string
	secret string        // for the secret methods
	key    crypto.Signer // for private_key_jwt
	kid    string
}

// token obtains an access token from s for aud with the basic client.
func (s *authServer) token(t *testing.T, aud string, scopes ...string) string {
	t.Helper()
	return fetchToken(t, s.disc.TokenEndpoint, tokenRequest{
		clientID: s.basic.id,
		secret:   s.basic.secret,
		scopes:   scopes,
		params:   url.Values{s.audParam: {aud}},
	})
}

// newVerifier returns a verifier closed when t ends.
func newVerifier(t *testing.T, cfg core.Config) *core.Verifier {
	t.Helper()
	v, err := core.New(cfg)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

// newClientKey makes the P-256 key a private_key_jwt client signs its
// assertions with, and the public JWK the server is given for it.
func newClientKey(t *testing.T, kid string) (*ecdsa.PrivateKey, map[string]any) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key, jwkMap(t, jose.JSONWebKey{Key: &key.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"})
}

// jwkMap renders a JWK as a generic JSON object, for configuration files
// and API bodies.
func jwkMap(t *testing.T, k jose.JSONWebKey) map[string]any {
	t.Helper()
	b, err := k.MarshalJSON()
	if err != nil {
		t.Fatalf("marshalling JWK: %v", err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
