package clientcreds

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/dpop"
)

// api serves an API behind core's middleware with opts, answering with
// the subject, the token's cnf.jkt and the request body; it counts
// requests.
func api(t *testing.T, srv *authtest.Server, opts core.Options, tlsServer bool) (*httptest.Server, *atomic.Int64) {
	ts := httptest.NewUnstartedServer(nil)
	if opts.DPoP != nil {
		d := *opts.DPoP
		scheme := "http"
		if tlsServer {
			scheme = "https"
		}
		d.ExternalURL = &url.URL{Scheme: scheme, Host: ts.Listener.Addr().String()}
		opts.DPoP = &d
	}
	t.Helper()
	v, err := core.New(core.Config{Issuer: srv.Issuer, JWKSURL: srv.JWKSURL(), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	n := new(atomic.Int64)
	h := core.MiddlewareWithOptions(v, opts, testAud)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := core.ClaimsFromContext(r.Context())
		body, _ := io.ReadAll(r.Body)
		w.Write([]byte(c.Subject + " " + c.Confirmation.JKT + " " + string(body)))
	}))
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1); h.ServeHTTP(w, r) })
	if tlsServer {
		ts.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return ts, n
}

func newNonces(t *testing.T) *dpop.Nonces {
	t.Helper()
	secret := make([]byte, 32)
	rand.Read(secret)
	n, err := dpop.NewNonces(secret, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func call(t *testing.T, hc *http.Client, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A client with a DPoP key gets DPoP-bound tokens through the nonce dance
// of the token endpoint, and calls an API that demands nonces too: one
// retry each, then the nonces are remembered.
func TestDPoPBoundTokens(t *testing.T) {
	srv := newIssuer(t, nil, authtest.WithDPoPNonce(time.Minute))
	srv.AddClient(authtest.Client{ID: testID, Secret: testSecret, Scopes: []string{"orders:read"}, DPoP: true})
	dv, err := dpop.NewVerifier(dpop.Config{Nonces: newNonces(t)})
	if err != nil {
		t.Fatal(err)
	}
	ts, apiCalls := api(t, srv, core.Options{DPoP: &core.DPoP{Verifier: dv, Required: true}}, false)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := dpop.Thumbprint(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	cfg := basicConfig(srv.TokenURL(), nil)
	cfg.DPoPKey = key
	c, _ := newClient(t, cfg)
	defer c.Close()
	hc := c.HTTPClient()

	status, body := call(t, hc, http.MethodPost, ts.URL+"/orders", "first")
	if status != 200 || body != testID+" "+jkt+" first" {
		t.Fatalf("first call: %d %q", status, body)
	}
	if got := srv.TokenRequests(); got != 2 {
		t.Errorf("token requests = %d, want 2: the nonce demand and the retry", got)
	}
	if got := apiCalls.Load(); got != 2 {
		t.Errorf("API requests = %d, want 2: the nonce demand and the retry (with the body again)", got)
	}
	for i := range 3 {
		if status, body := call(t, hc, http.MethodGet, ts.URL+"/orders", ""); status != 200 || !strings.HasPrefix(body, testID+" "+jkt) {
			t.Errorf("call %d: %d %q", i, status, body)
		}
	}
	if got := apiCalls.Load(); got != 5 {
		t.Errorf("API requests = %d, want 5: the nonce is remembered, each call has a fresh proof", got)
	}

	// The token alone, stolen, is useless: as Bearer, or as DPoP with
	// another key's proofs.
	tok, err := c.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stolen := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+tok)
		return http.DefaultTransport.RoundTrip(r)
	})}
	if status, _ := call(t, stolen, http.MethodGet, ts.URL+"/orders", ""); status != 401 {
		t.Errorf("stolen token as bearer: %d", status)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	thief, _ := dpop.NewSigner(other)
	withOtherKey := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		p, err := thief.Proof(r.Method, r.URL.String(), tok, "")
		if err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "DPoP "+tok)
		r.Header.Set("DPoP", p)
		return http.DefaultTransport.RoundTrip(r)
	})}
	if status, _ := call(t, withOtherKey, http.MethodGet, ts.URL+"/orders", ""); status != 401 {
		t.Errorf("stolen token with another key: %d", status)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// With a DPoP key, only a DPoP token will do; without one, a client the
// server holds to DPoP gets the server's refusal, once.
func TestDPoPTokenType(t *testing.T) {
	srv := newIssuer(t, nil)
	bearer := front(t, srv, func(_ int64, w http.ResponseWriter, _ *http.Request) bool {
		writeJSON(w, 200, `{"access_token":"abc","token_type":"Bearer","expires_in":60}`)
		return true
	})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cfg := basicConfig(bearer.URL+authtest.TokenPath, nil)
	cfg.DPoPKey = key
	c, _ := newClient(t, cfg)
	defer c.Close()
	if _, err := c.Token(t.Context()); !errors.Is(err, ErrTokenResponse) || !strings.Contains(err.Error(), "not DPoP") {
		t.Errorf("Bearer token for a DPoP client: %v", err)
	}

	srv.AddClient(authtest.Client{ID: testID, Secret: testSecret, Scopes: []string{"orders:read"}, DPoP: true})
	plain, _ := newClient(t, basicConfig(srv.TokenURL(), nil))
	defer plain.Close()
	before := srv.TokenRequests()
	if _, err := plain.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "invalid_dpop_proof") {
		t.Errorf("client without a key: %v", err)
	}
	if got := srv.TokenRequests() - before; got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
}

