package introspect

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/internal/clientauth"
	"github.com/bearerkit/bearerkit/internal/fetch"
)

// AuthMethod names how the resource server authenticates to the
// introspection endpoint (RFC 7662 §2.1, RFC 7591 §2).
type AuthMethod string

// Client authentication methods.
const (
	// ClientSecretBasic sends the id and secret in an HTTP Basic header,
	// each form-encoded first (RFC 6749 §2.3.1). The default when a secret
	// is set.
	ClientSecretBasic AuthMethod = "client_secret_basic"
	// ClientSecretPost sends client_id and client_secret in the form body.
	ClientSecretPost AuthMethod = "client_secret_post"
	// PrivateKeyJWT sends a JWT signed with Config.PrivateKey (RFC 7523).
	PrivateKeyJWT AuthMethod = "private_key_jwt"
	// None sends no credentials, for endpoints that only the network
	// protects, such as Ory Hydra's admin port. It must be chosen
	// explicitly.
	None AuthMethod = "none"
)

// Defaults applied by [New] to zero-valued [Config] fields.
const (
	DefaultTimeout         = 10 * time.Second
	DefaultFetchWait       = 5 * time.Second
	DefaultMaxResponseSize = 64 << 10
	DefaultMaxTokenSize    = 16 << 10
	DefaultCacheSize       = 10000
	DefaultCacheBytes      = 16 << 20
	DefaultCacheTTL        = 5 * time.Minute
	DefaultNegativeTTL     = 5 * time.Second
	DefaultMaxInFlight     = 64
	DefaultLeeway          = 30 * time.Second
)

