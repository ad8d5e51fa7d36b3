package clientcreds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4/json"

	"github.com/bearerkit/bearerkit/internal/fetch"
)

// endpoint returns the token endpoint, discovering it on first use from
// Config.Issuer or Config.ProtectedResource. Only the fetch in flight calls
// it, so discovery is never done twice at once. The bool reports whether a
// failure is worth retrying.
func (c *Client) endpoint(ctx context.Context) (*url.URL, bool, error) {
	c.mu.Lock()
	u := c.tokenURL
	c.mu.Unlock()
	if u != nil {
		return u, false, nil
	}
	issuer := c.cfg.Issuer
	if c.cfg.ProtectedResource != "" {
		var err error
		if issuer, err = c.resourceIssuer(ctx); err != nil {
			return nil, fetch.IsTemporary(err), fmt.Errorf("%w: %w", ErrDiscovery, err)
		}
	}
	u, err := c.discover(ctx, issuer)
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
// the issuer (RFC 8414 §3.3), and the endpoint must pass the checks of
// Config.TokenURL.
func (c *Client) discover(ctx context.Context, issuer string) (*url.URL, error) {
	md, err := fetch.Discover(ctx, c.tokenHTTP, issuer, maxResponseBytes)
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

// resourceIssuer finds the authorization server of Config.ProtectedResource
// (RFC 9728): the metadata URL its 401 challenge names — when that URL is
// https (or loopback http) on the resource's origin or one of
// Config.MetadataOrigins (M2) — else its well-known URL (§3.1); the
// document's resource must equal the resource exactly (§3.3, M1); and the
// issuer is the first of its authorization_servers, or Config.Issuer when
// the document lists it.
func (c *Client) resourceIssuer(ctx context.Context) (string, error) {
	resource := c.cfg.ProtectedResource
	ru, _ := url.Parse(resource) // checked by cfg.check
	metaURL := wellKnownMetadataURL(ru)
	if named := c.challengedMetadataURL(ctx, resource); named != "" && c.mayFetchMetadata(ru, named) {
		metaURL = named
	}
	resp, err := fetch.Get(ctx, c.tokenHTTP, fetch.Request{URL: metaURL, Accept: "application/json", MaxBody: maxResponseBytes})
	if err != nil {
		return "", fmt.Errorf("resource metadata: %w", err)
	}
	var doc struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return "", errors.New("resource metadata: not a JSON object with string members")
	}
	if doc.Resource != resource {
		return "", fmt.Errorf("resource metadata names resource %q, not %q: refused (RFC 9728 §3.3)",
			truncate(doc.Resource), resource)
	}
	switch {
	case len(doc.AuthorizationServers) == 0:
		return "", errors.New("resource metadata lists no authorization_servers")
	case c.cfg.Issuer != "" && !slices.Contains(doc.AuthorizationServers, c.cfg.Issuer):
		return "", fmt.Errorf("resource metadata does not list the configured issuer %q", c.cfg.Issuer)
	case c.cfg.Issuer != "":
		return c.cfg.Issuer, nil
	}
	issuer := doc.AuthorizationServers[0]
	if err := fetch.CheckIssuer(issuer, false); err != nil {
		return "", fmt.Errorf("resource metadata: authorization server: %w", err)
	}
	return issuer, nil
}

// challengedMetadataURL asks the resource without a token and returns the
// resource_metadata of its 401 Bearer challenge (RFC 9728 §5.1), if any.
func (c *Client) challengedMetadataURL(ctx context.Context, resource string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, resource, nil)
	if err != nil {
		return ""
	}
	req.Header.Set("User-Agent", fetch.UserAgent)
	resp, err := c.tokenHTTP.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	if resp.StatusCode != http.StatusUnauthorized {
		return ""
	}
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		if u := challengeParam(v, "Bearer", "resource_metadata"); u != "" {
			return u
		}
	}
	return ""
}

// mayFetchMetadata applies M2: a URL a server names is fetched only when it
// is https (or loopback http) on the resource's own origin or one listed
// in Config.MetadataOrigins.
func (c *Client) mayFetchMetadata(resource *url.URL, named string) bool {
	u, err := url.Parse(named)
	if err != nil || fetch.CheckURL(named, false) != nil {
		return false
	}
	o := fetch.Origin(u)
	if o == fetch.Origin(resource) {
		return true
	}
	for _, allowed := range c.cfg.MetadataOrigins {
		if au, err := url.Parse(allowed); err == nil && fetch.Origin(au) == o {
			return true
		}
	}
	return false
}

// wellKnownMetadataURL inserts /.well-known/oauth-protected-resource
// between the host and the path of the resource (RFC 9728 §3.1).
func wellKnownMetadataURL(resource *url.URL) string {
	u := *resource
	u.Path = "/.well-known/oauth-protected-resource" + strings.TrimSuffix(resource.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String()
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
