package introspect

import (
	"errors"
	"io"
	"strings"
	"time"

	"github.com/bearerkit/bearerkit/core"
)

// Refusals made before any request, static so that junk costs no
// allocation.
var (
	errNoAudience = errors.New("introspect: Verify needs at least one non-empty audience")
	errOversize   = &core.Error{Reason: core.ReasonOversize}
	errMalformed  = &core.Error{Reason: core.ReasonMalformed}
	errInactive   = &core.Error{Reason: core.ReasonInactive}
)

// unavailable is the error for a token that could not be checked: 503 with
// Retry-After in every adapter.
func unavailable(cause error, retryAfter time.Duration) error {
	return &core.Error{Reason: core.ReasonIntrospectionUnavailable, Cause: cause, RetryAfter: retryAfter}
}

func validAudience(audience []string) bool {
	if len(audience) == 0 {
		return false
	}
	for _, a := range audience {
		if a == "" {
			return false
		}
	}
	return true
}

func anyOf(have, want []string) bool {
	for _, w := range want {
		for _, h := range have {
			if h == w {
				return true
			}
		}
	}
	return false
}

// b64token reports whether s is an RFC 6750 §2.1 b64token: what a bearer
// token may be. Anything else is refused without asking the server.
func b64token(s string) bool {
	i := len(s)
	for i > 0 && s[i-1] == '=' {
		i--
	}
	if i == 0 {
		return false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// footprint approximates the heap an answer keeps alive: the entry and
// the map slot, and for an active answer the response bytes its claims
// keep for Decode, the claims struct, and each string and slice header.
func footprint(a *answer) int {
	n := 160
	if c := a.claims; c != nil {
		n += a.size + 320 + len(c.Issuer) + len(c.Subject) + len(c.ClientID) + len(c.ID)
		for _, list := range [][]string{c.Audience, c.Scopes} {
			for _, s := range list {
				n += len(s) + 24
			}
		}
	}
	return n
}

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