// Config configures an [Introspector]. The zero value of every optional
// field selects the documented default.
type Config struct {
	// URL is the introspection endpoint. When empty it is read from the
	// introspection_endpoint of Issuer's metadata (RFC 8414 §2, found as
	// core finds key sets; the document's issuer must equal Issuer).
	URL string
	// Issuer is the authorization server's issuer identifier. When set, a
	// response that names an iss must name this one (RFC 7662 §2.2 makes
	// iss optional; a response without one is accepted). With
	// JWTResponses it is also where the signing keys are found.
	Issuer string

	// ClientID, ClientSecret, AuthMethod, PrivateKey and KeyID
	// authenticate the resource server to the endpoint. AuthMethod
	// defaults to ClientSecretBasic; None must be chosen explicitly.
	ClientID     string
	ClientSecret string
	AuthMethod   AuthMethod
	PrivateKey   crypto.Signer
	KeyID        string

	// AudienceOptional accepts a response without aud. By default a
	// response must name one of the audiences asked for, as a JWT must:
	// some servers leave aud out unless the client asked for one.
	AudienceOptional bool
	// ScopeClaims names the claims of the response that carry authority,
	// as core.Config.ScopeClaims does; nil means {"scope"}.
	ScopeClaims []string
	// Validate runs after every built-in check, on cached answers too; see
	// core.Config.Validate.
	Validate func(ctx context.Context, c *core.Claims) error
	// Leeway is the clock-skew tolerance for exp and nbf; 0 means
	// DefaultLeeway (30 s) and core.NoLeeway none.
	Leeway time.Duration

	// JWTResponses asks for RFC 9701 JWT-secured responses
	// (Accept: application/token-introspection+jwt), verified with the
	// Issuer's key set; a plain JSON answer is then refused. Issuer is
	// required.
	JWTResponses bool

	// HTTPClient sends introspection (and discovery) requests; nil means
	// a client on http.DefaultTransport. Redirects are never followed and
	// cookies never sent.
	HTTPClient *http.Client
	// Timeout bounds each introspection request; 0 means DefaultTimeout.
	Timeout time.Duration
	// FetchWait bounds how long a request whose context has no deadline
	// waits for an introspection it needs; 0 means DefaultFetchWait.
	FetchWait time.Duration
	// MaxResponseSize caps the response body; 0 means 64 KiB.
	MaxResponseSize int64
	// MaxTokenSize is the largest token sent to the endpoint; 0 means
	// 16 KiB. Larger tokens, and tokens with characters outside the RFC
	// 6750 b64token syntax, are refused without a request.
	MaxTokenSize int
	// MaxInFlight bounds concurrent introspection requests; 0 means 64.
	// A token that would need one more is answered 503 at once.
	MaxInFlight int

	// CacheSize and CacheBytes bound the cache of answers (keyed by a
	// SHA-256 hash of the token, never the token); 0 means 10,000 entries
	// and 16 MiB, a negative CacheSize turns it off.
	CacheSize  int
	CacheBytes int
	// CacheTTL is the longest an active answer is used: until
	// min(exp, now+CacheTTL); 0 means DefaultCacheTTL (5 min). A token
	// revoked at the server keeps working here for up to this long.
	CacheTTL time.Duration
	// NegativeTTL is how long an inactive answer is remembered; 0 means
	// DefaultNegativeTTL (5 s).
	NegativeTTL time.Duration

	// AllowInsecureHTTP permits http:// endpoints on hosts other than
	// loopback. Never set it in production: the request carries the token
	// and the client's credentials.
	AllowInsecureHTTP bool
	// Logger receives endpoint failures (Warn once per outage, Info at
	// recovery) and refusals (Debug). Tokens and secrets are never logged.
	Logger *slog.Logger
	// Hooks observe verifications (Verifier "introspection"), requests to
	// the endpoint and discovery, and evictions from the cache (Cache
	// "introspection"); see core.Hooks. The key set behind JWTResponses
	// reports to them too.
	Hooks core.Hooks
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// settings is a checked Config with defaults applied.
type settings struct {
	Config
	auth    *clientauth.Client
	noCache bool
}

func (c Config) check() (*settings, error) {
	s := &settings{Config: c}
	switch {
	case c.URL != "":
		if err := fetch.CheckURL(c.URL, c.AllowInsecureHTTP); err != nil {
			return nil, fmt.Errorf("introspect: Config.URL: %w", err)
		}
	case c.Issuer != "":
		if err := fetch.CheckIssuer(c.Issuer, c.AllowInsecureHTTP); err != nil {
			return nil, fmt.Errorf("introspect: Config.Issuer: %w", err)
		}
	default:
		return nil, errors.New("introspect: Config.URL or Config.Issuer is required")
	}
	if c.JWTResponses && c.Issuer == "" {
		return nil, errors.New("introspect: Config.JWTResponses needs Config.Issuer")
	}
	if s.AuthMethod == "" {
		s.AuthMethod = ClientSecretBasic
	}
	auth, err := clientauth.New(c.ClientID, c.ClientSecret, clientauth.Method(s.AuthMethod), c.PrivateKey, c.KeyID)
	if err != nil {
		return nil, fmt.Errorf("introspect: client authentication: %w", err)
	}
	s.auth = auth
	if s.ScopeClaims == nil {
		s.ScopeClaims = []string{"scope"}
	}
	if _, err := core.ParseClaims([]byte(`{}`), s.ScopeClaims); err != nil {
		return nil, fmt.Errorf("introspect: Config.ScopeClaims: %w", err)
	}
	switch {
	case c.Leeway == core.NoLeeway:
		s.Leeway = 0
	case c.Leeway < 0 || c.Leeway > 10*time.Minute:
		return nil, errors.New("introspect: Config.Leeway is negative or over 10 minutes")
	case c.Leeway == 0:
		s.Leeway = DefaultLeeway
	}
	s.noCache = c.CacheSize < 0
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Timeout", &s.Timeout, DefaultTimeout},
		{"FetchWait", &s.FetchWait, DefaultFetchWait},
		{"CacheTTL", &s.CacheTTL, DefaultCacheTTL},
		{"NegativeTTL", &s.NegativeTTL, DefaultNegativeTTL},
	} {
		if *d.v < 0 {
			return nil, fmt.Errorf("introspect: Config.%s is negative", d.name)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	for _, n := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxTokenSize", &s.MaxTokenSize, DefaultMaxTokenSize},
		{"MaxInFlight", &s.MaxInFlight, DefaultMaxInFlight},
		{"CacheSize", &s.CacheSize, DefaultCacheSize},
		{"CacheBytes", &s.CacheBytes, DefaultCacheBytes},
	} {
		if *n.v < 0 && n.name != "CacheSize" {
			return nil, fmt.Errorf("introspect: Config.%s is negative", n.name)
		}
		if *n.v <= 0 {
			*n.v = n.def
		}
	}
	if s.MaxResponseSize < 0 {
		return nil, errors.New("introspect: Config.MaxResponseSize is negative")
	}
	if s.MaxResponseSize == 0 {
		s.MaxResponseSize = DefaultMaxResponseSize
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	return s, nil
}
