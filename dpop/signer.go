package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/bearerkit/bearerkit/internal/jose"
)

// Signer makes DPoP proofs (RFC 9449 §4.2) with one key, for a client. It is
// safe for concurrent use if its key is.
type Signer struct {
	key    crypto.Signer
	alg    jose.Alg
	hash   crypto.Hash // 0 for Ed25519, which signs the message itself
	ecSize int         // bytes per ECDSA coordinate; 0 for other keys
	header string      // the encoded protected header, the same for every proof
	jkt    string
	now    func() time.Time
}

// NewSigner returns a Signer for key. Supported keys, and the algorithm
// each signs with: RSA of 2048 to 4096 bits (RS256, the most widely
// supported), ECDSA on P-256, P-384 or P-521 (ES256, ES384, ES512) and
// Ed25519 (EdDSA). The key may live in hardware: only Public and Sign are
// used.
func NewSigner(key crypto.Signer) (*Signer, error) {
	if key == nil {
		return nil, errors.New("dpop: nil key")
	}
	s := &Signer{key: key, now: time.Now}
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		if bits := pub.N.BitLen(); bits < minRSABits || bits > maxRSABits {
			return nil, fmt.Errorf("dpop: RSA key of %d bits, want 2048 to 4096", bits)
		}
		s.alg, s.hash = jose.RS256, crypto.SHA256
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			s.alg, s.hash = jose.ES256, crypto.SHA256
		case elliptic.P384():
			s.alg, s.hash = jose.ES384, crypto.SHA384
		case elliptic.P521():
			s.alg, s.hash = jose.ES512, crypto.SHA512
		default:
			return nil, errUnsupportedKey
		}
		s.ecSize = (pub.Curve.Params().BitSize + 7) / 8
	case ed25519.PublicKey:
		s.alg = jose.EdDSA
	default:
		return nil, errUnsupportedKey
	}
	jwk, err := canonicalJWK(key.Public())
	if err != nil {
		return nil, err
	}
	s.jkt = thumbprintOf(jwk)
	header := `{"typ":"dpop+jwt","alg":"` + s.alg.String() + `","jwk":` + string(jwk) + `}`
	s.header = base64.RawURLEncoding.EncodeToString([]byte(header))
	return s, nil
}

// Thumbprint returns the RFC 7638 thumbprint of the signer's public key:
// the dpop_jkt of an authorization request (§10) and the cnf.jkt of the
// tokens issued to this key.
func (s *Signer) Thumbprint() string { return s.jkt }

// payload is the claim set of a proof (§4.2). encoding/json escapes the
// strings; only values this package produced or checked go in.
type payload struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// Proof returns a proof for one request: method and rawURL are the
// request's (the query and fragment are left out of htu, as is any
// userinfo), accessToken is the DPoP-bound token the request carries ("" for
// a token request; otherwise its hash goes in ath), and nonce is the last
// DPoP-Nonce the server sent ("" for none). Every proof has a new random
// jti of 128 bits, so a proof must be made per request, retries included.
func (s *Signer) Proof(method, rawURL, accessToken, nonce string) (string, error) {
	if !isToken(method) {
		return "", errors.New("dpop: method is not an HTTP method token")
	}
	htu, err := proofURL(rawURL)
	if err != nil {
		return "", err
	}
	for i := 0; i < len(nonce); i++ {
		// RFC 9449 §8.1: nonce = 1*NQCHAR.
		if c := nonce[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return "", errors.New("dpop: nonce holds characters a nonce cannot hold")
		}
	}
	p := payload{JTI: rand.Text(), HTM: method, HTU: htu, IAT: s.now().Unix(), Nonce: nonce}
	if accessToken != "" {
		p.ATH = tokenHash(accessToken)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	input := s.header + "." + base64.RawURLEncoding.EncodeToString(body)
	sig, err := s.sign(input)
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// proofURL makes the htu of a request URL: absolute http or https, without
// userinfo, query or fragment, and with "/" for an empty path.
func proofURL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", errors.New("dpop: request URL does not parse")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" || u.Host == "" || u.Opaque != "" {
		return "", errors.New("dpop: request URL is not an absolute http or https URL")
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + u.Host + path, nil
}

func (s *Signer) sign(input string) ([]byte, error) {
	if s.alg == jose.EdDSA {
		return s.key.Sign(rand.Reader, []byte(input), crypto.Hash(0))
	}
	var digest []byte
	switch s.hash {
	case crypto.SHA256:
		d := sha256.Sum256([]byte(input))
		digest = d[:]
	case crypto.SHA384:
		d := sha512.Sum384([]byte(input))
		digest = d[:]
	default:
		d := sha512.Sum512([]byte(input))
		digest = d[:]
	}
	sig, err := s.key.Sign(rand.Reader, digest, s.hash)
	if err != nil || s.ecSize == 0 {
		return sig, err
	}
	// crypto.Signer returns ECDSA signatures in ASN.1; JWS wants R and S
	// as fixed-length big-endian integers (RFC 7518 §3.4).
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 {
		return nil, errors.New("dpop: key returned a malformed ECDSA signature")
	}
	if rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 8*s.ecSize || rs.S.BitLen() > 8*s.ecSize {
		return nil, errors.New("dpop: key returned a malformed ECDSA signature")
	}
	out := make([]byte, 2*s.ecSize)
	rs.R.FillBytes(out[:s.ecSize])
	rs.S.FillBytes(out[s.ecSize:])
	return out, nil
}

// isToken reports whether s is an RFC 9110 §5.6.2 token, the syntax of a
// method.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isUnreserved(c) && strings.IndexByte("!#$%&'*+^`|", c) < 0 {
			return false
		}
	}
	return true
}
