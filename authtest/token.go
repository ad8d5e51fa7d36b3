package authtest

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Client is a client registered with the token endpoint.
type Client struct {
	ID     string
	Secret string // for client_secret_basic and client_secret_post
	// PublicKey verifies private_key_jwt assertions (RFC 7523 §3); nil
	// disables that method for the client.
	PublicKey crypto.PublicKey
	// Scopes the client may obtain. A request without a scope parameter
	// gets all of them.
	Scopes []string
	// Audience is the aud of tokens requested without audience or resource
	// parameters; empty means the server default.
	Audience []string
	// Claims are added to every token issued to the client.
	Claims map[string]any
	// Opaque makes the token endpoint issue this client opaque access
	// tokens, which only the introspection endpoint can read.
	Opaque bool
	// DPoP makes the token endpoint refuse this client's token requests
	// without a DPoP proof (RFC 9449 §5.2, dpop_bound_access_tokens).
	// Any client that sends a proof gets a DPoP-bound token.
	DPoP bool
	// Certificate authenticates the client by the TLS client certificate
	// it presents, compared byte for byte (RFC 8705 §2,
	// tls_client_auth and self_signed_tls_client_auth alike): the request
	// names client_id and carries no secret or assertion. It needs
	// [WithClientCertificates].
	Certificate *x509.Certificate
}

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AddClient registers (or replaces) a client.
func (s *Server) AddClient(c Client) {
	s.mu.Lock()
	s.clients[c.ID] = &c
	s.mu.Unlock()
}

// oauthError is an RFC 6749 §5.2 error response.
type oauthError struct {
	status int
	code   string
	desc   string
}

