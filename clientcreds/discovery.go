package clientcreds

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/bearerkit/bearerkit/internal/fetch"
)

// endpoint returns the token endpoint, discovering it from Config.Issuer on
// first use. Only the fetch in flight calls it, so discovery is never done
// twice at once. The bool reports whether a failure is worth retrying.
func (c *Client) endpoint(ctx context.Context) (*url.URL, bool, error) {
	c.mu.Lock()
	u := c.tokenURL
	c.mu.Unlock()
	if u != nil {
		return u, false, nil
	}
	u, err := c.discover(ctx)
	if err != nil {
		return nil, fetch.IsTemporary(err), fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	c.mu.Lock()
	c.tokenURL = u
	c.mu.Unlock()
	return u, false, nil
}

// discover reads the token endpoint from the issuer's metadata, with the
// rules core uses to find key sets: the document's issuer must be exactly
// Config.Issuer (RFC 8414 §3.3), and the endpoint must pass the checks of
// Config.TokenURL.
func (c *Client) discover(ctx context.Context) (*url.URL, error) {
	md, err := fetch.Discover(ctx, c.tokenHTTP, c.cfg.Issuer, maxResponseBytes)
	if err != nil {
		return nil, err
	}
	if md.TokenEndpoint == "" {
		return nil, errors.New("discovery: the document has no token_endpoint")
	}
	if err := fetch.CheckURL(md.TokenEndpoint, false); err != nil {
		return nil, fmt.Errorf("discovery: token_endpoint: %w", err)
	}
	return url.Parse(md.TokenEndpoint)
}
