package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/clientcreds"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/dpop"
	"github.com/bearerkit/bearerkit/echoauth"
	"github.com/bearerkit/bearerkit/ginauth"
)

// testPKI is a CA made for one test, a server certificate it issued for
// 127.0.0.1, and a client certificate it issued to mtlsSubject.
type testPKI struct {
	pool   *x509.CertPool
	caPEM  string
	server tls.Certificate
	client tls.Certificate
}

const mtlsSubject = "CN=bearerkit-mtls"

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bearerkit test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, tmpl *x509.Certificate) tls.Certificate {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(serial), now.Add(-time.Hour), now.Add(24*time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	}
	p := &testPKI{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	p.server = issue(2, &x509.Certificate{Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	p.client = issue(3, &x509.Certificate{Subject: pkix.Name{CommonName: strings.TrimPrefix(mtlsSubject, "CN=")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return p
}

// httpClient trusts the test CA and presents cert when given.
func (p *testPKI) httpClient(cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
}

func (p *testPKI) serverPEM(t *testing.T) (cert, key string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(p.server.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.server.Certificate[0]})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// senderProvider is oidc-provider over HTTPS, demanding DPoP nonces, with
// a client held to DPoP and a client that authenticates with its
// certificate (tls_client_auth) and gets certificate-bound tokens.
type senderProvider struct {
	issuer     string
	dpopClient client
	mtlsClient string
}

func startSenderProvider(t *testing.T, pki *testPKI) *senderProvider {
	t.Helper()
	node, npm := requireNode(t)
	dir := installOIDCProvider(t, npm)
	port := freePort(t)
	sp := &senderProvider{
		issuer:     "https://127.0.0.1:" + strconv.Itoa(port),
		dpopClient: client{id: "bearerkit-dpop", secret: randomSecret(t)},
		mtlsClient: "bearerkit-mtls",
	}
	cert, key := pki.serverPEM(t)
	cfg := opConfig{
		Issuer: sp.issuer, Host: "127.0.0.1", Port: port,
		Keys: opSigningKeys(t),
		Clients: []map[string]any{
			opClient(sp.dpopClient.id, "client_secret_basic", map[string]any{
				"client_secret": sp.dpopClient.secret, "dpop_bound_access_tokens": true,
			}),
			opClient(sp.mtlsClient, "tls_client_auth", map[string]any{
				"tls_client_auth_subject_dn": mtlsSubject, "tls_client_certificate_bound_access_tokens": true,
			}),
		},
		Resources: map[string]opResource{opAudience: {Scope: readScope + " " + writeScope, Alg: "ES256"}},
		DPoPNonce: true,
		TLS:       &opTLS{Key: key, Cert: cert, CA: pki.caPEM},
	}
	path := filepath.Join(t.TempDir(), "provider.json")
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	proc := newProcess("oidc-provider (TLS)", dir, node, []string{"provider.mjs", path}, nil)
	proc.client = pki.httpClient(nil)
	proc.cleanup(t)
	proc.start(t)
	proc.waitReady(t, sp.issuer+"/.well-known/openid-configuration")
	return sp
}

// senderAPIs are the Gin and Echo test APIs over TLS (asking for client
// certificates), accepting DPoP-bound tokens with server nonces beside
// certificate-bound and bearer tokens.
func senderAPIs(t *testing.T, pki *testPKI, v core.TokenVerifier) []api {
	t.Helper()
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
	// Each API is reached at its own URL, which its proofs must name.
	servers := map[string]*httptest.Server{"gin": httptest.NewUnstartedServer(nil), "echo": httptest.NewUnstartedServer(nil)}
	policy := func(name string) *core.DPoP {
		return &core.DPoP{Verifier: dv, ExternalURL: &url.URL{Scheme: "https", Host: servers[name].Listener.Addr().String()}}
	}

	router := gin.New()
	router.Use(ginauth.New(v, ginauth.WithDPoP(policy("gin"))).Require(opAudience))
	router.GET(ordersPath, ginauth.RequireScope(readScope), func(c *gin.Context) {
		claims, _ := ginauth.Claims(c)
		c.JSON(http.StatusOK, whoamiOf(claims))
	})
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = echoauth.HTTPErrorHandler(e, nil)
	e.Use(echoauth.New(v, echoauth.WithDPoP(policy("echo"))).Require(opAudience))
	e.GET(ordersPath, func(c echo.Context) error {
		claims, _ := echoauth.Claims(c)
		return c.JSON(http.StatusOK, whoamiOf(claims))
	}, echoauth.RequireScope(readScope))

	var apis []api
	for name, h := range map[string]http.Handler{"gin": router, "echo": e} {
		ts := servers[name]
		ts.Config.Handler = h
		ts.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, ClientAuth: tls.RequestClientCert}
		ts.StartTLS()
		t.Cleanup(ts.Close)
		apis = append(apis, api{name: name, url: ts.URL})
	}
	return apis
}

// lastRequest remembers the headers of the last request sent through it.
type lastRequest struct {
	base http.RoundTripper
	mu   sync.Mutex
	h    http.Header
}

func (l *lastRequest) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.h = r.Header.Clone()
	l.mu.Unlock()
	return l.base.RoundTrip(r)
}

func (l *lastRequest) header() http.Header {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.h
}

// dpopGet sends GET url with "DPoP tok" and a proof by signer for htu,
// once more with the nonce when the API demands one.
func dpopGet(t *testing.T, hc *http.Client, url, tok string, signer *dpop.Signer, htu string) int {
	t.Helper()
	nonce := ""
	for range 2 {
		proof, err := signer.Proof(http.MethodGet, htu, tok, nonce)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", proof)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("DPoP-Nonce") == "" || nonce != "" {
			return resp.StatusCode
		}
		nonce = resp.Header.Get("DPoP-Nonce")
	}
	return 0
}

// TestSenderConstrained (scenario 11) obtains DPoP-bound and
// certificate-bound tokens from oidc-provider over HTTPS, through its
// nonce demand and its tls_client_auth, and calls a Gin and an Echo API
// that verify the binding: a replayed proof, a proof for another URL, and
// a token stolen without its key or certificate are refused.
func TestSenderConstrained(t *testing.T) {
	t.Parallel()
	pki := newPKI(t)
	sp := startSenderProvider(t, pki)
	v := newVerifier(t, core.Config{Issuer: sp.issuer, HTTPClient: pki.httpClient(nil)})
	apis := senderAPIs(t, pki, v)

	t.Run("dpop", func(t *testing.T) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		cc := newCC(t, clientcreds.Config{
			ClientID: sp.dpopClient.id, ClientSecret: sp.dpopClient.secret, Issuer: sp.issuer,
			Resource: []string{opAudience}, Scopes: []string{readScope}, DPoPKey: key,
			HTTPClient: pki.httpClient(nil),
		})
		rec := &lastRequest{base: pki.httpClient(nil).Transport}
		hc := &http.Client{Transport: cc.Transport(rec)}
		signer, _ := dpop.NewSigner(key)
		for _, a := range apis {
			ans := a.callWith(t, hc, "")
			if w := a.expectOK(t, ans); w.Subject != sp.dpopClient.id {
				t.Errorf("%s: subject %q", a.name, w.Subject)
			}
			tok, err := cc.Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if _, payload := jwtParts(t, tok); !strings.Contains(string(payload["cnf"]), signer.Thumbprint()) {
				t.Errorf("cnf %s, want jkt %s", payload["cnf"], signer.Thumbprint())
			}
			// The proof just sent, replayed.
			sent := rec.header()
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, a.url+ordersPath, nil)
			req.Header.Set("Authorization", sent.Get("Authorization"))
			req.Header.Set("DPoP", sent.Get("DPoP"))
			resp, err := pki.httpClient(nil).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_dpop_proof"`) {
				t.Errorf("%s: replayed proof: %d %q", a.name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			if got := dpopGet(t, pki.httpClient(nil), a.url+ordersPath, tok, signer, a.url+"/admin"); got != 401 {
				t.Errorf("%s: proof for another URL: %d", a.name, got)
			}
			if got := dpopGet(t, pki.httpClient(nil), a.url+ordersPath, tok, signer, a.url+ordersPath); got != 200 {
				t.Errorf("%s: a fresh proof of the right key: %d", a.name, got)
			}
			thiefKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			thief, _ := dpop.NewSigner(thiefKey)
			if got := dpopGet(t, pki.httpClient(nil), a.url+ordersPath, tok, thief, a.url+ordersPath); got != 401 {
				t.Errorf("%s: stolen token with the thief's key: %d", a.name, got)
			}
			if ans := a.callWith(t, pki.httpClient(nil), tok); ans.status != 401 {
				t.Errorf("%s: stolen token as bearer: %d", a.name, ans.status)
			}
		}
	})

	t.Run("mtls", func(t *testing.T) {
		cc := newCC(t, clientcreds.Config{
			ClientID: sp.mtlsClient, AuthMethod: clientcreds.TLSClientAuth, Certificate: &pki.client,
			Issuer: sp.issuer, Resource: []string{opAudience}, Scopes: []string{readScope},
			HTTPClient: pki.httpClient(nil),
		})
		tok, err := cc.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, payload := jwtParts(t, tok); !strings.Contains(string(payload["cnf"]), authtest.CertificateThumbprint(pki.client.Leaf)) {
			t.Errorf("cnf %s, want the client certificate's x5t#S256", payload["cnf"])
		}
		other, err := authtest.NewClientCertificate("bearerkit-mtls")
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range apis {
			if w := a.expectOK(t, a.callWith(t, cc.HTTPClient(), "")); w.Subject != sp.mtlsClient {
				t.Errorf("%s: subject %q", a.name, w.Subject)
			}
			if ans := a.callWith(t, pki.httpClient(nil), tok); ans.status != 401 {
				t.Errorf("%s: stolen token without a certificate: %d", a.name, ans.status)
			}
			if ans := a.callWith(t, pki.httpClient(&other), tok); ans.status != 401 {
				t.Errorf("%s: stolen token with another certificate: %d", a.name, ans.status)
			}
		}
	})
}
