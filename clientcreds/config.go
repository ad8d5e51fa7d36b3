package clientcreds

import (
	"context"
	"crypto"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bearerkit/bearerkit/internal/clientauth"
	"github.com/bearerkit/bearerkit/internal/fetch"
)

// AuthMethod names how the client authenticates to the token endpoint
// (RFC 6749 §2.3, RFC 7523 §2.2). The values are the registered
// token_endpoint_auth_method names.
type AuthMethod string

// Client authentication methods.
const (
	// ClientSecretBasic sends the id and secret in an HTTP Basic header,
	// each form-encoded first as RFC 6749 §2.3.1 requires. It is the
	// default because every server must support it.
	ClientSecretBasic AuthMethod = "client_secret_basic"
	// ClientSecretPost sends client_id and client_secret in the form body.
	ClientSecretPost AuthMethod = "client_secret_post"
	// PrivateKeyJWT sends a JWT signed with Config.PrivateKey (RFC 7523):
	// no shared secret ever leaves the process.
	PrivateKeyJWT AuthMethod = "private_key_jwt"
	// TLSClientAuth authenticates with Config.Certificate, issued by a CA
	// the server trusts for the client (RFC 8705 §2.1); the request names
	// client_id and carries no secret.
	TLSClientAuth AuthMethod = "tls_client_auth"
	// SelfSignedTLSClientAuth authenticates with a self-signed
	// Config.Certificate registered with the server (RFC 8705 §2.2).
	SelfSignedTLSClientAuth AuthMethod = "self_signed_tls_client_auth"
)

// Defaults applied by [New] to zero-valued [Config] fields.
const (
	DefaultMaxAttempts = 3
	DefaultMinBackoff  = 200 * time.Millisecond
	DefaultMaxBackoff  = 10 * time.Second
	DefaultTimeout     = 10 * time.Second
	// DefaultLifetime is assumed for a token whose response has no usable
	// expires_in (absent, zero or negative). It is short on purpose: the
	// server said nothing, so the client re-asks often rather than risk
	// using a token long after the server dropped it.
	DefaultLifetime = 5 * time.Minute
)

// Limits that are not configurable.
const (
	maxLifetime        = 24 * time.Hour   // expires_in above this is clamped
	minRefreshLead     = 30 * time.Second // floor of the default lead
	maxRefreshLead     = 5 * time.Minute  // cap of the default lead
	refreshLeadDivisor = 5                // default lead: a fifth of the lifetime
	forcedRefreshEvery = 5 * time.Second  // least gap between forced refreshes
	maxResponseBytes   = 256 << 10        // cap on token and discovery bodies
)

