package mcpserver

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bearerkit/bearerkit/clientcreds"
	"github.com/bearerkit/bearerkit/core"
)

// Without a token, each endpoint answers 401 with a challenge naming its
// own RFC 9728 metadata, which is served there and describes it.
func TestChallengeNamesMetadata(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		resource, metaPath string
		scopes             []string
	}{
		{f.resource, "/.well-known/oauth-protected-resource/mcp", []string{ScopeRead, ScopeWrite}},
		{f.admin, "/.well-known/oauth-protected-resource/mcp/admin", []string{ScopeAdmin}},
	} {
		want := `Bearer realm="api", resource_metadata="` + f.base + c.metaPath + `"`
		for _, a := range []answer{post(t, c.resource, ""), get(t, c.resource)} {
			if a.status != http.StatusUnauthorized || a.challenge != want {
				t.Errorf("%s without a token: %d %q, want 401 %q", c.resource, a.status, a.challenge, want)
			}
		}
		a := get(t, f.base+c.metaPath)
		var doc core.ResourceMetadata
		if err := json.Unmarshal([]byte(a.body), &doc); err != nil || a.status != http.StatusOK {
			t.Fatalf("metadata %s: %d %v %s", c.metaPath, a.status, err, a.body)
		}
		if doc.Resource != c.resource || !slices.Equal(doc.AuthorizationServers, []string{f.as.Issuer}) ||
			!slices.Equal(doc.ScopesSupported, c.scopes) {
			t.Errorf("metadata %s: %+v", c.metaPath, doc)
		}
	}
}

