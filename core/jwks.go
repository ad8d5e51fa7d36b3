package core

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// keyCache fetches and caches the issuer's key set.
//
// Readers load the current set with one atomic read. Fetches run in their
// own goroutine under the cache's lifetime context, never a request's:
// requests that need the result wait on the fetch or their own context,
// whichever ends first, so a caller that gives up never fails the fetch for
// the others. At most one fetch is in flight, and fetches that are not
// forced by an empty or over-stale cache wait out a cooldown counted from
// the last attempt.
type keyCache struct {
	s      *settings
	client *http.Client
	log    *slog.Logger

	set atomic.Pointer[keySet]
	// busy and nextAttempt let background refreshes skip the mutex when a
	// fetch is already running or the cooldown has not passed.
	busy        atomic.Bool
	nextAttempt atomic.Int64 // unix nanoseconds
	gen         atomic.Uint64

	mu          sync.Mutex // guards the fields below; never held during I/O
	call        *fetchCall
	jwksURL     string
	lastAttempt time.Time
	lastErr     error
	closed      bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type fetchCall struct {
	done chan struct{}
	err  error
}

func newKeyCache(s *settings, log *slog.Logger) *keyCache {
	base := s.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	client := *base
	client.Jar = nil
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ctx, cancel := context.WithCancel(context.Background())
	return &keyCache{s: s, client: &client, log: log, jwksURL: s.JWKSURL, ctx: ctx, cancel: cancel}
}

// current returns a key set that is not older than the maximum staleness,
// fetching one (and waiting for it) when there is none. A set past its
// refresh point is returned at once and refreshed in the background.
func (c *keyCache) current(ctx context.Context, now time.Time) (*keySet, error) {
	set := c.set.Load()
	if set != nil && now.Sub(set.fetchedAt) <= c.s.MaxStaleness {
		if !now.Before(set.refreshAt) {
			c.refreshInBackground(now)
		}
		return set, nil
	}
	call := c.begin(now, false, false)
	if call == nil {
		return nil, c.unavailable()
	}
	if err := wait(ctx, call); err != nil {
		return nil, &Error{Reason: ReasonKeySetUnavailable, Cause: err}
	}
	set = c.set.Load()
	if set == nil || now.Sub(set.fetchedAt) > c.s.MaxStaleness {
		return nil, c.unavailable()
	}
	return set, nil
}

// refetch is called for a kid that the current set lacks. It joins a fetch
// in flight or starts a forced one if the cooldown allows, and reports
// whether a fresher set may now hold the key.
//
// seen is the set the caller looked in: when another request has swapped in
// a newer set meanwhile, that one is returned without any fetch.
func (c *keyCache) refetch(ctx context.Context, now time.Time, seen *keySet) (*keySet, bool) {
	// Decided under the mutex: a request must never conclude "cooldown, no
	// fetch in flight" from a state a concurrent begin is halfway through.
	call := c.begin(now, true, false)
	if call == nil {
		if cur := c.set.Load(); cur != seen && cur != nil {
			return cur, true
		}
		return nil, false
	}
	if wait(ctx, call) != nil {
		return nil, false
	}
	return c.set.Load(), true
}

func (c *keyCache) refreshInBackground(now time.Time) {
	if c.busy.Load() || now.UnixNano() < c.nextAttempt.Load() {
		return
	}
	c.begin(now, false, false)
}

// begin joins the fetch in flight or starts one. It returns nil when the
// cooldown forbids a new attempt (unless ignoreCooldown) or the cache is
// closed.
func (c *keyCache) begin(now time.Time, force, ignoreCooldown bool) *fetchCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.call != nil {
		return c.call
	}
	if c.closed {
		return nil
	}
	if !ignoreCooldown && !c.lastAttempt.IsZero() && now.Sub(c.lastAttempt) < c.s.RefetchCooldown {
		return nil
	}
	c.lastAttempt = now
	call := &fetchCall{done: make(chan struct{})}
	c.call = call
	c.busy.Store(true)
	c.nextAttempt.Store(now.Add(c.s.RefetchCooldown).UnixNano())
	c.wg.Add(1)
	go c.run(call, force)
	return call
}

