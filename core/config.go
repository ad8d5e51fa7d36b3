package core

import (
	"github.com/bearerkit/bearerkit/internal/jose"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/bearerkit/bearerkit/internal/fetch"
)

// Defaults applied by [New] to zero-valued [Config] fields.
const (
	DefaultLeeway          = 30 * time.Second
	DefaultMaxTokenSize    = 16 << 10
	DefaultTokenCacheSize  = 10000
	DefaultTokenCacheBytes = 32 << 20
	DefaultJWKSTTL         = 15 * time.Minute
	DefaultJWKSMinTTL      = time.Minute
	DefaultJWKSMaxTTL      = 24 * time.Hour
	DefaultRefetchCooldown = 30 * time.Second
	DefaultMaxStaleness    = 24 * time.Hour
	DefaultMaxResponseSize = 1 << 20
	DefaultFetchTimeout    = 10 * time.Second
	DefaultFetchWait       = 5 * time.Second
	maxLeeway              = 10 * time.Minute
	maxKeysPerSet          = 100
	maxKidlessKeysTried    = 3
	defaultRealm           = "api"
	refreshAheadFraction   = 5 // refresh once 4/5 of the TTL has passed
)

// NoLeeway, as [Config.Leeway], turns the clock-skew tolerance off: a token
// is then valid only while now < exp.
const NoLeeway time.Duration = math.MinInt64

// DefaultAlgorithms is the allow-list used when [Config.Algorithms] is nil.
// HS* and "none" are never accepted whatever the configuration says: a
// resource server that trusts a public JWKS has no shared secret.
var DefaultAlgorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA", "Ed25519",
}

// Config configures a [Verifier]. The zero value of every optional field
// selects the documented default.
type Config struct {
	// Issuer is required. A token's "iss" must equal it byte for byte, and
	// discovery documents are looked up under it when JWKSURL is empty.
	Issuer string

	// JWKSURL is the issuer's key set. When empty it is discovered from
	// {Issuer}/.well-known/openid-configuration, then from the RFC 8414
	// oauth-authorization-server document.
	JWKSURL string

	// HTTPClient is used for discovery and JWKS requests; nil means a
	// client on http.DefaultTransport. bearerkit never follows redirects and
	// never sends cookies, whatever the client's settings.
	HTTPClient *http.Client

	// Algorithms is the allow-list of "alg" values; nil means
	// [DefaultAlgorithms]. Naming "none", any HS* or an unknown algorithm is
	// a configuration error.
	Algorithms []string

	// Leeway is the clock-skew tolerance for exp, nbf and iat. Zero means
	// [DefaultLeeway] (30 s) and [NoLeeway] means none; other negative
	// values and values over 10 minutes are configuration errors.
	Leeway time.Duration

	// TokenCacheSize bounds the cache of verified tokens: 0 means
	// [DefaultTokenCacheSize] entries, a negative value turns it off. The
	// cache has 32 shards, so the bound is rounded up to a multiple of 32.
	TokenCacheSize int

	// TokenCacheBytes bounds the bytes of tokens and claims held by the
	// verified-token cache; 0 means [DefaultTokenCacheBytes] (32 MiB).
	TokenCacheBytes int

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// MaxTokenSize is the largest token accepted, in bytes; 0 means
	// [DefaultMaxTokenSize] (16 KiB). Larger tokens are refused before any
	// decoding.
	MaxTokenSize int

	// StrictRFC9068 enforces the JWT access token profile of RFC 9068: typ
	// must be "at+jwt" (or "application/at+jwt"), and sub, client_id, iat and
	// jti are required. The lenient default also accepts typ "JWT" or no typ,
	// which is what many issuers send, but then it cannot tell an OpenID
	// Connect ID token whose aud equals the API identifier from an access
	// token.
	StrictRFC9068 bool

	// JWKSTTL is how long a key set is used when the response has no
	// Cache-Control max-age; 0 means [DefaultJWKSTTL] (15 min). A max-age is
	// clamped to [JWKSMinTTL, JWKSMaxTTL].
	JWKSTTL time.Duration
	// JWKSMinTTL: 0 means [DefaultJWKSMinTTL] (1 min).
	JWKSMinTTL time.Duration
	// JWKSMaxTTL: 0 means [DefaultJWKSMaxTTL] (24 h).
	JWKSMaxTTL time.Duration

	// RefetchCooldown is the least time between two JWKS requests caused
	// by unknown key ids or failures, counted from the last attempt; 0 means
	// [DefaultRefetchCooldown] (30 s).
	RefetchCooldown time.Duration

	// MaxStaleness is how long the last good key set keeps being used while
	// the JWKS endpoint fails; 0 means [DefaultMaxStaleness] (24 h). After
	// that, verification fails with [ErrKeySetUnavailable].
	MaxStaleness time.Duration

	// MaxResponseSize caps discovery and JWKS bodies after decompression;
	// 0 means [DefaultMaxResponseSize] (1 MiB).
	MaxResponseSize int64

	// FetchTimeout bounds each discovery or JWKS request; 0 means
	// [DefaultFetchTimeout] (10 s).
	FetchTimeout time.Duration

	// FetchWait bounds how long a request whose context has no deadline
	// waits for a key set fetch it needs — on a cold start, or for a kid
	// the cached set lacks; 0 means [DefaultFetchWait] (5 s). A context with
	// a deadline waits until then. Either way the fetch itself goes on for
	// up to FetchTimeout, and later requests use its result.
	FetchWait time.Duration

	// AllowInsecureHTTP permits http:// discovery and JWKS URLs on hosts
	// other than loopback. Never set it in production.
	AllowInsecureHTTP bool

	// Logger receives key set events and refusals (see the package
	// documentation, "Logs"). Tokens are never logged. nil means no
	// logging.
	Logger *slog.Logger

	// ScopeClaims names the claims that carry a token's authority, merged
	// into Claims.Scopes (and so checked by RequireScope and named in a
	// 403's scope=): claim names, or RFC 6901 JSON Pointers when they start
	// with "/" ("/realm_access/roles", "/https:~1~1example.com~1roles"). nil
	// means {"scope", "scp"}. A claim may hold a space-delimited string or
	// an array of strings, each element one scope ("scope" itself only a
	// string, RFC 8693 §4.2); any other type, or an element that is empty
	// or holds a space, refuses the token. Absent claims grant nothing.
	ScopeClaims []string

	// Validate, when set, runs after every built-in check has passed — also
	// when the token is served from the verified-token cache, since a
	// validator may depend on time or state — with the claims the caller
	// will get. An error refuses the token: 401 invalid_token with a fixed
	// description, or 403 insufficient_scope when it wraps
	// [ErrInsufficientScope]. Its text never reaches the client. Read
	// custom claims with [Claims.Decode].
	Validate func(ctx context.Context, c *Claims) error

	// Hooks observe verifications and key set changes.
	Hooks Hooks
}

