package mcpserver_test

import (
	"context"
	"log"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerkit/bearerkit/core"
)

// readme:begin mcp
func Example_protect() {
	const resource = "https://mcp.example.com/mcp" // the URL clients use, and the tokens' aud
	v, err := core.New(core.Config{Issuer: "https://auth.example.com/"})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	server := mcp.NewServer(&mcp.Implementation{Name: "orders", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "cancel_order"},
		func(ctx context.Context, _ *mcp.CallToolRequest, in struct{ ID string }) (*mcp.CallToolResult, any, error) {
			claims, _ := core.ClaimsFromContext(ctx) // set by the middleware below
			if err := core.CheckScopes(claims, "orders:write"); err != nil {
				return nil, nil, err // a tool error the client reads; names no token
			}
			return nil, map[string]string{"cancelled": in.ID, "by": claims.ClientID}, nil
		})
	// Stateless: each POST runs in its own request's context, with its own claims.
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true})

	meta := core.ResourceMetadata{Resource: resource, AuthorizationServers: []string{"https://auth.example.com/"}}
	mux := http.NewServeMux()
	mux.Handle(meta.WellKnownPath(), meta) // /.well-known/oauth-protected-resource/mcp
	mux.Handle("/mcp", core.MiddlewareWithOptions(v, core.Options{ResourceMetadata: meta.URL()}, resource)(mcpHandler))
	log.Fatal(http.ListenAndServe(":8080", mux))
}

// readme:end
