// Package echoauth protects Echo (v4) routes with OAuth 2.0 JWT access
// tokens verified by a [core.Verifier].
//
//	ea := echoauth.New(v)
//	e.Use(ea.Require("orders-api"))
//	e.GET("/orders", listOrders, echoauth.RequireScope("orders:read"))
//
// Following Echo's conventions, failures are returned as *echo.HTTPError so
// the application's HTTPErrorHandler stays in charge; the status and the
// RFC 6750 WWW-Authenticate challenge are set as in core.Middleware and
// ginauth, and with Echo's default error handler the body is the same too.
package echoauth

import (
	"encoding/json"

	"github.com/labstack/echo/v4"

	"github.com/bearerkit/bearerkit/core"
)

// Auth builds Echo middleware around one verifier.
type Auth struct {
	v       *core.Verifier
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

// WithCookie also accepts the token from the named cookie. A request with
// both a header and a cookie token is refused with 400.
func WithCookie(name string) Option { return WithExtractor(core.FromCookie(name)) }

// WithOptionalCredentials lets requests without any token through without
// claims; a token that is present must still be valid.
func WithOptionalCredentials() Option { return func(a *Auth) { a.opts.Optional = true } }

// WithSkipper skips authentication for the requests it selects, like
// Echo's middleware.Skipper. Decide on c.Path() (the routed pattern), never
// on the raw URL or forwarded headers.
func WithSkipper(s func(c echo.Context) bool) Option { return func(a *Auth) { a.skipper = s } }

// WithErrorHandler replaces the default: returning the RFC 6750 answer as
// an *echo.HTTPError. err matches one of core's sentinel errors.
func WithErrorHandler(h func(c echo.Context, err error) error) Option {
	return func(a *Auth) { a.onError = h }
}

// New returns an Auth for v.
func New(v *core.Verifier, opts ...Option) *Auth {
	a := &Auth{v: v}
	for _, o := range opts {
		o(a)
	}
	return a
}

const authKey = "bearerkit.echoauth"

// Require returns middleware that verifies the request's bearer token for
// one of the audiences. On success the claims are available through
// [Claims] and core.ClaimsFromContext(c.Request().Context()). It panics
// when no non-empty audience is given.
func (a *Auth) Require(audience ...string) echo.MiddlewareFunc {
	core.MustAudience(audience)
	audience = append([]string(nil), audience...)
	// Route-level scope checks need the realm and error handler; with the
	// defaults there is nothing to pass on.
	custom := a.opts.Realm != "" || a.onError != nil
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if a.skipper != nil && a.skipper(c) {
				return next(c)
			}
			if custom {
				c.Set(authKey, a)
			}
			claims, err := a.v.Authenticate(c.Request(), a.opts, audience...)
			if err != nil {
				return a.fail(c, err)
			}
			if claims != nil {
				c.SetRequest(c.Request().WithContext(core.WithClaims(c.Request().Context(), claims)))
			}
			return next(c)
		}
	}
}

// RequireScope returns route middleware that requires every scope given.
// It must run after [Auth.Require].
func RequireScope(scopes ...string) echo.MiddlewareFunc { return requireScopes(true, scopes) }

// RequireAnyScope returns route middleware that requires at least one of
// the scopes given. It must run after [Auth.Require].
func RequireAnyScope(scopes ...string) echo.MiddlewareFunc { return requireScopes(false, scopes) }

func requireScopes(all bool, scopes []string) echo.MiddlewareFunc {
	core.MustScopes(scopes)
	scopes = append([]string(nil), scopes...)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			claims, _ := Claims(c)
			if err := core.CheckScopes(claims, all, scopes...); err != nil {
				a, _ := c.Get(authKey).(*Auth)
				if a == nil {
					a = &Auth{}
				}
				return a.fail(c, err)
			}
			return next(c)
		}
	}
}

// Claims returns the claims of the request's verified token.
func Claims(c echo.Context) (*core.Claims, bool) {
	return core.ClaimsFromContext(c.Request().Context())
}

func (a *Auth) fail(c echo.Context, err error) error {
	if a.onError != nil {
		return a.onError(c, err)
	}
	r := core.NewErrorResponse(err, a.opts.Realm)
	r.Header(c.Response().Header())
	return &echo.HTTPError{Code: r.Status, Message: json.RawMessage(r.Body()), Internal: err}
}
