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
	if d != nil && d.ExternalURL == nil && !d.TrustForwardedHeaders {
		d.ExternalURL = &url.URL{Scheme: "http", Host: "api.example"}
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

// The URL a proof must name: ExternalURL with any stripped prefix, never
// the Host header a client chooses; behind a proxy without ExternalURL,
// forwarded headers, only when trusted and sent once with one value (L2).
func TestL2ProofURLBehindProxy(t *testing.T) {
	external, _ := url.Parse("https://api.example.com/orders-api")
	plain, _ := url.Parse("http://internal:8080")
	forwarded := http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"public.example.com"}}
	trusted := core.DPoP{TrustForwardedHeaders: true}
	cases := []struct {
		name   string
		d      core.DPoP
		host   string // the request's Host header
		header http.Header
		htu    string
		status int
	}{
		{name: "external URL", d: core.DPoP{ExternalURL: external}, htu: "https://api.example.com/orders-api/orders", status: 200},
		{name: "external URL in upper case", d: core.DPoP{ExternalURL: external}, htu: "HTTPS://API.EXAMPLE.COM:443/orders-api/orders", status: 200},
		{name: "external URL without prefix", d: core.DPoP{ExternalURL: external}, htu: "https://api.example.com/orders", status: 401},
		{name: "another path", d: core.DPoP{ExternalURL: plain}, htu: "http://internal:8080/orders/1", status: 401},
		{name: "https named, http external", d: core.DPoP{ExternalURL: plain}, htu: "https://internal:8080/orders", status: 401},
		{name: "Host header of another server", d: core.DPoP{ExternalURL: plain}, host: "other.example", htu: "http://other.example/orders", status: 401},
		{name: "forwarded host, not trusted", d: core.DPoP{ExternalURL: plain}, header: forwarded, htu: "https://public.example.com/orders", status: 401},
		{name: "external URL beats forwarded headers", d: core.DPoP{ExternalURL: external, TrustForwardedHeaders: true}, header: forwarded,
			htu: "https://public.example.com/orders", status: 401},
		{name: "forwarded, trusted", d: trusted, header: forwarded, htu: "https://public.example.com/orders", status: 200},
		{name: "forwarded, trusted, internal URL", d: trusted, header: forwarded, htu: "http://internal:8080/orders", status: 401},
		{name: "forwarded host as a list", d: trusted,
			header: http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil.example, public.example.com"}},
			htu:    "https://evil.example/orders", status: 400},
		{name: "forwarded host twice", d: trusted,
			header: http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil.example", "public.example.com"}},
			htu:    "https://evil.example/orders", status: 400},
		{name: "forwarded host missing", d: trusted, header: http.Header{"X-Forwarded-Proto": {"https"}}, htu: "https://internal:8080/orders", status: 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.d
			e := newDPoPEnv(t, &d, core.Options{})
			tok := e.token()
			r := request("http://internal:8080/orders", tok, e.proof(t, c.htu, tok, ""))
			if c.host != "" {
				r.Host = c.host
			}
			for k, v := range c.header {
				r.Header[k] = v
			}
			if rec := serve(e.handler, r); rec.Code != c.status {
				t.Errorf("htu %s: %d, want %d (%q)", c.htu, rec.Code, c.status, rec.Header().Get("WWW-Authenticate"))
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
		"no external URL":           {},
	} {
		e := newDPoPEnv(t, d, core.Options{})
		if name == "no external URL" {
			d.ExternalURL = nil // newDPoPEnv gives one by default
		}
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

// verifierFunc is a TokenVerifier that forgets to check bindings.
type verifierFunc func(ctx context.Context, token string, audience ...string) (*core.Claims, error)

func (f verifierFunc) Verify(ctx context.Context, token string, audience ...string) (*core.Claims, error) {
	return f(ctx, token, audience...)
}

// The middleware holds any TokenVerifier to the token's binding, even one
// that does not call CheckBinding itself (L4, L6).
func TestBindingCheckedForAnyVerifier(t *testing.T) {
	careless := verifierFunc(func(_ context.Context, token string, _ ...string) (*core.Claims, error) {
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
		if err != nil {
			return nil, err
		}
		return core.ParseClaims(payload, nil)
	})
	e := newDPoPEnv(t, &core.DPoP{}, core.Options{})
	h := core.MiddlewareWithOptions(careless, core.Options{DPoP: &core.DPoP{Verifier: mustProofVerifier(t), ExternalURL: &url.URL{Scheme: "http", Host: "api.example"}}},
		adaptertest.Audience)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	tok := e.token()

	r := httptest.NewRequest(http.MethodGet, "http://api.example/orders", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if rec := serve(h, r); rec.Code != 401 {
		t.Errorf("DPoP-bound token as bearer: %d", rec.Code)
	}
	thiefKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	thief, _ := dpop.NewSigner(thiefKey)
	proof, _ := thief.Proof(http.MethodGet, "http://api.example/orders", tok, "")
	if rec := serve(h, request("http://api.example/orders", tok, proof)); rec.Code != 401 {
		t.Errorf("stolen token with the thief's proof: %d", rec.Code)
	}
	if rec := serve(h, request("http://api.example/orders", tok, e.proof(t, "http://api.example/orders", tok, ""))); rec.Code != 200 {
		t.Errorf("the owner's proof: %d", rec.Code)
	}
}

func mustProofVerifier(t *testing.T) *dpop.Verifier {
	t.Helper()
	v, err := dpop.NewVerifier(dpop.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// DPoP.Hooks sees each DPoP request's final outcome: a proof refused after
// its token passed (a replay) is a refusal, and a store failure is
// unavailable.
func TestDPoPHooks(t *testing.T) {
	var results []string
	hooks := core.Hooks{Verification: func(_ context.Context, e core.VerificationEvent) {
		results = append(results, e.Verifier+" "+string(e.Result)+" "+string(e.Reason))
	}}
	failing := false
	store := storeFunc(func(context.Context, string, time.Time) (bool, error) {
		if failing {
			return false, errors.New("down")
		}
		return true, nil
	})
	seen := map[string]bool{}
	replay := storeFunc(func(ctx context.Context, key string, exp time.Time) (bool, error) {
		if fresh, err := store(ctx, key, exp); err != nil || !fresh {
			return fresh, err
		}
		fresh := !seen[key]
		seen[key] = true
		return fresh, nil
	})
	dv, err := dpop.NewVerifier(dpop.Config{Replay: replay})
	if err != nil {
		t.Fatal(err)
	}
	e := newDPoPEnv(t, &core.DPoP{Verifier: dv, Hooks: hooks}, core.Options{})
	tok := e.token()
	proof := e.proof(t, "http://api.example/orders", tok, "")
	serve(e.handler, request("http://api.example/orders", tok, proof))
	serve(e.handler, request("http://api.example/orders", tok, proof))
	serve(e.handler, request("http://api.example/orders", tok, "junk"))
	failing = true
	serve(e.handler, request("http://api.example/orders", tok, e.proof(t, "http://api.example/orders", tok, "")))
	want := []string{"dpop accepted ", "dpop refused invalid_dpop_proof", "dpop refused invalid_dpop_proof", "dpop unavailable replay_store_unavailable"}
	if strings.Join(results, "|") != strings.Join(want, "|") {
		t.Errorf("events %q, want %q", results, want)
	}
}
