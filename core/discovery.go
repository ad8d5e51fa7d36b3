package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4/json"
)

// discover finds the JWKS URL from the issuer's metadata: first the OpenID
// Connect Discovery document ({issuer}/.well-known/openid-configuration),
// then, when that is not served, the OAuth 2.0 Authorization Server Metadata
// document of RFC 8414 §3.1, whose well-known segment goes between host and
// path. Either way the document's issuer must equal Config.Issuer exactly
// (OpenID Connect Discovery §4.3, RFC 8414 §3.3): otherwise one issuer could
// publish keys for another.
func (c *keyCache) discover(ctx context.Context) (string, error) {
	var lastStatus int
	for _, u := range discoveryURLs(c.s.Issuer) {
		body, resp, err := c.get(ctx, u, "application/json", false)
		if err != nil {
			return "", fmt.Errorf("discovery: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			lastStatus = resp.StatusCode
			// Try the next document only when this one is not served at all;
			// an overloaded or failing server is an outage, not an answer.
			if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
				return "", fmt.Errorf("discovery: HTTP status %d", resp.StatusCode)
			}
			continue
		}
		return jwksURLFromMetadata(body, c.s.Issuer, c.s.AllowInsecureHTTP)
	}
	return "", fmt.Errorf("discovery: no metadata document (last HTTP status %d)", lastStatus)
}

// jwksURLFromMetadata checks a metadata document and returns its jwks_uri.
func jwksURLFromMetadata(body []byte, issuer string, insecure bool) (string, error) {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", errors.New("discovery: document is not a JSON object with string issuer and jwks_uri")
	}
	if doc.Issuer != issuer {
		return "", errors.New("discovery: the document's issuer differs from the configured issuer")
	}
	if doc.JWKSURI == "" {
		return "", errors.New("discovery: the document has no jwks_uri")
	}
	if err := checkFetchURL(doc.JWKSURI, insecure); err != nil {
		return "", fmt.Errorf("discovery: jwks_uri: %w", err)
	}
	return doc.JWKSURI, nil
}

// discoveryURLs returns the OpenID Connect and RFC 8414 metadata URLs for
// an issuer URL that config validation has already accepted.
func discoveryURLs(issuer string) []string {
	oidc := strings.TrimSuffix(issuer, "/") + discoveryOIDCSuffix
	u, err := url.Parse(issuer)
	if err != nil {
		return []string{oidc}
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	u.RawQuery = ""
	u.Path, u.RawPath = "", ""
	oauth := u.String() + discoveryOAuthWellKnownAt + path
	return []string{oidc, oauth}
}
