package core

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/bearerkit/bearerkit/internal/authctx"
)

// TokenVerifier turns a token into the claims it carries for one of the
// audiences, or an error matching one of the package's sentinels. An
// implementation must refuse a sender-constrained token whose binding the
// request did not prove, by calling [CheckBinding] with the context it is
// given; the middleware of this module checks again all the same.
// [*Verifier] and [*MultiIssuer] implement it, and so does the introspect
// package's Introspector; every middleware of this module accepts any
// implementation and answers alike.
type TokenVerifier interface {
	Verify(ctx context.Context, token string, audience ...string) (*Claims, error)
}

// Options adjusts how middleware reads tokens and answers failures. The
// zero value reads the Authorization header and uses realm "api". The gin
// and echo adapters offer the same settings as functional options.
type Options struct {
	// Realm is the RFC 6750 §3 realm of the challenge.
	Realm string
	// Extractor finds the token; nil means [FromHeader].
	Extractor Extractor
	// Optional lets requests without any token through without claims. A
	// token that is present but invalid is still refused, and route-level
	// checks still refuse a request without claims.
	Optional bool
	// ErrorHandler writes failures; nil writes [NewErrorResponse]. It is
	// called with an error matching one of the package's sentinels, for
	// token failures and for route-level failures (scopes, step-up) alike.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// ResourceMetadata is the URL of the resource's RFC 9728 metadata
	// (ResourceMetadata.URL); when set, every 401 challenge names it as
	// resource_metadata (RFC 9728 §5.1), as MCP clients require.
	ResourceMetadata string
	// Skip, when it returns true, lets a request through unauthenticated.
	// It is called with r.Pattern set to the pattern the request is routed
	// to (when the middleware wraps an *http.ServeMux, or runs inside one),
	// and must decide on that, never on the raw path or forwarded headers:
	// "/health/../admin" is routed to "/admin". A request whose pattern
	// cannot be known has r.Pattern "".
	Skip func(r *http.Request) bool
	// DPoP, when set, accepts DPoP-bound tokens (RFC 9449) as its policy
	// says, and challenges name the DPoP scheme with its algorithms.
	DPoP *DPoP
	// ClientCertificate returns the client certificate of a request, which
	// a certificate-bound token (RFC 8705, cnf x5t#S256) must match; nil
	// means the certificate of the request's TLS connection. Behind a
	// proxy that terminates TLS, see [ClientCertificateFromHeader].
	ClientCertificate func(r *http.Request) (*x509.Certificate, error)
	// Logger receives, at Debug and with the request's context, every
	// request the middleware and its route-level checks refuse: the
	// status, the reason and, for 403, the scopes the route requires. The
	// verifier logs why it refused a token (Config.Logger), at Warn for
	// configuration-shaped failures; this covers the rest, such as 400
	// for two tokens and 403 for a missing scope. nil logs nothing.
	Logger *slog.Logger
}

// LogRefusal logs a refused request to opts.Logger (see [Options.Logger]);
// route is the pattern the request was routed to ("" when unknown). The
// adapters of this module call it for every failure they answer.
func LogRefusal(r *http.Request, route string, opts Options, err error) {
	if opts.Logger == nil || !opts.Logger.Enabled(r.Context(), slog.LevelDebug) {
		return
	}
	resp := NewErrorResponse(err, opts)
	attrs := []any{"status", resp.Status, "error", resp.Code, "reason", string(ReasonOf(err)),
		"method", r.Method, "route", route}
	var e *Error
	if errors.As(err, &e) && len(e.Scopes) > 0 {
		attrs = append(attrs, "required_scopes", strings.Join(e.Scopes, " "))
	}
	opts.Logger.DebugContext(r.Context(), "bearerkit: request refused", attrs...)
}

