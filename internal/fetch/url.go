// Package fetch holds the rules for every request bearerkit makes on its
// own behalf — discovery documents, key sets, token and introspection
// endpoints — so that core, clientcreds and introspect apply one policy:
// which URLs may be used, how a bounded GET is made, and how authorization
// server metadata is found and checked.
package fetch

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// CheckURL accepts an absolute URL without user info or fragment whose
// scheme is https, or http on a loopback host (or anywhere when insecure is
// set). Anything else would send credentials or trust over a channel an
// attacker on the path can read or change.
func CheckURL(raw string, insecure bool) error {
	_, err := parse(raw, insecure)
	return err
}

// CheckIssuer applies [CheckURL] to an issuer identifier that discovery
// documents are looked up under; it may carry no query either (RFC 8414
// §2, OpenID Connect Discovery §4.1).
func CheckIssuer(raw string, insecure bool) error {
	u, err := parse(raw, insecure)
	if err != nil {
		return err
	}
	if u.RawQuery != "" || u.ForceQuery {
		return errors.New("an issuer identifier has no query")
	}
	return nil
}

func parse(raw string, insecure bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a valid URL")
	}
	if u.Host == "" || !u.IsAbs() {
		return nil, errors.New("not an absolute URL")
	}
	if u.User != nil || strings.Contains(raw, "#") {
		return nil, errors.New("a URL with user info or a fragment is not accepted")
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if insecure || IsLoopback(u.Hostname()) {
			return u, nil
		}
		return nil, errors.New("http is allowed only for loopback hosts")
	}
	return nil, errors.New("the scheme must be https")
}

// IsLoopback recognises loopback hosts by name or address only: resolving
// a name here would let DNS decide whether secrets travel in clear.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Origin returns scheme://host:port with the default port made explicit
// and case folded, so equal origins (RFC 6454) compare equal as strings.
func Origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
