package clientcreds

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"

	"golang.org/x/oauth2"

	"github.com/bearerkit/bearerkit/internal/fetch"
)

// This file holds the client side of DPoP (RFC 9449): proofs on token
// requests and API calls, and the nonces servers demand in them.

// maxNonceOrigins bounds the nonces kept: one per origin the client has
// talked to. When full, the book starts over; a server whose nonce was
// dropped asks again.
const maxNonceOrigins = 256

// nonceBook holds the last DPoP-Nonce each origin sent (§8, §9).
type nonceBook struct {
	mu sync.Mutex
	m  map[string]string
}

func (b *nonceBook) get(u *url.URL) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[fetch.Origin(u)]
}

// note keeps the DPoP-Nonce of resp, if it sent one.
func (b *nonceBook) note(u *url.URL, resp *http.Response) {
	n := resp.Header.Get("DPoP-Nonce")
	if !validNonce(n) {
		return // a proof could not carry it: keep the last good one
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil || len(b.m) >= maxNonceOrigins {
		b.m = map[string]string{}
	}
	b.m[fetch.Origin(u)] = n
}

// validNonce reports whether n is a nonce a proof can carry (RFC 9449
// §8.1: 1*NQCHAR), of a sane length.
func validNonce(n string) bool {
	if n == "" || len(n) > 512 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// withProof clones req with a fresh DPoP proof for it: accessToken is ""
// for a token request, or the token the request carries (hashed in ath).
func (c *Client) withProof(req *http.Request, accessToken string) (*http.Request, error) {
	proof, err := c.signer.Proof(req.Method, req.URL.String(), accessToken, c.nonces.get(req.URL))
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("DPoP", proof)
	if accessToken != "" {
		r.Header.Set("Authorization", "DPoP "+accessToken)
	}
	return r, nil
}

// again returns a copy of req to send once more, with its body rewound,
// after closing resp; ok is false when the body cannot be replayed.
func again(req *http.Request, resp *http.Response) (*http.Request, bool) {
	if !replayable(req) {
		return nil, false
	}
	r := req.Clone(req.Context())
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return nil, false
		}
		r.Body = body
	}
	// Drain a little so the connection can be reused, then drop it.
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
	return r, true
}

// tokenProofs adds a DPoP proof to token requests when the client has a
// DPoP key, and notes the nonces the authorization server sends. A nonce
// demand (§8: 400 use_dpop_nonce) is answered by the fetch, which makes
// the whole request again: a private_key_jwt assertion must not be sent
// twice.
type tokenProofs struct {
	c    *Client
	base http.RoundTripper
}

func (t *tokenProofs) RoundTrip(req *http.Request) (*http.Response, error) {
	rec, _ := req.Context().Value(recordKey{}).(*record)
	if t.c.signer == nil || rec == nil || !rec.tokenRequest {
		return t.base.RoundTrip(req)
	}
	return t.c.sendWithProof(t.base, req, "")
}

// sendWithProof sends req through base with a fresh proof (and the DPoP
// scheme when accessToken is set), and keeps the nonce the server sends.
func (c *Client) sendWithProof(base http.RoundTripper, req *http.Request, accessToken string) (*http.Response, error) {
	r, err := c.withProof(req, accessToken)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := base.RoundTrip(r)
	if err == nil {
		c.nonces.note(req.URL, resp)
	}
	return resp, err
}

// demandsNonce reports whether a token request failed for want of the
// server's DPoP nonce.
func demandsNonce(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "use_dpop_nonce"
}

// resourceDemandsNonce reports whether an API's answer is a nonce demand
// (§9: 401 with a DPoP challenge holding error="use_dpop_nonce").
func resourceDemandsNonce(resp *http.Response) bool {
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("DPoP-Nonce") == "" {
		return false
	}
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		if challengeParam(v, "DPoP", "error") == "use_dpop_nonce" {
			return true
		}
	}
	return false
}
