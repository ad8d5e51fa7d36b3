package clientcreds

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// Client obtains access tokens with the client credentials grant and keeps
// one token, shared by all callers, fresh. It is safe for concurrent use.
// Make one per (client, audience) and keep it for the life of the process.
type Client struct {
	cfg       *settings
	tokenHTTP *http.Client      // token and discovery requests
	apiBase   http.RoundTripper // base of Transport(nil)
	redact    redactor
	signer    jose.Signer // PrivateKeyJWT only

	// sleep waits between attempts; tests replace it to observe the
	// chosen delays without waiting.
	sleep func(ctx context.Context, d time.Duration) error
	// onWait, when set, runs each time a caller starts waiting for a
	// fetch; tests use it to know every caller is parked.
	onWait func()

	mu         sync.Mutex
	cur        *token     // last good token; kept while valid, even if a refresh fails
	call       *fetchCall // the fetch in flight, if any
	retryAt    time.Time  // no background refresh before this
	lastForced time.Time  // when the last forced refresh began
	tokenURL   *url.URL   // configured or discovered endpoint
}

// token is a cached access token with the times that govern its use.
type token struct {
	value     string
	expiry    time.Time // not handed out at or after this instant
	refreshAt time.Time // replaced in the background from this instant
}

// fetchCall is one token fetch shared by every caller that needs it.
// tok and err are written before done is closed.
type fetchCall struct {
	done chan struct{}
	tok  *token
	err  error
}

// New checks cfg and returns a Client. It does no network I/O: the first
// token (and the discovery document, when only Issuer is set) is fetched on
// first use. Errors wrap [ErrInvalidConfig] and never contain secrets.
func New(cfg Config) (*Client, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: s, redact: newRedactor(s.ClientSecret), sleep: sleepCtx}
	if s.TokenURL != "" {
		c.tokenURL, _ = url.Parse(s.TokenURL) // checked by cfg.check
	}
	if s.AuthMethod == PrivateKeyJWT {
		if c.signer, err = newAssertionSigner(s.PrivateKey, s.alg, s.KeyID); err != nil {
			return nil, configError("PrivateKey cannot sign: %v", err)
		}
	}
	base := http.DefaultTransport
	var timeout time.Duration
	if hc := s.HTTPClient; hc != nil {
		if hc.Transport != nil {
			base = hc.Transport
		}
		timeout = hc.Timeout
	}
	c.apiBase = base
	c.tokenHTTP = &http.Client{
		Transport: &cappedTransport{base: base},
		// A redirect would carry the credentials (or a replayable
		// assertion) somewhere the configuration never named.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       timeout,
	}
	return c, nil
}

// Token returns a valid access token. A cached token is returned at once;
// within the refresh lead before its expiry a replacement is fetched in
// the background while callers keep getting the current one. Without a
// valid token, callers wait for a single shared fetch; a caller whose ctx
// ends stops waiting and gets ctx's error, while the fetch goes on for the
// others. A token is never returned at or after its expiry.
func (c *Client) Token(ctx context.Context) (string, error) {
	t, err := c.get(ctx)
	if err != nil {
		return "", err
	}
	return t.value, nil
}

func (c *Client) get(ctx context.Context) (*token, error) {
	c.mu.Lock()
	now := c.cfg.Now()
	if t := c.cur; t != nil && now.Before(t.expiry) {
		if !now.Before(t.refreshAt) && c.call == nil && !now.Before(c.retryAt) {
			c.startLocked(ctx)
		}
		c.mu.Unlock()
		return t, nil
	}
	call := c.call
	if call == nil {
		call = c.startLocked(ctx)
	}
	c.mu.Unlock()
	return c.wait(ctx, call)
}

// startLocked begins a fetch. The fetch keeps ctx's values (for tracing)
// but not its cancellation: it belongs to every caller, not to the one that
// happened to start it. It is bounded by MaxAttempts and Timeout instead.
func (c *Client) startLocked(ctx context.Context) *fetchCall {
	call := &fetchCall{done: make(chan struct{})}
	c.call = call
	go c.run(context.WithoutCancel(ctx), call)
	return call
}

func (c *Client) run(ctx context.Context, call *fetchCall) {
	t, err := c.fetch(ctx)
	c.mu.Lock()
	if err == nil {
		c.cur, c.retryAt = t, time.Time{}
	} else {
		// The current token, if any, stays: a failed refresh never takes
		// away a token that still works.
		c.retryAt = c.cfg.Now().Add(failedRefreshPause)
	}
	c.call = nil
	call.tok, call.err = t, err
	c.mu.Unlock()
	close(call.done)
}

// wait blocks until call ends or ctx does, whichever is first.
func (c *Client) wait(ctx context.Context, call *fetchCall) (*token, error) {
	if c.onWait != nil {
		c.onWait()
	}
	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("clientcreds: waiting for a token: %w", ctx.Err())
	}
	if call.err != nil {
		return nil, call.err
	}
	if !c.cfg.Now().Before(call.tok.expiry) {
		return nil, fmt.Errorf("%w: the token expired before it could be used", ErrTokenResponse)
	}
	return call.tok, nil
}

// forceRefresh replaces the token sent, which an API has just rejected,
// and returns the new one. It returns false when no different token can be
// had: forced refreshes start at most once per forcedRefreshEvery, so an
// API that rejects every token cannot make the client hammer the token
// endpoint.
func (c *Client) forceRefresh(ctx context.Context, sent string) (*token, bool) {
	c.mu.Lock()
	now := c.cfg.Now()
	if t := c.cur; t != nil && t.value != sent && now.Before(t.expiry) {
		c.mu.Unlock()
		return t, true // another caller already replaced it
	}
	call := c.call
	if call == nil {
		if !c.lastForced.IsZero() && now.Sub(c.lastForced) < forcedRefreshEvery {
			c.mu.Unlock()
			return nil, false
		}
		c.lastForced = now
		if c.cur != nil && c.cur.value == sent {
			c.cur = nil // rejected: no caller should get it again
		}
		call = c.startLocked(ctx)
	}
	c.mu.Unlock()
	t, err := c.wait(ctx, call)
	if err != nil || t.value == sent {
		return nil, false
	}
	return t, true
}

// TokenSource returns an oauth2.TokenSource backed by the Client's cache,
// for code written against golang.org/x/oauth2. Because
// oauth2.TokenSource.Token takes no context, its fetches are bounded only
// by Config.MaxAttempts and Config.Timeout.
func (c *Client) TokenSource() oauth2.TokenSource { return tokenSource{c} }

type tokenSource struct{ c *Client }

func (s tokenSource) Token() (*oauth2.Token, error) {
	t, err := s.c.get(context.Background())
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: t.value, TokenType: "Bearer", Expiry: t.expiry}, nil
}

// refreshLead returns how long before expiry a token of the given lifetime
// is replaced.
func (c *Client) refreshLead(lifetime time.Duration) time.Duration {
	lead := c.cfg.RefreshLead
	if lead == 0 {
		lead = min(max(lifetime/refreshLeadDivisor, minRefreshLead), maxRefreshLead)
	}
	return min(lead, lifetime/2)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
