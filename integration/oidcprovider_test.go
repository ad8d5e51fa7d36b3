package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/bearerkit/bearerkit/core"
)

// panva's oidc-provider, installed from the npm registry at the version
// pinned in oidcprovider/package-lock.json, run by oidcprovider/provider.mjs.
const (
	opDir         = "oidcprovider"
	opInstallTime = 5 * time.Minute

	// Resource indicators (RFC 8707) the provider knows. The main one and
	// the other API get RS256 tokens; the rest exist to get tokens signed
	// with each algorithm.
	opAudience = "urn:bearerkit:orders"
	opOther    = "urn:bearerkit:other"
	opOpaque   = "urn:bearerkit:orders:opaque" // a resource whose tokens are opaque
)

// opAlgResources maps each algorithm to the resource whose tokens are
// signed with it.
var opAlgResources = map[string]string{
	"RS256": opAudience,
	"PS256": "urn:bearerkit:orders:ps256",
	"ES256": "urn:bearerkit:orders:es256",
	"EdDSA": "urn:bearerkit:orders:eddsa",
}

// opConfig is the file provider.mjs reads.
type opConfig struct {
	Issuer    string                `json:"issuer"`
	Host      string                `json:"host"`
	Port      int                   `json:"port"`
	Keys      []map[string]any      `json:"keys"`
	Clients   []map[string]any      `json:"clients"`
	Resources map[string]opResource `json:"resources"`
	// ExtraClaims are added to the access tokens of a client, by client id
	// (oidc-provider's extraTokenClaims).
	ExtraClaims map[string]map[string]any `json:"extraClaims,omitempty"`
	// DPoPNonce makes the token endpoint demand DPoP nonces.
	DPoPNonce bool `json:"dpopNonce,omitempty"`
	// TLS serves HTTPS and enables mutual TLS (RFC 8705).
	TLS *opTLS `json:"tls,omitempty"`
}

// opTLS is the provider's certificate and key, and the CA its clients'
// certificates must chain to, all PEM.
type opTLS struct {
	Key  string `json:"key"`
	Cert string `json:"cert"`
	CA   string `json:"ca"`
}

type opResource struct {
	Scope  string `json:"scope"`
	Alg    string `json:"alg,omitempty"`
	Format string `json:"format,omitempty"` // "opaque" for opaque tokens; JWTs otherwise
}

// oidcProvider is a running oidc-provider.
type oidcProvider struct {
	rolesSecret string // of opRolesClient, when registered
	*authServer
	proc       *process
	configPath string
	config     opConfig
}

// requireNode checks for node and npm, and for a Node.js release new
// enough for oidc-provider 9.
func requireNode(t *testing.T) (node, npm string) {
	t.Helper()
	const install = "install Node.js 22 LTS or later, with npm (https://nodejs.org/; Debian/Ubuntu: apt-get install nodejs npm)"
	node = requireTool(t, "node", install)
	npm = requireTool(t, "npm", install)
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("integration: node --version: %v; %s", err, install)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	parts := strings.SplitN(v, ".", 3)
	major, _ := strconv.Atoi(parts[0])
	minor := 0
	if len(parts) > 1 {
		minor, _ = strconv.Atoi(parts[1])
	}
	// oidc-provider 9 uses crypto.hash (Node.js 20.12+) and recommends 22.
	if major < 20 || (major == 20 && minor < 12) {
		t.Fatalf("integration: Node.js %s is too old for oidc-provider 9; %s", v, install)
	}
	return node, npm
}

