package authtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bearerkit/bearerkit/dpop"
)

// Paths served under [Server.Issuer].
const (
	OIDCDiscoveryPath  = "/.well-known/openid-configuration"
	OAuthMetadataPath  = "/.well-known/oauth-authorization-server"
	JWKSPath           = "/jwks.json"
	TokenPath          = "/token"
	defaultTokenTTL    = time.Hour
	maxTokenBodyLength = 64 << 10
)

// Server is an in-process OAuth 2.0 authorization server on a loopback
// port. FOR TESTS AND DEMOS ONLY: keys live in memory, and anything can be
// minted by anyone holding the Server.
type Server struct {
	// Issuer is the issuer identifier: the server's base URL, without a
	// trailing slash. Discovery, JWKS and the token endpoint live under it.
	Issuer string
	// URL equals Issuer; it mirrors httptest.Server.
	URL string

	ts  *httptest.Server
	opt options

	mu         sync.Mutex
	keys       []*Key            // published, in JWKS order
	rawKeys    []json.RawMessage // extra JWKS entries, published verbatim
	signing    *Key
	clients    map[string]*Client
	jwksFault  *Fault
	tokenFault *Fault
	lastJWKS   http.Header
	seenJTI    map[string]time.Time
	opaque     map[string]map[string]any // opaque token → its claims
	proofs     *dpop.Verifier            // the token endpoint's DPoP proofs
	nonces     *dpop.Nonces              // nil unless WithDPoPNonce

	introspectFault *Fault
	introspectCount atomic.Int64

	jwksCount      atomic.Int64
	discoveryCount atomic.Int64
	tokenCount     atomic.Int64
}

// Fault changes how an endpoint answers, for failure tests.
type Fault struct {
	Status int           // response status; 0 means 200
	Delay  time.Duration // wait before answering; cut short if the client leaves
	// Wait, when not nil, holds each request until it is closed (or the
	// client leaves), after Delay.
	Wait   <-chan struct{}
	Body   []byte      // replaces the normal body when non-nil
	Header http.Header // added to the response
	// Arrived, when not nil, receives a value as each request arrives,
	// before Delay and Wait, so a test can tell that a request it holds has
	// reached the server. Give it room, or receive from it.
	Arrived chan<- struct{}
}

type options struct {
	alg          string
	now          func() time.Time
	tokenTTL     time.Duration
	audience     string
	clients      []Client
	cacheControl string
	noOIDC       bool
	metaIssuer   string
	accessTypHdr string
	tls          bool
	clientCerts  bool
	dpopNonce    time.Duration

	openIntrospection bool
}

// Option configures a Server.
type Option func(*options)

// WithAlgorithm sets the algorithm of the first signing key (default RS256).
func WithAlgorithm(alg string) Option { return func(o *options) { o.alg = alg } }

// WithClock sets the clock used for iat and exp (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithTokenLifetime sets the lifetime of issued tokens (default 1 h).
func WithTokenLifetime(d time.Duration) Option { return func(o *options) { o.tokenTTL = d } }

// WithDefaultAudience sets the aud of tokens requested without an audience
// or resource parameter.
func WithDefaultAudience(aud string) Option { return func(o *options) { o.audience = aud } }

// WithClient registers a client for the token endpoint.
func WithClient(c Client) Option { return func(o *options) { o.clients = append(o.clients, c) } }

// WithJWKSCacheControl sets the Cache-Control header of JWKS responses.
func WithJWKSCacheControl(v string) Option { return func(o *options) { o.cacheControl = v } }

// WithoutOIDCDiscovery answers 404 for the OpenID Connect discovery
// document, leaving only the RFC 8414 metadata.
func WithoutOIDCDiscovery() Option { return func(o *options) { o.noOIDC = true } }

// WithMetadataIssuer makes the discovery documents claim another issuer,
// to test that verifiers refuse them.
func WithMetadataIssuer(iss string) Option { return func(o *options) { o.metaIssuer = iss } }

// WithTokenType sets the typ header of issued tokens (default "at+jwt").
func WithTokenType(typ string) Option { return func(o *options) { o.accessTypHdr = typ } }

