package mcpserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// fixture is an authtest authorization server and an MCP server on
// loopback ports, both stopped when the test ends.
type fixture struct {
	as       *authtest.Server
	base     string // the MCP server's origin
	resource string // base + "/mcp"
	admin    string // resource + "/admin"
}

// Clients registered with the fixture's authorization server.
var (
	agent  = authtest.Client{ID: "agent", Secret: "agent-secret", Scopes: []string{ScopeRead, ScopeWrite}}
	reader = authtest.Client{ID: "reader", Secret: "reader-secret", Scopes: []string{ScopeRead}}
)

// serve starts an HTTP server on 127.0.0.1 whose handler is made once its
// URL is known, and stops it when the test ends.
func serve(t *testing.T, handler func(base string) http.Handler) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	ts.Config.Handler = handler(base)
	ts.Start()
	t.Cleanup(ts.Close)
	return base
}

// newFixture serves NewHandler, with a core.Verifier for the authtest
// issuer.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{as: authtest.NewServer(authtest.WithClient(agent), authtest.WithClient(reader))}
	t.Cleanup(f.as.Close)
	v := newVerifier(t, f.as.Issuer)
	f.base = serve(t, func(base string) http.Handler {
		f.resource = base + "/mcp"
		f.admin = f.resource + "/admin"
		h, err := NewHandler(Config{Verifier: v, Resource: f.resource, AuthorizationServers: []string{f.as.Issuer}})
		if err != nil {
			t.Fatal(err)
		}
		return h
	})
	return f
}

func newVerifier(t *testing.T, issuer string) *core.Verifier {
	t.Helper()
	v, err := core.New(core.Config{Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// bearer sends a fixed access token, minted by the test.
type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

func withToken(token string) *http.Client { return &http.Client{Transport: bearer(token)} }

// connect opens an MCP session with endpoint through hc, closed when the
// test ends.
func connect(t *testing.T, endpoint string, hc *http.Client) (*mcp.ClientSession, error) {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := client.Connect(ctxFor(t), &mcp.StreamableClientTransport{
		Endpoint: endpoint, HTTPClient: hc, DisableStandaloneSSE: true, MaxRetries: -1,
	}, nil)
	if err == nil {
		t.Cleanup(func() { _ = cs.Close() })
	}
	return cs, err
}

func mustConnect(t *testing.T, endpoint string, hc *http.Client) *mcp.ClientSession {
	t.Helper()
	cs, err := connect(t, endpoint, hc)
	if err != nil {
		t.Fatalf("connecting to %s: %v", endpoint, err)
	}
	return cs
}

// toolResult is what a client sees of a tool call: the structured output
// as JSON, or the text of a tool error.
type toolResult struct {
	output  string
	isError bool
	text    string
}

func callTool(t *testing.T, cs *mcp.ClientSession, name string, args any) toolResult {
	t.Helper()
	res, err := cs.CallTool(ctxFor(t), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("calling %s: %v", name, err)
	}
	r := toolResult{isError: res.IsError}
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			r.text += tc.Text
		}
	}
	if res.StructuredContent != nil {
		b, err := json.Marshal(res.StructuredContent)
		if err != nil {
			t.Fatal(err)
		}
		r.output = string(b)
	}
	return r
}

func toolNames(t *testing.T, cs *mcp.ClientSession) string {
	t.Helper()
	res, err := cs.ListTools(ctxFor(t), nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return strings.Join(names, " ")
}

// answer is an HTTP response as the tests check it.
type answer struct {
	status    int
	challenge string
	body      string
}

// post sends an MCP initialize request to url, with token when not empty.
func post(t *testing.T, url, token string) answer {
	t.Helper()
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}`
	req, err := http.NewRequestWithContext(ctxFor(t), http.MethodPost, url, strings.NewReader(initialize))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

func get(t *testing.T, url string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxFor(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate"), body: string(body)}
}

// tamper changes one character of the token's signature.
func tamper(token string) string {
	b := []byte(token)
	i := len(b) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