// Config configures a [Client]. Zero values of optional fields select the
// documented defaults. Printing a Config with fmt, slog or encoding/json
// never shows ClientSecret or the private key (see [Config.String]).
type Config struct {
	// ClientID is required.
	ClientID string
	// ClientSecret is required for ClientSecretBasic and ClientSecretPost
	// and must be empty for PrivateKeyJWT.
	ClientSecret string

	// TokenURL is the token endpoint. It must be https, or http on a
	// loopback host (127.0.0.0/8, ::1, localhost), because the request
	// carries the client's credentials.
	TokenURL string
	// Issuer, used only when TokenURL is empty, is the authorization
	// server's issuer identifier: the token endpoint is then read from its
	// OpenID Connect discovery document or RFC 8414 metadata on first use,
	// and the document's "issuer" must equal Issuer exactly. With
	// ProtectedResource, it chooses among the resource's authorization
	// servers.
	Issuer string
	// ProtectedResource is the URL of the resource the tokens are for, such
	// as an MCP server. When TokenURL and Issuer are empty, the token
	// endpoint is found from it on first use (RFC 9728): the
	// resource_metadata its 401 challenge names (or its well-known URL);
	// the document's resource must equal ProtectedResource exactly (§3.3);
	// then the first of its authorization_servers, whose RFC 8414 metadata
	// must name that issuer exactly. It is always sent as an RFC 8707
	// resource.
	ProtectedResource string
	// MetadataOrigins lists origins ("https://host[:port]") other than the
	// resource's own from which a resource_metadata URL named in a 401
	// challenge may be fetched; by default such a URL of another origin is
	// ignored and the resource's well-known URL is read instead.
	MetadataOrigins []string

	// Scopes are sent space-separated as "scope" (RFC 6749 §3.3).
	Scopes []string
	// Audience values are each sent as an "audience" parameter, the way
	// Auth0, Okta and RFC 8693 name the API a token is for.
	Audience []string
	// Resource values are each sent as a "resource" parameter (RFC 8707
	// §2); each must be an absolute URI without a fragment.
	Resource []string
	// EndpointParams are extra form parameters. They can never set
	// grant_type, client_id, client_secret, scope, client_assertion or
	// client_assertion_type, nor audience or resource when the fields of the
	// same name are used: New refuses such a Config.
	EndpointParams url.Values

	// AuthMethod defaults to ClientSecretBasic.
	AuthMethod AuthMethod
	// PrivateKey signs private_key_jwt assertions. RSA (2048 bits or more,
	// RS256), ECDSA P-256/P-384/P-521 (ES256/384/512) and Ed25519 (EdDSA)
	// keys are supported; any crypto.Signer, such as a KMS handle, works.
	PrivateKey crypto.Signer
	// KeyID is put in the assertion's "kid" header when not empty.
	KeyID string

	// Certificate is the TLS client certificate presented to the token
	// endpoint and, through [Client.HTTPClient] and Transport(nil), to the
	// APIs called. It is required for TLSClientAuth and
	// SelfSignedTLSClientAuth; with any method, a server that issues
	// certificate-bound tokens (RFC 8705 §3) binds them to it, and APIs
	// then accept them only over a connection with it. Config.HTTPClient's
	// transport must then be nil or an *http.Transport, which is copied.
	Certificate *tls.Certificate

	// DPoPKey, when set, makes every token DPoP-bound (RFC 9449) to this
	// key: each token request carries a proof signed with it, a token
	// whose token_type is not DPoP is refused, and [Client.HTTPClient] and
	// [Client.Transport] send "Authorization: DPoP <token>" with a fresh
	// proof for each request (its method, URL and the token's hash). A
	// server's demand for a nonce (use_dpop_nonce) is answered by sending
	// the request once more with the nonce it named; nonces that servers
	// send are used in later proofs to them. Use an ECDSA P-256 key unless
	// the server asks for another; Ed25519 and RSA keys work too. With
	// DPoPKey, use the Client's HTTP client or transport to call APIs:
	// [Client.Token] gives the token alone, which is useless without a
	// proof.
	DPoPKey crypto.Signer

	// HTTPClient sends token and discovery requests and is the base of
	// [Client.HTTPClient]; nil means a client on http.DefaultTransport.
	// Whatever its settings, token and discovery requests never follow
	// redirects and never carry cookies.
	HTTPClient *http.Client

	// Origins lists the origins (scheme://host[:port]) the token may be
	// sent to by [Client.Transport] and [Client.HTTPClient]. When empty,
	// the token goes to whatever origin each request names (the caller
	// chose it), but never to another origin reached through a redirect,
	// and a request over plain http to a non-loopback host fails with
	// [ErrInsecureRequest]. When set, only the listed origins get the token
	// (plain http ones included: listing them is the opt-in), and requests
	// to any other origin are sent without it.
	Origins []string

	// RefreshLead is how long before expiry a token is replaced in the
	// background. Zero means a fifth of the token's lifetime, at least
	// 30 s and at most 5 min. The lead never exceeds half the lifetime, so
	// a short-lived token is not refreshed on every call.
	RefreshLead time.Duration

	// MaxAttempts bounds the token requests per fetch, the first one
	// included; 0 means DefaultMaxAttempts. Only network errors and 5xx
	// answers are retried.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the jittered exponential wait
	// between attempts; zero means DefaultMinBackoff and DefaultMaxBackoff.
	// A Retry-After answer is honoured, capped at MaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Timeout bounds each token or discovery request, body included;
	// 0 means DefaultTimeout.
	Timeout time.Duration

	// Now is the clock used for expiry, refresh and assertion times; nil
	// means time.Now.
	Now func() time.Time

	// Hooks observe the client's token requests, for metrics and traces
	// (the otelbearer module turns them into OpenTelemetry instruments).
	Hooks Hooks

	// Logger receives failures of token requests (at Warn once per run of
	// failures, at Info when one succeeds again). Errors are redacted and
	// tokens never logged. nil means no logging.
	Logger *slog.Logger
}

// Hooks lets an application observe a [Client]. A nil field costs nothing;
// a set one must be fast, must not block, and must be safe for concurrent
// use. Hooks never receive tokens or secrets.
type Hooks struct {
	// TokenRequest is called after every request to the token endpoint,
	// retries and nonce answers included.
	TokenRequest func(ctx context.Context, e TokenRequestEvent)
}

// TokenRequestEvent describes one request to the token endpoint.
type TokenRequestEvent struct {
	Host     string // the token endpoint's host (and port)
	Status   int    // the HTTP status; 0 when no response came
	Duration time.Duration
	// Err is nil when a token came back, else the request's error,
	// redacted as every error of this package is.
	Err error
}

// settings is a checked Config with defaults applied.
type settings struct {
	Config
	params  url.Values      // grant-independent form parameters
	origins map[string]bool // normalised Origins
	auth    *clientauth.Client
}

