package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m, main) }

// The demo runs the issuer, the server and three clients in-process,
// prints what each client sees, and exits 0.
func TestDemo(t *testing.T) {
	p := exampletest.Start(t, nil, "-demo")
	mcpURL := strings.TrimPrefix(p.Line(t, "MCP server: "), "MCP server: ")
	if !strings.HasPrefix(mcpURL, "http://127.0.0.1:") || !strings.HasSuffix(mcpURL, "/mcp") {
		t.Errorf("MCP server URL %q", mcpURL)
	}
	for _, want := range []string{
		"orders-agent tools: cancel_order, list_orders",
		`orders-agent list_orders: {"orders":[{"id":"o-1","item":"coffee beans","status":"open"},{"id":"o-2","item":"grinder","status":"open"},{"id":"o-3","item":"kettle","status":"open"}]}`,
		`orders-agent cancel_order: {"by":"orders-agent","id":"o-1","item":"coffee beans","status":"cancelled"}`,
		"orders-reader cancel_order: tool error: cancel_order needs the orders:write scope, which the access token does not grant",
		`orders-admin reopen_order: {"by":"orders-admin","id":"o-1","item":"coffee beans","status":"open"}`,
	} {
		prefix, _, _ := strings.Cut(want, ":")
		if got := p.Line(t, prefix+":"); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		if strings.HasPrefix(want, "orders-reader cancel_order") {
			// The SDK words the error; the status is what matters.
			if got := p.Line(t, "orders-reader at the admin endpoint:"); !strings.Contains(got, ": refused: ") || !strings.Contains(got, "Forbidden") {
				t.Errorf("the reader at the admin endpoint: %s", got)
			}
		}
	}
	if code, stderr := p.Wait(); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

func TestRefusesToStartWithoutSettings(t *testing.T) {
	p := exampletest.Start(t, []string{"BEARERKIT_ISSUER=https://auth.example.com"})
	if code, stderr := p.Wait(); code == 0 || !strings.Contains(stderr, "BEARERKIT_ISSUER and BEARERKIT_RESOURCE must be set") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// Served as in production: behind a proxy that owns the public URL, the
// server checks tokens for that URL and names its metadata there; it is
// ready once the issuer's keys are loaded, and stops on SIGTERM.
func TestServesAndStopsOnSIGTERM(t *testing.T) {
	as := authtest.NewServer()
	defer as.Close()
	// authtest.NewServer sets Issuer after the server starts, and the
	// child's requests, from another process, are ordered after nothing in
	// this one: one request from here orders that write before them for
	// the race detector.
	if status, _, _ := request(t, "GET", as.Issuer+"/.well-known/openid-configuration"); status != http.StatusOK {
		t.Fatalf("authtest discovery: %d", status)
	}
	const resource = "https://mcp.example.test/mcp"
	p := exampletest.Start(t, []string{"ADDR=127.0.0.1:0", "BEARERKIT_ISSUER=" + as.Issuer, "BEARERKIT_RESOURCE=" + resource})
	base := strings.TrimPrefix(p.Line(t, "listening on "), "listening on ")

	for _, path := range []string{"/livez", "/readyz"} {
		if status, _, _ := request(t, "GET", base+path); status != http.StatusOK {
			t.Errorf("GET %s: %d", path, status)
		}
	}
	want := `Bearer realm="api", resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp"`
	if status, challenge, _ := request(t, "POST", base+"/mcp"); status != http.StatusUnauthorized || challenge != want {
		t.Errorf("POST /mcp without a token: %d %q, want 401 %q", status, challenge, want)
	}
	var meta struct {
		Resource string `json:"resource"`
	}
	_, _, body := request(t, "GET", base+"/.well-known/oauth-protected-resource/mcp")
	if err := json.Unmarshal([]byte(body), &meta); err != nil || meta.Resource != resource {
		t.Errorf("metadata: %v %s", err, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:             base + "/mcp",
		HTTPClient:           &http.Client{Transport: bearer(as.Token(resource, "orders:read"))},
		DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_orders"})
	if err != nil || res.IsError {
		t.Errorf("list_orders: %v %+v", err, res)
	}
	cs.Close()

	p.Terminate(t)
	if code, stderr := p.Wait(); code != 0 || !strings.Contains(stderr, `"msg":"shutting down"`) {
		t.Fatalf("exit %d after SIGTERM, stderr:\n%s", code, stderr)
	}
}

// bearer sends a fixed access token, minted by the test.
type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

func request(t *testing.T, method, url string) (status int, challenge, body string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)
}
