package clientcreds

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/bearerkit/bearerkit/dpop"
	"github.com/bearerkit/bearerkit/internal/clientauth"
	"github.com/bearerkit/bearerkit/internal/fetch"
	"github.com/bearerkit/bearerkit/internal/flight"
)

// Client obtains access tokens with the client credentials grant and keeps
// one token, shared by all callers, fresh. It is safe for concurrent use.
// Make one per (client, audience) and keep it for the life of the process;
// [Client.Close] stops its background work.
type Client struct {
	cfg       *settings
	tokenHTTP *http.Client      // token and discovery requests
	apiBase   http.RoundTripper // base of Transport(nil)
	redact    clientauth.Redactor
	log       *slog.Logger
	signer    *dpop.Signer // nil unless Config.DPoPKey
	nonces    nonceBook    // DPoP nonces servers sent, by origin

	// sleep waits between attempts; tests replace it to observe the
	// chosen delays without waiting.
	sleep func(ctx context.Context, d time.Duration) error
	// onWait, when set, runs each time a caller starts waiting for a
	// fetch; tests use it to know every caller is parked.
	onWait func()

	mu         sync.Mutex
	cur        *token               // last good token; kept while valid, even if a refresh fails
	call       *flight.Call[*token] // the fetch in flight, if any
	failures   int                  // consecutive failed fetches
	lastErr    error                // the last fetch's error, nil after a success
	pauseUntil time.Time            // no fetch before this, after a failure
	lastForced time.Time            // when the last forced refresh began
	tokenURL   *url.URL             // configured or discovered endpoint
	closed     bool

	life   context.Context // ends with Close; every fetch runs under it
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// token is a cached access token with the times that govern its use.
type token struct {
	value     string
	expiry    time.Time // not handed out at or after this instant
	refreshAt time.Time // replaced in the background from this instant
}

// ErrClosed is returned by a [Client] after [Client.Close].
var ErrClosed = errors.New("clientcreds: client is closed")

// New checks cfg and returns a Client. It does no network I/O: the first
// token (and the discovery document, when only Issuer is set) is fetched on
// first use. Errors wrap [ErrInvalidConfig] and never contain secrets.
func New(cfg Config) (*Client, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: s, redact: clientauth.NewRedactor(s.ClientID, s.ClientSecret), sleep: sleepCtx, log: s.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if s.TokenURL != "" {
		c.tokenURL, _ = url.Parse(s.TokenURL) // checked by cfg.check
	}
	base := http.DefaultTransport
	var timeout time.Duration
	if hc := s.HTTPClient; hc != nil {
		if hc.Transport != nil {
			base = hc.Transport
		}
		timeout = hc.Timeout
	}
	if s.Certificate != nil {
		// Checked by cfg.check: nil or an *http.Transport.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if t, ok := base.(*http.Transport); ok {
			tr = t.Clone()
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{*s.Certificate}
		base = tr
	}
	if s.DPoPKey != nil {
		if c.signer, err = dpop.NewSigner(s.DPoPKey); err != nil {
			return nil, configError("DPoPKey: %v", err)
		}
	}
	c.apiBase = base
	c.tokenHTTP = &http.Client{
		Transport: &cappedTransport{base: &tokenProofs{c: c, base: base}},
		// A redirect would carry the credentials (or a replayable
		// assertion) somewhere the configuration never named.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       timeout,
	}
	c.life, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// Token returns a valid access token. A cached token is returned at once;
// within the refresh lead before its expiry a replacement is fetched in
// the background while callers keep getting the current one. Without a
// valid token, callers wait for a single shared fetch; a caller whose ctx
// ends stops waiting and gets ctx's error, while the fetch goes on for the
// others. A token is never returned at or after its expiry.
//
// After a failed fetch, no new one starts for a while (see the package
// documentation, "Failures and retries"): callers in that window get the
// last error at once.
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
		if !now.Before(t.refreshAt) && c.call == nil && !now.Before(c.pauseUntil) && !c.closed {
			c.startLocked(ctx)
		}
		c.mu.Unlock()
		return t, nil
	}
	call := c.call
	if call == nil {
		if err := c.refusedLocked(now); err != nil {
			c.mu.Unlock()
			return nil, err
		}
		call = c.startLocked(ctx)
	}
	c.mu.Unlock()
	return c.wait(ctx, call)
}

// refusedLocked returns why no fetch may start now, if one may not.
func (c *Client) refusedLocked(now time.Time) error {
	if c.closed {
		return ErrClosed
	}
	if now.Before(c.pauseUntil) {
		return &pausedError{err: c.lastErr, failures: c.failures, until: c.pauseUntil, now: now}
	}
	return nil
}

// pausedError is the last fetch's error, returned without a new request
// while failures are paced.
type pausedError struct {
	err        error
	failures   int
	until, now time.Time
}

func (e *pausedError) Error() string {
	return fmt.Sprintf("%v (%d failed token requests in a row; the next may start in %v)",
		e.err, e.failures, e.until.Sub(e.now).Round(time.Millisecond))
}

func (e *pausedError) Unwrap() error { return e.err }

