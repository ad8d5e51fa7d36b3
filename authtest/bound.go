package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"github.com/bearerkit/bearerkit/dpop"
)

// This file holds sender-constrained tokens: DPoP-bound (RFC 9449) and
// certificate-bound (RFC 8705).

// WithDPoPNonce makes the token endpoint demand a server nonce in DPoP
// proofs (RFC 9449 §8): a proof without the current one is answered 400
// use_dpop_nonce with a DPoP-Nonce header. Nonces rotate every period.
func WithDPoPNonce(period time.Duration) Option {
	return func(o *options) { o.dpopNonce = period }
}

// WithClientCertificates serves over TLS (as [WithTLS]) and asks clients
// for a certificate, which the server takes without checking its chain
// (RFC 8705 §2.2, self-signed certificates). A token requested over a
// connection with a client certificate is bound to it (cnf x5t#S256), and
// a Client with Certificate set authenticates by it (tls_client_auth).
func WithClientCertificates() Option {
	return func(o *options) { o.tls, o.clientCerts = true, true }
}

// DPoPToken mints an access token bound to the DPoP key whose RFC 7638
// thumbprint is jkt (cnf.jkt, RFC 9449 §6.1). It panics on failure, which
// only a broken key can cause.
func (s *Server) DPoPToken(jkt, audience string, scopes ...string) string {
	c := s.Claims(audience, scopes...)
	c["cnf"] = map[string]any{"jkt": jkt}
	tok, err := s.Mint(c)
	if err != nil {
		panic(err)
	}
	return tok
}

// CertificateBoundToken mints an access token bound to cert (cnf
// x5t#S256, RFC 8705 §3.1). It panics on failure, which only a broken key
// can cause.
func (s *Server) CertificateBoundToken(cert *x509.Certificate, audience string, scopes ...string) string {
	c := s.Claims(audience, scopes...)
	c["cnf"] = map[string]any{"x5t#S256": CertificateThumbprint(cert)}
	tok, err := s.Mint(c)
	if err != nil {
		panic(err)
	}
	return tok
}

// CertificateThumbprint is the x5t#S256 of cert: base64url SHA-256 of its
// DER bytes.
func CertificateThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// DPoPNonce returns the nonce the token endpoint currently demands ("" when
// it demands none).
func (s *Server) DPoPNonce() string {
	if s.nonces == nil {
		return ""
	}
	return s.nonces.Current()
}

// newProofVerifier returns the token endpoint's DPoP proof verifier.
func newProofVerifier(o options) (*dpop.Verifier, *dpop.Nonces, error) {
	var nonces *dpop.Nonces
	if o.dpopNonce > 0 {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		var err error
		if nonces, err = dpop.NewNonces(secret, o.dpopNonce, o.now); err != nil {
			return nil, nil, err
		}
	}
	v, err := dpop.NewVerifier(dpop.Config{Nonces: nonces, Now: o.now})
	return v, nonces, err
}

// checkProof verifies the token request's DPoP proof, if any (RFC 9449
// §5), and returns its key's thumbprint ("" without a proof).
func (s *Server) checkProof(w http.ResponseWriter, r *http.Request) (string, *oauthError) {
	proofs := r.Header.Values("DPoP")
	switch len(proofs) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", &oauthError{http.StatusBadRequest, "invalid_dpop_proof", "send one DPoP header"}
	}
	endpoint, err := url.Parse(s.TokenURL())
	if err != nil {
		return "", &oauthError{http.StatusInternalServerError, "server_error", "bad token URL"}
	}
	p, err := s.proofs.Verify(r.Context(), proofs[0], dpop.Request{Method: r.Method, URL: endpoint})
	var de *dpop.Error
	switch {
	case err == nil:
		return p.JKT, nil
	case errors.Is(err, dpop.ErrUseNonce) && errors.As(err, &de):
		w.Header().Set("DPoP-Nonce", de.Nonce)
		return "", &oauthError{http.StatusBadRequest, "use_dpop_nonce", "the proof must carry the server's nonce"}
	}
	return "", &oauthError{http.StatusBadRequest, "invalid_dpop_proof", "the DPoP proof is invalid"}
}

// peerCertificate is the client certificate of r's connection, or nil.
func peerCertificate(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}

// tlsConfig is the server's TLS configuration for WithClientCertificates.
func tlsConfig() *tls.Config {
	return &tls.Config{ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
}

// NewClientCertificate makes a self-signed TLS client certificate for
// commonName with a fresh P-256 key, valid for a day, with Leaf set: for
// mutual TLS in tests (RFC 8705 §2.2).
func NewClientCertificate(commonName string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
