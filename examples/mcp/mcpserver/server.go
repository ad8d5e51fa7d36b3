// Package mcpserver is an MCP server for an orders service, on the official
// Go SDK's streamable HTTP transport, protected by bearerkit as the MCP
// authorization specification asks: the server is an OAuth 2.0 protected
// resource that accepts only access tokens issued for its own URL (RFC 8707
// resource indicators) and tells clients where to get them (RFC 9728
// protected-resource metadata, named in every 401 challenge).
//
// [NewHandler] serves two endpoints, each its own protected resource with
// its own audience and metadata document:
//
//	POST /mcp        tools list_orders (scope orders:read) and cancel_order
//	                 (orders:write), each checking its scope itself: a
//	                 token without it gets a tool error, not an HTTP error
//	POST /mcp/admin  tool reopen_order; every request needs orders:admin,
//	                 checked at the HTTP layer (403 insufficient_scope)
//
// [TokenVerifier] plugs any bearerkit verifier into the SDK's own
// auth.RequireBearerToken middleware instead.
package mcpserver

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerkit/bearerkit/core"
)

// Config configures [NewHandler].
type Config struct {
	// Verifier checks access tokens: a *core.Verifier, a
	// *core.MultiIssuer, an *introspect.Introspector or any other
	// core.TokenVerifier. Required.
	Verifier core.TokenVerifier
	// Resource is the canonical URL of the MCP endpoint, as clients know
	// it, such as https://mcp.example.com/mcp. Tokens must carry it in aud
	// (RFC 8707 §2), and it is the resource of the endpoint's RFC 9728
	// metadata, which clients compare with the URL they asked for. The
	// admin endpoint is Resource + "/admin". Required.
	Resource string
	// AuthorizationServers lists the issuers that clients get tokens from,
	// published in the metadata. Required.
	AuthorizationServers []string
	// Logger receives the MCP transport's logs; nil discards them.
	Logger *slog.Logger
}

// NewHandler returns the handler of both MCP endpoints and their metadata
// documents, at the paths of Config.Resource. Mount it at "/": the
// well-known paths of RFC 9728 §3.1 sit at the root of the origin.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("mcpserver: Config.Verifier is required")
	}
	if len(cfg.AuthorizationServers) == 0 {
		return nil, errors.New("mcpserver: Config.AuthorizationServers is required")
	}
	u, err := url.Parse(cfg.Resource)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.Contains(cfg.Resource, "#") {
		return nil, errors.New("mcpserver: Config.Resource must be an absolute http(s) URL without query or fragment")
	}

	orders := newBook()
	mux := http.NewServeMux()
	protect(mux, cfg, core.ResourceMetadata{
		Resource:             cfg.Resource,
		AuthorizationServers: cfg.AuthorizationServers,
		ScopesSupported:      []string{ScopeRead, ScopeWrite},
		ResourceName:         "Orders MCP server",
	}, newServer(orders))
	protect(mux, cfg, core.ResourceMetadata{
		Resource:             strings.TrimSuffix(cfg.Resource, "/") + "/admin",
		AuthorizationServers: cfg.AuthorizationServers,
		ScopesSupported:      []string{ScopeAdmin},
		ResourceName:         "Orders MCP server (administration)",
	}, newAdminServer(orders), ScopeAdmin)
	return mux, nil
}

// protect serves srv as the protected resource that meta describes: the
// metadata at its well-known path, and the MCP endpoint at the resource's
// path behind bearerkit, for tokens whose aud is the resource and that hold
// every one of scopes.
func protect(mux *http.ServeMux, cfg Config, meta core.ResourceMetadata, srv *mcp.Server, scopes ...string) {
	mux.Handle(meta.WellKnownPath(), meta)

	// Stateless: every POST is served on its own, in the context of its
	// HTTP request, so the claims that the middleware verified for that
	// request are the ones its tool handlers see. There are no sessions to
	// bind to a user or to hijack.
	var h http.Handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: true, Logger: cfg.Logger})
	if len(scopes) > 0 {
		h = core.RequireScope(scopes...)(h)
	}
	// Every 401 names the metadata (RFC 9728 §5.1), where an MCP client
	// finds the authorization server to ask for a token for the resource.
	opts := core.Options{ResourceMetadata: meta.URL()}
	u, _ := url.Parse(meta.Resource) // checked by NewHandler
	mux.Handle(endpointPattern(u.EscapedPath()), core.MiddlewareWithOptions(cfg.Verifier, opts, meta.Resource)(h))
}

// endpointPattern is the ServeMux pattern matching exactly path.
func endpointPattern(path string) string {
	if path == "" || path == "/" {
		return "/{$}"
	}
	if strings.HasSuffix(path, "/") {
		return path + "{$}"
	}
	return path
}