// WithTLS serves over https with a certificate that only [Server.Client]
// trusts, like httptest.NewTLSServer: the issuer is then https://127.0.0.1:port.
func WithTLS() Option { return func(o *options) { o.tls = true } }

// NewServer starts a Server on 127.0.0.1 with one RS256 signing key (or
// the algorithm of [WithAlgorithm]). It panics if the key cannot be made,
// like httptest.NewServer panics when it cannot listen. Call Close when done.
func NewServer(opts ...Option) *Server {
	o := options{alg: "RS256", now: time.Now, tokenTTL: defaultTokenTTL, accessTypHdr: "at+jwt"}
	for _, fn := range opts {
		fn(&o)
	}
	key, err := NewKey(o.alg)
	if err != nil {
		panic(err)
	}
	s := &Server{opt: o, keys: []*Key{key}, signing: key, clients: map[string]*Client{}, seenJTI: map[string]time.Time{}, opaque: map[string]map[string]any{}}
	for i := range o.clients {
		s.AddClient(o.clients[i])
	}
	if s.proofs, s.nonces, err = newProofVerifier(o); err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+OIDCDiscoveryPath, s.serveDiscovery)
	mux.HandleFunc("GET "+OAuthMetadataPath, s.serveDiscovery)
	mux.HandleFunc("GET "+JWKSPath, s.serveJWKS)
	mux.HandleFunc(TokenPath, s.serveToken)
	mux.HandleFunc("POST "+IntrospectionPath, s.serveIntrospection)
	if o.tls {
		s.ts = httptest.NewUnstartedServer(mux)
		if o.clientCerts {
			s.ts.TLS = tlsConfig()
		}
		s.ts.StartTLS()
	} else {
		s.ts = httptest.NewServer(mux)
	}
	s.Issuer, s.URL = s.ts.URL, s.ts.URL
	return s
}

// Close shuts the server down and blocks until all requests have ended.
func (s *Server) Close() { s.ts.Close() }

// Client returns an HTTP client for the server; with [WithTLS], it trusts
// the server's certificate.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// JWKSURL returns the URL of the key set.
func (s *Server) JWKSURL() string { return s.Issuer + JWKSPath }

// TokenURL returns the URL of the token endpoint.
func (s *Server) TokenURL() string { return s.Issuer + TokenPath }

// JWKSRequests counts the JWKS requests served, faulty or not.
func (s *Server) JWKSRequests() int { return int(s.jwksCount.Load()) }

// DiscoveryRequests counts requests for either discovery document.
func (s *Server) DiscoveryRequests() int { return int(s.discoveryCount.Load()) }

// TokenRequests counts requests to the token endpoint.
func (s *Server) TokenRequests() int { return int(s.tokenCount.Load()) }

// LastJWKSRequestHeader returns the headers of the last JWKS request.
func (s *Server) LastJWKSRequestHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastJWKS.Clone()
}

// SetJWKSFault makes the JWKS endpoint misbehave; nil restores it.
func (s *Server) SetJWKSFault(f *Fault) {
	s.mu.Lock()
	s.jwksFault = f
	s.mu.Unlock()
}

// SetTokenFault makes the token endpoint misbehave; nil restores it.
func (s *Server) SetTokenFault(f *Fault) {
	s.mu.Lock()
	s.tokenFault = f
	s.mu.Unlock()
}

// SigningKey returns the key that signs issued and minted tokens.
func (s *Server) SigningKey() *Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signing
}

// Keys returns the published keys.
func (s *Server) Keys() []*Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Key(nil), s.keys...)
}

// AddKey generates a key for alg and publishes it without making it the
// signing key.
func (s *Server) AddKey(alg string) (*Key, error) {
	k, err := NewKey(alg)
	if err != nil {
		return nil, err
	}
	s.PublishKey(k)
	return k, nil
}

// PublishKey adds k to the JWKS (after the keys already there).
func (s *Server) PublishKey(k *Key) {
	s.mu.Lock()
	s.keys = append(s.keys, k)
	s.mu.Unlock()
}

// PublishRawJWK adds an entry to the JWKS exactly as given, for tests of
// malformed or unusable keys.
func (s *Server) PublishRawJWK(raw json.RawMessage) {
	s.mu.Lock()
	s.rawKeys = append(s.rawKeys, raw)
	s.mu.Unlock()
}

