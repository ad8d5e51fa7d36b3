package authtest

import (
	"crypto/rand"
	"encoding/base64"
	"maps"
	"net/http"
	"strings"
	"time"
)

// IntrospectionPath is where the introspection endpoint (RFC 7662) is
// served under the issuer.
const IntrospectionPath = "/introspect"

// The introspection endpoint answers for the opaque tokens the server
// issued ([Client.Opaque], [Server.OpaqueToken]): {"active":true, ...the
// token's claims} while the token is unexpired and not revoked, else
// {"active":false} (RFC 7662 §2.2). A caller that sends
// "Accept: application/token-introspection+jwt" gets the answer as a JWT
// signed with the signing key (RFC 9701). Callers authenticate like
// clients of the token endpoint, unless [WithOpenIntrospection].

// WithOpenIntrospection lets anyone call the introspection endpoint
// without client authentication, as servers that rely on the network for
// it do (Hydra's admin port).
func WithOpenIntrospection() Option { return func(o *options) { o.openIntrospection = true } }

// IntrospectionURL returns the URL of the introspection endpoint.
func (s *Server) IntrospectionURL() string { return s.Issuer + IntrospectionPath }

// IntrospectionRequests counts requests to the introspection endpoint.
func (s *Server) IntrospectionRequests() int { return int(s.introspectCount.Load()) }

// SetIntrospectionFault makes the introspection endpoint misbehave; nil
// restores it.
func (s *Server) SetIntrospectionFault(f *Fault) {
	s.mu.Lock()
	s.introspectFault = f
	s.mu.Unlock()
}

// OpaqueToken issues an opaque access token (random, meaningless bytes)
// that introspects as claims.
func (s *Server) OpaqueToken(claims map[string]any) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := "at_" + base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	s.opaque[tok] = maps.Clone(claims)
	s.mu.Unlock()
	return tok
}

// Revoke makes an opaque token inactive.
func (s *Server) Revoke(token string) {
	s.mu.Lock()
	delete(s.opaque, token)
	s.mu.Unlock()
}

func (s *Server) serveIntrospection(w http.ResponseWriter, r *http.Request) {
	s.introspectCount.Add(1)
	// The body is read before any fault holds the request, so that the
	// server notices a client that gives up.
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenBodyLength)
	formErr := r.ParseForm()
	s.mu.Lock()
	fault := s.introspectFault
	s.mu.Unlock()
	if applyFault(w, r, fault) {
		return
	}
	if formErr != nil {
		writeOAuthError(w, oauthError{http.StatusBadRequest, "invalid_request", "the body is not a form"})
		return
	}
	var caller *Client
	if !s.opt.openIntrospection {
		c, oe := s.authenticate(r, r.PostForm)
		if oe != nil {
			writeOAuthError(w, *oe)
			return
		}
		caller = c
	}
	tok := r.PostForm.Get("token")
	if len(r.PostForm["token"]) != 1 || tok == "" {
		writeOAuthError(w, oauthError{http.StatusBadRequest, "invalid_request", "exactly one token is required"})
		return
	}
	s.mu.Lock()
	claims, ok := s.opaque[tok]
	s.mu.Unlock()
	answer := map[string]any{"active": false}
	if exp, _ := claims["exp"].(int64); ok && (exp == 0 || s.opt.now().Before(time.Unix(exp, 0))) {
		answer = maps.Clone(claims)
		answer["active"] = true
		answer["token_type"] = "Bearer"
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/token-introspection+jwt") {
		writeJSON(w, http.StatusOK, answer)
		return
	}
	// RFC 9701 §5: the answer inside a JWT for the caller.
	body := map[string]any{"iss": s.Issuer, "iat": s.opt.now().Unix(), "token_introspection": answer}
	if caller != nil {
		body["aud"] = caller.ID
	}
	signed, err := s.MintWith(s.SigningKey(), map[string]any{"typ": "token-introspection+jwt"}, body)
	if err != nil {
		writeOAuthError(w, oauthError{http.StatusInternalServerError, "server_error", "signing failed"})
		return
	}
	w.Header().Set("Content-Type", "application/token-introspection+jwt")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(signed))
}
