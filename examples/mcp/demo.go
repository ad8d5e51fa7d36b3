package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/clientcreds"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/examples/mcp/mcpserver"
)

// runDemo starts an authtest authorization server and the MCP server on
// 127.0.0.1, then lets three clients with different scopes use the MCP
// server, printing what each sees.
func runDemo(ctx context.Context, log *slog.Logger, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	agent := authtest.Client{ID: "orders-agent", Secret: rand.Text(), Scopes: []string{mcpserver.ScopeRead, mcpserver.ScopeWrite}}
	reader := authtest.Client{ID: "orders-reader", Secret: rand.Text(), Scopes: []string{mcpserver.ScopeRead}}
	admin := authtest.Client{ID: "orders-admin", Secret: rand.Text(), Scopes: []string{mcpserver.ScopeAdmin}}
	as := authtest.NewServer(authtest.WithClient(agent), authtest.WithClient(reader), authtest.WithClient(admin))
	defer as.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	resource := "http://" + ln.Addr().String() + "/mcp"
	v, err := core.New(core.Config{Issuer: as.Issuer, Logger: log})
	if err != nil {
		return err
	}
	defer v.Close()
	h, err := newHandler(v, resource, as.Issuer, log)
	if err != nil {
		return err
	}
	srv := newHTTPServer(h, log)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	fmt.Fprintf(out, "authorization server (authtest): %s\nMCP server: %s\n", as.Issuer, resource)

	// orders:read and orders:write: lists the tools and calls both.
	s, err := connect(ctx, resource, agent.ID, agent.Secret, mcpserver.ScopeRead, mcpserver.ScopeWrite)
	if err != nil {
		return err
	}
	defer s.Close()
	var names []string
	for tool, err := range s.Tools(ctx, nil) {
		if err != nil {
			return err
		}
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	fmt.Fprintf(out, "%s tools: %s\n", agent.ID, strings.Join(names, ", "))
	if err := s.call(ctx, out, "list_orders", nil); err != nil {
		return err
	}
	if err := s.call(ctx, out, "cancel_order", map[string]string{"id": "o-1"}); err != nil {
		return err
	}

	// orders:read only: cancel_order refuses, with a tool error.
	s, err = connect(ctx, resource, reader.ID, reader.Secret, mcpserver.ScopeRead)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.call(ctx, out, "cancel_order", map[string]string{"id": "o-2"}); err != nil {
		return err
	}
	// The admin endpoint refuses it at the HTTP layer.
	_, err = connect(ctx, resource+"/admin", reader.ID, reader.Secret, mcpserver.ScopeRead)
	if err == nil {
		return fmt.Errorf("%s was let in to the admin endpoint", reader.ID)
	}
	fmt.Fprintf(out, "%s at the admin endpoint: refused: %v\n", reader.ID, err)

	// orders:admin: the admin endpoint's tool.
	s, err = connect(ctx, resource+"/admin", admin.ID, admin.Secret, mcpserver.ScopeAdmin)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.call(ctx, out, "reopen_order", map[string]string{"id": "o-1"})
}

// session is an MCP client session whose requests carry the access tokens
// of a clientcreds client.
type session struct {
	*mcp.ClientSession
	cc *clientcreds.Client
	id string
}

// connect opens an MCP session with the server at endpoint as the client
// id. The client is told nothing else: clientcreds finds the authorization
// server from the endpoint's RFC 9728 metadata, named in its 401
// challenge, and asks it for tokens whose audience is the endpoint
// (RFC 8707).
func connect(ctx context.Context, endpoint, id, secret string, scopes ...string) (*session, error) {
	cc, err := clientcreds.New(clientcreds.Config{
		ClientID:          id,
		ClientSecret:      secret,
		ProtectedResource: endpoint,
		Scopes:            scopes,
	})
	if err != nil {
		return nil, err
	}
	client := mcp.NewClient(&mcp.Implementation{Name: id, Version: "1.0.0"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   endpoint,
		HTTPClient: cc.HTTPClient(),
		// The server is stateless: it sends nothing outside responses.
		DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		cc.Close()
		return nil, err
	}
	return &session{ClientSession: cs, cc: cc, id: id}, nil
}

func (s *session) Close() {
	_ = s.ClientSession.Close()
	s.cc.Close()
}

// call calls a tool and prints its result: the structured output, or the
// text of a tool error. Only a protocol or transport failure is an error.
func (s *session) call(ctx context.Context, out io.Writer, tool string, args any) error {
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return fmt.Errorf("%s: %w", tool, err)
	}
	if res.IsError {
		var text []string
		for _, c := range res.Content {
			if t, ok := c.(*mcp.TextContent); ok {
				text = append(text, t.Text)
			}
		}
		fmt.Fprintf(out, "%s %s: tool error: %s\n", s.id, tool, strings.Join(text, " "))
		return nil
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s %s: %s\n", s.id, tool, b)
	return nil
}
