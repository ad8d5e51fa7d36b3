package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a verifier clock that moves only when told, so that
// cooldowns are crossed without waiting.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingTransport counts the requests a verifier sends, by URL path,
// and remembers which of them asked caches to revalidate.
type countingTransport struct {
	base http.RoundTripper

	mu      sync.Mutex
	counts  map[string]int
	noCache map[string]int
}

func newCountingTransport() *countingTransport {
	return &countingTransport{base: http.DefaultTransport, counts: map[string]int{}, noCache: map[string]int{}}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.counts[r.URL.Path]++
	if r.Header.Get("Cache-Control") == "no-cache" {
		c.noCache[r.URL.Path]++
	}
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

func (c *countingTransport) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[path]
}

func (c *countingTransport) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.counts {
		n += v
	}
	return n
}

func (c *countingTransport) noCacheCount(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.noCache[path]
}

func (c *countingTransport) client() *http.Client { return &http.Client{Transport: c} }

// tokenRequest is a plain client_credentials request (RFC 6749 §4.4),
// independent of the clientcreds package, so that the verifier scenarios
// do not rest on the client under test.
type tokenRequest struct {
	clientID, secret string
	scopes           []string
	params           url.Values // audience or resource
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// fetchToken posts r to tokenURL with client_secret_basic and returns the
// access token.
func fetchToken(t *testing.T, tokenURL string, r tokenRequest) string {
	t.Helper()
	status, body := postToken(t, tokenURL, r)
	if status != http.StatusOK {
		t.Fatalf("token request for %s: HTTP %d: %s", r.clientID, status, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("token response for %s is not usable (%v): %s", r.clientID, err, body)
	}
	if !strings.EqualFold(tr.TokenType, "bearer") {
		t.Fatalf("token_type = %q, want Bearer", tr.TokenType)
	}
	return tr.AccessToken
}

// tokenErrorCode sends a token request with the basic client of s that the
// server must refuse, and returns the RFC 6749 §5.2 error code.
func tokenErrorCode(t *testing.T, s *authServer, params url.Values) string {
	t.Helper()
	status, body := postToken(t, s.disc.TokenEndpoint, tokenRequest{
		clientID: s.basic.id, secret: s.basic.secret, scopes: []string{readScope}, params: params,
	})
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || status != http.StatusBadRequest {
		t.Errorf("token request: HTTP %d, body %s; want 400 with an error code", status, body)
	}
	return e.Error
}

func postToken(t *testing.T, tokenURL string, r tokenRequest) (int, []byte) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(r.scopes) > 0 {
		form.Set("scope", strings.Join(r.scopes, " "))
	}
	for k, vs := range r.params {
		form[k] = append(form[k], vs...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
	req.SetBasicAuth(url.QueryEscape(r.clientID), url.QueryEscape(r.secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("token response: %v", err)
	}
	return resp.StatusCode, body
}

// jwtParts decodes the header and payload of a compact JWS for shape
// assertions. It does not verify anything: that is the verifier's job.
func jwtParts(t *testing.T, token string) (header, payload map[string]json.RawMessage) {
	t.Helper()
	seg := strings.Split(token, ".")
	if len(seg) != 3 {
		t.Fatalf("token has %d segments, want 3", len(seg))
	}
	decode := func(s string) map[string]json.RawMessage {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("token segment is not base64url: %v", err)
		}
		m := map[string]json.RawMessage{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("token segment is not a JSON object: %v", err)
		}
		return m
	}
	return decode(seg[0]), decode(seg[1])
}

func headerString(t *testing.T, token, name string) string {
	t.Helper()
	h, _ := jwtParts(t, token)
	var s string
	if raw, ok := h[name]; ok {
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("header %q is not a string: %s", name, raw)
		}
	}
	return s
}

// jsonKind names the JSON type of a raw value: "string", "array",
// "number", "object", "bool", "null", or "" when absent.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		return "string"
	case '[':
		return "array"
	case '{':
		return "object"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// tamper flips one bit in the middle of the signature, keeping the
// base64url canonical, so that only the signature check can refuse it.
func tamper(token string) string {
	i := strings.LastIndexByte(token, '.')
	sig := []byte(token[i+1:])
	j := len(sig) / 2
	if sig[j] == 'A' {
		sig[j] = 'B'
	} else {
		sig[j] = 'A'
	}
	return token[:i+1] + string(sig)
}

// getJSON fetches url and decodes the JSON body into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d: %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// sendJSON sends v as JSON and decodes a 2xx answer into out (when not
// nil).
func sendJSON(t *testing.T, method, url string, v, out any) {
	t.Helper()
	var body io.Reader
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, rb)
	}
	if out != nil {
		if err := json.Unmarshal(rb, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, rb)
		}
	}
}

// discovery is the part of an OpenID Provider configuration the suite
// reads.
type discovery struct {
	Issuer                string `json:"issuer"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
}

// jwksPath returns the path of the issuer's JWKS, for request counting.
func (d discovery) jwksPath(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(d.JWKSURI)
	if err != nil {
		t.Fatalf("jwks_uri %q: %v", d.JWKSURI, err)
	}
	return u.Path
}
