package integration

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/core"
)

// Ory Hydra, built from the Go module proxy at the version pinned in
// hydra/go.mod (its "tool" line). In-memory storage is SQLite, which needs
// cgo and these build tags.
const (
	hydraVersion   = "v2.3.0"
	hydraModule    = "github.com/ory/hydra/v2"
	hydraBuildTags = "sqlite,sqlite_omit_load_extension"
	hydraBuildTime = 15 * time.Minute

	hydraKeySet = "hydra.jwt.access-token" // the JWKS that signs JWT access tokens

	hydraAudience = "orders-api"
	hydraOther    = "other-api"
)

// hydraBuild serialises Hydra builds within the test process.
var hydraBuild sync.Mutex

// hydraBinary returns the path of a Hydra binary built from hydra/, and
// builds it when the cache has none for the current pins and toolchain.
func hydraBinary(t *testing.T) string {
	t.Helper()
	goTool := requireTool(t, "go", "install a Go toolchain (https://go.dev/dl/) to build Ory Hydra")

	dir, err := filepath.Abs("hydra")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("integration: %v", err)
		}
		h.Write(b)
	}
	fmt.Fprintf(h, "%s %s/%s %s", goEnv(t, goTool, "GOVERSION"), runtime.GOOS, runtime.GOARCH, hydraBuildTags)
	bin := filepath.Join(cacheDir(t), "hydra-"+hydraVersion+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	// Parallel tests of this process wait for one build rather than race
	// to make the same file.
	hydraBuild.Lock()
	defer hydraBuild.Unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin
	}

	cc := goEnv(t, goTool, "CC")
	if cc == "" {
		cc = "gcc"
	}
	if _, err := exec.LookPath(strings.Fields(cc)[0]); err != nil {
		t.Fatalf("integration: Hydra's in-memory store (SQLite) needs cgo, but the C compiler %q is not on PATH; install one (Debian/Ubuntu: apt-get install gcc)", cc)
	}
	t.Logf("integration: building Ory Hydra %s into %s (once; later runs reuse it)", hydraVersion, bin)
	ctx, cancel := context.WithTimeout(context.Background(), hydraBuildTime)
	defer cancel()
	if d, ok := t.Deadline(); ok {
		// Fail with the build's output rather than let go test's own
		// timeout kill the binary mid-build.
		var cancelDeadline context.CancelFunc
		ctx, cancelDeadline = context.WithDeadline(ctx, d.Add(-30*time.Second))
		defer cancelDeadline()
	}
	f, err := os.CreateTemp(filepath.Dir(bin), filepath.Base(bin)+".tmp-*") // unique across processes too
	if err != nil {
		t.Fatalf("integration: %v", err)
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	run(t, ctx, dir, []string{"CGO_ENABLED=1", "GOWORK=off"},
		goTool, "build", "-tags", hydraBuildTags, "-o", tmp, hydraModule)
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatalf("integration: %v", err)
	}
	return bin
}

