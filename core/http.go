package core

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file holds everything the HTTP adapters share: token extraction
// (RFC 6750 §2), the error-to-response mapping (RFC 6750 §3), claims in a
// request context, and the net/http middleware. ginauth and echoauth call
// these functions and hold no verification logic of their own.

type claimsKey struct{}

// WithClaims returns a copy of ctx that carries c.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFromContext returns the claims stored by the middleware.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// Extractor finds the bearer token of a request. It returns "", nil when
// the request carries none, and an error matching [ErrInvalidRequest] when
// it is malformed or carries more than one.
type Extractor func(r *http.Request) (string, error)

// FromHeader reads the token from the Authorization header (RFC 6750 §2.1).
// The scheme is case-insensitive and may be followed by several spaces.
// Another scheme (Basic, ...) counts as no bearer token. A bearer
// credential that is empty or more than one word, or two Authorization headers,
// make the request invalid.
func FromHeader(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", errMultiple
	}
	v := values[0]
	const scheme = "bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", nil
	}
	rest := v[len(scheme):]
	if rest != "" && rest[0] != ' ' {
		return "", nil // e.g. "Bearertoken": another scheme
	}
	token := strings.TrimLeft(rest, " ")
	if !plausibleCredential(token) {
		return "", errBadRequest
	}
	// RFC 6750 §2: a client must not use more than one method. A query
	// token beside the header is refused even though query tokens are not
	// read by default.
	if r.URL != nil && strings.Contains(r.URL.RawQuery, "access_token=") && r.URL.Query().Has("access_token") {
		return "", errMultiple
	}
	return token, nil
}

// FromCookie returns an extractor that reads the token from the Authorization
// header or, failing that, from the named cookie. A request that carries
// both is invalid: two credentials are never silently ranked.
func FromCookie(name string) Extractor {
	return func(r *http.Request) (string, error) {
		tok, err := FromHeader(r)
		if err != nil {
			return "", err
		}
		var found string
		n := 0
		for _, c := range r.CookiesNamed(name) {
			found = c.Value
			n++
		}
		switch {
		case n == 0:
			return tok, nil
		case n > 1 || tok != "":
			return "", errMultiple
		case !plausibleCredential(found):
			return "", errBadRequest
		}
		return found, nil
	}
}

// FromQuery returns an extractor that also accepts the access_token query
// parameter (RFC 6750 §2.3). Tokens in URLs end up in logs and browser
// history; RFC 6750 §5.3 advises against it, and it is off unless chosen.
func FromQuery() Extractor {
	return func(r *http.Request) (string, error) {
		tok, err := FromHeader(r)
		if err != nil {
			return "", err
		}
		if r.URL == nil {
			return tok, nil
		}
		q := r.URL.Query()["access_token"]
		switch {
		case len(q) == 0:
			return tok, nil
		case len(q) > 1 || tok != "":
			return "", errMultiple
		case !plausibleCredential(q[0]):
			return "", errBadRequest
		}
		return q[0], nil
	}
}

// plausibleCredential refuses what makes a request malformed whatever the
// token: nothing at all, or more than one word. Other characters outside
// the RFC 6750 §2.1 b64token syntax are left to Verify, which refuses them
// as a malformed token (401): checking them here would cost a second pass
// over every token on the hot path. Every extractor applies the same rule.
func plausibleCredential(tok string) bool {
	return tok != "" && strings.IndexByte(tok, ' ') < 0
}

// ErrorResponse is the RFC 6750 answer to a failed request, computed by
// [NewErrorResponse]. Every adapter writes the same one.
type ErrorResponse struct {
	Status          int
	WWWAuthenticate string // "" when no challenge is sent
	RetryAfter      string // set with 503
	Code            string // the "error" body member
	Description     string // safe for clients: no token, key id, URL or cause
}

// NewErrorResponse maps err to its HTTP answer:
//
//	no bearer token               401  Bearer realm="…"
//	bad, expired, wrong iss/aud   401  Bearer realm="…", error="invalid_token", error_description="…"
//	more than one token           400  Bearer realm="…", error="invalid_request", error_description="…"
//	valid token, missing scope    403  Bearer realm="…", error="insufficient_scope", scope="…"
//	signing keys unavailable      503  Retry-After, no challenge
//	anything else                 500  no challenge
func NewErrorResponse(err error, realm string) ErrorResponse {
	if realm == "" {
		realm = defaultRealm
	}
	challenge := `Bearer realm="` + quoteSafe(realm) + `"`
	var r ErrorResponse
	switch {
	case errors.Is(err, ErrMissingToken):
		r = ErrorResponse{Status: http.StatusUnauthorized, WWWAuthenticate: challenge,
			Code: "unauthorized", Description: "a bearer token is required"}
		return r
	case errors.Is(err, ErrInvalidRequest):
		r = ErrorResponse{Status: http.StatusBadRequest, Code: "invalid_request",
			Description: "the request must carry exactly one well-formed bearer token"}
	case errors.Is(err, ErrInsufficientScope):
		r = ErrorResponse{Status: http.StatusForbidden, Code: "insufficient_scope",
			Description: "the token lacks a required scope"}
		var e *Error
		if errors.As(err, &e) && len(e.Scopes) > 0 {
			challenge += `, error="insufficient_scope", scope="` + quoteSafe(strings.Join(e.Scopes, " ")) + `"`
			r.WWWAuthenticate = challenge
			return r
		}
	case errors.Is(err, ErrKeySetUnavailable):
		return ErrorResponse{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter(err),
			Code: "temporarily_unavailable", Description: "token verification is temporarily unavailable"}
	case errors.Is(err, ErrInvalidToken):
		r = ErrorResponse{Status: http.StatusUnauthorized, Code: "invalid_token", Description: describe(ReasonOf(err))}
	default:
		return ErrorResponse{Status: http.StatusInternalServerError, Code: "server_error",
			Description: "the request could not be authorized"}
	}
	r.WWWAuthenticate = challenge + `, error="` + r.Code + `", error_description="` + r.Description + `"`
	return r
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

// Header sets the response headers on h.
func (r ErrorResponse) Header(h http.Header) {
	if r.WWWAuthenticate != "" {
		h.Set("WWW-Authenticate", r.WWWAuthenticate)
	}
	if r.RetryAfter != "" {
		h.Set("Retry-After", r.RetryAfter)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
}

// Write sends the response.
func (r ErrorResponse) Write(w http.ResponseWriter) {
	r.Header(w.Header())
	body := r.Body()
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(r.Status)
	_, _ = w.Write(body)
}
