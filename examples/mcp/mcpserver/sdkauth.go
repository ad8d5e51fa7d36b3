package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/bearerkit/bearerkit/core"
)

// ClaimsKey is the auth.TokenInfo.Extra entry in which [TokenVerifier]
// puts the verified *core.Claims.
const ClaimsKey = "bearerkit.claims"

// TokenVerifier adapts a bearerkit verifier to the SDK's own middleware,
// for servers already built on auth.RequireBearerToken:
//
//	verify := mcpserver.TokenVerifier(v, "https://mcp.example.com/mcp")
//	opts := &auth.RequireBearerTokenOptions{ResourceMetadataURL: meta.URL()}
//	mux.Handle("/mcp", auth.RequireBearerToken(verify, opts)(mcpHandler))
//
// Tokens are verified by v, with all its rules, for one of the audiences:
// the server's canonical URL. The auth.TokenInfo holds the token's scopes
// and expiry, a user id (issuer and subject, as a subject is unique only
// within its issuer) and, in Extra[ClaimsKey], the *core.Claims. It panics
// when no audience is given or one is empty.
//
// The SDK turns an error matching auth.ErrInvalidToken into 401 and one
// matching auth.ErrOAuth into 400, anything else into 500, and writes the
// error's text in the body. So every error returned here carries only
// bearerkit's client-safe description (never the token, a key id, a URL or
// the cause): a refused token gives 401, a malformed request 400, and
// signing keys out of reach 500, where core's middleware answers 503 with
// Retry-After. A Config.Validate failure that wraps
// core.ErrInsufficientScope gives 401 too: the SDK lets only its own Scopes
// option answer 403. core.MiddlewareWithOptions has none of these limits,
// and answers as bearerkit's other adapters do.
func TokenVerifier(v core.TokenVerifier, audience ...string) auth.TokenVerifier {
	if len(audience) == 0 || slices.Contains(audience, "") {
		panic("mcpserver: TokenVerifier needs non-empty audiences")
	}
	audience = slices.Clone(audience)
	return func(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		c, err := v.Verify(ctx, token, audience...)
		if err != nil {
			return nil, sdkError(err)
		}
		info := &auth.TokenInfo{
			Scopes:     c.Scopes,
			Expiration: c.Expiry,
			Extra:      map[string]any{ClaimsKey: c},
		}
		if c.Subject != "" {
			info.UserID = c.Issuer + " " + c.Subject
		}
		return info, nil
	}
}

// sdkError maps a verification error onto the SDK's error classes, with
// the description that core would send the client.
func sdkError(err error) error {
	r := core.NewErrorResponse(err, core.Options{})
	switch r.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w: %s", auth.ErrInvalidToken, r.Description)
	case http.StatusBadRequest:
		return fmt.Errorf("%w: %s", auth.ErrOAuth, r.Description)
	}
	return errors.New(r.Description)
}
