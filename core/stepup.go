package core

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bearerkit/bearerkit/internal/authctx"
)

// StepUp is a route's requirement on how the user authenticated (RFC 9470,
// OAuth 2.0 Step Up Authentication Challenge): an acceptable authentication
// context class (the token's acr) and how long ago that may have been (its
// auth_time). A token that falls short is answered with 401
// error="insufficient_user_authentication" and the acr_values and max_age
// the client needs to ask the authorization server for.
type StepUp struct {
	// ACR lists acceptable acr values, in order of preference; empty means
	// any.
	ACR []string
	// MaxAge is the longest accepted time since auth_time; 0 means no limit.
	// A token without auth_time falls short of any limit.
	MaxAge time.Duration
	// Now is the clock for MaxAge; nil means time.Now.
	Now func() time.Time
}

// CheckStepUp returns nil when c meets s; otherwise an error matching
// [ErrInsufficientUserAuthentication] that carries what s asks for, or
// [ErrMissingToken] when c is nil.
func CheckStepUp(c *Claims, s StepUp) error {
	if c == nil {
		return errMissing
	}
	acrOK := len(s.ACR) == 0 || contains(s.ACR, c.ACR)
	ageOK := s.MaxAge <= 0
	if !ageOK && !c.AuthTime.IsZero() {
		now := time.Now
		if s.Now != nil {
			now = s.Now
		}
		ageOK = now().Sub(c.AuthTime) <= s.MaxAge
	}
	if acrOK && ageOK {
		return nil
	}
	return &Error{Reason: ReasonUserAuthentication, ACRValues: s.ACR, MaxAge: s.MaxAge, Scheme: c.scheme()}
}

// RequireStepUp returns middleware that lets a request through only when
// the claims stored by [Middleware] meet s; failures are answered with the
// settings of that middleware. It panics when s requires nothing.
func RequireStepUp(s StepUp) func(http.Handler) http.Handler {
	authctx.MustStepUp(s.ACR, s.MaxAge)
	s.ACR = slices.Clone(s.ACR)
	return requireRoute(func(_ *http.Request, c *Claims) error { return CheckStepUp(c, s) })
}

// stepUpParams renders RFC 9470 §3's challenge parameters.
func stepUpParams(e *Error) string {
	var b strings.Builder
	if len(e.ACRValues) > 0 {
		b.WriteString(`, acr_values="` + quoteSafe(strings.Join(e.ACRValues, " ")) + `"`)
	}
	if e.MaxAge > 0 {
		b.WriteString(`, max_age="` + strconv.FormatInt(int64(e.MaxAge/time.Second), 10) + `"`)
	}
	return b.String()
}
