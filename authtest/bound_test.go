package authtest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/dpop"
)

// claimsOf reads a JWT's claims without checking it.
func claimsOf(t *testing.T, tok string) *core.Claims {
	t.Helper()
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	c, err := core.ParseClaims(payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type tokenAnswer struct {
	status      int
	nonce       string
	Error       string `json:"error"`
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

func tokenRequest(t *testing.T, hc *http.Client, endpoint string, form url.Values, proof string, basic ...string) tokenAnswer {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := tokenAnswer{status: resp.StatusCode, nonce: resp.Header.Get("DPoP-Nonce")}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestDPoPTokenEndpoint(t *testing.T) {
	srv := authtest.NewServer(authtest.WithDPoPNonce(time.Minute),
		authtest.WithClient(authtest.Client{ID: "c", Secret: "s"}),
		authtest.WithClient(authtest.Client{ID: "d", Secret: "s", DPoP: true}))
	defer srv.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := dpop.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	proof := func(nonce string) string {
		p, err := signer.Proof(http.MethodPost, srv.TokenURL(), "", nonce)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	hc := srv.Client()

	a := tokenRequest(t, hc, srv.TokenURL(), form, proof(""), "c", "s")
	if a.status != 400 || a.Error != "use_dpop_nonce" || a.nonce != srv.DPoPNonce() || a.nonce == "" {
		t.Fatalf("without a nonce: %+v", a)
	}
	a = tokenRequest(t, hc, srv.TokenURL(), form, proof(a.nonce), "c", "s")
	if a.status != 200 || a.TokenType != "DPoP" || claimsOf(t, a.AccessToken).Confirmation.JKT != signer.Thumbprint() {
		t.Fatalf("with the nonce: %+v", a)
	}
	if a := tokenRequest(t, hc, srv.TokenURL(), form, "", "c", "s"); a.status != 200 || a.TokenType != "Bearer" || claimsOf(t, a.AccessToken).Confirmation.Bound() {
		t.Errorf("without a proof: %+v", a)
	}
	if a := tokenRequest(t, hc, srv.TokenURL(), form, "", "d", "s"); a.status != 400 || a.Error != "invalid_dpop_proof" {
		t.Errorf("DPoP client without a proof: %+v", a)
	}
	if a := tokenRequest(t, hc, srv.TokenURL(), form, "a.b.c", "c", "s"); a.status != 400 || a.Error != "invalid_dpop_proof" {
		t.Errorf("a broken proof: %+v", a)
	}
	wrongURL, _ := signer.Proof(http.MethodPost, srv.Issuer+"/other", "", srv.DPoPNonce())
	if a := tokenRequest(t, hc, srv.TokenURL(), form, wrongURL, "c", "s"); a.status != 400 || a.Error != "invalid_dpop_proof" {
		t.Errorf("a proof for another URL: %+v", a)
	}
}

func TestBoundTokens(t *testing.T) {
	srv := authtest.NewServer()
	defer srv.Close()
	if c := claimsOf(t, srv.DPoPToken("thumb", "api")); c.Confirmation.JKT != "thumb" {
		t.Errorf("DPoPToken cnf: %+v", c.Confirmation)
	}
	cert, err := authtest.NewClientCertificate("client")
	if err != nil || cert.Leaf == nil || cert.Leaf.Subject.CommonName != "client" {
		t.Fatalf("NewClientCertificate: %v", err)
	}
	if c := claimsOf(t, srv.CertificateBoundToken(cert.Leaf, "api")); c.Confirmation.X5TS256 != authtest.CertificateThumbprint(cert.Leaf) || len(c.Confirmation.X5TS256) != 43 {
		t.Errorf("CertificateBoundToken cnf: %+v", c.Confirmation)
	}
}

// tls_client_auth: the client is known by its certificate, and its token
// is bound to it.
func TestClientCertificates(t *testing.T) {
	cert, _ := authtest.NewClientCertificate("m")
	other, _ := authtest.NewClientCertificate("m")
	srv := authtest.NewServer(authtest.WithClientCertificates(), authtest.WithClient(authtest.Client{ID: "m", Certificate: cert.Leaf}))
	defer srv.Close()
	with := func(c tls.Certificate) *http.Client {
		hc := srv.Client()
		tr := hc.Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = []tls.Certificate{c}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"m"}}
	a := tokenRequest(t, with(cert), srv.TokenURL(), form, "")
	if a.status != 200 || claimsOf(t, a.AccessToken).Confirmation.X5TS256 != authtest.CertificateThumbprint(cert.Leaf) {
		t.Errorf("its certificate: %+v", a)
	}
	if a := tokenRequest(t, with(other), srv.TokenURL(), form, ""); a.status != 401 || a.Error != "invalid_client" {
		t.Errorf("another certificate: %+v", a)
	}
	if a := tokenRequest(t, srv.Client(), srv.TokenURL(), form, ""); a.status != 400 {
		t.Errorf("no certificate: %+v", a)
	}
}
