package core

import (
	"net/http"
)

// Options adjusts how middleware reads tokens and answers failures. The
// zero value reads the Authorization header and uses realm "api".
type Options struct {
	// Realm is the RFC 6750 §3 realm of the challenge.
	Realm string
	// Extractor finds the token; nil means [FromHeader].
	Extractor Extractor
	// Optional lets requests without any token through without claims. A
	// token that is present but invalid is still refused.
	Optional bool
	// ErrorHandler writes failures; nil writes [NewErrorResponse]. It is
	// called with an error matching one of the package's sentinels.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// Authenticate extracts the request's token and verifies it. It returns
// nil claims and a nil error only when opts.Optional is set and the request
// carries no token.
func (v *Verifier) Authenticate(r *http.Request, opts Options, audience ...string) (*Claims, error) {
	extract := opts.Extractor
	if extract == nil {
		extract = FromHeader
	}
	token, err := extract(r)
	if err != nil {
		return nil, err
	}
	if token == "" {
		if opts.Optional {
			return nil, nil
		}
		return nil, errMissing
	}
	return v.Verify(r.Context(), token, audience...)
}

// CheckScopes returns nil when c holds every scope (all is true) or at
// least one of them (all is false). Otherwise it returns an error matching
// [ErrInsufficientScope] that names the scopes, or [ErrMissingToken] when c
// is nil (no token was verified for this request).
func CheckScopes(c *Claims, all bool, scopes ...string) error {
	if c == nil {
		return errMissing
	}
	if len(scopes) == 0 || (all && c.HasScopes(scopes...)) || (!all && c.HasAnyScope(scopes...)) {
		return nil
	}
	return &Error{Reason: ReasonScope, Scopes: scopes}
}

// MustScopes panics when scopes is empty or holds "": a scope check that
// requires nothing would silently open the route.
func MustScopes(scopes []string) {
	if !validAudienceArgs(scopes) {
		panic("bearerkit: a scope requirement needs at least one non-empty scope")
	}
}

// MustAudience panics when audience is empty or holds "": middleware built
// that way would be a programming error, caught at start-up rather than by
// the first request.
func MustAudience(audience []string) {
	if !validAudienceArgs(audience) {
		panic("bearerkit: middleware needs at least one non-empty audience")
	}
}

// Middleware returns net/http middleware that requires a valid token for
// one of the audiences and stores its claims in the request context (see
// [ClaimsFromContext]). Failures are answered per RFC 6750.
func Middleware(v *Verifier, audience ...string) func(http.Handler) http.Handler {
	return MiddlewareWithOptions(v, Options{}, audience...)
}

// MiddlewareWithOptions is [Middleware] with [Options].
func MiddlewareWithOptions(v *Verifier, opts Options, audience ...string) func(http.Handler) http.Handler {
	MustAudience(audience)
	audience = append([]string(nil), audience...)
	fail := errorWriter(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, err := v.Authenticate(r, opts, audience...)
			if err != nil {
				fail(w, r, err)
				return
			}
			if claims != nil {
				r = r.WithContext(WithClaims(r.Context(), claims))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireScope returns middleware that lets a request through only when the
// claims stored by [Middleware] hold every scope given. It panics when no
// non-empty scope is given.
func RequireScope(scopes ...string) func(http.Handler) http.Handler {
	return requireScopes(Options{}, true, scopes)
}

// RequireAnyScope is [RequireScope] satisfied by any one of the scopes.
func RequireAnyScope(scopes ...string) func(http.Handler) http.Handler {
	return requireScopes(Options{}, false, scopes)
}

// RequireScopeWithOptions is [RequireScope] (all true) or
// [RequireAnyScope] (all false) with [Options] for the realm and error
// handler.
func RequireScopeWithOptions(opts Options, all bool, scopes ...string) func(http.Handler) http.Handler {
	return requireScopes(opts, all, scopes)
}

func requireScopes(opts Options, all bool, scopes []string) func(http.Handler) http.Handler {
	MustScopes(scopes)
	scopes = append([]string(nil), scopes...)
	fail := errorWriter(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := ClaimsFromContext(r.Context())
			if err := CheckScopes(c, all, scopes...); err != nil {
				fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func errorWriter(opts Options) func(http.ResponseWriter, *http.Request, error) {
	if opts.ErrorHandler != nil {
		return opts.ErrorHandler
	}
	return func(w http.ResponseWriter, _ *http.Request, err error) {
		NewErrorResponse(err, opts.Realm).Write(w)
	}
}
