package introspect

import (
	"context"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/internal/jose"
)

// Combine returns one core.TokenVerifier for a route that meets both kinds
// of access token: tokens that are JWTs (compact JWS whose first segment is
// a JSON object header) are verified locally by jwts — a *core.Verifier or
// *core.MultiIssuer, with no request to the server — and every other token
// is introspected by opaque. To introspect JWTs as well, use the
// Introspector alone.
func Combine(jwts core.TokenVerifier, opaque *Introspector) core.TokenVerifier {
	return combined{jwts, opaque}
}

type combined struct {
	jwts   core.TokenVerifier
	opaque *Introspector
}

func (c combined) Verify(ctx context.Context, token string, audience ...string) (*core.Claims, error) {
	if looksLikeJWT(token) {
		return c.jwts.Verify(ctx, token, audience...)
	}
	return c.opaque.Verify(ctx, token, audience...)
}

// looksLikeJWT reports whether token is three base64url segments whose
// first decodes to a JSON object: a JWS header. Whatever else the token
// holds is for the JWT verifier to judge.
func looksLikeJWT(token string) bool {
	if len(token) > 16<<10 {
		return true // the JWT verifier refuses it for its size, without a request
	}
	dot1, _, err := jose.SplitCompact(token)
	if err != nil {
		return false
	}
	var buf [2048]byte
	if dot1 > len(buf)*4/3 {
		return true
	}
	hdr, ok := jose.DecodeSegment(buf[:], token[:dot1])
	if !ok {
		return false
	}
	_, err = jose.ScanObject(hdr, nil)
	return err == nil
}
