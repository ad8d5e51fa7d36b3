package clientcreds

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
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
	redacted        = "[redacted]"
	maxErrorBodyLen = 4 << 10 // bytes of an error body kept in RetrieveError
)

// redactor removes known credentials from text that came back from a
// server: a confused or hostile endpoint may echo what it was sent.
type redactor []string

func newRedactor(secret string) redactor {
	if secret == "" {
		return nil
	}
	r := redactor{secret}
	if q := url.QueryEscape(secret); q != secret {
		r = append(r, q)
	}
	if p := url.PathEscape(secret); p != secret {
		r = append(r, p)
	}
	return r
}

func (r redactor) with(s string) redactor {
	if s == "" {
		return r
	}
	return append(append(redactor(nil), r...), s)
}

func (r redactor) clean(s string) string {
	for _, secret := range r {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	return s
}

// sanitize copies a RetrieveError without anything that can carry the
// client's credentials. The original's Response.Request holds the Basic
// header or the form with the secret or assertion; the copy gets a request
// with only the method and URL, a capped and redacted body, and no cookies.
func sanitize(re *oauth2.RetrieveError, r redactor, tokenURL *url.URL) *oauth2.RetrieveError {
	body := re.Body
	if len(body) > maxErrorBodyLen {
		body = body[:maxErrorBodyLen]
	}
	out := &oauth2.RetrieveError{
		Body:             []byte(r.clean(string(body))),
		ErrorCode:        r.clean(re.ErrorCode),
		ErrorDescription: r.clean(re.ErrorDescription),
		ErrorURI:         r.clean(re.ErrorURI),
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
			h.Add(k, r.clean(v))
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
