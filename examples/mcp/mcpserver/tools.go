package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerkit/bearerkit/core"
)

// Scopes the endpoints and tools require.
const (
	ScopeRead  = "orders:read"  // list_orders
	ScopeWrite = "orders:write" // cancel_order
	ScopeAdmin = "orders:admin" // every request to the admin endpoint
)

// Order is an order of the demo order book.
type Order struct {
	ID     string `json:"id"`
	Item   string `json:"item"`
	Status string `json:"status" jsonschema:"open or cancelled"`
	// By is the client that last changed the order, from its token.
	By string `json:"by,omitempty"`
}

// book is an in-memory order book, standing in for a real backend.
type book struct {
	mu     sync.Mutex
	orders []Order
}

func newBook() *book {
	return &book{orders: []Order{
		{ID: "o-1", Item: "coffee beans", Status: "open"},
		{ID: "o-2", Item: "grinder", Status: "open"},
		{ID: "o-3", Item: "kettle", Status: "open"},
	}}
}

func (b *book) list() []Order {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.orders)
}

func (b *book) setStatus(id, status, by string) (Order, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.orders {
		if b.orders[i].ID == id {
			b.orders[i].Status, b.orders[i].By = status, by
			return b.orders[i], nil
		}
	}
	return Order{}, fmt.Errorf("there is no order %q", id)
}

type orderList struct {
	Orders []Order `json:"orders"`
}

type orderID struct {
	ID string `json:"id" jsonschema:"the order id, such as o-1"`
}

// newServer returns the MCP server of the main endpoint. Its tools check
// their own scopes, so that one token can call some tools and not others.
func newServer(b *book) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "orders", Version: "1.0.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "list_orders",
		Description: "List the orders and their status. Needs the " + ScopeRead + " scope.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true},
	}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, orderList, error) {
		if _, err := authorize(ctx, req, ScopeRead); err != nil {
			return nil, orderList{}, err
		}
		return nil, orderList{Orders: b.list()}, nil
	})
	mcp.AddTool(s, &mcp.Tool{
		Name:        "cancel_order",
		Description: "Cancel an order. Needs the " + ScopeWrite + " scope.",
		Annotations: &mcp.ToolAnnotations{IdempotentHint: true},
	}, func(ctx context.Context, req *mcp.CallToolRequest, in orderID) (*mcp.CallToolResult, Order, error) {
		claims, err := authorize(ctx, req, ScopeWrite)
		if err != nil {
			return nil, Order{}, err
		}
		o, err := b.setStatus(in.ID, "cancelled", claims.ClientID)
		return nil, o, err
	})
	return s
}

// newAdminServer returns the MCP server of the admin endpoint, whose
// every request needs ScopeAdmin: the HTTP layer checks it (see
// NewHandler), so its tools need not, and clients without the scope never
// see them listed.
func newAdminServer(b *book) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "orders-admin", Version: "1.0.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "reopen_order",
		Description: "Reopen a cancelled order.",
		Annotations: &mcp.ToolAnnotations{IdempotentHint: true},
	}, func(ctx context.Context, req *mcp.CallToolRequest, in orderID) (*mcp.CallToolResult, Order, error) {
		claims, err := authorize(ctx, req)
		if err != nil {
			return nil, Order{}, err
		}
		o, err := b.setStatus(in.ID, "open", claims.ClientID)
		return nil, o, err
	})
	return s
}

// authorize returns the verified claims of the request that called a tool
// when they grant every one of scopes. Otherwise its error becomes the
// tool's error result (CallToolResult.IsError), which the client and its
// model read: it names the tool and the scope, never the token.
func authorize(ctx context.Context, req *mcp.CallToolRequest, scopes ...string) (*core.Claims, error) {
	claims := claimsOf(ctx, req)
	err := core.CheckScopes(claims, scopes...)
	switch {
	case err == nil:
		return claims, nil
	case errors.Is(err, core.ErrInsufficientScope):
		return nil, fmt.Errorf("%s needs the %s scope, which the access token does not grant", req.Params.Name, strings.Join(scopes, " and "))
	default:
		return nil, fmt.Errorf("%s needs a verified access token", req.Params.Name)
	}
}

// claimsOf returns the claims bearerkit verified for the request that
// called a tool: those core's middleware stored in the request context or,
// behind the SDK's auth.RequireBearerToken, those [TokenVerifier] put in
// the token info. nil means none (the endpoint is not protected).
func claimsOf(ctx context.Context, req *mcp.CallToolRequest) *core.Claims {
	if c, ok := core.ClaimsFromContext(ctx); ok {
		return c
	}
	if req.Extra != nil && req.Extra.TokenInfo != nil {
		if c, ok := req.Extra.TokenInfo.Extra[ClaimsKey].(*core.Claims); ok {
			return c
		}
	}
	return nil
}
