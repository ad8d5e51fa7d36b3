package clientcreds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/bearerkit/bearerkit/internal/clientauth"
)

// outcome is what one attempt learned beyond its error, to decide whether
// and when to retry.
type outcome struct {
	retry      bool
	retryAfter time.Duration
	hasAfter   bool
}

// fetch obtains a new token, retrying network errors and 5xx answers with
// jittered exponential backoff. Errors never contain the secret.
func (c *Client) fetch(ctx context.Context) (*token, error) {
	var lastErr error
	attempts := 0
	for attempts < c.cfg.MaxAttempts {
		attempts++
		t, o, err := c.attempt(ctx)
		if err == nil {
			return t, nil
		}
		lastErr = err
		if !o.retry || attempts == c.cfg.MaxAttempts || ctx.Err() != nil {
			break
		}
		if c.sleep(ctx, c.backoff(attempts, o)) != nil {
			break
		}
	}
	return nil, fmt.Errorf("clientcreds: token request failed (%d of at most %d attempts): %w",
		attempts, c.cfg.MaxAttempts, lastErr)
}

// backoff returns the wait after the given failed attempt: the server's
// Retry-After when it sent one, else an exponentially growing delay of
// which the upper half is random, so that many clients failing together do
// not retry in step. Both are kept within [MinBackoff, MaxBackoff].
func (c *Client) backoff(attempt int, o outcome) time.Duration {
	lo, hi := c.cfg.MinBackoff, c.cfg.MaxBackoff
	if o.hasAfter {
		return min(max(o.retryAfter, lo), hi)
	}
	d := hi
	if shift := attempt - 1; shift < 32 && lo<<shift > 0 && lo<<shift < hi {
		d = lo << shift
	}
	return d/2 + rand.N(d/2+1)
}

// parseRetryAfter reads delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(maxLifetime/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// attempt makes one token request, and once more when the server demands
// a DPoP nonce it has just sent (RFC 9449 §8).
func (c *Client) attempt(ctx context.Context) (*token, outcome, error) {
	t, o, err := c.request(ctx)
	if err != nil && c.signer != nil && demandsNonce(err) && ctx.Err() == nil {
		return c.request(ctx)
	}
	return t, o, err
}

// request makes one token request through x/oauth2's clientcredentials,
// which builds the RFC 6749 §4.4.2 request and parses the §5.1/§5.2 answer.
func (c *Client) request(ctx context.Context) (*token, outcome, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	tokenURL, retry, err := c.endpoint(actx)
	if err != nil {
		return nil, outcome{retry: retry && ctx.Err() == nil}, err
	}
	start := c.cfg.Now()
	cc := &clientcredentials.Config{
		ClientID:       c.cfg.ClientID,
		ClientSecret:   c.cfg.ClientSecret,
		TokenURL:       tokenURL.String(),
		Scopes:         c.cfg.Scopes,
		EndpointParams: c.cfg.params,
		AuthStyle:      oauth2.AuthStyleInHeader,
	}
	red := c.redact
	switch c.cfg.AuthMethod {
	case ClientSecretPost:
		cc.AuthStyle = oauth2.AuthStyleInParams
	case TLSClientAuth, SelfSignedTLSClientAuth:
		// client_id alone in the form; the TLS handshake proves the rest.
		cc.AuthStyle = oauth2.AuthStyleInParams
	case PrivateKeyJWT:
		// A fresh assertion per request: servers refuse a replayed jti.
		a, err := c.cfg.auth.Assertion(tokenURL.String(), start)
		if err != nil {
			return nil, outcome{}, fmt.Errorf("clientcreds: signing the client assertion: %w", err)
		}
		cc.AuthStyle = oauth2.AuthStyleInParams
		cc.EndpointParams = withAssertion(c.cfg.params, a)
		red = red.With(a)
	}
	rec := &record{tokenRequest: true}
	actx = context.WithValue(actx, recordKey{}, rec)
	actx = context.WithValue(actx, oauth2.HTTPClient, c.tokenHTTP)
	ot, err := cc.Token(actx)
	if err != nil {
		err = describe(err, rec, red, tokenURL)
		c.observe(ctx, tokenURL, start, err)
		return nil, c.classify(ctx, err, rec), err
	}
	t, err := c.accept(ot, start)
	c.observe(ctx, tokenURL, start, err)
	return t, outcome{}, err
}

// observe reports a token request to Hooks.TokenRequest.
func (c *Client) observe(ctx context.Context, tokenURL *url.URL, start time.Time, err error) {
	hook := c.cfg.Hooks.TokenRequest
	if hook == nil {
		return
	}
	e := TokenRequestEvent{Host: tokenURL.Host, Status: http.StatusOK, Duration: c.cfg.Now().Sub(start), Err: err}
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.Response != nil:
		e.Status = re.Response.StatusCode
	case err != nil && !errors.Is(err, ErrTokenResponse):
		e.Status = 0 // no response
	}
	hook(ctx, e)
}

// classify decides whether a failed attempt is worth repeating: 5xx
// answers and transport failures may pass, anything the server decided
// (4xx, 3xx, a bad 2xx body) will not change by asking again.
func (c *Client) classify(ctx context.Context, err error, rec *record) outcome {
	if ctx.Err() != nil {
		return outcome{}
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		if re.Response.StatusCode < 500 {
			return outcome{}
		}
		d, ok := parseRetryAfter(re.Response.Header.Get("Retry-After"), c.cfg.Now())
		return outcome{retry: true, retryAfter: d, hasAfter: ok}
	}
	if rec.tooLarge {
		return outcome{}
	}
	return outcome{retry: rec.failed}
}

