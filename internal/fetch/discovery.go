package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4/json"

	"github.com/bearerkit/bearerkit/internal/safetext"
)

// Metadata is what bearerkit reads of an authorization server's metadata
// (RFC 8414 §2, OpenID Connect Discovery 1.0 §3).
type Metadata struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	TokenEndpoint         string `json:"token_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

// Well-known suffixes of the two metadata documents.
const (
	oidcSuffix  = "/.well-known/openid-configuration"
	oauthPrefix = "/.well-known/oauth-authorization-server"
)

// DiscoveryURLs returns where an issuer's metadata may live: the OpenID
// Connect document, appended to the issuer (Discovery §4), then the RFC 8414
// §3.1 document, whose well-known segment goes between host and path. The
// issuer must have passed [CheckIssuer].
func DiscoveryURLs(issuer string) []string {
	oidc := strings.TrimSuffix(issuer, "/") + oidcSuffix
	u, err := url.Parse(issuer)
	if err != nil {
		return []string{oidc}
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	u.Path, u.RawPath = "", ""
	return []string{oidc, u.String() + oauthPrefix + path}
}

// Discover reads the issuer's metadata: the OpenID Connect document, or
// when that one is not served at all (a status other than 5xx or 429), the
// RFC 8414 one. The document's issuer must equal issuer exactly (Discovery
// §4.3, RFC 8414 §3.3): otherwise one issuer could publish keys or
// endpoints for another. The error for a mismatch names both values, and a
// near miss (a trailing slash, letter case, the scheme) as such.
//
// A failure on which asking again later may help (transport errors, 5xx,
// 429) matches [IsTemporary].
func Discover(ctx context.Context, c *http.Client, issuer string, maxBody int64) (*Metadata, error) {
	var last error
	for _, u := range DiscoveryURLs(issuer) {
		resp, err := Get(ctx, c, Request{URL: u, Accept: "application/json", MaxBody: maxBody})
		if err != nil {
			var se *StatusError
			if errors.As(err, &se) && !se.Temporary() {
				last = err
				continue // not served here; try the other document
			}
			return nil, &discoveryError{err: err, temporary: true}
		}
		md, err := parseMetadata(resp.Body, issuer)
		if err != nil {
			return nil, &discoveryError{err: err}
		}
		return md, nil
	}
	return nil, &discoveryError{err: fmt.Errorf("no metadata document is served (last: %w)", last)}
}

func parseMetadata(body []byte, issuer string) (*Metadata, error) {
	// go-jose's json matches member names exactly; encoding/json would also
	// read "Issuer" or "ISSUER" as issuer.
	var md Metadata
	if err := json.Unmarshal(body, &md); err != nil {
		return nil, errors.New("the document is not a JSON object with string members")
	}
	if md.Issuer != issuer {
		return nil, IssuerMismatch(issuer, md.Issuer)
	}
	return &md, nil
}

// IssuerMismatch describes a document or token naming another issuer than
// the configured one, with both values (issuers are not secrets) made safe
// for logs.
func IssuerMismatch(want, got string) error {
	msg := fmt.Sprintf("the document names issuer %q, but the configured issuer is %q",
		safetext.Truncate(got, 200), safetext.Truncate(want, 200))
	if d := safetext.NearMiss(want, got); d != "" {
		msg += " (a near miss: they differ only in " + d + ")"
	}
	return errors.New(msg)
}

type discoveryError struct {
	err       error
	temporary bool
}

func (e *discoveryError) Error() string { return "discovery: " + e.err.Error() }
func (e *discoveryError) Unwrap() error { return e.err }

// IsTemporary reports whether err is a discovery failure on which asking
// again later may help.
func IsTemporary(err error) bool {
	var de *discoveryError
	return errors.As(err, &de) && de.temporary
}