// settings is a Config with defaults applied and values checked.
type settings struct {
	Config
	algs         jose.AlgSet
	cacheEntries int
	claims       claimRules
	wallClock    bool // Now is time.Now: a time read for the hooks serves as now
	// hookIssuer names the issuer in hook events: the configured issuer,
	// or for a dynamic issuer the bounded label DynamicIssuers gives it.
	hookIssuer string
}

func (c Config) settings() (*settings, error) {
	s := &settings{Config: c}
	if c.Issuer == "" {
		return nil, errors.New("bearerkit: Config.Issuer is required")
	}
	if c.JWKSURL != "" {
		if err := fetch.CheckURL(c.JWKSURL, c.AllowInsecureHTTP); err != nil {
			return nil, fmt.Errorf("bearerkit: Config.JWKSURL: %w", err)
		}
	} else if err := fetch.CheckIssuer(c.Issuer, c.AllowInsecureHTTP); err != nil {
		return nil, fmt.Errorf("bearerkit: Config.Issuer must be a URL for discovery when JWKSURL is empty: %w", err)
	}
	algs := c.Algorithms
	if algs == nil {
		algs = DefaultAlgorithms
	}
	if len(algs) == 0 {
		return nil, errors.New("bearerkit: Config.Algorithms is empty")
	}
	for _, name := range algs {
		a, ok := jose.AlgByName(name)
		if !ok {
			return nil, fmt.Errorf("bearerkit: algorithm %q is not supported (HS* and none never are)", name)
		}
		s.algs |= 1 << a
	}
	switch {
	case c.Leeway == NoLeeway:
		s.Leeway = 0
	case c.Leeway < 0:
		return nil, errors.New("bearerkit: Config.Leeway is negative")
	case c.Leeway > maxLeeway:
		return nil, fmt.Errorf("bearerkit: Config.Leeway over %v", maxLeeway)
	case c.Leeway == 0:
		s.Leeway = DefaultLeeway
	}
	switch {
	case c.MaxTokenSize < 0:
		return nil, errors.New("bearerkit: Config.MaxTokenSize is negative")
	case c.MaxTokenSize == 0:
		s.MaxTokenSize = DefaultMaxTokenSize
	}
	switch {
	case c.TokenCacheSize < 0:
		s.cacheEntries = 0
	case c.TokenCacheSize == 0:
		s.cacheEntries = DefaultTokenCacheSize
	default:
		s.cacheEntries = c.TokenCacheSize
	}
	switch {
	case c.TokenCacheBytes < 0:
		return nil, errors.New("bearerkit: Config.TokenCacheBytes is negative")
	case c.TokenCacheBytes == 0:
		s.TokenCacheBytes = DefaultTokenCacheBytes
	}
	if s.Now == nil {
		s.Now, s.wallClock = time.Now, true
	}
	s.hookIssuer = c.Issuer
	scopes, err := compileScopeClaims(c.ScopeClaims)
	if err != nil {
		return nil, err
	}
	s.claims = claimRules{strict: c.StrictRFC9068, scopes: scopes}
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"JWKSTTL", &s.JWKSTTL, DefaultJWKSTTL},
		{"JWKSMinTTL", &s.JWKSMinTTL, DefaultJWKSMinTTL},
		{"JWKSMaxTTL", &s.JWKSMaxTTL, DefaultJWKSMaxTTL},
		{"RefetchCooldown", &s.RefetchCooldown, DefaultRefetchCooldown},
		{"MaxStaleness", &s.MaxStaleness, DefaultMaxStaleness},
		{"FetchTimeout", &s.FetchTimeout, DefaultFetchTimeout},
		{"FetchWait", &s.FetchWait, DefaultFetchWait},
	}
	for _, d := range durations {
		if *d.v < 0 {
			return nil, fmt.Errorf("bearerkit: Config.%s is negative", d.name)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if s.JWKSMinTTL > s.JWKSMaxTTL {
		return nil, errors.New("bearerkit: Config.JWKSMinTTL exceeds JWKSMaxTTL")
	}
	switch {
	case c.MaxResponseSize < 0:
		return nil, errors.New("bearerkit: Config.MaxResponseSize is negative")
	case c.MaxResponseSize == 0:
		s.MaxResponseSize = DefaultMaxResponseSize
	}
	return s, nil
}
