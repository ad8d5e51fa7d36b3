// Package echoauth protects Echo (v4) routes with OAuth 2.0 access tokens
// checked by any [core.TokenVerifier].
//
//	ea := echoauth.New(v)
//	e.Use(ea.Require("orders-api"))
//	e.GET("/orders", listOrders, echoauth.RequireScope("orders:read"))
//
// Following Echo's conventions, failures are returned as *echo.HTTPError —
// the fixed, client-safe description as Message, the core error as
// Internal — with the status and the RFC 6750 WWW-Authenticate challenge
// already set as in core.Middleware and ginauth, so the application's
// HTTPErrorHandler stays in charge. Install [HTTPErrorHandler] to answer
// with the same JSON body as the other adapters. Route-level failures
// (scopes) are answered with the options of the Auth whose Require verified
// the token.
package echoauth

import (
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/internal/authctx"
)

// Auth builds Echo middleware around one verifier.
type Auth struct {
	v       core.TokenVerifier
	opts    core.Options
	skipper func(c echo.Context) bool
	onError func(c echo.Context, err error) error
}

// Option configures an [Auth].
type Option func(*Auth)

// WithRealm sets the realm of the WWW-Authenticate challenge (default "api").
func WithRealm(realm string) Option { return func(a *Auth) { a.opts.Realm = realm } }

// WithExtractor replaces how the token is read (default: the
// Authorization header).
func WithExtractor(e core.Extractor) Option { return func(a *Auth) { a.opts.Extractor = e } }

// WithCookie also accepts the token from the named cookie (see
// core.FromCookie). A request with a token in two places is refused with
// 400.
func WithCookie(name string) Option { return WithExtractor(core.FromCookie(name)) }

// WithOptionalCredentials lets requests without any token through without
// claims; a token that is present must still be valid.
func WithOptionalCredentials() Option { return func(a *Auth) { a.opts.Optional = true } }

// WithLogger logs every refused request at Debug, with its status, reason
// and the scopes a route requires (see core.Options.Logger).
func WithLogger(l *slog.Logger) Option { return func(a *Auth) { a.opts.Logger = l } }

// WithDPoP accepts DPoP-bound tokens (RFC 9449) as d says: the DPoP scheme
// with one proof header, DPoP challenges, nonces, and bearer tokens
// refused when d.Required (see core.DPoP).
func WithDPoP(d *core.DPoP) Option { return func(a *Auth) { a.opts.DPoP = d } }

// WithClientCertificate replaces where the client certificate that
// certificate-bound tokens (RFC 8705) must match comes from (default: the
// request's TLS connection); see core.ClientCertificateFromHeader for a
// certificate forwarded by a trusted proxy.
func WithClientCertificate(f func(*http.Request) (*x509.Certificate, error)) Option {
	return func(a *Auth) { a.opts.ClientCertificate = f }
}

// WithResourceMetadata names the URL of the resource's RFC 9728 metadata
// in every 401 challenge (resource_metadata, RFC 9728 §5.1); see
// [ServeResourceMetadata].
func WithResourceMetadata(url string) Option { return func(a *Auth) { a.opts.ResourceMetadata = url } }

// ServeResourceMetadata serves meta (GET and HEAD) at its well-known path,
// /.well-known/oauth-protected-resource plus the resource's path (RFC 9728
// §3.1). Register it outside the routes Require protects, or skip it.
func ServeResourceMetadata(e *echo.Echo, meta core.ResourceMetadata) {
	h := echo.WrapHandler(meta)
	e.GET(meta.WellKnownPath(), h)
	e.HEAD(meta.WellKnownPath(), h)
}

// WithSkipper leaves the requests it selects unauthenticated, like Echo's
// middleware.Skipper. Decide on c.Path(), the route pattern Echo matched,
// never on the raw URL or forwarded headers.
func WithSkipper(s func(c echo.Context) bool) Option { return func(a *Auth) { a.skipper = s } }

// WithErrorHandler replaces the default — returning the failure as an
// *echo.HTTPError — for token and route-level failures alike. err matches
// one of core's sentinel errors.
func WithErrorHandler(h func(c echo.Context, err error) error) Option {
	return func(a *Auth) { a.onError = h }
}