// A client with a TLS client certificate authenticates by it
// (tls_client_auth), gets a certificate-bound token, and calls an API over
// mutual TLS; the token without the certificate is refused.
func TestMutualTLSClient(t *testing.T) {
	cert, err := authtest.NewClientCertificate(testID)
	if err != nil {
		t.Fatal(err)
	}
	srv := newIssuer(t, nil, authtest.WithClientCertificates())
	srv.AddClient(authtest.Client{ID: testID, Certificate: cert.Leaf, Scopes: []string{"orders:read"}})
	ts, _ := api(t, srv, core.Options{}, true)

	cfg := Config{ClientID: testID, TokenURL: srv.TokenURL(), AuthMethod: TLSClientAuth, Certificate: &cert,
		HTTPClient: srv.Client()} // trusts the test servers' certificate
	c, _ := newClient(t, cfg)
	defer c.Close()
	if status, body := call(t, c.HTTPClient(), http.MethodGet, ts.URL+"/orders", ""); status != 200 || !strings.HasPrefix(body, testID) {
		t.Fatalf("over mutual TLS: %d %q", status, body)
	}
	tok, err := c.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	if claims, err := core.ParseClaims(payload, nil); err != nil || claims.Confirmation.X5TS256 != authtest.CertificateThumbprint(cert.Leaf) {
		t.Errorf("cnf: %+v, %v", claims, err)
	}
	stolen := srv.Client()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+"/orders", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := stolen.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("token without its certificate: %d", resp.StatusCode)
	}

	// Another certificate is not the client's.
	otherCert, _ := authtest.NewClientCertificate(testID)
	cfg.Certificate = &otherCert
	impostor, _ := newClient(t, cfg)
	defer impostor.Close()
	if _, err := impostor.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("another certificate: %v", err)
	}
}

func TestCertificateConfig(t *testing.T) {
	cert, err := authtest.NewClientCertificate(testID)
	if err != nil {
		t.Fatal(err)
	}
	base := Config{ClientID: testID, TokenURL: "https://as.example/token"}
	for name, edit := range map[string]func(*Config){
		"tls_client_auth without a certificate": func(c *Config) { c.AuthMethod = TLSClientAuth },
		"self-signed without a certificate":     func(c *Config) { c.AuthMethod = SelfSignedTLSClientAuth },
		"tls_client_auth with a secret":         func(c *Config) { c.AuthMethod, c.Certificate, c.ClientSecret = TLSClientAuth, &cert, "s" },
		"certificate without its key": func(c *Config) {
			c.AuthMethod, c.Certificate = TLSClientAuth, &tls.Certificate{Certificate: cert.Certificate}
		},
		"certificate with an opaque transport": func(c *Config) {
			c.AuthMethod, c.Certificate, c.HTTPClient = TLSClientAuth, &cert, &http.Client{Transport: roundTripper(nil)}
		},
	} {
		cfg := base
		edit(&cfg)
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	cfg := base
	cfg.AuthMethod, cfg.Certificate = SelfSignedTLSClientAuth, &cert
	if c, err := New(cfg); err != nil {
		t.Errorf("self_signed_tls_client_auth: %v", err)
	} else {
		c.Close()
	}
}

// The answer to a token endpoint's nonce demand is a whole new request: a
// private_key_jwt assertion is never sent twice (servers refuse a replayed
// jti).
func TestDPoPNonceWithPrivateKeyJWT(t *testing.T) {
	clientKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := newIssuer(t, nil, authtest.WithDPoPNonce(time.Minute))
	srv.AddClient(authtest.Client{ID: "keyed", PublicKey: clientKey.Public(), Scopes: []string{"orders:read"}})
	dpopKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, _ := newClient(t, Config{ClientID: "keyed", AuthMethod: PrivateKeyJWT, PrivateKey: clientKey, TokenURL: srv.TokenURL(), DPoPKey: dpopKey})
	defer c.Close()
	if _, err := c.Token(t.Context()); err != nil {
		t.Fatalf("token: %v", err)
	}
	if got := srv.TokenRequests(); got != 2 {
		t.Errorf("token requests = %d, want 2", got)
	}
}

// A nonce no proof could carry is not kept: the client goes on with the
// last good one instead of failing every request.
func TestUnusableNonceIgnored(t *testing.T) {
	srv := newIssuer(t, nil)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	apiSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("DPoP-Nonce", `bad nonce "quoted"`)
		w.Write([]byte("ok"))
	}))
	defer apiSrv.Close()
	cfg := basicConfig(srv.TokenURL(), nil)
	cfg.DPoPKey = key
	srv.AddClient(authtest.Client{ID: testID, Secret: testSecret, Scopes: []string{"orders:read"}, DPoP: true})
	c, _ := newClient(t, cfg)
	defer c.Close()
	for i := range 2 {
		if status, _ := call(t, c.HTTPClient(), http.MethodGet, apiSrv.URL, ""); status != 200 {
			t.Fatalf("call %d: %d", i, status)
		}
	}
	u, _ := url.Parse(apiSrv.URL)
	if n := c.nonces.get(u); n != "" {
		t.Errorf("kept nonce %q", n)
	}
}
