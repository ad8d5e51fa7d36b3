package core_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
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
	"github.com/bearerkit/bearerkit/internal/adaptertest"
)

// dpopEnv is an issuer, a verifier for it, a DPoP client key and a handler
// behind core's middleware with the DPoP policy d.
type dpopEnv struct {
	srv     *authtest.Server
	client  *dpop.Signer
	calls   *atomic.Int64 // token verifications
	handler http.Handler
}

// countingVerifier counts the tokens it is asked to verify.
type countingVerifier struct {
	core.TokenVerifier
	calls *atomic.Int64
}

func (c countingVerifier) Verify(ctx context.Context, token string, audience ...string) (*core.Claims, error) {
	c.calls.Add(1)
	return c.TokenVerifier.Verify(ctx, token, audience...)
}

func newDPoPEnv(t *testing.T, d *core.DPoP, opts core.Options) *dpopEnv {
	t.Helper()
	srv, v := adaptertest.Verifier(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	client, err := dpop.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	if d != nil && d.Verifier == nil {
		if d.Verifier, err = dpop.NewVerifier(dpop.Config{}); err != nil {
			t.Fatal(err)
		}
	}
	e := &dpopEnv{srv: srv, client: client, calls: new(atomic.Int64)}
	opts.DPoP = d
	e.handler = core.MiddlewareWithOptions(countingVerifier{v, e.calls}, opts, adaptertest.Audience)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := core.ClaimsFromContext(r.Context())
			w.Write([]byte("hello " + c.Subject))
		}))
	return e
}

// token is a DPoP-bound token for the env's client key.
func (e *dpopEnv) token() string {
	return e.srv.DPoPToken(e.client.Thumbprint(), adaptertest.Audience)
}