func goEnv(t *testing.T, goTool, name string) string {
	t.Helper()
	out, err := exec.Command(goTool, "env", name).Output()
	if err != nil {
		t.Fatalf("integration: go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// cacheDir is where built servers are kept between runs: the user's cache
// directory, or the git-ignored integration/hydra/bin when there is none.
func cacheDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("hydra", "bin")
	if base, err := os.UserCacheDir(); err == nil {
		dir = filepath.Join(base, "bearerkit-integration")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("integration: %v", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// hydra is a running Hydra with its admin API.
type hydra struct {
	*authServer
	admin string // admin API base URL
	proc  *process
	// clients holds the bodies of POST /admin/clients, replayed after a
	// restart (dsn: memory keeps nothing).
	clients []map[string]any
	opaque  client // a client that gets opaque access tokens
}

func startHydra(t *testing.T) *hydra {
	t.Helper()
	bin := hydraBinary(t)
	publicPort, adminPort := freePort(t), freePort(t)
	issuer := fmt.Sprintf("http://127.0.0.1:%d", publicPort)
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "hydra.yml")
	// --dev allows the plain-http loopback issuer. dsn: memory keeps
	// everything, keys included, in the process.
	yml := fmt.Sprintf(`dsn: memory
log:
  level: info
  format: text
serve:
  public:
    host: 127.0.0.1
    port: %d
  admin:
    host: 127.0.0.1
    port: %d
urls:
  self:
    issuer: %s
strategies:
  access_token: jwt
oauth2:
  expose_internal_errors: true
ttl:
  access_token: 1h
secrets:
  system:
    - %s
`, publicPort, adminPort, issuer, hex.EncodeToString(secret))
	if err := os.WriteFile(config, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}

	h := &hydra{
		admin: fmt.Sprintf("http://127.0.0.1:%d", adminPort),
		proc: newProcess("hydra", dir, bin,
			[]string{"serve", "all", "--dev", "--sqa-opt-out", "-c", config},
			[]string{"SQA_OPT_OUT=true"}),
	}
	h.proc.cleanup(t)
	h.authServer = &authServer{
		name:     "hydra",
		issuer:   issuer,
		audience: hydraAudience,
		other:    hydraOther,
		audParam: "audience",
		basic:    client{id: "bearerkit-basic", secret: randomSecret(t)},
		post:     client{id: "bearerkit-post", secret: randomSecret(t)},
		stop:     h.proc.stop,
		restart:  h.start,
	}
	key, jwk := newClientKey(t, "bearerkit-client-key")
	h.keyed = client{id: "bearerkit-keyed", key: key, kid: "bearerkit-client-key"}

	h.opaque = client{id: "bearerkit-opaque", secret: randomSecret(t)}
	h.clients = []map[string]any{
		// Hydra issues this client opaque access tokens (its global
		// strategy here is jwt).
		hydraClient(h.opaque.id, "client_secret_basic", map[string]any{"client_secret": h.opaque.secret, "access_token_strategy": "opaque"}),
		hydraClient(h.basic.id, "client_secret_basic", map[string]any{"client_secret": h.basic.secret}),
		hydraClient(h.post.id, "client_secret_post", map[string]any{"client_secret": h.post.secret}),
		hydraClient(h.keyed.id, "private_key_jwt", map[string]any{
			"jwks":                            map[string]any{"keys": []any{jwk}},
			"token_endpoint_auth_signing_alg": "ES256",
		}),
	}
	h.start(t)
	if h.disc.Issuer != issuer {
		t.Fatalf("hydra: discovery issuer %q, configured %q", h.disc.Issuer, issuer)
	}
	return h
}

// start launches Hydra, waits until both APIs are ready, and provisions
// the clients.
func (h *hydra) start(t *testing.T) {
	t.Helper()
	h.proc.start(t)
	h.proc.waitReady(t, h.admin+"/health/ready")
	h.proc.waitReady(t, h.issuer+"/.well-known/openid-configuration")
	for _, c := range h.clients {
		sendJSON(t, http.MethodPost, h.admin+"/admin/clients", c, nil)
	}
	getJSON(t, h.issuer+"/.well-known/openid-configuration", &h.disc)
}

func hydraClient(id, method string, extra map[string]any) map[string]any {
	c := map[string]any{
		"client_id":                  id,
		"grant_types":                []string{"client_credentials"},
		"scope":                      readScope + " " + writeScope,
		"audience":                   []string{hydraAudience, hydraOther},
		"token_endpoint_auth_method": method,
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// addKey creates a signing key for JWT access tokens. Hydra signs with
// the newest key and keeps publishing the older ones.
func (h *hydra) addKey(t *testing.T, alg, kid string) {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	sendJSON(t, http.MethodPost, h.admin+"/admin/keys/"+hydraKeySet,
		map[string]string{"alg": alg, "kid": kid, "use": "sig"}, &set)
	if len(set.Keys) != 1 || set.Keys[0].Kid != kid || set.Keys[0].Alg != alg {
		t.Fatalf("hydra: creating a %s key answered %+v", alg, set)
	}
}

// deleteKey removes a key from the access-token key set.
func (h *hydra) deleteKey(t *testing.T, kid string) {
	t.Helper()
	sendJSON(t, http.MethodDelete, h.admin+"/admin/keys/"+hydraKeySet+"/"+kid, nil, nil)
}

func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestHydra runs the scenarios against Ory Hydra. The subtests share one
// server and run in order: the algorithm and rotation scenarios add keys,
// and the outage scenario restarts the server.
func TestHydra(t *testing.T) {
	t.Parallel()
	h := startHydra(t)
	s := h.authServer

	t.Run("1_clientcreds_auth_methods", func(t *testing.T) { scenarioClientCreds(t, s) })
	t.Run("2_gin_and_echo", func(t *testing.T) { scenarioAPIs(t, s) })
	t.Run("3_token_shape", func(t *testing.T) { hydraTokenShape(t, s) })
	t.Run("4_algorithms", func(t *testing.T) { scenarioAlgorithms(t, s, hydraAlgTokens(t, h)) })
	t.Run("5_key_rotation", func(t *testing.T) {
		scenarioRotation(t, s, rotation{
			rotate: func(t *testing.T) string {
				h.addKey(t, "ES256", "bearerkit-rotated")
				return "bearerkit-rotated"
			},
			retire: h.deleteKey,
		})
	})
	t.Run("7_end_to_end", func(t *testing.T) { scenarioEndToEnd(t, s) })
	t.Run("6_outage", func(t *testing.T) { scenarioOutage(t, s) })
	t.Run("9_introspection", func(t *testing.T) { scenarioIntrospection(t, hydraOpaque(h)) })
}

// hydraTokenShape (scenario 3): Hydra sends typ JWT, aud as an array
// (from the audience parameter), scopes in scp as an array, client_id and
// nbf. The lenient default accepts it; the strict RFC 9068 profile refuses
// it for its typ.
func hydraTokenShape(t *testing.T, s *authServer) {
	ctx := ctxFor(t)
	tok := s.token(t, s.audience, readScope)
	header, payload := jwtParts(t, tok)
	if got := headerString(t, tok, "typ"); got != "JWT" {
		t.Errorf("typ %q, want JWT", got)
	}
	if jsonKind(header["kid"]) != "string" {
		t.Errorf("kid %s, want a string", header["kid"])
	}
	for claim, kind := range map[string]string{
		"aud": "array", "scp": "array", "scope": "", "client_id": "string",
		"nbf": "number", "iat": "number", "exp": "number", "jti": "string", "sub": "string",
	} {
		if got := jsonKind(payload[claim]); got != kind {
			t.Errorf("claim %s is %q (%s), want %q", claim, got, payload[claim], kind)
		}
	}

	v := newVerifier(t, core.Config{Issuer: s.issuer})
	claims, err := v.Verify(ctx, tok, s.audience)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !slices.Equal(claims.Audience, []string{s.audience}) || !slices.Equal(claims.Scopes, []string{readScope}) ||
		claims.ClientID != s.basic.id || claims.Subject != s.basic.id || claims.NotBefore.IsZero() || claims.ID == "" {
		t.Errorf("claims %+v", claims)
	}
	var custom struct {
		Scp []string `json:"scp"`
	}
	if err := claims.Decode(&custom); err != nil || !slices.Equal(custom.Scp, []string{readScope}) {
		t.Errorf("Decode: %v, scp %q", err, custom.Scp)
	}

	strict := newVerifier(t, core.Config{Issuer: s.issuer, StrictRFC9068: true})
	_, err = strict.Verify(ctx, tok, s.audience)
	expectReason(t, "strict RFC 9068 verifier, typ JWT", err, core.ReasonType)

	// Several audience parameters give one token for several APIs.
	both := fetchToken(t, s.disc.TokenEndpoint, tokenRequest{
		clientID: s.basic.id, secret: s.basic.secret, scopes: []string{readScope},
		params: url.Values{"audience": {s.audience, s.other}},
	})
	for _, aud := range []string{s.audience, s.other} {
		c, err := v.Verify(ctx, both, aud)
		if err != nil {
			t.Errorf("two-audience token for %q: %v", aud, err)
		} else if !slices.Equal(c.Audience, []string{s.audience, s.other}) {
			t.Errorf("two-audience token: aud %q", c.Audience)
		}
	}
	_, err = v.Verify(ctx, both, "third-api")
	expectReason(t, "two-audience token for a third API", err, core.ReasonAudience)
}

// hydraAlgTokens returns a token from Hydra's own RS256 key, then adds an
// ES256, a PS256 and an EdDSA key through the admin API, one at a time,
// and returns a token from each: the newest key signs.
func hydraAlgTokens(t *testing.T, h *hydra) []signedToken {
	t.Helper()
	first := h.token(t, h.audience, readScope)
	out := []signedToken{{alg: "RS256", token: first, audience: h.audience}}

	// Hydra generates a 4096-bit RSA key, the largest bearerkit accepts.
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			N   string `json:"n"`
		} `json:"keys"`
	}
	getJSON(t, h.disc.JWKSURI, &set)
	kid := headerString(t, first, "kid")
	found := false
	for _, k := range set.Keys {
		if k.Kid == kid {
			found = true
			n, err := base64.RawURLEncoding.DecodeString(k.N)
			if bits := new(big.Int).SetBytes(n).BitLen(); err != nil || bits != 4096 {
				t.Errorf("Hydra's RS256 key has a %d-bit modulus (%v), want 4096", bits, err)
			}
		}
	}
	if !found {
		t.Errorf("kid %q of Hydra's first token is not in its JWKS", kid)
	}

	for _, alg := range []string{"ES256", "PS256", "EdDSA"} {
		kid := "bearerkit-" + strings.ToLower(alg)
		h.addKey(t, alg, kid)
		out = append(out, signedToken{alg: alg, kid: kid, token: h.token(t, h.audience, readScope), audience: h.audience})
	}
	return out
}
