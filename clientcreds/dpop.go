package clientcreds

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"

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
	if n == "" || len(n) > 512 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil || len(b.m) >= maxNonceOrigins {
		b.m = map[string]string{}
	}
	b.m[fetch.Origin(u)] = n
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
// DPoP key, and answers one nonce demand of the authorization server
// (§8: 400 use_dpop_nonce with a DPoP-Nonce header) by sending the
// request again with the nonce.
type tokenProofs struct {
	c    *Client
	base http.RoundTripper
}

func (t *tokenProofs) RoundTrip(req *http.Request) (*http.Response, error) {
	rec, _ := req.Context().Value(recordKey{}).(*record)
	if t.c.signer == nil || rec == nil || !rec.tokenRequest {
		return t.base.RoundTrip(req)
	}
	resp, err := t.send(req)
	if err != nil || !t.demandsNonce(resp) {
		return resp, err
	}
	retry, ok := again(req, resp)
	if !ok {
		return resp, nil
	}
	return t.send(retry)
}

func (t *tokenProofs) send(req *http.Request) (*http.Response, error) {
	r, err := t.c.withProof(req, "")
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		t.c.nonces.note(req.URL, resp)
	}
	return resp, err
}

// demandsNonce reports whether a token endpoint's answer is a nonce
// demand. It reads at most 4 KiB of a 400 body with a DPoP-Nonce header,
// and puts back what it read.
func (t *tokenProofs) demandsNonce(resp *http.Response) bool {
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("DPoP-Nonce") == "" {
		return false
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	var e struct {
		Error string `json:"error"`
	}
	return json.Unmarshal(head, &e) == nil && e.Error == "use_dpop_nonce"
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
