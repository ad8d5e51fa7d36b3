package clientcreds

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/bearerkit/bearerkit/internal/clientauth"
)

// Sentinel errors, matched with errors.Is. OAuth error answers of the token
// endpoint (RFC 6749 §5.2) are reachable as *oauth2.RetrieveError with
// errors.As instead.
var (
	// ErrInvalidConfig is wrapped by every error of [New].
	ErrInvalidConfig = errors.New("clientcreds: invalid config")
	// ErrTokenResponse means the token endpoint answered 2xx with something
	// that is not a usable bearer token, or an oversized body, or a
	// redirect (which is never followed).
	ErrTokenResponse = errors.New("clientcreds: unusable token response")
	// ErrDiscovery means the token endpoint could not be found from
	// Config.Issuer.
	ErrDiscovery = errors.New("clientcreds: discovery failed")
	// ErrInsecureRequest means [Client.Transport] refused to put a token on
	// a plain-http request to a non-loopback host.
	ErrInsecureRequest = errors.New("clientcreds: refusing to send a token over plain http")
)

const (
	redacted        = clientauth.Marker
	maxErrorBodyLen = 4 << 10 // bytes of an error body kept in RetrieveError
)

// sanitize copies a RetrieveError without anything that can carry the
// client's credentials. The original's Response.Request holds the Basic
// header or the form with the secret or assertion; the copy gets a request
// with only the method and URL, a capped and redacted body, and no cookies.
func sanitize(re *oauth2.RetrieveError, r clientauth.Redactor, tokenURL *url.URL) *oauth2.RetrieveError {
	// Redact first, then cut: a cut made first could leave a prefix of a
	// secret that no longer matches any whole spelling. Only a window that
	// can reach the kept part is cleaned.
	body := re.Body
	if window := maxErrorBodyLen + 8*r.Longest(); len(body) > window {
		body = body[:window]
	}
	clean := r.Clean(string(body))
	if len(clean) > maxErrorBodyLen {
		clean = clean[:maxErrorBodyLen]
	}
	out := &oauth2.RetrieveError{
		Body:             []byte(clean),
		ErrorCode:        r.CleanWhole(re.ErrorCode),
		ErrorDescription: r.CleanWhole(re.ErrorDescription),
		ErrorURI:         r.CleanWhole(re.ErrorURI),
	}
	if re.Response == nil {
		return out
	}
	h := http.Header{}
	for k, vs := range re.Response.Header {
		if strings.EqualFold(k, "Set-Cookie") {
			continue
		}
		for _, v := range vs {
			h.Add(k, r.Clean(v))
		}
	}
	u := *tokenURL
	u.User = nil
	out.Response = &http.Response{
		Status:        re.Response.Status,
		StatusCode:    re.Response.StatusCode,
		Proto:         re.Response.Proto,
		ProtoMajor:    re.Response.ProtoMajor,
		ProtoMinor:    re.Response.ProtoMinor,
		Header:        h,
		Body:          http.NoBody,
		ContentLength: 0,
		Request:       &http.Request{Method: http.MethodPost, URL: &u, Header: http.Header{}},
	}
	return out
}