// describe turns an attempt's error into one that is safe to show:
// RetrieveErrors are replaced by sanitised copies, and other texts are
// redacted.
func describe(err error, rec *record, red clientauth.Redactor, tokenURL *url.URL) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		clean := sanitize(re, red, tokenURL)
		if s := clean.Response; s != nil && s.StatusCode >= 300 && s.StatusCode < 400 {
			return fmt.Errorf("%w: the token endpoint answered %d; redirects are not followed: %w",
				ErrTokenResponse, s.StatusCode, clean)
		}
		return clean
	}
	if rec.tooLarge {
		return fmt.Errorf("%w: body over %d bytes", ErrTokenResponse, maxResponseBytes)
	}
	// Keep the cause reachable (a *url.Error, context.DeadlineExceeded)
	// unless its text had to be redacted.
	cause := err
	if msg := red.Clean(err.Error()); msg != err.Error() {
		cause = errors.New(msg)
	}
	if rec.failed {
		return cause
	}
	return fmt.Errorf("%w: %w", ErrTokenResponse, cause)
}

// withAssertion returns params plus the assertion, leaving params (shared
// by all attempts) untouched.
func withAssertion(params url.Values, assertion string) url.Values {
	v := make(url.Values, len(params)+2)
	for k, vs := range params {
		v[k] = vs
	}
	v.Set("client_assertion_type", clientauth.AssertionType)
	v.Set("client_assertion", assertion)
	return v
}

// accept checks a 2xx answer and computes when the token expires.
func (c *Client) accept(ot *oauth2.Token, start time.Time) (*token, error) {
	// RFC 6749 §5.1 requires token_type; a missing one is read as Bearer,
	// as x/oauth2 does, since some servers omit it. Any other type (mac,
	// N_A) needs proof this client cannot give. With a DPoP key, only a
	// token bound to it will do (RFC 9449 §5).
	tt := ot.TokenType
	switch {
	case c.signer != nil && !strings.EqualFold(tt, "DPoP"):
		return nil, fmt.Errorf("%w: token_type %.40q is not DPoP: the server did not bind the token to the DPoP key", ErrTokenResponse, tt)
	case c.signer == nil && tt != "" && !strings.EqualFold(tt, "Bearer"):
		return nil, fmt.Errorf("%w: token_type %.40q is not Bearer", ErrTokenResponse, tt)
	}
	if !isB64Token(ot.AccessToken) {
		return nil, fmt.Errorf("%w: access_token is not an RFC 6750 b64token", ErrTokenResponse)
	}
	lifetime := lifetimeOf(ot.Extra("expires_in"))
	expiry := start.Add(lifetime)
	return &token{value: ot.AccessToken, expiry: expiry, refreshAt: expiry.Add(-c.refreshLead(lifetime))}, nil
}

// lifetimeOf reads expires_in (RFC 6749 §5.1). It is counted from when the
// request was sent, so the local expiry is never later than the server's.
// A missing, zero or negative value (some servers send 0 or -1 for "not
// said") gets DefaultLifetime; values over 24 h are clamped to 24 h so a
// bogus huge value cannot pin a token forever. In JSON answers x/oauth2
// already refused values that are not integers (1e12, 3600.5, "abc"); in
// form-encoded ones such values get DefaultLifetime.
func lifetimeOf(v any) time.Duration {
	var secs float64
	switch n := v.(type) {
	case float64: // JSON
		secs = n
	case int64: // form-encoded answers, as x/oauth2 parses them
		secs = float64(n)
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		if err != nil {
			return DefaultLifetime
		}
		secs = float64(i)
	default:
		return DefaultLifetime
	}
	switch {
	case secs <= 0:
		return DefaultLifetime
	case secs >= maxLifetime.Seconds():
		return maxLifetime
	}
	return time.Duration(secs) * time.Second
}

// isB64Token reports whether s may follow "Bearer " (RFC 6750 §2.1). A
// token with spaces, CR or LF would break or inject headers.
func isB64Token(s string) bool {
	i := len(s)
	for i > 0 && s[i-1] == '=' {
		i--
	}
	if i == 0 {
		return false
	}
	for j := 0; j < i; j++ {
		b := s[j]
		ok := b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' ||
			b == '-' || b == '.' || b == '_' || b == '~' || b == '+' || b == '/'
		if !ok {
			return false
		}
	}
	return true
}

// record notes, for one attempt, what the transport saw; x/oauth2 flattens
// body-read errors into text, so the cause cannot be read from its error.
type record struct {
	failed       bool // the request or the body read failed in transit
	tooLarge     bool // the body exceeded maxResponseBytes
	tokenRequest bool // a request to the token endpoint: it gets a DPoP proof
}

type recordKey struct{}

// cappedTransport caps response bodies and records transport failures.
type cappedTransport struct{ base http.RoundTripper }

func (t *cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec, _ := req.Context().Value(recordKey{}).(*record)
	if rec == nil {
		rec = &record{}
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		rec.failed = true
		return nil, err
	}
	resp.Body = &cappedBody{rc: resp.Body, left: maxResponseBytes, rec: rec}
	return resp, nil
}

type cappedBody struct {
	rc   io.ReadCloser
	left int64
	rec  *record
}

var errBodyTooLarge = errors.New("response body too large")

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Read one byte past the cap to tell "exactly at the cap" from
		// "over it".
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			b.rec.tooLarge = true
			return 0, errBodyTooLarge
		}
		if err != nil && err != io.EOF {
			b.rec.failed = true
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if err != nil && err != io.EOF {
		b.rec.failed = true
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