// request is GET target (an absolute URL) with "DPoP token" and the
// proofs given.
func request(target, token string, proofs ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("Authorization", "DPoP "+token)
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

func (e *dpopEnv) proof(t *testing.T, htu, token, nonce string) string {
	t.Helper()
	p, err := e.client.Proof(http.MethodGet, htu, token, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// The same proof twice: the second is a replay (L3).
func TestL3ReplayedProofThroughMiddleware(t *testing.T) {
	e := newDPoPEnv(t, &core.DPoP{}, core.Options{})
	tok := e.token()
	proof := e.proof(t, "http://api.example/orders", tok, "")
	if rec := serve(e.handler, request("http://api.example/orders", tok, proof)); rec.Code != 200 {
		t.Fatalf("first use: %d %s", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	rec := serve(e.handler, request("http://api.example/orders", tok, proof))
	if rec.Code != 401 || !strings.Contains(rec.Header().Get("WWW-Authenticate"), `DPoP realm="api", error="invalid_dpop_proof"`) {
		t.Errorf("replay: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

// A proof refused for a token that fails takes no place in the replay
// store, and junk never reaches token verification (L5).
func TestL5ProofRefusedBeforeTheToken(t *testing.T) {
	e := newDPoPEnv(t, &core.DPoP{}, core.Options{})
	tok := e.token()
	good := e.proof(t, "http://api.example/orders", tok, "")
	// A header with a member twice.
	enc := base64.RawURLEncoding.EncodeToString
	withDuplicate := enc([]byte(`{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":{}}`)) + "." + enc([]byte(`{}`)) + ".AAAA"
	for name, r := range map[string]*http.Request{
		"two DPoP headers":  request("http://api.example/orders", tok, good, good),
		"no DPoP header":    request("http://api.example/orders", tok),
		"oversize proof":    request("http://api.example/orders", tok, strings.Repeat("a", 9<<10)+"."+"b.c"),
		"duplicate members": request("http://api.example/orders", tok, withDuplicate),
		"not a JWS":         request("http://api.example/orders", tok, "not-a-proof"),
	} {
		rec := serve(e.handler, r)
		if rec.Code != 401 || !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_dpop_proof"`) {
			t.Errorf("%s: %d %q", name, rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	}
	// A valid proof with a token that fails: the proof is still usable.
	bad := e.srv.DPoPToken(e.client.Thumbprint(), "another-api")
	badProof := e.proof(t, "http://api.example/orders", bad, "")
	if rec := serve(e.handler, request("http://api.example/orders", bad, badProof)); rec.Code != 401 {
		t.Errorf("token for another audience: %d", rec.Code)
	}
	if got := e.calls.Load(); got != 1 {
		t.Errorf("token verifications = %d, want 1 (only the valid proof's)", got)
	}
	if rec := serve(e.handler, request("http://api.example/orders", tok, good)); rec.Code != 200 {
		t.Errorf("the good proof after all that: %d", rec.Code)
	}
}

// With server nonces, a proof without the current nonce is answered 401
// use_dpop_nonce with a fresh DPoP-Nonce, and the retry with it passes
// (L7).
func TestL7NonceThroughMiddleware(t *testing.T) {
	secret := make([]byte, 32)
	rand.Read(secret)
	nonces, err := dpop.NewNonces(secret, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	dv, err := dpop.NewVerifier(dpop.Config{Nonces: nonces})
	if err != nil {
		t.Fatal(err)
	}
	e := newDPoPEnv(t, &core.DPoP{Verifier: dv}, core.Options{})
	tok := e.token()
	for name, nonce := range map[string]string{"no nonce": "", "forged nonce": strings.Repeat("A", 32)} {
		rec := serve(e.handler, request("http://api.example/orders", tok, e.proof(t, "http://api.example/orders", tok, nonce)))
		want := `Bearer realm="api", DPoP realm="api", error="use_dpop_nonce", error_description="the DPoP proof must carry the nonce the server provides", algs="`
		if rec.Code != 401 || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), want) || rec.Header().Get("DPoP-Nonce") != nonces.Current() {
			t.Fatalf("%s: %d %q nonce %q", name, rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Header().Get("DPoP-Nonce"))
		}
		if !strings.Contains(rec.Body.String(), `"error":"use_dpop_nonce"`) {
			t.Errorf("%s: body %s", name, rec.Body)
		}
	}
	nonce := nonces.Current()
	if rec := serve(e.handler, request("http://api.example/orders", tok, e.proof(t, "http://api.example/orders", tok, nonce))); rec.Code != 200 {
		t.Errorf("with the nonce: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	if got := e.calls.Load(); got != 1 {
		t.Errorf("token verifications = %d, want 1: a nonce demand comes before the token", got)
	}
}

// A failing replay store is the server's failure: 503 with Retry-After,
// no challenge, never an accepted proof.
func TestReplayStoreFailureIsUnavailable(t *testing.T) {
	store := storeFunc(func(context.Context, string, time.Time) (bool, error) { return false, errors.New("connection refused") })
	dv, err := dpop.NewVerifier(dpop.Config{Replay: store})
	if err != nil {
		t.Fatal(err)
	}
	e := newDPoPEnv(t, &core.DPoP{Verifier: dv}, core.Options{})
	tok := e.token()
	rec := serve(e.handler, request("http://api.example/orders", tok, e.proof(t, "http://api.example/orders", tok, "")))
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || rec.Header().Get("WWW-Authenticate") != "" ||
		strings.Contains(rec.Body.String(), "connection refused") {
		t.Errorf("%d %q %s", rec.Code, rec.Header(), rec.Body)
	}
}

type storeFunc func(ctx context.Context, key string, expiry time.Time) (bool, error)

func (f storeFunc) Remember(ctx context.Context, key string, expiry time.Time) (bool, error) {
	return f(ctx, key, expiry)
}

// The URL a proof must name: the request's own by default; behind a
// proxy, ExternalURL with any stripped prefix, and forwarded headers only
// when trusted (L2).
func TestL2ProofURLBehindProxy(t *testing.T) {
	external, _ := url.Parse("https://api.example.com/orders-api")
	forwarded := http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"public.example.com"}}
	cases := []struct {
		name    string
		d       core.DPoP
		tls     bool
		header  http.Header
		htu     string
		allowed bool
	}{
		{name: "own URL", htu: "http://internal:8080/orders", allowed: true},
		{name: "own URL in upper case", htu: "HTTP://INTERNAL:8080/orders", allowed: true},
		{name: "own URL over TLS", tls: true, htu: "https://internal:8080/orders", allowed: true},
		{name: "http named over TLS", tls: true, htu: "http://internal:8080/orders"},
		{name: "another path", htu: "http://internal:8080/orders/1"},
		{name: "forwarded host, not trusted", header: forwarded, htu: "https://public.example.com/orders"},
		{name: "own URL, forwarded headers ignored", header: forwarded, htu: "http://internal:8080/orders", allowed: true},
		{name: "forwarded host, trusted", d: core.DPoP{TrustForwardedHeaders: true}, header: forwarded, htu: "https://public.example.com/orders", allowed: true},
		{name: "trusted, first of a list", d: core.DPoP{TrustForwardedHeaders: true},
			header: http.Header{"X-Forwarded-Proto": {"https, http"}, "X-Forwarded-Host": {"public.example.com, evil.example"}},
			htu:    "https://public.example.com/orders", allowed: true},
		{name: "trusted, internal URL refused", d: core.DPoP{TrustForwardedHeaders: true}, header: forwarded, htu: "http://internal:8080/orders"},
		{name: "external URL", d: core.DPoP{ExternalURL: external}, htu: "https://api.example.com/orders-api/orders", allowed: true},
		{name: "external URL without prefix", d: core.DPoP{ExternalURL: external}, htu: "https://api.example.com/orders"},
		{name: "external URL beats forwarded headers", d: core.DPoP{ExternalURL: external, TrustForwardedHeaders: true}, header: forwarded,
			htu: "https://public.example.com/orders"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.d
			e := newDPoPEnv(t, &d, core.Options{})
			tok := e.token()
			r := request("http://internal:8080/orders", tok, e.proof(t, c.htu, tok, ""))
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, v := range c.header {
				r.Header[k] = v
			}
			rec := serve(e.handler, r)
			if (rec.Code == 200) != c.allowed {
				t.Errorf("htu %s: %d %q", c.htu, rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// Settings that cannot work are the server's error, never the client's.
func TestDPoPMisconfigured(t *testing.T) {
	withQuery, _ := url.Parse("https://api.example.com/?x=1")
	relative, _ := url.Parse("/api")
	for name, d := range map[string]*core.DPoP{
		"external URL with a query": {ExternalURL: withQuery},
		"relative external URL":     {ExternalURL: relative},
	} {
		e := newDPoPEnv(t, d, core.Options{})
		tok := e.token()
		if rec := serve(e.handler, request("http://api.example/orders", tok, e.proof(t, "http://api.example/orders", tok, ""))); rec.Code != 500 {
			t.Errorf("%s: %d", name, rec.Code)
		}
	}
	e := newDPoPEnv(t, nil, core.Options{})
	h := core.MiddlewareWithOptions(countingVerifier{nil, e.calls}, core.Options{DPoP: &core.DPoP{}}, adaptertest.Audience)(http.NotFoundHandler())
	if rec := serve(h, request("http://api.example/orders", "x", "a.b.c")); rec.Code != 500 {
		t.Errorf("no proof verifier: %d", rec.Code)
	}
}

// Certificate-bound tokens (RFC 8705): accepted only with the certificate
// of the TLS connection, or of a proxy header when that is configured, and
// never from a header otherwise (L6).
func TestL6CertificateBoundTokens(t *testing.T) {
	srv, v := adaptertest.Verifier(t)
	certA, err := authtest.NewClientCertificate("client-a")
	if err != nil {
		t.Fatal(err)
	}
	certB, err := authtest.NewClientCertificate("client-b")
	if err != nil {
		t.Fatal(err)
	}
	bound := srv.CertificateBoundToken(certA.Leaf, adaptertest.Audience)
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) })

	ts := httptest.NewUnstartedServer(core.Middleware(v, adaptertest.Audience)(hello))
	ts.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	call := func(cert *tls.Certificate, token string) (int, string) {
		t.Helper()
		hc := ts.Client()
		tr := hc.Transport.(*http.Transport).Clone()
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	if code, ch := call(&certA, bound); code != 200 {
		t.Errorf("with its certificate: %d %q", code, ch)
	}
	if code, ch := call(&certB, bound); code != 401 || !strings.Contains(ch, "the token is bound to another key") {
		t.Errorf("with another certificate: %d %q", code, ch)
	}
	if code, ch := call(nil, bound); code != 401 || !strings.Contains(ch, "sender-constrained tokens cannot be used as bearer tokens") {
		t.Errorf("without a certificate: %d %q", code, ch)
	}
	if code, _ := call(&certB, srv.Token(adaptertest.Audience)); code != 200 {
		t.Errorf("a bearer token over mutual TLS: %d", code)
	}

	// Behind a TLS-terminating proxy: plain HTTP with a header.
	escaped := func(c tls.Certificate) string {
		return url.PathEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Leaf.Raw})))
	}
	untrusted := core.Middleware(v, adaptertest.Audience)(hello)
	trusted := core.MiddlewareWithOptions(v, core.Options{ClientCertificate: core.ClientCertificateFromHeader("X-Client-Cert")}, adaptertest.Audience)(hello)
	for _, c := range []struct {
		name    string
		h       http.Handler
		headers []string
		status  int
	}{
		{"header not trusted", untrusted, []string{escaped(certA)}, 401},
		{"trusted header", trusted, []string{escaped(certA)}, 200},
		{"trusted header, chain", trusted, []string{escaped(certA) + escaped(certB)}, 200},
		{"trusted header, another certificate", trusted, []string{escaped(certB)}, 401},
		{"trusted header absent", trusted, nil, 401},
		{"trusted header, two of them", trusted, []string{escaped(certA), escaped(certA)}, 400},
		{"trusted header, not PEM", trusted, []string{"garbage"}, 400},
		{"trusted header, bad escape", trusted, []string{"%zz"}, 400},
		{"trusted header, too large", trusted, []string{strings.Repeat("A", 17<<10)}, 400},
	} {
		r := httptest.NewRequest(http.MethodGet, "http://api.example/orders", nil)
		r.Header.Set("Authorization", "Bearer "+bound)
		for _, h := range c.headers {
			r.Header.Add("X-Client-Cert", h)
		}
		if rec := serve(c.h, r); rec.Code != c.status {
			t.Errorf("%s: %d, want %d (%q)", c.name, rec.Code, c.status, rec.Header().Get("WWW-Authenticate"))
		}
	}
	var parsed *x509.Certificate
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Client-Cert", escaped(certA))
	if parsed, err = core.ClientCertificateFromHeader("x-client-cert")(r); err != nil || parsed.Subject.CommonName != "client-a" {
		t.Errorf("parsed %v, %v", parsed, err)
	}
}
