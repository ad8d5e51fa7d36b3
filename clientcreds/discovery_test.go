package clientcreds

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// protectedResource is an API at /mcp behind core.Middleware that publishes
// RFC 9728 metadata and counts what it serves.
type protectedResource struct {
	*httptest.Server
	URL         string // the resource identifier: the server's URL + "/mcp"
	challenges  atomic.Int64
	metadata    atomic.Int64
	served      atomic.Int64
	named       string // the resource_metadata its challenges name
	meta        core.ResourceMetadata
	verifierErr error
}

// newProtectedResource starts the API. edit may change the published
// document and the URL the challenges name before the server answers.
func newProtectedResource(t *testing.T, srv *authtest.Server, edit func(pr *protectedResource)) *protectedResource {
	t.Helper()
	pr := &protectedResource{}
	mux := http.NewServeMux()
	pr.Server = httptest.NewServer(mux)
	t.Cleanup(pr.Close)
	pr.URL = pr.Server.URL + "/mcp"
	pr.meta = core.ResourceMetadata{Resource: pr.URL, AuthorizationServers: []string{srv.Issuer}}
	pr.named = pr.meta.URL()
	path := pr.meta.WellKnownPath() // where the resource publishes, whatever the document says
	if edit != nil {
		edit(pr)
	}
	v, err := core.New(core.Config{Issuer: srv.Issuer, JWKSURL: srv.JWKSURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	api := core.MiddlewareWithOptions(v, core.Options{ResourceMetadata: pr.named}, pr.URL)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pr.served.Add(1)
			io.WriteString(w, "ok")
		}))
	mux.Handle("/mcp", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			pr.challenges.Add(1)
		}
		api.ServeHTTP(w, r)
	}))
	mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr.metadata.Add(1)
		pr.meta.ServeHTTP(w, r)
	}))
	return pr
}

func resourceConfig(resource string) Config {
	return Config{ClientID: testID, ClientSecret: testSecret, ProtectedResource: resource, Scopes: []string{"orders:read"}}
}

// TestResourceDiscovery: given only the resource URL, the client reads the
// challenge, the metadata and the authorization server's metadata, and
// gets a token whose audience is the resource.
func TestResourceDiscovery(t *testing.T) {
	srv := newIssuer(t, nil)
	pr := newProtectedResource(t, srv, nil)
	c, _ := newClient(t, resourceConfig(pr.URL))

	resp, err := c.HTTPClient().Get(pr.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("GET %s = %d %q, want 200 ok", pr.URL, resp.StatusCode, body)
	}
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	verify(t, srv, nil, tok, pr.URL)
	if got := [4]int64{pr.challenges.Load(), pr.metadata.Load(), int64(srv.DiscoveryRequests()), int64(srv.TokenRequests())}; got != [4]int64{1, 1, 1, 1} {
		t.Fatalf("challenges, resource metadata, AS metadata, token requests = %v, want one each", got)
	}

	t.Run("well-known URL without a challenge parameter", func(t *testing.T) {
		pr := newProtectedResource(t, srv, func(pr *protectedResource) { pr.named = "" })
		c, _ := newClient(t, resourceConfig(pr.URL))
		tok, err := c.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		verify(t, srv, nil, tok, pr.URL)
		if pr.metadata.Load() != 1 {
			t.Fatalf("metadata requests = %d, want 1", pr.metadata.Load())
		}
	})
	t.Run("configured issuer chosen among several", func(t *testing.T) {
		pr := newProtectedResource(t, srv, func(pr *protectedResource) {
			pr.meta.AuthorizationServers = []string{"https://other.example", srv.Issuer}
		})
		cfg := resourceConfig(pr.URL)
		cfg.Issuer = srv.Issuer
		c, _ := newClient(t, cfg)
		if _, err := c.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestM1MixUpRefused: metadata for another resource, or an authorization
// server whose RFC 8414 issuer differs, gets no token request.
func TestM1MixUpRefused(t *testing.T) {
	cases := []struct {
		name   string
		issuer []authtest.Option
		edit   func(pr *protectedResource)
		cfg    func(cfg *Config)
		want   string
	}{
		{name: "resource differs", edit: func(pr *protectedResource) { pr.meta.Resource = pr.Server.URL + "/other" }, want: "RFC 9728 §3.3"},
		{name: "resource differs by a slash", edit: func(pr *protectedResource) { pr.meta.Resource += "/" }, want: "RFC 9728 §3.3"},
		{name: "issuer differs", issuer: []authtest.Option{authtest.WithMetadataIssuer("https://evil.example")}, want: "issuer"},
		{name: "no authorization servers", edit: func(pr *protectedResource) { pr.meta.AuthorizationServers = nil }, want: "no authorization_servers"},
		{name: "configured issuer not listed", cfg: func(cfg *Config) { cfg.Issuer = "https://elsewhere.example" }, want: "configured issuer"},
		{name: "authorization server not https", edit: func(pr *protectedResource) { pr.meta.AuthorizationServers = []string{"http://as.example"} }, want: "authorization server"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newIssuer(t, nil, tc.issuer...)
			pr := newProtectedResource(t, srv, tc.edit)
			cfg := resourceConfig(pr.URL)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			c, _ := newClient(t, cfg)
			_, err := c.Token(context.Background())
			if !errors.Is(err, ErrDiscovery) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrDiscovery mentioning %q", err, tc.want)
			}
			if srv.TokenRequests() != 0 {
				t.Fatalf("token requests = %d, want 0", srv.TokenRequests())
			}
			resp, err := c.HTTPClient().Get(pr.URL)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("request went out with status %d; want the discovery error", resp.StatusCode)
			}
			if pr.served.Load() != 0 {
				t.Fatal("the API served a request")
			}
		})
	}
}

