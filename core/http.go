package core

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file maps errors to RFC 6750 §3 answers, one function for every
// adapter.

// ErrorResponse is the RFC 6750 answer to a failed request, computed by
// [NewErrorResponse]. Every adapter writes the same one.
type ErrorResponse struct {
	Status          int
	WWWAuthenticate string // "" when no challenge is sent
	RetryAfter      string // set with 503
	Code            string // the "error" body jose.Member
	Description     string // safe for clients: no token, key id, URL or cause
	DPoPNonce       string // the DPoP-Nonce header, set with use_dpop_nonce
}

// NewErrorResponse maps err to its HTTP answer, with the challenge
// parameters opts asks for (the realm):
//
//	no bearer token               401  Bearer realm="…"
//	bad, expired, wrong iss/aud   401  Bearer realm="…", error="invalid_token", error_description="…"
//	more than one token           400  Bearer realm="…", error="invalid_request", error_description="…"
//	valid token, missing scope    403  Bearer realm="…", error="insufficient_scope", scope="…"
//	step-up requirement not met   401  Bearer realm="…", error="insufficient_user_authentication", …, acr_values="…", max_age="…"
//	DPoP proof refused            401  DPoP realm="…", error="invalid_dpop_proof", error_description="…", algs="…"
//	DPoP nonce required           401  DPoP realm="…", error="use_dpop_nonce", …; DPoP-Nonce: …
//	signing keys, introspection
//	  endpoint or replay store
//	  unavailable                 503  Retry-After, no challenge
//	anything else                 500  no challenge
//
// With opts.DPoP set, every challenge is a Bearer challenge (left out when
// DPoP is required) followed by a DPoP challenge with its algs (RFC 9449
// §7.1); the error parameters go with the scheme the request used, and
// with DPoP when bearer tokens are not accepted.
func NewErrorResponse(err error, opts Options) ErrorResponse {
	r, params := classify(err)
	if r.Status >= 500 {
		return r
	}
	realm := `realm="` + quoteSafe(cmp.Or(opts.Realm, defaultRealm)) + `"`
	if r.Code != codeMissing {
		params = `, error="` + r.Code + `"` + params
	}
	var meta string
	if r.Status == http.StatusUnauthorized && opts.ResourceMetadata != "" {
		// RFC 9728 §5.1: where the client finds how to get a token.
		meta = `, resource_metadata="` + quoteSafe(opts.ResourceMetadata) + `"`
	}
	var e *Error
	errors.As(err, &e)
	d := opts.DPoP
	if d == nil {
		r.WWWAuthenticate = "Bearer " + realm + params + meta
		return r
	}
	if e != nil && e.Reason == ReasonDPoPNonce {
		r.DPoPNonce = e.Nonce
	}
	usedDPoP := d.Required || e != nil && e.Scheme == schemeDPoP
	var b strings.Builder
	if !d.Required {
		b.WriteString("Bearer " + realm)
		if !usedDPoP {
			b.WriteString(params)
		}
		b.WriteString(meta + ", ")
	}
	b.WriteString("DPoP " + realm)
	if usedDPoP {
		b.WriteString(params)
	}
	if d.Verifier != nil {
		b.WriteString(`, algs="` + strings.Join(d.Verifier.Algorithms(), " ") + `"`)
	}
	b.WriteString(meta)
	r.WWWAuthenticate = b.String()
	return r
}

// codeMissing is the body's error code for a request without a token; its
// challenge carries no error (RFC 6750 §3.1).
const codeMissing = "unauthorized"

