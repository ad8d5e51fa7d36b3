package clientcreds

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4/json"
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
	u, retry, err := c.discover(ctx)
	if err != nil {
		return nil, retry, err
	}
	c.mu.Lock()
	c.tokenURL = u
	c.mu.Unlock()
	return u, false, nil
}

// discoveryURLs lists where the metadata may live: OpenID Connect
// Discovery 1.0 §4 appends to the issuer; RFC 8414 §3.1 inserts the
// well-known segment before the issuer's path.
func discoveryURLs(issuer string) []string {
	trimmed := strings.TrimSuffix(issuer, "/")
	urls := []string{trimmed + "/.well-known/openid-configuration"}
	if u, err := url.Parse(trimmed); err == nil {
		path := u.EscapedPath()
		u.Path, u.RawPath = "/.well-known/oauth-authorization-server"+path, ""
		urls = append(urls, u.String())
	}
	return urls
}

func (c *Client) discover(ctx context.Context) (*url.URL, bool, error) {
	var lastErr error
	retry := false
	for _, where := range discoveryURLs(c.cfg.Issuer) {
		u, again, err := c.readMetadata(ctx, where)
		if err == nil {
			return u, false, nil
		}
		lastErr, retry = err, again
		if again {
			break // the server is in trouble; the other document will not help
		}
	}
	return nil, retry, fmt.Errorf("%w: %w", ErrDiscovery, lastErr)
}

// readMetadata fetches one metadata document and returns its
// token_endpoint, which must pass the same checks as Config.TokenURL and
// come from a document whose issuer is exactly Config.Issuer (RFC 8414 §3.3).
func (c *Client) readMetadata(ctx context.Context, where string) (*url.URL, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.tokenHTTP.Do(req)
	if err != nil {
		return nil, true, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return nil, false, fmt.Errorf("reading metadata: %w", err)
	case resp.StatusCode >= 500:
		return nil, true, fmt.Errorf("metadata answered %d", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, false, fmt.Errorf("metadata answered %d", resp.StatusCode)
	}
	// go-jose's json matches member names exactly; encoding/json would
	// also read "Issuer" or "ISSUER" as issuer.
	var doc struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, false, fmt.Errorf("metadata is not JSON: %w", err)
	}
	if doc.Issuer != c.cfg.Issuer {
		return nil, false, fmt.Errorf("metadata names another issuer")
	}
	if err := checkEndpoint(doc.TokenEndpoint); err != nil {
		return nil, false, fmt.Errorf("token_endpoint %w", err)
	}
	u, _ := url.Parse(doc.TokenEndpoint)
	return u, false, nil
}
