package integration

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerkit/bearerkit/clientcreds"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/examples/mcp/mcpserver"
)

// TestMCP (scenario 10) runs the MCP server of examples/mcp against
// oidc-provider, which knows the server's two endpoints as resource
// indicators (RFC 8707), so that the aud of their tokens is the endpoint's
// URL. A clientcreds client given nothing but that URL and its credentials
// finds the provider through the endpoint's RFC 9728 metadata, and an MCP
// client on the official SDK lists and calls the tools with its tokens.
func TestMCP(t *testing.T) {
	t.Parallel()
	// The server's URL is part of the provider's configuration, so its
	// port is taken first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resource := "http://" + ln.Addr().String() + "/mcp"
	admin := resource + "/admin"
	op := startOIDCProvider(t, func(_ *testing.T, op *oidcProvider) {
		op.config.Resources[resource] = opResource{Scope: readScope + " " + writeScope, Alg: "RS256"}
		// Tokens for the admin endpoint never carry orders:admin here: the
		// provider knows no such scope.
		op.config.Resources[admin] = opResource{Scope: readScope + " " + writeScope, Alg: "ES256"}
	})
	s := op.authServer

	h, err := mcpserver.NewHandler(mcpserver.Config{
		Verifier:             newVerifier(t, core.Config{Issuer: s.issuer}),
		Resource:             resource,
		AuthorizationServers: []string{s.issuer},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	t.Run("discovery_and_tools", func(t *testing.T) {
		cc := newCC(t, clientcreds.Config{
			ClientID: s.basic.id, ClientSecret: s.basic.secret,
			ProtectedResource: resource, Scopes: []string{readScope, writeScope},
		})
		cs := mcpConnect(t, resource, cc.HTTPClient())
		tools, err := cs.ListTools(ctxFor(t), nil)
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		var names []string
		for _, tool := range tools.Tools {
			names = append(names, tool.Name)
		}
		if got := strings.Join(names, " "); got != "list_orders cancel_order" && got != "cancel_order list_orders" {
			t.Errorf("tools: %q", got)
		}
		if out, errText := mcpCall(t, cs, "list_orders", nil); errText != "" || !strings.Contains(out, `"id":"o-1"`) {
			t.Errorf("list_orders: %s %s", out, errText)
		}
		want := `{"by":"` + s.basic.id + `","id":"o-2","item":"grinder","status":"cancelled"}`
		if out, errText := mcpCall(t, cs, "cancel_order", map[string]string{"id": "o-2"}); out != want {
			t.Errorf("cancel_order: %s %s, want %s", out, errText, want)
		}

		// The token came from the provider, for the resource.
		tok, err := cc.Token(ctxFor(t))
		if err != nil {
			t.Fatal(err)
		}
		_, payload := jwtParts(t, tok)
		if string(payload["aud"]) != `"`+resource+`"` || string(payload["iss"]) != `"`+s.issuer+`"` {
			t.Errorf("token aud %s, iss %s; want %q, %q", payload["aud"], payload["iss"], resource, s.issuer)
		}
	})

	t.Run("tool_scope", func(t *testing.T) {
		cc := newCC(t, clientcreds.Config{
			ClientID: s.post.id, ClientSecret: s.post.secret, AuthMethod: clientcreds.ClientSecretPost,
			ProtectedResource: resource, Scopes: []string{readScope},
		})
		cs := mcpConnect(t, resource, cc.HTTPClient())
		if out, errText := mcpCall(t, cs, "list_orders", nil); errText != "" || out == "" {
			t.Errorf("list_orders with %s: %s %s", readScope, out, errText)
		}
		want := "cancel_order needs the orders:write scope, which the access token does not grant"
		if out, errText := mcpCall(t, cs, "cancel_order", map[string]string{"id": "o-3"}); errText != want {
			t.Errorf("cancel_order with %s only: %s %q, want tool error %q", readScope, out, errText, want)
		}
	})

	t.Run("wrong_resource", func(t *testing.T) {
		meta := "http://" + ln.Addr().String() + "/.well-known/oauth-protected-resource/mcp"
		for _, aud := range []string{s.audience, s.other, admin} {
			tok := s.token(t, aud, readScope, writeScope)
			status, challenge := mcpPost(t, resource, tok)
			want := `Bearer realm="api", error="invalid_token", error_description="the token is not meant for this resource", resource_metadata="` + meta + `"`
			if status != http.StatusUnauthorized || challenge != want {
				t.Errorf("token for %s: %d %q, want 401 %q", aud, status, challenge, want)
			}
			if _, err := mcpConnectErr(t, resource, &http.Client{Transport: bearerToken(tok)}); err == nil {
				t.Errorf("an MCP client with a token for %s connected", aud)
			}
		}
		// A client told a URL that is not exactly the resource refuses its
		// metadata (RFC 9728 §3.3) before asking for any token.
		cc := newCC(t, clientcreds.Config{
			ClientID: s.basic.id, ClientSecret: s.basic.secret,
			ProtectedResource: resource + "/", Scopes: []string{readScope},
		})
		if _, err := cc.Token(ctxFor(t)); !errors.Is(err, clientcreds.ErrDiscovery) {
			t.Errorf("resource %s/: %v, want ErrDiscovery", resource, err)
		}
	})

	t.Run("admin_http_scope", func(t *testing.T) {
		tok := s.token(t, admin, readScope, writeScope)
		status, challenge := mcpPost(t, admin, tok)
		if want := `Bearer realm="api", error="insufficient_scope", scope="orders:admin"`; status != http.StatusForbidden || challenge != want {
			t.Errorf("admin endpoint: %d %q, want 403 %q", status, challenge, want)
		}
	})
}

// bearerToken sends a fixed access token.
type bearerToken string

func (b bearerToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

func mcpConnectErr(t *testing.T, endpoint string, hc *http.Client) (*mcp.ClientSession, error) {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "bearerkit-integration", Version: "1"}, nil)
	cs, err := client.Connect(ctxFor(t), &mcp.StreamableClientTransport{
		Endpoint: endpoint, HTTPClient: hc, DisableStandaloneSSE: true, MaxRetries: -1,
	}, nil)
	if err == nil {
		t.Cleanup(func() { _ = cs.Close() })
	}
	return cs, err
}

func mcpConnect(t *testing.T, endpoint string, hc *http.Client) *mcp.ClientSession {
	t.Helper()
	cs, err := mcpConnectErr(t, endpoint, hc)
	if err != nil {
		t.Fatalf("connecting to %s: %v", endpoint, err)
	}
	return cs
}

// mcpCall calls a tool and returns its structured output as JSON, or the
// text of its tool error.
func mcpCall(t *testing.T, cs *mcp.ClientSession, tool string, args any) (output, toolError string) {
	t.Helper()
	res, err := cs.CallTool(ctxFor(t), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("calling %s: %v", tool, err)
	}
	if res.IsError {
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				toolError += tc.Text
			}
		}
		return "", toolError
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), ""
}

// mcpPost sends an MCP initialize request with token and returns the
// status and challenge.
func mcpPost(t *testing.T, endpoint, token string) (int, string) {
	t.Helper()
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bearerkit-integration","version":"1"}}}`
	req, err := http.NewRequestWithContext(ctxFor(t), http.MethodPost, endpoint, strings.NewReader(initialize))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}