// Authenticate extracts the request's token as opts says and verifies it
// with v for one of the audiences. It returns nil claims and a nil error
// only when opts.Optional is set and the request carries no token. The
// adapters of this module are built on it.
func Authenticate(v TokenVerifier, r *http.Request, opts Options, audience ...string) (*Claims, error) {
	cert, err := clientCertificate(r, opts)
	if err != nil {
		return nil, err
	}
	if opts.DPoP != nil {
		if token, ok := dpopCredential(r); ok {
			return authenticateDPoP(v, r, opts.DPoP, token, cert, audience)
		}
	}
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
	if opts.DPoP != nil && opts.DPoP.Required {
		return nil, errDPoPRequired
	}
	ctx := r.Context()
	if cert != nil {
		ctx = authctx.WithBinding(ctx, "", cert)
	}
	c, err := v.Verify(ctx, token, audience...)
	if err != nil {
		return nil, err
	}
	// Verifiers of this module check the binding themselves; this holds
	// any other TokenVerifier to it too.
	if err := CheckBinding(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// ClaimsFromContext returns the claims stored by the middleware that
// authenticated the request.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := authctx.Claims(ctx).(*Claims)
	return c, ok && c != nil
}

// CheckScopes returns nil when c holds every scope given; otherwise an
// error matching [ErrInsufficientScope] that names them, or
// [ErrMissingToken] when c is nil (no token was verified for the request).
func CheckScopes(c *Claims, scopes ...string) error {
	if c == nil {
		return errMissing
	}
	if c.HasScopes(scopes...) {
		return nil
	}
	return &Error{Reason: ReasonScope, Scopes: scopes, Scheme: c.scheme()}
}

// CheckAnyScope is [CheckScopes] satisfied by any one of the scopes.
func CheckAnyScope(c *Claims, scopes ...string) error {
	if c == nil {
		return errMissing
	}
	if len(scopes) == 0 || c.HasAnyScope(scopes...) {
		return nil
	}
	return &Error{Reason: ReasonScope, Scopes: scopes, Scheme: c.scheme()}
}

// scheme is the authentication scheme a request with these verified
// claims used: only a DPoP-bound token is ever accepted with DPoP.
func (c *Claims) scheme() string {
	if c.Confirmation.JKT != "" {
		return schemeDPoP
	}
	return ""
}

// Middleware returns net/http middleware that requires a valid token for
// one of the audiences and stores its claims in the request context (see
// [ClaimsFromContext]). Failures are answered per RFC 6750. It panics when
// no non-empty audience is given.
func Middleware(v TokenVerifier, audience ...string) func(http.Handler) http.Handler {
	return MiddlewareWithOptions(v, Options{}, audience...)
}

// guard is the settings of one net/http middleware, stored with each
// request it handles so that route-level checks answer the same way.
type guard struct {
	opts Options
	fail func(http.ResponseWriter, *http.Request, error)
}

// MiddlewareWithOptions is [Middleware] with [Options].
func MiddlewareWithOptions(v TokenVerifier, opts Options, audience ...string) func(http.Handler) http.Handler {
	authctx.MustAudience(audience)
	audience = append([]string(nil), audience...)
	answer := opts.ErrorHandler
	if answer == nil {
		answer = func(w http.ResponseWriter, _ *http.Request, err error) { NewErrorResponse(err, opts).Write(w) }
	}
	g := &guard{opts: opts, fail: func(w http.ResponseWriter, r *http.Request, err error) {
		LogRefusal(r, r.Pattern, opts, err)
		answer(w, r, err)
	}}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if opts.Skip != nil && opts.Skip(routed(r, next)) {
				next.ServeHTTP(w, r.WithContext(authctx.With(r.Context(), nil, g)))
				return
			}
			claims, err := Authenticate(v, r, opts, audience...)
			if err != nil {
				g.fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(authctx.With(r.Context(), claims, g)))
		})
	}
}

// routed returns r with Pattern set to the pattern it is routed to: its
// own when a mux has already routed it, else the one the wrapped mux
// chooses.
func routed(r *http.Request, next http.Handler) *http.Request {
	if r.Pattern != "" {
		return r
	}
	mux, ok := next.(*http.ServeMux)
	if !ok {
		return r
	}
	rr := *r
	_, rr.Pattern = mux.Handler(r)
	return &rr
}

// RequireScope returns middleware that lets a request through only when the
// claims stored by [Middleware] hold every scope given. Failures are
// answered with the settings of that middleware. It panics when no
// non-empty scope is given.
func RequireScope(scopes ...string) func(http.Handler) http.Handler {
	authctx.MustScopes(scopes)
	scopes = append([]string(nil), scopes...)
	return requireRoute(func(_ *http.Request, c *Claims) error { return CheckScopes(c, scopes...) })
}

// RequireAnyScope is [RequireScope] satisfied by any one of the scopes.
func RequireAnyScope(scopes ...string) func(http.Handler) http.Handler {
	authctx.MustScopes(scopes)
	scopes = append([]string(nil), scopes...)
	return requireRoute(func(_ *http.Request, c *Claims) error { return CheckAnyScope(c, scopes...) })
}

// requireRoute builds route-level middleware from a check of the claims.
func requireRoute(check func(r *http.Request, c *Claims) error) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := ClaimsFromContext(r.Context())
			if err := check(r, c); err != nil {
				guardOf(r).fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// defaultGuard answers route-level failures of requests that no
// middleware of this package handled.
var defaultGuard = &guard{fail: func(w http.ResponseWriter, _ *http.Request, err error) {
	NewErrorResponse(err, Options{}).Write(w)
}}

func guardOf(r *http.Request) *guard {
	if g, ok := authctx.Owner(r.Context()).(*guard); ok {
		return g
	}
	return defaultGuard
}