// RotateKey publishes a new key for alg and makes it the signing key. The
// old keys stay published until removed.
func (s *Server) RotateKey(alg string) (*Key, error) {
	k, err := NewKey(alg)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.keys = append(s.keys, k)
	s.signing = k
	s.mu.Unlock()
	return k, nil
}

// RemoveKey unpublishes the key with the id. Removing the signing key
// leaves tokens signed with a key no verifier can find.
func (s *Server) RemoveKey(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.keys[:0]
	for _, k := range s.keys {
		if k.ID != kid {
			kept = append(kept, k)
		}
	}
	s.keys = kept
}

func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	s.discoveryCount.Add(1)
	if s.opt.noOIDC && r.URL.Path == OIDCDiscoveryPath {
		http.NotFound(w, r)
		return
	}
	iss := s.Issuer
	if s.opt.metaIssuer != "" {
		iss = s.opt.metaIssuer
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              s.JWKSURL(),
		"token_endpoint":                        s.TokenURL(),
		"introspection_endpoint":                s.IntrospectionURL(),
		"grant_types_supported":                 []string{"client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256", "PS256", "ES256", "ES384", "EdDSA"},
	})
}

func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	s.jwksCount.Add(1)
	s.mu.Lock()
	s.lastJWKS = r.Header.Clone()
	fault := s.jwksFault
	entries := make([]json.RawMessage, 0, len(s.keys)+len(s.rawKeys))
	for _, k := range s.keys {
		entries = append(entries, k.JWK())
	}
	entries = append(entries, s.rawKeys...)
	s.mu.Unlock()

	if s.opt.cacheControl != "" {
		w.Header().Set("Cache-Control", s.opt.cacheControl)
	}
	if applyFault(w, r, fault) {
		return
	}
	body, _ := json.Marshal(map[string]any{"keys": entries})
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(body)
}

// applyFault serves the fault and reports whether the response is done.
func applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f == nil {
		return false
	}
	if f.Arrived != nil {
		select {
		case f.Arrived <- struct{}{}:
		case <-r.Context().Done():
			return true
		}
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	if f.Wait != nil {
		select {
		case <-f.Wait:
		case <-r.Context().Done():
			return true
		}
	}
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if f.Body == nil && (f.Status == 0 || f.Status == http.StatusOK) {
		return false
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(f.Body)
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Mint signs claims, as given, with the signing key. The header is
// {"alg": key's alg, "kid": key's id, "typ": "at+jwt"}.
func (s *Server) Mint(claims map[string]any) (string, error) {
	return s.MintWith(s.SigningKey(), nil, claims)
}

// MintWith signs claims with key. header entries are merged over the
// default header; a nil value removes the member. The signature is always
// made with key.Alg, whatever header["alg"] says, so tests can make the
// header lie.
func (s *Server) MintWith(key *Key, header, claims map[string]any) (string, error) {
	h := map[string]any{"alg": key.Alg, "kid": key.ID, "typ": s.opt.accessTypHdr}
	for k, v := range header {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("authtest: header: %w", err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("authtest: claims: %w", err)
	}
	return SignRaw(key, hb, cb)
}

// Claims returns the claims of a typical access token from this server
// (RFC 9068 §2.2) for the audience and scopes: iss, sub, client_id, aud,
// iat, exp, jti and scope. Change the map to make variants.
func (s *Server) Claims(audience string, scopes ...string) map[string]any {
	now := s.opt.now()
	c := map[string]any{
		"iss":       s.Issuer,
		"sub":       "test-subject",
		"client_id": "test-client",
		"aud":       audience,
		"iat":       now.Unix(),
		"exp":       now.Add(s.opt.tokenTTL).Unix(),
		"jti":       randomID(),
	}
	if len(scopes) > 0 {
		c["scope"] = strings.Join(scopes, " ")
	}
	return c
}

// Token mints a typical valid access token for the audience and scopes. It
// panics on failure, which only a broken key can cause.
func (s *Server) Token(audience string, scopes ...string) string {
	tok, err := s.Mint(s.Claims(audience, scopes...))
	if err != nil {
		panic(err)
	}
	return tok
}
