// Package clientauth authenticates an OAuth client to an authorization
// server endpoint — the token endpoint for clientcreds, the introspection
// endpoint for introspect — by the methods of RFC 6749 §2.3 and RFC 7523
// §2.2, and removes the client's credentials from whatever the server
// sends back.
package clientauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Method is a token_endpoint_auth_method name (RFC 7591 §2).
type Method string

// Client authentication methods.
const (
	Basic         Method = "client_secret_basic"
	Post          Method = "client_secret_post"
	PrivateKeyJWT Method = "private_key_jwt"
	// None sends no credentials at all, for endpoints that the network
	// alone protects (RFC 7591 calls it "none").
	None Method = "none"
	// TLSClientAuth and SelfSignedTLSClientAuth (RFC 8705 §2) prove the
	// client's identity with its TLS client certificate, which the HTTP
	// client presents; the request names client_id and holds no secret.
	TLSClientAuth           Method = "tls_client_auth"
	SelfSignedTLSClientAuth Method = "self_signed_tls_client_auth"
)

// AssertionType is the client_assertion_type of RFC 7523 §2.2.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

const (
	minRSABits        = 2048
	assertionLifetime = time.Minute // exp - iat of an assertion
)

// Client is a client's identity and the means to prove it.
type Client struct {
	ID     string
	Secret string
	Method Method
	signer jose.Signer // PrivateKeyJWT only
}

// New checks that the credentials fit the method (a secret for Basic and
// Post, a key for PrivateKeyJWT, neither for None and the TLS methods) and
// returns a Client.
// Errors name what is wrong, never the values.
func New(id, secret string, method Method, key crypto.Signer, keyID string) (*Client, error) {
	c := &Client{ID: id, Secret: secret, Method: method}
	switch method {
	case Basic, Post:
		if secret == "" {
			return nil, fmt.Errorf("a client secret is required for %s", method)
		}
		if key != nil {
			return nil, fmt.Errorf("a private key is set but the method is %s", method)
		}
	case PrivateKeyJWT:
		if key == nil {
			return nil, fmt.Errorf("a private key is required for %s", method)
		}
		if secret != "" {
			return nil, fmt.Errorf("the client secret must be empty for %s", method)
		}
		alg, err := AlgorithmFor(key.Public())
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		opts := (&jose.SignerOptions{}).WithType("JWT")
		if keyID != "" {
			opts = opts.WithHeader("kid", keyID)
		}
		// cryptosigner wraps any crypto.Signer, so keys held in an HSM or
		// a KMS work as well as in-memory ones.
		c.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: cryptosigner.Opaque(key)}, opts)
		if err != nil {
			return nil, fmt.Errorf("private key cannot sign: %w", err)
		}
	case None, TLSClientAuth, SelfSignedTLSClientAuth:
		if secret != "" || key != nil {
			return nil, fmt.Errorf("no secret or key may be set for %s", method)
		}
	default:
		return nil, errors.New("unknown client authentication method")
	}
	if id == "" && method != None {
		return nil, errors.New("a client id is required")
	}
	return c, nil
}

// AlgorithmFor picks the JWS algorithm for a key: the one every server
// supporting the key type accepts.
func AlgorithmFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return "", fmt.Errorf("RSA keys need at least %d bits", minRSABits)
		}
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
		return "", errors.New("unsupported elliptic curve")
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", errors.New("unsupported key type")
}

// Assertion builds the client authentication JWT of RFC 7523 §3: iss and
// sub are the client id, aud is the endpoint it is sent to, exp is a
// minute away (a stolen assertion is useless soon after), and jti is
// random so that servers can refuse a replay.
func (c *Client) Assertion(audience string, now time.Time) (string, error) {
	if c.signer == nil {
		return "", errors.New("the client has no private key")
	}
	var id [18]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	claims := jwt.Claims{
		Issuer:   c.ID,
		Subject:  c.ID,
		Audience: jwt.Audience{audience},
		ID:       base64.RawURLEncoding.EncodeToString(id[:]),
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(assertionLifetime)),
	}
	return jwt.Signed(c.signer).Claims(claims).Serialize()
}

// Authenticate adds the client's credentials to a form POST to endpoint:
// a Basic header (id and secret form-encoded first, RFC 6749 §2.3.1),
// form fields, or a fresh assertion; the TLS methods add client_id (the
// certificate does the rest); None adds nothing. It returns the
// assertion, which the caller redacts from what comes back.
func (c *Client) Authenticate(req *http.Request, form url.Values, endpoint string, now time.Time) (assertion string, err error) {
	switch c.Method {
	case Basic:
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	case Post:
		form.Set("client_id", c.ID)
		form.Set("client_secret", c.Secret)
	case PrivateKeyJWT:
		if assertion, err = c.Assertion(endpoint, now); err != nil {
			return "", err
		}
		form.Set("client_id", c.ID)
		form.Set("client_assertion_type", AssertionType)
		form.Set("client_assertion", assertion)
	case TLSClientAuth, SelfSignedTLSClientAuth:
		form.Set("client_id", c.ID)
	}
	return assertion, nil
}