// New returns an Auth for v.
func New(v core.TokenVerifier, opts ...Option) *Auth {
	a := &Auth{v: v}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Require returns middleware that verifies the request's bearer token for
// one of the audiences. On success the claims are available through
// [Claims] and core.ClaimsFromContext(c.Request().Context()). It panics
// when no non-empty audience is given.
func (a *Auth) Require(audience ...string) echo.MiddlewareFunc {
	authctx.MustAudience(audience)
	audience = append([]string(nil), audience...)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if a.skipper != nil && a.skipper(c) {
				c.SetRequest(c.Request().WithContext(authctx.With(c.Request().Context(), nil, a)))
				return next(c)
			}
			claims, err := core.Authenticate(a.v, c.Request(), a.opts, audience...)
			if err != nil {
				return a.fail(c, err)
			}
			c.SetRequest(c.Request().WithContext(authctx.With(c.Request().Context(), claims, a)))
			return next(c)
		}
	}
}

// RequireScope returns route middleware that requires every scope given.
// It must run after [Auth.Require], whose options answer its failures.
func RequireScope(scopes ...string) echo.MiddlewareFunc {
	authctx.MustScopes(scopes)
	scopes = append([]string(nil), scopes...)
	return requireRoute(func(c *core.Claims) error { return core.CheckScopes(c, scopes...) })
}

// RequireAnyScope returns route middleware that requires at least one of
// the scopes given. It must run after [Auth.Require].
func RequireAnyScope(scopes ...string) echo.MiddlewareFunc {
	authctx.MustScopes(scopes)
	scopes = append([]string(nil), scopes...)
	return requireRoute(func(c *core.Claims) error { return core.CheckAnyScope(c, scopes...) })
}

// RequireStepUp returns route middleware that requires the user's
// authentication to meet s (RFC 9470): otherwise 401
// error="insufficient_user_authentication" with acr_values and max_age. It
// must run after [Auth.Require]; it panics when s requires nothing.
func RequireStepUp(s core.StepUp) echo.MiddlewareFunc {
	authctx.MustStepUp(s.ACR, s.MaxAge)
	s.ACR = slices.Clone(s.ACR)
	return requireRoute(func(c *core.Claims) error { return core.CheckStepUp(c, s) })
}

func requireRoute(check func(*core.Claims) error) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			claims, _ := Claims(c)
			if err := check(claims); err != nil {
				return ownerOf(c).fail(c, err)
			}
			return next(c)
		}
	}
}

// ownerOf returns the Auth that handled the request, or a default one.
func ownerOf(c echo.Context) *Auth {
	if a, ok := authctx.Owner(c.Request().Context()).(*Auth); ok {
		return a
	}
	return &Auth{}
}

// Claims returns the claims of the request's verified token.
func Claims(c echo.Context) (*core.Claims, bool) {
	return core.ClaimsFromContext(c.Request().Context())
}

func (a *Auth) fail(c echo.Context, err error) error {
	core.LogRefusal(c.Request(), c.Path(), a.opts, err)
	if a.onError != nil {
		return a.onError(c, err)
	}
	r := core.NewErrorResponse(err, a.opts)
	r.SetHeaders(c.Response().Header())
	return &echo.HTTPError{Code: r.Status, Message: r.Description, Internal: err}
}

// HTTPErrorHandler returns an echo.HTTPErrorHandler that answers the
// failures of this package with the RFC 6750 JSON body that core.Middleware
// and ginauth send, {"error": …, "error_description": …}, and passes every
// other error to next (nil means e.DefaultHTTPErrorHandler).
//
//	e.HTTPErrorHandler = echoauth.HTTPErrorHandler(e, nil)
func HTTPErrorHandler(e *echo.Echo, next echo.HTTPErrorHandler) echo.HTTPErrorHandler {
	if next == nil {
		next = e.DefaultHTTPErrorHandler
	}
	return func(err error, c echo.Context) {
		var he *echo.HTTPError
		var ce *core.Error
		if c.Response().Committed || !errors.As(err, &he) || !errors.As(he.Internal, &ce) {
			next(err, c)
			return
		}
		body := core.NewErrorResponse(ce, core.Options{}).Body()
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(he.Code)
			return
		}
		_ = c.Blob(he.Code, "application/json", body)
	}
}