// reservedParams are the form parameters the client itself controls. Letting
// EndpointParams set them would allow a config to change the grant or
// smuggle a second set of credentials.
var reservedParams = []string{
	"grant_type", "client_id", "client_secret", "scope",
	"client_assertion", "client_assertion_type",
}

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// check validates c and fills in defaults. Error messages name fields but
// never echo values, which may hold credentials.
func (c Config) check() (*settings, error) {
	s := &settings{Config: c}
	if c.ClientID == "" {
		return nil, configError("ClientID is required")
	}
	switch {
	case c.TokenURL != "":
		if err := fetch.CheckURL(c.TokenURL, false); err != nil {
			return nil, configError("TokenURL: %v", err)
		}
	case c.Issuer != "":
		if err := fetch.CheckIssuer(c.Issuer, false); err != nil {
			return nil, configError("Issuer: %v", err)
		}
	case c.ProtectedResource != "":
	default:
		return nil, configError("TokenURL, Issuer or ProtectedResource is required")
	}
	if c.ProtectedResource != "" {
		if err := fetch.CheckURL(c.ProtectedResource, false); err != nil {
			return nil, configError("ProtectedResource: %v", err)
		}
		if !slices.Contains(c.Resource, c.ProtectedResource) {
			s.Resource = append(slices.Clone(c.Resource), c.ProtectedResource)
		}
	}
	for _, o := range c.MetadataOrigins {
		if u, err := url.Parse(o); err != nil || fetch.CheckURL(o, false) != nil || (u.Path != "" && u.Path != "/") {
			return nil, configError("MetadataOrigins entries must look like https://host[:port] (http only for loopback)")
		}
	}
	if err := s.checkAuth(); err != nil {
		return nil, err
	}
	if err := s.buildParams(); err != nil {
		return nil, err
	}
	if err := s.buildOrigins(); err != nil {
		return nil, err
	}
	if err := s.applyDefaults(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *settings) checkAuth() error {
	if s.AuthMethod == "" {
		s.AuthMethod = ClientSecretBasic
	}
	switch s.AuthMethod {
	case ClientSecretBasic, ClientSecretPost, PrivateKeyJWT:
	case TLSClientAuth, SelfSignedTLSClientAuth:
		if s.Certificate == nil {
			return configError("%s needs a Certificate", s.AuthMethod)
		}
	default:
		return configError("unknown AuthMethod")
	}
	if c := s.Certificate; c != nil && (len(c.Certificate) == 0 || c.PrivateKey == nil) {
		return configError("Certificate needs its DER chain and private key")
	}
	if s.Certificate != nil && s.HTTPClient != nil && s.HTTPClient.Transport != nil {
		if _, ok := s.HTTPClient.Transport.(*http.Transport); !ok {
			return configError("Certificate needs HTTPClient's transport to be nil or an *http.Transport")
		}
	}
	// The messages name the fields, never their values.
	auth, err := clientauth.New(s.ClientID, s.ClientSecret, clientauth.Method(s.AuthMethod), s.PrivateKey, s.KeyID)
	if err != nil {
		return configError("%v", err)
	}
	s.auth = auth
	return nil
}

func (s *settings) buildParams() error {
	for _, sc := range s.Scopes {
		if !validScope(sc) {
			return configError("Scopes holds an empty or malformed scope")
		}
	}
	s.params = url.Values{}
	for k, vs := range s.EndpointParams {
		for _, r := range reservedParams {
			if strings.EqualFold(k, r) {
				return configError("EndpointParams may not set %s", r)
			}
		}
		if (strings.EqualFold(k, "audience") && len(s.Audience) > 0) ||
			(strings.EqualFold(k, "resource") && len(s.Resource) > 0) {
			return configError("EndpointParams may not set %s when the field of that name is used", strings.ToLower(k))
		}
		s.params[k] = append([]string(nil), vs...)
	}
	for _, a := range s.Audience {
		if a == "" {
			return configError("Audience holds an empty value")
		}
		s.params.Add("audience", a)
	}
	for _, r := range s.Resource {
		u, err := url.Parse(r)
		if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(r, "#") {
			return configError("Resource values must be absolute URIs without a fragment (RFC 8707 §2)")
		}
		s.params.Add("resource", r)
	}
	return nil
}

// validScope reports whether sc is a scope-token of RFC 6749 §3.3.
func validScope(sc string) bool {
	if sc == "" {
		return false
	}
	for i := 0; i < len(sc); i++ {
		b := sc[i]
		if b < 0x21 || b > 0x7e || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

func (s *settings) buildOrigins() error {
	s.origins = make(map[string]bool, len(s.Origins))
	for _, o := range s.Origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return configError("Origins entries must look like https://host[:port]")
		}
		s.origins[fetch.Origin(u)] = true
	}
	return nil
}

func (s *settings) applyDefaults() error {
	if s.MaxAttempts < 0 {
		return configError("MaxAttempts is negative")
	}
	if s.MaxAttempts == 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"RefreshLead", &s.RefreshLead, 0},
		{"MinBackoff", &s.MinBackoff, DefaultMinBackoff},
		{"MaxBackoff", &s.MaxBackoff, DefaultMaxBackoff},
		{"Timeout", &s.Timeout, DefaultTimeout},
	}
	for _, d := range durations {
		if *d.v < 0 {
			return configError("%s is negative", d.name)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if s.MinBackoff > s.MaxBackoff {
		return configError("MinBackoff exceeds MaxBackoff")
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	return nil
}
