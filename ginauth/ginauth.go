// Package ginauth protects Gin routes with OAuth 2.0 JWT access tokens
// verified by a [core.Verifier].
//
//	auth := ginauth.New(v)
//	router.Use(auth.Require("orders-api"))
//	router.GET("/orders", ginauth.RequireScope("orders:read"), listOrders)
//
// Failures are answered per RFC 6750 with the same status, WWW-Authenticate
// challenge and JSON body as core.Middleware and echoauth; all verification
// happens in core.
package ginauth

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bearerkit/bearerkit/core"
)

// Auth builds Gin middleware around one verifier.
type Auth struct {
	v       *core.Verifier
	opts    core.Options
	onError func(c *gin.Context, err error)
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

// WithErrorHandler replaces the RFC 6750 answer. The handler must abort the
// request; err matches one of core's sentinel errors.
func WithErrorHandler(h func(c *gin.Context, err error)) Option {
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

type authKey struct{}

// Require returns middleware that verifies the request's bearer token for
// one of the audiences. On success the claims are available through
// [Claims] and core.ClaimsFromContext(c.Request.Context()). It panics when
// no non-empty audience is given.
func (a *Auth) Require(audience ...string) gin.HandlerFunc {
	core.MustAudience(audience)
	audience = append([]string(nil), audience...)
	// Route-level scope checks need the realm and error handler; with the
	// defaults there is nothing to pass on, and the per-request map Gin
	// allocates for c.Set is saved.
	custom := a.opts.Realm != "" || a.onError != nil
	return func(c *gin.Context) {
		if custom {
			c.Set(authKey{}, a)
		}
		claims, err := a.v.Authenticate(c.Request, a.opts, audience...)
		if err != nil {
			a.fail(c, err)
			return
		}
		if claims != nil {
			c.Request = c.Request.WithContext(core.WithClaims(c.Request.Context(), claims))
		}
		c.Next()
	}
}

// RequireScope returns route middleware that requires every scope given.
// It must run after [Auth.Require].
func RequireScope(scopes ...string) gin.HandlerFunc { return requireScopes(true, scopes) }

// RequireAnyScope returns route middleware that requires at least one of
// the scopes given. It must run after [Auth.Require].
func RequireAnyScope(scopes ...string) gin.HandlerFunc { return requireScopes(false, scopes) }

func requireScopes(all bool, scopes []string) gin.HandlerFunc {
	core.MustScopes(scopes)
	scopes = append([]string(nil), scopes...)
	return func(c *gin.Context) {
		claims, _ := Claims(c)
		if err := core.CheckScopes(claims, all, scopes...); err != nil {
			a, _ := c.Value(authKey{}).(*Auth)
			if a == nil {
				a = &Auth{}
			}
			a.fail(c, err)
			return
		}
		c.Next()
	}
}

// Claims returns the claims of the request's verified token.
func Claims(c *gin.Context) (*core.Claims, bool) {
	if c.Request == nil {
		return nil, false
	}
	return core.ClaimsFromContext(c.Request.Context())
}

func (a *Auth) fail(c *gin.Context, err error) {
	if a.onError != nil {
		a.onError(c, err)
		if !c.IsAborted() {
			c.AbortWithStatus(http.StatusUnauthorized)
		}
		return
	}
	r := core.NewErrorResponse(err, a.opts.Realm)
	r.Header(c.Writer.Header())
	c.Data(r.Status, "application/json", r.Body())
	c.Abort()
}