func (c *keyCache) run(call *fetchCall, force bool) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, c.s.FetchTimeout)
	set, err := c.fetch(ctx, force)
	cancel()

	c.mu.Lock()
	if err == nil {
		c.set.Store(set)
		c.lastErr = nil
	} else {
		c.lastErr = err
	}
	c.call = nil
	c.busy.Store(false)
	c.mu.Unlock()

	if err != nil {
		c.log.Warn("bearerkit: key set fetch failed; keeping the last good keys", "error", err.Error())
	} else {
		c.log.Debug("bearerkit: key set loaded", "keys", len(set.keys), "skipped", set.skipped, "refresh_at", set.refreshAt)
	}
	call.err = err
	close(call.done)
}

func wait(ctx context.Context, call *fetchCall) error {
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *keyCache) unavailable() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &Error{Reason: ReasonKeySetUnavailable, Cause: c.lastErr}
}

// fetch discovers the JWKS URL if needed, then downloads and parses the set.
func (c *keyCache) fetch(ctx context.Context, force bool) (*keySet, error) {
	c.mu.Lock()
	jwksURL := c.jwksURL
	c.mu.Unlock()
	if jwksURL == "" {
		u, err := c.discover(ctx)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.jwksURL = u
		c.mu.Unlock()
		jwksURL = u
	}
	body, resp, err := c.get(ctx, jwksURL, "application/jwk-set+json, application/json", force)
	if err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS: HTTP status %d", resp.StatusCode)
	}
	set, err := parseKeySet(body, c.log)
	if err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	now := c.s.Now()
	ttl := c.s.JWKSTTL
	if age, ok := maxAge(resp.Header.Get("Cache-Control")); ok {
		ttl = min(max(age, c.s.JWKSMinTTL), c.s.JWKSMaxTTL)
	}
	// Refresh ahead of the TTL, and well ahead of the maximum staleness
	// when that is the shorter bound, so that a healthy endpoint never lets
	// the set go stale.
	lifetime := min(ttl, c.s.MaxStaleness)
	set.fetchedAt = now
	set.refreshAt = now.Add(lifetime - lifetime/refreshAheadFraction)
	set.gen = c.gen.Add(1)
	return set, nil
}

// get performs one bounded GET: no cookies, no credentials, no redirects,
// the body capped after decompression.
func (c *keyCache) get(ctx context.Context, url, accept string, noCache bool) ([]byte, *http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, errors.New("invalid URL")
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", userAgent)
	if noCache {
		req.Header.Set("Cache-Control", "no-cache")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.s.MaxResponseSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading body: %w", err)
	}
	if int64(len(body)) > c.s.MaxResponseSize {
		return nil, nil, fmt.Errorf("body exceeds %d bytes", c.s.MaxResponseSize)
	}
	return body, resp, nil
}

// prefetch fetches the key set now, ignoring the cooldown, and reports the
// result.
func (c *keyCache) prefetch(ctx context.Context) error {
	call := c.begin(c.s.Now(), true, true)
	if call == nil {
		return errors.New("bearerkit: verifier is closed")
	}
	if err := wait(ctx, call); err != nil {
		return &Error{Reason: ReasonKeySetUnavailable, Cause: err}
	}
	return nil
}

func (c *keyCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// KeySetStatus describes the key cache for health checks and operators.
type KeySetStatus struct {
	Loaded      bool      // a usable key set is cached
	Keys        int       // usable keys in it
	Skipped     int       // JWKS entries skipped as unusable
	FetchedAt   time.Time // when the cached set was fetched
	RefreshAt   time.Time // when it will be refreshed in the background
	LastAttempt time.Time // the last fetch attempt, successful or not
	LastError   error     // the last attempt's error; nil after a success
	JWKSURL     string    // configured or discovered; "" before discovery
}

func (c *keyCache) status() KeySetStatus {
	c.mu.Lock()
	st := KeySetStatus{LastAttempt: c.lastAttempt, LastError: c.lastErr, JWKSURL: c.jwksURL}
	c.mu.Unlock()
	if set := c.set.Load(); set != nil {
		st.Loaded, st.Keys, st.Skipped = true, len(set.keys), set.skipped
		st.FetchedAt, st.RefreshAt = set.fetchedAt, set.refreshAt
	}
	return st
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
