package clientcreds

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/bearerkit/bearerkit/internal/fetch"
)

// HTTPClient returns a new *http.Client that sends the Client's token as
// "Authorization: Bearer" (RFC 6750 §2.1), or as "Authorization: DPoP"
// with a proof when Config.DPoPKey is set. It copies Config.HTTPClient
// (timeout, cookie jar, redirect policy) and wraps its transport with
// [Client.Transport].
func (c *Client) HTTPClient() *http.Client {
	var hc http.Client
	if c.cfg.HTTPClient != nil {
		hc = *c.cfg.HTTPClient
	}
	hc.Transport = c.Transport(nil)
	return &hc
}

// Transport returns an http.RoundTripper that adds the token to requests
// sent through base (nil means Config.HTTPClient's transport, or
// http.DefaultTransport). It
//
//   - leaves a request that already has an Authorization header alone;
//   - adds the token only for the origins described at Config.Origins, so a
//     redirect to another origin never receives it;
//   - with Config.DPoPKey, sends "Authorization: DPoP" and a fresh proof
//     with each request, and answers a 401 DPoP challenge with
//     error="use_dpop_nonce" by sending the request once more with the
//     nonce the server named;
//   - on a 401 whose WWW-Authenticate is a Bearer or DPoP challenge with
//     error="invalid_token" (RFC 6750 §3.1), drops the token, gets a new one
//     and sends the request once more, if its body can be replayed (no body,
//     or GetBody set, as http.NewRequest does for in-memory bodies). Forced
//     refreshes start at most once every 5 s; within that window a request
//     whose token was already replaced by another caller is still retried
//     with the new token, others get the 401.
func (c *Client) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = c.apiBase
	}
	return &transport{c: c, base: base}
}

type transport struct {
	c    *Client
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" {
		return t.base.RoundTrip(req)
	}
	send, err := t.c.mayReceiveToken(req)
	if err != nil || !send {
		if err != nil {
			closeBody(req)
			return nil, err
		}
		return t.base.RoundTrip(req)
	}
	tok, err := t.c.get(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.send(req, tok.value)
	if err != nil {
		return nil, err
	}
	if t.c.signer != nil && resourceDemandsNonce(resp) {
		// The proof lacked the server's nonce (RFC 9449 §9): once more,
		// with the nonce it just sent.
		retry, ok := again(req, resp)
		if !ok {
			return resp, nil
		}
		if resp, err = t.send(retry, tok.value); err != nil {
			return nil, err
		}
	}
	if !rejectsToken(resp) || !replayable(req) {
		return resp, nil
	}
	fresh, ok := t.c.forceRefresh(req.Context(), tok.value)
	if !ok {
		return resp, nil
	}
	retry, ok := again(req, resp)
	if !ok {
		return resp, nil // keep the answer we have rather than fail
	}
	return t.send(retry, fresh.value)
}

// send sends req with the token: as a bearer token, or with the DPoP
// scheme and a fresh proof when the client has a DPoP key.
func (t *transport) send(req *http.Request, tok string) (*http.Response, error) {
	if t.c.signer == nil {
		return t.base.RoundTrip(withToken(req, tok))
	}
	return t.c.sendWithProof(t.base, req, tok)
}

// withToken clones req (a RoundTripper must not change the caller's
// request) and sets the Authorization header.
func withToken(req *http.Request, tok string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// mayReceiveToken applies the origin rule of Config.Origins.
func (c *Client) mayReceiveToken(req *http.Request) (bool, error) {
	if req.URL == nil {
		return false, nil
	}
	o := fetch.Origin(req.URL)
	if len(c.cfg.origins) > 0 {
		return c.cfg.origins[o], nil
	}
	// http.Client links each redirected request to the response that
	// caused it; the first request of the chain names the origin the caller
	// chose.
	first := req
	for first.Response != nil && first.Response.Request != nil && first.Response.Request != first {
		first = first.Response.Request
	}
	if first.URL == nil || fetch.Origin(first.URL) != o {
		return false, nil
	}
	if !strings.EqualFold(req.URL.Scheme, "https") && !fetch.IsLoopback(req.URL.Hostname()) {
		return false, fmt.Errorf("%w to a non-loopback host; list the origin in Config.Origins to allow it", ErrInsecureRequest)
	}
	return true, nil
}

// rejectsToken reports whether resp is a 401 saying the token itself is
// bad, the only case in which a new token can help.
func rejectsToken(resp *http.Response) bool {
	if resp.StatusCode != http.StatusUnauthorized {
		return false
	}
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		if challengeParam(v, "Bearer", "error") == "invalid_token" || challengeParam(v, "DPoP", "error") == "invalid_token" {
			return true
		}
	}
	return false
}

// challengeParam returns the named parameter of the first challenge of the
// given scheme in a WWW-Authenticate value (RFC 9110 §11.6.1), which may
// hold several challenges: scheme [token68 | param *("," param)] separated
// by commas. Scheme and parameter names compare case-insensitively.
func challengeParam(v, scheme, param string) string {
	p := challengeParser{s: v}
	current := ""
	for {
		p.skip(" \t,")
		if p.done() {
			return ""
		}
		name := p.token()
		if name == "" {
			return "" // malformed; give up rather than guess
		}
		p.skip(" \t")
		if !p.peek('=') {
			current = name // a new challenge begins
			continue
		}
		p.i++
		p.skip(" \t")
		var val string
		if p.peek('"') {
			val = p.quoted()
		} else {
			val = p.token()
			for p.peek('=') { // token68 padding, as in "abc=="
				p.i++
			}
		}
		if strings.EqualFold(current, scheme) && strings.EqualFold(name, param) {
			return val
		}
	}
}

type challengeParser struct {
	s string
	i int
}

func (p *challengeParser) done() bool       { return p.i >= len(p.s) }
func (p *challengeParser) peek(b byte) bool { return p.i < len(p.s) && p.s[p.i] == b }

func (p *challengeParser) skip(set string) {
	for p.i < len(p.s) && strings.IndexByte(set, p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *challengeParser) token() string {
	start := p.i
	for p.i < len(p.s) && strings.IndexByte(" \t,=\"", p.s[p.i]) < 0 {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *challengeParser) quoted() string {
	var b strings.Builder
	p.i++ // opening quote
	for p.i < len(p.s) && p.s[p.i] != '"' {
		if p.s[p.i] == '\\' && p.i+1 < len(p.s) {
			p.i++
		}
		b.WriteByte(p.s[p.i])
		p.i++
	}
	p.i++ // closing quote
	return b.String()
}
