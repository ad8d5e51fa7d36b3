package core

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bearerkit/bearerkit/dpop"
	"github.com/bearerkit/bearerkit/internal/authctx"
)

// This file holds sender-constrained tokens at the HTTP layer: DPoP
// (RFC 9449) and certificate-bound tokens (RFC 8705).

// DPoP is a middleware's DPoP policy (RFC 9449): requests may present a
// DPoP-bound token as "Authorization: DPoP <token>" with exactly one DPoP
// proof header. The proof is checked first (its size, shape and claims,
// then its signature), then the token, bound to the proof's key (cnf.jkt),
// and only then is the proof remembered against replay. A DPoP-bound
// token is never accepted as a bearer token, and a token without cnf.jkt
// never with the DPoP scheme.
type DPoP struct {
	// Verifier checks proofs: algorithms, time window, replay store and
	// nonces (see dpop.Config). Required.
	Verifier *dpop.Verifier
	// Required refuses bearer tokens, so that every request must prove
	// possession of the key its token is bound to. Challenges then offer
	// DPoP only.
	Required bool
	// ExternalURL is the URL under which clients reach this server: its
	// scheme, host and any path prefix a reverse proxy strips, such as
	// https://api.example.com or https://example.com/orders-api. A proof's
	// htu must be it followed by the request's path. It is required unless
	// TrustForwardedHeaders is set: the request's own Host header is the
	// client's to choose, so it cannot tell a proof made for this server
	// from one made for another.
	ExternalURL *url.URL
	// TrustForwardedHeaders, with ExternalURL nil, takes the scheme and
	// host from the X-Forwarded-Proto and X-Forwarded-Host headers, which
	// every request must then carry exactly once, with one value each.
	// Set it only behind a proxy that overwrites both on every request:
	// whoever can set them chooses the URL that proofs are checked against.
	TrustForwardedHeaders bool
	// Hooks.Verification, when set, sees one event per request made with
	// the DPoP scheme (Verifier "dpop"): the outcome of proof and token
	// together, after the replay check. The token's own verification is
	// reported by its verifier's hooks as well.
	Hooks Hooks
}

// errDPoPConfig is the error of a middleware whose DPoP settings cannot
// work: a server error (500), never the client's.
var errDPoPConfig = errors.New("bearerkit: DPoP needs a Verifier, and an ExternalURL (an absolute http(s) URL without query) unless TrustForwardedHeaders is set")

// errForwarded refuses a request whose forwarded headers cannot be read
// as one proxy's: missing, repeated or holding a list.
var errForwarded = &Error{Reason: ReasonMalformedRequest, Cause: errors.New("X-Forwarded-Proto and X-Forwarded-Host must each be sent once, with one value")}

// dpopCredential returns the token of a request whose one Authorization
// header uses the DPoP scheme (case-insensitive, then spaces).
func dpopCredential(r *http.Request) (string, bool) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", false // none, or several: the extractor refuses those
	}
	const scheme = "dpop"
	v := values[0]
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false
	}
	rest := v[len(scheme):]
	if rest != "" && rest[0] != ' ' {
		return "", false
	}
	return strings.TrimLeft(rest, " "), true
}

// authenticateDPoP verifies a request that uses the DPoP scheme: its one
// proof for the request's method and URL and for token, and token bound
// to the proof's key. cert is the request's client certificate, for a
// token bound to both.
func authenticateDPoP(v TokenVerifier, r *http.Request, d *DPoP, token string, cert []byte, audience []string) (*Claims, error) {
	hook := d.Hooks.Verification
	if hook == nil {
		return checkDPoP(v, r, d, token, cert, audience)
	}
	start := time.Now()
	c, err := checkDPoP(v, r, d, token, cert, audience)
	e := VerificationEvent{Verifier: "dpop", Result: ResultAccepted, Duration: time.Since(start)}
	if err != nil {
		e.Result, e.Reason = ResultOf(err), ReasonOf(err)
	}
	hook(r.Context(), e)
	return c, err
}

