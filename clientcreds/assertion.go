package clientcreds

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
	"github.com/go-jose/go-jose/v4/jwt"
)

// assertionType is the client_assertion_type of RFC 7523 §2.2.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// newAssertionSigner wraps any crypto.Signer, so keys held in an HSM or a
// KMS work as well as in-memory ones.
func newAssertionSigner(key crypto.Signer, alg, kid string) (jose.Signer, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	return jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(alg),
		Key:       cryptosigner.Opaque(key),
	}, opts)
}

// assertion builds the client authentication JWT of RFC 7523 §3: iss and
// sub are the client id, aud is the token endpoint it is sent to, exp is a
// minute away (a stolen assertion is useless soon after), and jti is random
// so that servers can refuse a replay.
func (c *Client) assertion(aud string, now time.Time) (string, error) {
	var id [18]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	claims := jwt.Claims{
		Issuer:   c.cfg.ClientID,
		Subject:  c.cfg.ClientID,
		Audience: jwt.Audience{aud},
		ID:       base64.RawURLEncoding.EncodeToString(id[:]),
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(assertionLifetime)),
	}
	return jwt.Signed(c.signer).Claims(claims).Serialize()
}

// withAssertion returns params plus the assertion, leaving params (shared
// by all attempts) untouched.
func withAssertion(params url.Values, assertion string) url.Values {
	v := make(url.Values, len(params)+2)
	for k, vs := range params {
		v[k] = vs
	}
	v.Set("client_assertion_type", assertionType)
	v.Set("client_assertion", assertion)
	return v
}