// installOIDCProvider runs npm ci when node_modules does not hold the
// version the lockfile pins.
func installOIDCProvider(t *testing.T, npm string) string {
	t.Helper()
	dir, err := filepath.Abs(opDir)
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatalf("integration: %v", err)
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatalf("integration: package-lock.json: %v", err)
	}
	want := lock.Packages["node_modules/oidc-provider"].Version
	if want == "" {
		t.Fatal("integration: package-lock.json pins no oidc-provider")
	}
	var installed struct {
		Version string `json:"version"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err == nil {
		_ = json.Unmarshal(b, &installed)
	}
	if installed.Version != want {
		t.Logf("integration: installing oidc-provider %s with npm ci", want)
		ctx, cancel := context.WithTimeout(context.Background(), opInstallTime)
		defer cancel()
		run(t, ctx, dir, nil, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	}
	return dir
}

// opSigningKeys makes the provider's signing keys: RSA (RS256 and PS256),
// EC P-256 (ES256) and Ed25519 (EdDSA), as private JWKs without kid or
// alg, so that the provider derives both as it does in production.
func opSigningKeys(t *testing.T) []map[string]any {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return []map[string]any{
		jwkMap(t, jose.JSONWebKey{Key: rsaKey}),
		jwkMap(t, jose.JSONWebKey{Key: ecKey}),
		jwkMap(t, jose.JSONWebKey{Key: edKey}),
	}
}

func newRSAKey(t *testing.T) map[string]any {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return jwkMap(t, jose.JSONWebKey{Key: k})
}

// opRolesClient is the client whose tokens carry roles (withRolesClient).
const opRolesClient = "bearerkit-roles"

// withRolesClient registers opRolesClient, whose access tokens carry
// roles: [adminRole] through extraTokenClaims.
func withRolesClient(t *testing.T, op *oidcProvider) {
	op.rolesSecret = randomSecret(t)
	op.config.Clients = append(op.config.Clients,
		opClient(opRolesClient, "client_secret_basic", map[string]any{"client_secret": op.rolesSecret}))
	op.config.ExtraClaims = map[string]map[string]any{opRolesClient: {"roles": []string{adminRole}}}
}

func startOIDCProvider(t *testing.T, opts ...func(*testing.T, *oidcProvider)) *oidcProvider {
	t.Helper()
	node, npm := requireNode(t)
	dir := installOIDCProvider(t, npm)

	port := freePort(t)
	issuer := fmt.Sprintf("http://127.0.0.1:%d", port)
	op := &oidcProvider{configPath: filepath.Join(t.TempDir(), "provider.json")}
	op.proc = newProcess("oidc-provider", dir, node, []string{"provider.mjs", op.configPath}, nil)
	op.proc.cleanup(t)
	op.authServer = &authServer{
		name:     "oidc-provider",
		issuer:   issuer,
		audience: opAudience,
		other:    opOther,
		audParam: "resource",
		basic:    client{id: "bearerkit-basic", secret: randomSecret(t)},
		post:     client{id: "bearerkit-post", secret: randomSecret(t)},
		stop:     op.proc.stop,
		restart:  op.start,
	}
	key, jwk := newClientKey(t, "bearerkit-client-key")
	op.keyed = client{id: "bearerkit-keyed", key: key, kid: "bearerkit-client-key"}

	scopes := readScope + " " + writeScope
	resources := map[string]opResource{opOther: {Scope: scopes, Alg: "RS256"}, opOpaque: {Scope: scopes, Format: "opaque"}}
	for alg, r := range opAlgResources {
		resources[r] = opResource{Scope: scopes, Alg: alg}
	}
	op.config = opConfig{
		Issuer: issuer,
		Host:   "127.0.0.1",
		Port:   port,
		Keys:   opSigningKeys(t),
		Clients: []map[string]any{
			opClient(op.basic.id, "client_secret_basic", map[string]any{"client_secret": op.basic.secret}),
			opClient(op.post.id, "client_secret_post", map[string]any{"client_secret": op.post.secret}),
			opClient(op.keyed.id, "private_key_jwt", map[string]any{
				"jwks":                            map[string]any{"keys": []any{jwk}},
				"token_endpoint_auth_signing_alg": "ES256",
			}),
		},
		Resources: resources,
	}
	for _, o := range opts {
		o(t, op)
	}
	op.start(t)
	if op.disc.Issuer != issuer {
		t.Fatalf("oidc-provider: discovery issuer %q, configured %q", op.disc.Issuer, issuer)
	}
	return op
}

func opClient(id, method string, extra map[string]any) map[string]any {
	c := map[string]any{
		"client_id":                  id,
		"grant_types":                []string{"client_credentials"},
		"response_types":             []string{},
		"redirect_uris":              []string{},
		"scope":                      readScope + " " + writeScope,
		"token_endpoint_auth_method": method,
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// start writes the current configuration and launches the provider on
// its port.
func (op *oidcProvider) start(t *testing.T) {
	t.Helper()
	b, err := json.MarshalIndent(op.config, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(op.configPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	op.proc.start(t)
	op.proc.waitReady(t, op.issuer+"/.well-known/openid-configuration")
	getJSON(t, op.issuer+"/.well-known/openid-configuration", &op.disc)
}

// setKeys restarts the provider with another key set: the way keys are
// rotated for a provider configured with static keys.
func (op *oidcProvider) setKeys(t *testing.T, keys []map[string]any) {
	t.Helper()
	op.proc.stop(t)
	op.config.Keys = keys
	op.start(t)
}

// TestOIDCProvider runs the scenarios against oidc-provider. The
// subtests share one server and run in order: the rotation and outage
// scenarios restart it.
func TestOIDCProvider(t *testing.T) {
	t.Parallel()
	op := startOIDCProvider(t)
	s := op.authServer

	t.Run("1_clientcreds_auth_methods", func(t *testing.T) { scenarioClientCreds(t, s) })
	t.Run("2_gin_and_echo", func(t *testing.T) { scenarioAPIs(t, s) })
	t.Run("3_token_shape", func(t *testing.T) { opTokenShape(t, s) })
	t.Run("4_algorithms", func(t *testing.T) {
		var tokens []signedToken
		for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
			r := opAlgResources[alg]
			tokens = append(tokens, signedToken{alg: alg, token: s.token(t, r, readScope), audience: r})
		}
		// One RSA key without "alg" signs both RS256 and PS256.
		if a, b := headerString(t, tokens[0].token, "kid"), headerString(t, tokens[1].token, "kid"); a != b {
			t.Errorf("RS256 and PS256 tokens carry kids %q and %q, want the same RSA key", a, b)
		}
		scenarioAlgorithms(t, s, tokens)
	})
	t.Run("7_end_to_end", func(t *testing.T) { scenarioEndToEnd(t, s) })
	t.Run("5_key_rotation", func(t *testing.T) {
		scenarioRotation(t, s, rotation{
			// A provider with static keys rotates by redeploying: the new
			// key goes first (it signs), the old one stays published.
			rotate: func(t *testing.T) string {
				k := newRSAKey(t)
				k["kid"] = "bearerkit-rotated"
				op.setKeys(t, append([]map[string]any{k}, op.config.Keys...))
				return "bearerkit-rotated"
			},
			retire: op.retireKey,
		})
	})
	t.Run("6_outage", func(t *testing.T) { scenarioOutage(t, s) })
	t.Run("9_introspection", func(t *testing.T) { scenarioIntrospection(t, opOpaqueServer(op)) })
}

// retireKey restarts the provider without the key that it publishes as
// kid.
func (op *oidcProvider) retireKey(t *testing.T, kid string) {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	getJSON(t, op.disc.JWKSURI, &set)
	var published map[string]any
	for _, k := range set.Keys {
		if k["kid"] == kid {
			published = k
		}
	}
	if published == nil {
		t.Fatalf("oidc-provider does not publish kid %q", kid)
	}
	samePublicKey := func(k map[string]any) bool {
		for _, member := range []string{"kty", "crv", "n", "e", "x", "y"} {
			if k[member] != published[member] {
				return false
			}
		}
		return true
	}
	var keep []map[string]any
	for _, k := range op.config.Keys {
		if !samePublicKey(k) {
			keep = append(keep, k)
		}
	}
	if len(keep) != len(op.config.Keys)-1 {
		t.Fatalf("kid %q matches %d configured keys, want 1", kid, len(op.config.Keys)-len(keep))
	}
	op.setKeys(t, keep)
}

// opTokenShape (scenario 3): oidc-provider sends typ at+jwt, aud as a
// string (from the resource parameter), scope as a space-delimited
// string, client_id, and no nbf; the strict RFC 9068 profile accepts it.
func opTokenShape(t *testing.T, s *authServer) {
	ctx := ctxFor(t)
	tok := s.token(t, s.audience, readScope, writeScope)
	_, payload := jwtParts(t, tok)
	if got := headerString(t, tok, "typ"); got != "at+jwt" {
		t.Errorf("typ %q, want at+jwt", got)
	}
	for claim, kind := range map[string]string{
		"aud": "string", "scope": "string", "scp": "", "client_id": "string",
		"nbf": "", "iat": "number", "exp": "number", "jti": "string", "sub": "string",
	} {
		if got := jsonKind(payload[claim]); got != kind {
			t.Errorf("claim %s is %q (%s), want %q", claim, got, payload[claim], kind)
		}
	}

	for _, strict := range []bool{false, true} {
		v := newVerifier(t, core.Config{Issuer: s.issuer, StrictRFC9068: strict})
		claims, err := v.Verify(ctx, tok, s.audience)
		if err != nil {
			t.Fatalf("Verify (StrictRFC9068 %v): %v", strict, err)
		}
		if !slices.Equal(claims.Audience, []string{s.audience}) || !slices.Equal(claims.Scopes, []string{readScope, writeScope}) ||
			claims.ClientID != s.basic.id || claims.Subject != s.basic.id || !claims.NotBefore.IsZero() ||
			claims.IssuedAt.IsZero() || claims.ID == "" {
			t.Errorf("claims (StrictRFC9068 %v): %+v", strict, claims)
		}
		var custom struct {
			Scope string `json:"scope"`
		}
		if err := claims.Decode(&custom); err != nil || custom.Scope != readScope+" "+writeScope {
			t.Errorf("Decode: %v, scope %q", err, custom.Scope)
		}
	}

	// RFC 8707: a resource the provider does not know is refused at the
	// token endpoint, so no token for it can exist.
	if code := tokenErrorCode(t, s, url.Values{"resource": {"urn:bearerkit:unknown"}}); code != "invalid_target" {
		t.Errorf("unknown resource: error %q, want invalid_target", code)
	}
}