func checkDPoP(v TokenVerifier, r *http.Request, d *DPoP, token string, cert []byte, audience []string) (*Claims, error) {
	if !plausibleCredential(token) {
		return nil, dpopScheme(errBadRequest)
	}
	if places(r, "") > 0 {
		return nil, dpopScheme(errMultiple) // a token in the query or a form body too
	}
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 {
		// §4.3 check 1: exactly one DPoP header.
		return nil, &Error{Reason: ReasonDPoPProof, Scheme: schemeDPoP, Cause: errProofCount}
	}
	u, err := d.requestURL(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	var claims *Claims
	_, err = d.Verifier.Verify(ctx, proofs[0], dpop.Request{
		Method: r.Method, URL: u, AccessToken: token,
		Check: func(jkt string) error {
			bound := authctx.WithBinding(ctx, jkt, cert)
			c, err := v.Verify(bound, token, audience...)
			switch {
			case err != nil:
				return err
			case c.Confirmation.JKT == "":
				return &Error{Reason: ReasonNotDPoPBound}
			}
			// Verifiers of this module check the binding themselves; this
			// holds any other TokenVerifier to it too.
			if err := CheckBinding(bound, c); err != nil {
				return err
			}
			claims = c
			return nil
		},
	})
	if err != nil {
		return nil, dpopScheme(proofError(err))
	}
	return claims, nil
}

var errProofCount = errors.New("a request needs exactly one DPoP header")

const schemeDPoP = "DPoP"

// proofError turns an error of the dpop package into core's; others (the
// token's) pass unchanged.
func proofError(err error) error {
	var de *dpop.Error
	switch {
	case !errors.As(err, &de):
		return err
	case errors.Is(err, dpop.ErrUseNonce):
		return &Error{Reason: ReasonDPoPNonce, Nonce: de.Nonce, Cause: err}
	case errors.Is(err, dpop.ErrReplayStore):
		return &Error{Reason: ReasonReplayStoreUnavailable, Cause: err}
	}
	return &Error{Reason: ReasonDPoPProof, Cause: err}
}

// dpopScheme marks err as the answer to a DPoP request, so that the DPoP
// challenge carries it. Errors of this package are copied: many are shared.
func dpopScheme(err error) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	c := *e
	c.Scheme = schemeDPoP
	return &c
}

// requestURL is the URL the request's proof must name: ExternalURL and the
// request's path, or the scheme and host the trusted proxy forwarded.
func (d *DPoP) requestURL(r *http.Request) (*url.URL, error) {
	if d.Verifier == nil {
		return nil, errDPoPConfig
	}
	if b := d.ExternalURL; b != nil {
		if (b.Scheme != "https" && b.Scheme != "http") || b.Host == "" || b.Opaque != "" || b.RawQuery != "" || b.User != nil {
			return nil, errDPoPConfig
		}
		prefix := strings.TrimSuffix(b.EscapedPath(), "/")
		return url.Parse(b.Scheme + "://" + b.Host + prefix + r.URL.EscapedPath())
	}
	if !d.TrustForwardedHeaders {
		return nil, errDPoPConfig
	}
	scheme, ok1 := singleValue(r.Header, "X-Forwarded-Proto")
	host, ok2 := singleValue(r.Header, "X-Forwarded-Host")
	if !ok1 || !ok2 {
		return nil, errForwarded
	}
	// The dpop package refuses what is not an http(s) URL with a host.
	return &url.URL{Scheme: strings.ToLower(scheme), Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath}, nil
}

// singleValue is the value of a header sent once, holding no list.
func singleValue(h http.Header, name string) (string, bool) {
	vs := h.Values(name)
	if len(vs) != 1 || strings.ContainsRune(vs[0], ',') {
		return "", false
	}
	v := strings.TrimSpace(vs[0])
	return v, v != ""
}

// clientCertificate returns the DER bytes of the request's client
// certificate as opts say where to find it, or nil for none.
func clientCertificate(r *http.Request, opts Options) ([]byte, error) {
	if opts.ClientCertificate == nil {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return nil, nil
		}
		return r.TLS.PeerCertificates[0].Raw, nil
	}
	c, err := opts.ClientCertificate(r)
	switch {
	case err != nil:
		return nil, &Error{Reason: ReasonMalformedRequest, Cause: err}
	case c == nil:
		return nil, nil
	}
	return c.Raw, nil
}

// maxForwardedCert bounds a forwarded certificate header.
const maxForwardedCert = 16 << 10

// ClientCertificateFromHeader returns an [Options.ClientCertificate] that
// reads the client certificate a TLS-terminating proxy forwards in the
// named header as URL-escaped PEM (the first certificate, when it holds a
// chain): nginx's $ssl_client_escaped_cert, or the
// X-Amzn-Mtls-Clientcert-Leaf header of an AWS load balancer. Use it only
// when every request reaches the server through that proxy and the proxy
// sets or removes the header on every request, so that no client can
// choose the certificate its token is checked against (RFC 8705 §3). A
// request without the header has no certificate; two headers, or one that
// is not a certificate, make the request invalid (400).
func ClientCertificateFromHeader(name string) func(*http.Request) (*x509.Certificate, error) {
	name = http.CanonicalHeaderKey(name)
	return func(r *http.Request) (*x509.Certificate, error) {
		values := r.Header[name]
		switch {
		case len(values) == 0 || len(values) == 1 && values[0] == "":
			return nil, nil
		case len(values) > 1:
			return nil, errors.New("more than one forwarded client certificate")
		case len(values[0]) > maxForwardedCert:
			return nil, errors.New("forwarded client certificate too large")
		}
		text, err := url.PathUnescape(values[0])
		if err != nil {
			return nil, errors.New("forwarded client certificate is not URL-escaped PEM")
		}
		block, _ := pem.Decode([]byte(text)) // the leaf, first of any chain
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, errors.New("forwarded client certificate is not a PEM certificate")
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errors.New("forwarded client certificate does not parse")
		}
		return c, nil
	}
}