// classify maps err to its status, code and description, and the
// challenge parameters that follow error="…".
func classify(err error) (r ErrorResponse, params string) {
	var e *Error
	errors.As(err, &e)
	described := func() string { return `, error_description="` + r.Description + `"` }
	switch {
	case errors.Is(err, ErrMissingToken):
		r = ErrorResponse{Status: http.StatusUnauthorized, Code: codeMissing, Description: "a bearer token is required"}
		return r, ""
	case errors.Is(err, ErrInvalidRequest):
		r = ErrorResponse{Status: http.StatusBadRequest, Code: "invalid_request",
			Description: "the request must carry exactly one well-formed bearer token"}
	case errors.Is(err, ErrInsufficientScope):
		r = ErrorResponse{Status: http.StatusForbidden, Code: "insufficient_scope", Description: "the token lacks a required scope"}
		if e != nil && len(e.Scopes) > 0 {
			return r, `, scope="` + quoteSafe(strings.Join(e.Scopes, " ")) + `"`
		}
	case errors.Is(err, ErrInsufficientUserAuthentication):
		r = ErrorResponse{Status: http.StatusUnauthorized, Code: "insufficient_user_authentication",
			Description: "a different authentication level is required"}
		if e != nil {
			return r, described() + stepUpParams(e)
		}
	case errors.Is(err, ErrInvalidDPoPProof):
		r = ErrorResponse{Status: http.StatusUnauthorized, Code: "invalid_dpop_proof", Description: "the DPoP proof is invalid"}
		if e != nil && e.Reason == ReasonDPoPNonce {
			r.Code, r.Description = "use_dpop_nonce", "the DPoP proof must carry the nonce the server provides"
		}
	case errors.Is(err, ErrUnavailable):
		return ErrorResponse{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter(err),
			Code: "temporarily_unavailable", Description: "token verification is temporarily unavailable"}, ""
	case errors.Is(err, ErrInvalidToken):
		r = ErrorResponse{Status: http.StatusUnauthorized, Code: "invalid_token", Description: describe(ReasonOf(err))}
	default:
		return ErrorResponse{Status: http.StatusInternalServerError, Code: "server_error",
			Description: "the request could not be authorized"}, ""
	}
	return r, described()
}

// retryAfter gives the Retry-After of a 503 in whole seconds (RFC 9110
// §10.2.3): the time until the next attempt to fetch the keys, rounded up,
// at least 1.
func retryAfter(err error) string {
	var e *Error
	if !errors.As(err, &e) || e.RetryAfter <= 0 {
		return "1"
	}
	return strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10)
}

// describe gives a client-safe description per reason: fixed ASCII text
// with no quotes or backslashes, so it can sit in a quoted-string.
func describe(r Reason) string {
	switch r {
	case ReasonExpired:
		return "the token has expired"
	case ReasonNotYetValid, ReasonIssuedInFuture:
		return "the token is not valid yet"
	case ReasonIssuer:
		return "the token was issued by an untrusted issuer"
	case ReasonAudience:
		return "the token is not meant for this resource"
	case ReasonOversize:
		return "the token is too large"
	case ReasonAlgorithm:
		return "the token algorithm is not accepted"
	case ReasonBound:
		return "sender-constrained tokens cannot be used as bearer tokens"
	case ReasonInactive:
		return "the token is not active"
	case ReasonBindingMismatch:
		return "the token is bound to another key"
	case ReasonDPoPRequired:
		return "this resource requires a DPoP-bound token"
	case ReasonNotDPoPBound:
		return "the token is not bound to a DPoP key"
	}
	return "the token is invalid"
}

// quoteSafe makes s fit inside an RFC 9110 quoted-string without escapes:
// quotes, backslashes, control and non-ASCII bytes become '_'.
func quoteSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b[i] = '_'
		}
	}
	return string(b)
}

// Body returns the JSON body {"error": ..., "error_description": ...},
// newline-terminated like the output of a json.Encoder, so that adapters
// that render it through their framework's JSON writer send the same bytes.
func (r ErrorResponse) Body() []byte {
	// Code and Description come from the fixed texts above: plain ASCII
	// without characters that need escaping.
	return []byte(`{"error":"` + r.Code + `","error_description":"` + r.Description + "\"}\n")
}

// SetHeaders sets the response's headers on h: the challenge, Retry-After,
// DPoP-Nonce, Content-Type and Cache-Control.
func (r ErrorResponse) SetHeaders(h http.Header) {
	if r.WWWAuthenticate != "" {
		h.Set("WWW-Authenticate", r.WWWAuthenticate)
	}
	if r.RetryAfter != "" {
		h.Set("Retry-After", r.RetryAfter)
	}
	if r.DPoPNonce != "" {
		h.Set("DPoP-Nonce", r.DPoPNonce)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
}

// Write sends the response.
func (r ErrorResponse) Write(w http.ResponseWriter) {
	r.SetHeaders(w.Header())
	body := r.Body()
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(r.Status)
	_, _ = w.Write(body)
}