// startLocked begins a fetch. The fetch keeps ctx's values (for tracing)
// but not its cancellation: it belongs to every caller, not to the one that
// happened to start it. It is bounded by MaxAttempts and Timeout instead,
// and ended by Close.
func (c *Client) startLocked(ctx context.Context) *flight.Call[*token] {
	call := flight.New[*token]()
	c.call = call
	c.wg.Add(1)
	go c.run(context.WithoutCancel(ctx), call)
	return call
}

func (c *Client) run(ctx context.Context, call *flight.Call[*token]) {
	defer c.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.life, cancel)
	t, err := c.fetch(ctx)
	stop()
	cancel()

	c.mu.Lock()
	now := c.cfg.Now()
	failures, held := c.failures, c.cur != nil && now.Before(c.cur.expiry)
	if err == nil {
		c.cur, c.failures, c.lastErr, c.pauseUntil = t, 0, nil, time.Time{}
	} else {
		// The current token, if any, stays: a failed refresh never takes
		// away a token that still works.
		c.failures++
		c.lastErr = err
		c.pauseUntil = now.Add(pause(err, c.failures))
	}
	next := c.pauseUntil
	c.call = nil
	c.mu.Unlock()

	switch {
	case err == nil && failures > 0:
		c.log.Info("clientcreds: token request succeeded again", "client_id", c.cfg.ClientID, "failures", failures)
	case err == nil:
	case failures == 0 && held:
		c.log.Warn("clientcreds: token refresh failed; the current token is used until it expires",
			"client_id", c.cfg.ClientID, "error", err.Error(), "next_attempt", next)
	case failures == 0:
		c.log.Warn("clientcreds: token request failed", "client_id", c.cfg.ClientID, "error", err.Error(), "next_attempt", next)
	default:
		c.log.Debug("clientcreds: token request failed again", "client_id", c.cfg.ClientID,
			"error", err.Error(), "failures", failures+1, "next_attempt", next)
	}
	call.Finish(t, err)
}

// Pacing after failed fetches: the pause doubles with each failure in a
// row, from a base that depends on what failed, up to a cap.
const (
	pauseTransient    = time.Second // network errors, 5xx, 429
	pauseTransientMax = 30 * time.Second
	pauseRefused      = 10 * time.Second // 4xx and unusable answers: the server said no
	pauseRefusedMax   = 5 * time.Minute
)

// pause is how long no fetch starts after the failures-th failure in a row.
func pause(err error, failures int) time.Duration {
	base, cap := pauseRefused, pauseRefusedMax
	if transient(err) {
		base, cap = pauseTransient, pauseTransientMax
	}
	if shift := failures - 1; shift < 16 && base<<shift < cap {
		return base << shift
	}
	return cap
}

// transient reports whether err is one that asking again soon may cure.
func transient(err error) bool {
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.Response != nil:
		code := re.Response.StatusCode
		return code >= 500 || code == http.StatusTooManyRequests
	case errors.Is(err, ErrDiscovery):
		return fetch.IsTemporary(err)
	}
	return !errors.Is(err, ErrTokenResponse)
}

// wait blocks until call ends or ctx does, whichever is first.
func (c *Client) wait(ctx context.Context, call *flight.Call[*token]) (*token, error) {
	if c.onWait != nil {
		c.onWait()
	}
	t, err := call.Wait(ctx)
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return nil, fmt.Errorf("clientcreds: waiting for a token: %w", err)
	case err != nil:
		return nil, err
	case !c.cfg.Now().Before(t.expiry):
		return nil, fmt.Errorf("%w: the token expired before it could be used", ErrTokenResponse)
	}
	return t, nil
}

// forceRefresh replaces the token sent, which an API has just rejected,
// and returns the new one. It returns false when no different token can be
// had: forced refreshes start at most once per forcedRefreshEvery and not
// while failures are paced, so an API that rejects every token cannot make
// the client hammer the token endpoint.
func (c *Client) forceRefresh(ctx context.Context, sent string) (*token, bool) {
	c.mu.Lock()
	now := c.cfg.Now()
	if t := c.cur; t != nil && t.value != sent && now.Before(t.expiry) {
		c.mu.Unlock()
		return t, true // another caller already replaced it
	}
	call := c.call
	if call == nil {
		if c.refusedLocked(now) != nil || (!c.lastForced.IsZero() && now.Sub(c.lastForced) < forcedRefreshEvery) {
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

// Close stops the Client's background work: a fetch in flight is
// cancelled and waited for. Afterwards Token, the TokenSource and the
// HTTP client fail with [ErrClosed] once the cached token expires, and no
// fetch starts.
func (c *Client) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// Status describes the Client's token and recent failures, for health
// checks and operators. It holds no token or secret.
type Status struct {
	HasToken    bool      // a token is held and has not expired
	Expiry      time.Time // of the held token
	RefreshAt   time.Time // when the held token is replaced in the background
	Failures    int       // token requests failed in a row
	LastError   error     // the last fetch's error, redacted; nil after a success
	NextAttempt time.Time // no token request before this, after a failure
	Closed      bool
}

// Status reports the Client's state.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Status{Failures: c.failures, LastError: c.lastErr, NextAttempt: c.pauseUntil, Closed: c.closed}
	if t := c.cur; t != nil && c.cfg.Now().Before(t.expiry) {
		st.HasToken, st.Expiry, st.RefreshAt = true, t.expiry, t.refreshAt
	}
	return st
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