// A client given only the MCP server's URL and its credentials finds the
// authorization server through the metadata, gets a token for the
// resource, lists the tools and calls both.
func TestDiscoveryThenTools(t *testing.T) {
	f := newFixture(t)
	cc, err := clientcreds.New(clientcreds.Config{
		ClientID: agent.ID, ClientSecret: agent.Secret,
		ProtectedResource: f.resource, Scopes: []string{ScopeRead, ScopeWrite},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	cs := mustConnect(t, f.resource, cc.HTTPClient())

	if got := toolNames(t, cs); got != "cancel_order list_orders" && got != "list_orders cancel_order" {
		t.Errorf("tools/list: %q", got)
	}
	if r := callTool(t, cs, "list_orders", nil); r.isError || !strings.HasPrefix(r.output, `{"orders":[{"id":"o-1","item":"coffee beans","status":"open"},`) {
		t.Errorf("list_orders: %+v", r)
	}
	want := `{"by":"agent","id":"o-2","item":"grinder","status":"cancelled"}`
	if r := callTool(t, cs, "cancel_order", map[string]string{"id": "o-2"}); r.isError || r.output != want {
		t.Errorf("cancel_order: %+v, want output %s", r, want)
	}
	if n := f.as.TokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	tok, err := cc.Token(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := newVerifier(t, f.as.Issuer).Verify(ctxFor(t), tok, f.resource)
	if err != nil || !slices.Equal(claims.Audience, []string{f.resource}) {
		t.Errorf("the client's token: %v, %+v; want aud = [%s]", err, claims, f.resource)
	}
}

// A token for another resource is refused at the HTTP layer, with the
// metadata named, and an MCP client holding one cannot connect.
func TestTokenForAnotherResource(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ endpoint, aud, metaPath string }{
		{f.resource, "https://other.example.com/mcp", "/mcp"},
		{f.resource, f.admin, "/mcp"},
		{f.resource, f.base, "/mcp"},
		{f.admin, f.resource, "/mcp/admin"},
	} {
		token := f.as.Token(c.aud, ScopeRead, ScopeWrite, ScopeAdmin)
		want := `Bearer realm="api", error="invalid_token", error_description="the token is not meant for this resource", ` +
			`resource_metadata="` + f.base + "/.well-known/oauth-protected-resource" + c.metaPath + `"`
		if a := post(t, c.endpoint, token); a.status != http.StatusUnauthorized || a.challenge != want {
			t.Errorf("%s with a token for %s: %d %q, want 401 %q", c.endpoint, c.aud, a.status, a.challenge, want)
		}
		if _, err := connect(t, c.endpoint, withToken(token)); err == nil {
			t.Errorf("%s: an MCP client with a token for %s connected", c.endpoint, c.aud)
		}
	}
	// The same shape of token, for the right resource, is accepted.
	if a := post(t, f.resource, f.as.Token(f.resource)); a.status != http.StatusOK {
		t.Errorf("a token for %s: %d %s", f.resource, a.status, a.body)
	}
	if a := post(t, f.resource, tamper(f.as.Token(f.resource, ScopeRead))); a.status != http.StatusUnauthorized {
		t.Errorf("a tampered token: %d", a.status)
	}
}

// Each tool checks its own scope: tools/list works with any valid token,
// and a tool whose scope the token lacks answers a tool error that names
// the tool and the scope, and holds nothing of the token.
func TestToolScopes(t *testing.T) {
	f := newFixture(t)
	const (
		needRead  = "list_orders needs the orders:read scope, which the access token does not grant"
		needWrite = "cancel_order needs the orders:write scope, which the access token does not grant"
	)
	for _, c := range []struct {
		scopes          []string
		list, cancel    string // the tool error expected; "" for success
		cancelledStatus string
	}{
		{[]string{ScopeRead}, "", needWrite, ""},
		{[]string{ScopeWrite}, needRead, "", "cancelled"},
		{[]string{ScopeRead, ScopeWrite}, "", "", "cancelled"},
		{nil, needRead, needWrite, ""},
		{[]string{ScopeAdmin}, needRead, needWrite, ""},
	} {
		t.Run(strings.Join(c.scopes, "+"), func(t *testing.T) {
			token := f.as.Token(f.resource, c.scopes...)
			cs := mustConnect(t, f.resource, withToken(token))
			if got := toolNames(t, cs); !strings.Contains(got, "list_orders") || !strings.Contains(got, "cancel_order") {
				t.Errorf("tools/list: %q", got)
			}
			check := func(tool, wantErr string, r toolResult) {
				t.Helper()
				switch {
				case wantErr == "" && r.isError:
					t.Errorf("%s: tool error %q", tool, r.text)
				case wantErr != "" && (!r.isError || r.text != wantErr):
					t.Errorf("%s: %+v, want tool error %q", tool, r, wantErr)
				case strings.Contains(r.text, token) || strings.Contains(r.text, token[strings.LastIndexByte(token, '.')+1:]):
					t.Errorf("%s: the result holds the token", tool)
				}
			}
			check("list_orders", c.list, callTool(t, cs, "list_orders", nil))
			r := callTool(t, cs, "cancel_order", map[string]string{"id": "o-3"})
			check("cancel_order", c.cancel, r)
			if c.cancel == "" && !strings.Contains(r.output, `"status":"`+c.cancelledStatus+`"`) {
				t.Errorf("cancel_order: %+v", r)
			}
		})
	}
}

// The admin endpoint requires its scope at the HTTP layer: 403
// insufficient_scope without it, the tool with it.
func TestAdminEndpointScope(t *testing.T) {
	f := newFixture(t)
	for _, scopes := range [][]string{{ScopeRead, ScopeWrite}, nil} {
		token := f.as.Token(f.admin, scopes...)
		want := `Bearer realm="api", error="insufficient_scope", scope="orders:admin"`
		if a := post(t, f.admin, token); a.status != http.StatusForbidden || a.challenge != want {
			t.Errorf("admin endpoint with %v: %d %q, want 403 %q", scopes, a.status, a.challenge, want)
		}
		if _, err := connect(t, f.admin, withToken(token)); err == nil {
			t.Errorf("an MCP client with %v connected to the admin endpoint", scopes)
		}
	}

	cs := mustConnect(t, f.admin, withToken(f.as.Token(f.admin, ScopeAdmin)))
	if got := toolNames(t, cs); got != "reopen_order" {
		t.Errorf("admin tools/list: %q", got)
	}
	want := `{"by":"test-client","id":"o-1","item":"coffee beans","status":"open"}`
	if r := callTool(t, cs, "reopen_order", map[string]string{"id": "o-1"}); r.isError || r.output != want {
		t.Errorf("reopen_order: %+v, want %s", r, want)
	}
	if r := callTool(t, cs, "reopen_order", map[string]string{"id": "o-9"}); !r.isError || r.text != `there is no order "o-9"` {
		t.Errorf("reopen_order of an unknown order: %+v", r)
	}
}

func TestNewHandlerConfig(t *testing.T) {
	v := newVerifier(t, "https://issuer.example.com")
	good := Config{Verifier: v, Resource: "https://mcp.example.com/mcp", AuthorizationServers: []string{"https://issuer.example.com"}}
	if _, err := NewHandler(good); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, change := range map[string]func(*Config){
		"no verifier":     func(c *Config) { c.Verifier = nil },
		"no issuers":      func(c *Config) { c.AuthorizationServers = nil },
		"no resource":     func(c *Config) { c.Resource = "" },
		"relative":        func(c *Config) { c.Resource = "/mcp" },
		"other scheme":    func(c *Config) { c.Resource = "urn:orders:mcp" },
		"query":           func(c *Config) { c.Resource = "https://mcp.example.com/mcp?x=1" },
		"fragment":        func(c *Config) { c.Resource = "https://mcp.example.com/mcp#x" },
		"empty fragment":  func(c *Config) { c.Resource = "https://mcp.example.com/mcp#" },
		"user info":       func(c *Config) { c.Resource = "https://u@mcp.example.com/mcp" },
		"unparsable host": func(c *Config) { c.Resource = "https://mcp example/mcp" },
	} {
		c := good
		change(&c)
		if _, err := NewHandler(c); err == nil {
			t.Errorf("%s: NewHandler accepted %+v", name, c)
		}
	}
}

// An MCP client that knows only an endpoint's URL gets no token for
// metadata that does not describe that URL (M1), nor from metadata on
// another origin (M2): impostor endpoints that point at the real server's
// metadata, or at their own, are never given a token, and the
// authorization server is never asked for one.
func TestDiscoveryMixUpRefused(t *testing.T) {
	f := newFixture(t)
	// An impostor on its own origin whose 401 names the real server's
	// metadata (another origin, describing another resource).
	foreign := serve(t, func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+f.base+`/.well-known/oauth-protected-resource/mcp"`)
			w.WriteHeader(http.StatusUnauthorized)
		})
	})
	// A server whose /mcp is the real thing and whose /mcp-copy answers
	// 401 naming the metadata of /mcp: same origin, but the document's
	// resource is not the URL the client asked for.
	copyBase := serve(t, func(base string) http.Handler {
		h, err := NewHandler(Config{Verifier: newVerifier(t, f.as.Issuer), Resource: base + "/mcp", AuthorizationServers: []string{f.as.Issuer}})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/", h)
		mux.HandleFunc("/mcp-copy", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+base+`/.well-known/oauth-protected-resource/mcp"`)
			w.WriteHeader(http.StatusUnauthorized)
		})
		return mux
	})
	for name, endpoint := range map[string]string{
		"metadata on another origin":    foreign + "/mcp",
		"same origin, another resource": copyBase + "/mcp-copy",
	} {
		t.Run(name, func(t *testing.T) {
			before := f.as.TokenRequests()
			cc, err := clientcreds.New(clientcreds.Config{ClientID: agent.ID, ClientSecret: agent.Secret, ProtectedResource: endpoint})
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			if _, err := connect(t, endpoint, cc.HTTPClient()); err == nil {
				t.Fatal("connected")
			}
			if _, err := cc.Token(ctxFor(t)); err == nil {
				t.Error("clientcreds obtained a token")
			}
			if got := f.as.TokenRequests(); got != before {
				t.Errorf("token requests: %d, want none", got-before)
			}
		})
	}
}
