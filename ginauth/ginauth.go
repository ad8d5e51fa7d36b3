// Package ginauth protects Gin routes with OAuth 2.0 access tokens checked
// by any [core.TokenVerifier].
//
//	auth := ginauth.New(v, ginauth.WithSkipper(func(c *gin.Context) bool { return c.FullPath() == "/health" }))
//	router.Use(auth.Require("orders-api"))
//	router.GET("/orders", ginauth.RequireScope("orders:read"), listOrders)
//
// Failures are answered per RFC 6750 with the same status, WWW-Authenticate
// challenge and JSON body as core.Middleware and echoauth, route-level
// failures (scopes) with the options of the Auth whose Require verified the
// token; all verification happens in core.
package ginauth

import (
	"crypto/x509"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/internal/authctx"
)

// Auth builds Gin middleware around one verifier.
type Auth struct {
	v       core.TokenVerifier
	opts    core.Options
	cookie  string // the cookie read by WithCookie
	skipper func(c *gin.Context) bool
	onError func(c *gin.Context, err error)
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
//
// In debug mode, Gin's Recovery middleware prints the request's headers
// when a handler panics, hiding only Authorization: a token read from a
// cookie would be printed whole. Auth therefore replaces that cookie's
// value in the request's headers with "[redacted]" once it has read it
// (handlers get the claims, not the token). Run Gin in release mode in
// production all the same.
func WithCookie(name string) Option {
	return func(a *Auth) {
		a.opts.Extractor = core.FromCookie(name)
		a.cookie = name
	}
}

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
func ServeResourceMetadata(r gin.IRoutes, meta core.ResourceMetadata) {
	h := gin.WrapH(meta)
	r.GET(meta.WellKnownPath(), h)
	r.HEAD(meta.WellKnownPath(), h)
}

// WithSkipper leaves the requests it selects unauthenticated. Decide on
// c.FullPath(), the route pattern Gin matched, never on the raw URL or
// forwarded headers: "/health/../admin" is routed to "/admin".
func WithSkipper(s func(c *gin.Context) bool) Option { return func(a *Auth) { a.skipper = s } }

// WithErrorHandler replaces the RFC 6750 answer, for token and route-level
// failures alike. The handler must abort the request (Auth aborts it with
// 401 if it does not); err matches one of core's sentinel errors.
func WithErrorHandler(h func(c *gin.Context, err error)) Option {
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
// [Claims] and core.ClaimsFromContext(c.Request.Context()). It panics when
// no non-empty audience is given.
func (a *Auth) Require(audience ...string) gin.HandlerFunc {
	authctx.MustAudience(audience)
	audience = append([]string(nil), audience...)
	return func(c *gin.Context) {
		if a.skipper != nil && a.skipper(c) {
			c.Request = c.Request.WithContext(authctx.With(c.Request.Context(), nil, a))
			c.Next()
			return
		}
		claims, err := core.Authenticate(a.v, c.Request, a.opts, audience...)
		if a.cookie != "" {
			redactCookie(c.Request.Header, a.cookie)
		}
		if err != nil {
			a.fail(c, err)
			return
		}
		c.Request = c.Request.WithContext(authctx.With(c.Request.Context(), claims, a))
		c.Next()
	}
}

// RequireScope returns route middleware that requires every scope given.
// It must run after [Auth.Require], whose options answer its failures.
func RequireScope(scopes ...string) gin.HandlerFunc {
	authctx.MustScopes(scopes)
	scopes = append([]string(nil), scopes...)
	return requireRoute(func(c *core.Claims) error { return core.CheckScopes(c, scopes...) })
}

// RequireAnyScope returns route middleware that requires at least one of
// the scopes given. It must run after [Auth.Require].
func RequireAnyScope(scopes ...string) gin.HandlerFunc {
	authctx.MustScopes(scopes)
	scopes = append([]string(nil), scopes...)
	return requireRoute(func(c *core.Claims) error { return core.CheckAnyScope(c, scopes...) })
}

// RequireStepUp returns route middleware that requires the user's
// authentication to meet s (RFC 9470): otherwise 401
// error="insufficient_user_authentication" with acr_values and max_age. It
// must run after [Auth.Require]; it panics when s requires nothing.
func RequireStepUp(s core.StepUp) gin.HandlerFunc {
	authctx.MustStepUp(s.ACR, s.MaxAge)
	s.ACR = slices.Clone(s.ACR)
	return requireRoute(func(c *core.Claims) error { return core.CheckStepUp(c, s) })
}

func requireRoute(check func(*core.Claims) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		claims, _ := Claims(c)
		if err := check(claims); err != nil {
			ownerOf(c).fail(c, err)
			return
		}
		c.Next()
	}
}

// ownerOf returns the Auth that handled the request, or a default one.
func ownerOf(c *gin.Context) *Auth {
	if c.Request != nil {
		if a, ok := authctx.Owner(c.Request.Context()).(*Auth); ok {
			return a
		}
	}
	return &Auth{}
}

// Claims returns the claims of the request's verified token.
func Claims(c *gin.Context) (*core.Claims, bool) {
	if c.Request == nil {
		return nil, false
	}
	return core.ClaimsFromContext(c.Request.Context())
}

func (a *Auth) fail(c *gin.Context, err error) {
	core.LogRefusal(c.Request, c.FullPath(), a.opts, err)
	if a.onError != nil {
		a.onError(c, err)
		if !c.IsAborted() {
			c.AbortWithStatus(http.StatusUnauthorized)
		}
		return
	}
	r := core.NewErrorResponse(err, a.opts)
	r.SetHeaders(c.Writer.Header())
	c.Data(r.Status, "application/json", r.Body())
	c.Abort()
}

// redactCookie replaces the value of the named cookie in h's Cookie
// headers, so that nothing printing the request later shows the token.
func redactCookie(h http.Header, name string) {
	values := h["Cookie"]
	for i, line := range values {
		if !strings.Contains(line, name) {
			continue
		}
		parts := strings.Split(line, ";")
		for j, p := range parts {
			k, _, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && k == name {
				parts[j] = " " + name + "=[redacted]"
				if j == 0 {
					parts[j] = parts[j][1:]
				}
			}
		}
		values[i] = strings.Join(parts, ";")
	}
}