// TestM2ForeignMetadataNotFetched: a resource_metadata URL on another
// origin is ignored (the well-known URL is read instead) unless that
// origin is configured.
func TestM2ForeignMetadataNotFetched(t *testing.T) {
	srv := newIssuer(t, nil)
	evilAS := newIssuer(t, nil)
	var foreign atomic.Int64
	var resource string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreign.Add(1)
		core.ResourceMetadata{Resource: resource, AuthorizationServers: []string{evilAS.Issuer}}.ServeHTTP(w, r)
	}))
	defer elsewhere.Close()
	pr := newProtectedResource(t, srv, func(pr *protectedResource) {
		pr.named = elsewhere.URL + "/.well-known/oauth-protected-resource/mcp"
	})
	resource = pr.URL

	c, _ := newClient(t, resourceConfig(pr.URL))
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	verify(t, srv, nil, tok, pr.URL)
	if foreign.Load() != 0 || pr.metadata.Load() != 1 || evilAS.TokenRequests() != 0 {
		t.Fatalf("foreign metadata %d, own metadata %d, other AS tokens %d; want 0, 1, 0",
			foreign.Load(), pr.metadata.Load(), evilAS.TokenRequests())
	}

	t.Run("configured origin", func(t *testing.T) {
		cfg := resourceConfig(pr.URL)
		cfg.MetadataOrigins = []string{elsewhere.URL}
		cfg.ClientID, cfg.ClientSecret = testID, testSecret
		c, _ := newClient(t, cfg)
		if _, err := c.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		if foreign.Load() != 1 || evilAS.TokenRequests() != 1 {
			t.Fatalf("foreign metadata %d, its AS tokens %d; want 1 and 1", foreign.Load(), evilAS.TokenRequests())
		}
	})
	t.Run("rule", func(t *testing.T) {
		c, _ := newClient(t, resourceConfig("https://api.example/mcp"))
		ru, _ := url.Parse("https://api.example/mcp")
		for named, want := range map[string]bool{
			"https://api.example/.well-known/oauth-protected-resource/mcp": true,
			"https://api.example:443/meta":                                 true,
			"http://api.example/meta":                                      false, // not https
			"https://api.example:8443/meta":                                false, // another origin
			"https://evil.example/meta":                                    false,
			"https://api.example.evil/meta":                                false,
			"//evil.example/meta":                                          false,
			"https://user@api.example/meta":                                false,
			"not a url at all\x00":                                         false,
			"https://api.example/meta#frag":                                false,
		} {
			if got := c.mayFetchMetadata(ru, named); got != want {
				t.Errorf("mayFetchMetadata(%q) = %v, want %v", named, got, want)
			}
		}
	})
}

func TestProtectedResourceConfig(t *testing.T) {
	for _, cfg := range []Config{
		{ClientID: testID, ClientSecret: testSecret, ProtectedResource: "http://api.example/mcp"},
		{ClientID: testID, ClientSecret: testSecret, ProtectedResource: "https://api.example/mcp", MetadataOrigins: []string{"https://meta.example/path"}},
		{ClientID: testID, ClientSecret: testSecret, ProtectedResource: "https://api.example/mcp", MetadataOrigins: []string{"http://meta.example"}},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%+v) err = %v, want ErrInvalidConfig", cfg.MetadataOrigins, err)
		}
	}
	c, err := New(Config{ClientID: testID, ClientSecret: testSecret, ProtectedResource: "https://api.example/mcp", Resource: []string{"https://api.example/mcp"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.cfg.Resource; len(got) != 1 {
		t.Fatalf("Resource = %v, want the resource once", got)
	}
}