// serveToken implements the client credentials grant (RFC 6749 §4.4) with
// client_secret_basic, client_secret_post and private_key_jwt client
// authentication, scopes, and the audience and resource (RFC 8707)
// parameters.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.tokenCount.Add(1)
	// The body is read before any fault holds the request, so that the
	// server notices a client that gives up.
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenBodyLength)
	formErr := r.ParseForm()
	s.mu.Lock()
	fault := s.tokenFault
	s.mu.Unlock()
	if applyFault(w, r, fault) {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthError(w, oauthError{http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST"})
		return
	}
	if err := formErr; err != nil {
		writeOAuthError(w, oauthError{http.StatusBadRequest, "invalid_request", "the body is not a form"})
		return
	}
	form := r.PostForm
	for _, p := range []string{"grant_type", "client_id", "client_secret", "scope", "client_assertion", "client_assertion_type"} {
		if len(form[p]) > 1 {
			writeOAuthError(w, oauthError{http.StatusBadRequest, "invalid_request", "parameter repeated: " + p})
			return
		}
	}
	jkt, oe := s.checkProof(w, r)
	if oe != nil {
		writeOAuthError(w, *oe)
		return
	}
	client, oe := s.authenticate(r, form)
	if oe == nil && client.DPoP && jkt == "" {
		oe = &oauthError{http.StatusBadRequest, "invalid_dpop_proof", "this client must send a DPoP proof"}
	}
	if oe != nil {
		if oe.code == "invalid_client" {
			if _, _, basic := r.BasicAuth(); basic {
				w.Header().Set("WWW-Authenticate", `Basic realm="authtest"`)
			}
		}
		writeOAuthError(w, *oe)
		return
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		writeOAuthError(w, oauthError{http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported"})
		return
	}
	scopes := client.Scopes
	if raw, ok := form["scope"]; ok {
		scopes = strings.Fields(raw[0])
		for _, sc := range scopes {
			if !slices.Contains(client.Scopes, sc) {
				writeOAuthError(w, oauthError{http.StatusBadRequest, "invalid_scope", "scope not allowed for this client"})
				return
			}
		}
	}
	aud := append(append([]string(nil), form["audience"]...), form["resource"]...)
	for _, res := range form["resource"] {
		if u, err := url.Parse(res); err != nil || !u.IsAbs() || u.Fragment != "" {
			writeOAuthError(w, oauthError{http.StatusBadRequest, "invalid_target", "resource must be an absolute URI without fragment"})
			return
		}
	}
	if len(aud) == 0 {
		aud = client.Audience
	}
	if len(aud) == 0 && s.opt.audience != "" {
		aud = []string{s.opt.audience}
	}

	now := s.opt.now()
	claims := map[string]any{}
	for k, v := range client.Claims {
		claims[k] = v
	}
	claims["iss"] = s.Issuer
	claims["sub"] = client.ID
	claims["client_id"] = client.ID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(s.opt.tokenTTL).Unix()
	claims["jti"] = randomID()
	switch len(aud) {
	case 0:
	case 1:
		claims["aud"] = aud[0]
	default:
		claims["aud"] = aud
	}
	if len(scopes) > 0 {
		claims["scope"] = strings.Join(scopes, " ")
	}
	cnf := map[string]any{}
	if jkt != "" {
		cnf["jkt"] = jkt
	}
	if cert := peerCertificate(r); cert != nil {
		cnf["x5t#S256"] = CertificateThumbprint(cert)
	}
	if len(cnf) > 0 {
		claims["cnf"] = cnf
	}
	var tok string
	var err error
	if client.Opaque {
		tok = s.OpaqueToken(claims)
	} else {
		tok, err = s.Mint(claims)
	}
	if err != nil {
		writeOAuthError(w, oauthError{http.StatusInternalServerError, "server_error", "signing failed"})
		return
	}
	resp := map[string]any{
		"access_token": tok,
		"token_type":   tokenType(jkt),
		"expires_in":   int64(s.opt.tokenTTL / time.Second),
	}
	if len(scopes) > 0 {
		resp["scope"] = strings.Join(scopes, " ")
	}
	writeJSON(w, http.StatusOK, resp)
}

// authenticate identifies the client by exactly one method (RFC 6749 §2.3).
func (s *Server) authenticate(r *http.Request, form url.Values) (*Client, *oauthError) {
	bad := &oauthError{http.StatusUnauthorized, "invalid_client", "client authentication failed"}
	user, pass, basic := r.BasicAuth()
	post := form.Has("client_secret")
	assertion := form.Has("client_assertion")
	methods := 0
	for _, used := range []bool{basic, post, assertion} {
		if used {
			methods++
		}
	}
	if methods == 0 && form.Has("client_id") && peerCertificate(r) != nil {
		return s.authenticateCertificate(r, form.Get("client_id"))
	}
	if methods != 1 {
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", "use exactly one client authentication method"}
	}
	var id, secret string
	switch {
	case basic:
		// RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic.
		var err1, err2 error
		id, err1 = url.QueryUnescape(user)
		secret, err2 = url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, bad
		}
	case post:
		id, secret = form.Get("client_id"), form.Get("client_secret")
	default:
		return s.authenticateAssertion(form)
	}
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	if c == nil || c.Secret == "" || c.Secret != secret {
		return nil, bad
	}
	if form.Has("client_id") && form.Get("client_id") != id {
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", "client_id does not match the credentials"}
	}
	return c, nil
}

// authenticateAssertion checks a private_key_jwt assertion (RFC 7523 §3):
// iss and sub are the client id, aud names the endpoint or the issuer,
// exp is in the future, and the jti is not replayed.
func (s *Server) authenticateAssertion(form url.Values) (*Client, *oauthError) {
	bad := &oauthError{http.StatusUnauthorized, "invalid_client", "client assertion rejected"}
	if form.Get("client_assertion_type") != assertionType {
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", "unsupported client_assertion_type"}
	}
	tok, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{
		jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
		jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
	})
	if err != nil {
		return nil, bad
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, bad
	}
	s.mu.Lock()
	c := s.clients[unverified.Issuer]
	s.mu.Unlock()
	if c == nil || c.PublicKey == nil {
		return nil, bad
	}
	var claims jwt.Claims
	if err := tok.Claims(c.PublicKey, &claims); err != nil {
		return nil, bad
	}
	now := s.opt.now()
	if claims.Issuer != c.ID || claims.Subject != c.ID || claims.ID == "" || claims.Expiry == nil {
		return nil, bad
	}
	if !slices.ContainsFunc([]string(claims.Audience), func(a string) bool {
		return a == s.TokenURL() || a == s.Issuer || a == s.IntrospectionURL()
	}) {
		return nil, bad
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Time: now}, time.Minute); err != nil {
		return nil, bad
	}
	if id := form.Get("client_id"); id != "" && id != c.ID {
		return nil, bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, replay := s.seenJTI[c.ID+"\x00"+claims.ID]; replay {
		return nil, bad
	}
	s.seenJTI[c.ID+"\x00"+claims.ID] = claims.Expiry.Time()
	for k, exp := range s.seenJTI {
		if now.After(exp.Add(time.Minute)) {
			delete(s.seenJTI, k)
		}
	}
	return c, nil
}

// authenticateCertificate identifies a client by its TLS client
// certificate (RFC 8705 §2).
func (s *Server) authenticateCertificate(r *http.Request, id string) (*Client, *oauthError) {
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	if c == nil || c.Certificate == nil || !bytes.Equal(c.Certificate.Raw, peerCertificate(r).Raw) {
		return nil, &oauthError{http.StatusUnauthorized, "invalid_client", "client certificate rejected"}
	}
	return c, nil
}

// tokenType is the token_type of a token bound to the DPoP key jkt, or of
// a bearer token when jkt is "" (RFC 9449 §5).
func tokenType(jkt string) string {
	if jkt != "" {
		return "DPoP"
	}
	return "Bearer"
}

func writeOAuthError(w http.ResponseWriter, e oauthError) {
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}
