package core

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Extractor finds the bearer token of a request. It returns "", nil when
// the request carries none, and an error matching [ErrInvalidRequest] when
// it is malformed or carries more than one.
type Extractor func(r *http.Request) (string, error)

// RFC 6750 §2 names three places for a token — the Authorization header,
// a form-encoded body parameter and a query parameter — and §2 forbids
// using more than one; a cookie, when the application reads one, is a
// fourth. Every extractor counts the places on the parsed request (so
// that "?access%5Ftoken=x", "?%61ccess_token=x" or a bare "?access_token"
// count like "?access_token=x"), and refuses a request that uses two,
// whichever it reads itself: a second credential is never silently
// ignored or ranked.

// maxFormPeek bounds how much of a form-encoded body is read to look for
// an access_token parameter. The body is given back to the handler
// unchanged; a larger body is not searched.
const maxFormPeek = 64 << 10

// places counts the places of r that carry a token; cookie names the
// cookie that counts as one ("" when none does).
func places(r *http.Request, cookie string) int {
	n := 0
	if bearerHeader(r) {
		n++
	}
	if queryHasToken(r) {
		n++
	}
	if formHasToken(r) {
		n++
	}
	if cookie != "" {
		for range r.CookiesNamed(cookie) {
			n++
		}
	}
	return n
}

// bearerHeader reports whether an Authorization header uses the Bearer
// scheme.
func bearerHeader(r *http.Request) bool {
	for _, v := range r.Header.Values("Authorization") {
		if _, ok := bearerCredential(v); ok {
			return true
		}
	}
	return false
}

// bearerCredential returns what follows the Bearer scheme (RFC 6750 §2.1:
// case-insensitive, then one or more spaces), and whether v uses it at all.
func bearerCredential(v string) (string, bool) {
	const scheme = "bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false
	}
	rest := v[len(scheme):]
	if rest != "" && rest[0] != ' ' {
		return "", false // e.g. "Bearertoken": another scheme
	}
	return strings.TrimLeft(rest, " "), true
}

// queryHasToken reports whether the parsed query has an access_token
// parameter. A query that holds neither the name nor any percent escape
// cannot, and is not parsed.
func queryHasToken(r *http.Request) bool {
	if r.URL == nil || r.URL.RawQuery == "" {
		return false
	}
	raw := r.URL.RawQuery
	if !strings.Contains(raw, "access_token") && strings.IndexByte(raw, '%') < 0 {
		return false
	}
	return r.URL.Query().Has("access_token")
}

// formHasToken reports whether a form-encoded body has an access_token
// parameter (RFC 6750 §2.2). It reads at most maxFormPeek bytes and puts
// them back in front of the rest, so the handler reads the body as sent.
func formHasToken(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return false
	}
	if r.PostForm != nil {
		return r.PostForm.Has("access_token") // already parsed by someone
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" {
		return false
	}
	head, err := io.ReadAll(io.LimitReader(r.Body, maxFormPeek+1))
	r.Body = readCloser{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	if err != nil || len(head) > maxFormPeek {
		return false
	}
	vals, err := url.ParseQuery(string(head))
	return err == nil && vals.Has("access_token")
}

type readCloser struct {
	io.Reader
	io.Closer
}

// FromHeader reads the token from the Authorization header (RFC 6750
// §2.1). The scheme is case-insensitive and may be followed by several
// spaces. Another scheme (Basic, ...) counts as no bearer token. A bearer
// credential that is empty or more than one word, two Authorization
// headers, or a token in the query or a form body as well make the request
// invalid.
func FromHeader(r *http.Request) (string, error) {
	return fromHeader(r, "")
}

func fromHeader(r *http.Request, cookie string) (string, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", errMultiple
	}
	token, ok := bearerCredential(values[0])
	if !ok {
		return "", nil
	}
	if !plausibleCredential(token) {
		return "", errBadRequest
	}
	if places(r, cookie) > 1 {
		return "", errMultiple
	}
	return token, nil
}

// FromCookie returns an extractor that reads the token from the
// Authorization header or, failing that, from the named cookie. A request
// that carries a token in two places (two cookies of that name included)
// is invalid.
//
// A cookie is sent with every request the browser makes to the site,
// whoever caused it: protect such routes against cross-site request
// forgery (SameSite cookies, or an anti-CSRF token), and keep the cookie
// HttpOnly and Secure.
func FromCookie(name string) Extractor {
	return func(r *http.Request) (string, error) {
		tok, err := fromHeader(r, name)
		if err != nil || tok != "" {
			return tok, err
		}
		cookies := r.CookiesNamed(name)
		switch {
		case len(cookies) == 0:
			return "", nil
		case places(r, name) > 1:
			return "", errMultiple
		case !plausibleCredential(cookies[0].Value):
			return "", errBadRequest
		}
		return cookies[0].Value, nil
	}
}

// FromQuery returns an extractor that also accepts the access_token query
// parameter (RFC 6750 §2.3). Tokens in URLs end up in logs and browser
// history; RFC 6750 §5.3 advises against it, and it is off unless chosen.
func FromQuery() Extractor {
	return func(r *http.Request) (string, error) {
		tok, err := FromHeader(r)
		if err != nil || tok != "" || !queryHasToken(r) {
			return tok, err
		}
		q := r.URL.Query()["access_token"]
		switch {
		case len(q) > 1 || places(r, "") > 1:
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
