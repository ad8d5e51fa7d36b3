package core

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bearerkit/bearerkit/internal/fetch"
	"github.com/bearerkit/bearerkit/internal/flight"
)

// keyCache fetches and caches the issuer's key set.
//
// Readers load the current set with one atomic read. Fetches run in their
// own goroutine under the cache's lifetime context, never a request's:
// requests that need the result wait on the fetch or their own context
// (or Config.FetchWait when it has no deadline), whichever ends first, so a caller that
// gives up never fails the fetch for the others. At most one fetch is in
// flight. Fetches caused by requests wait out a cooldown counted from the
// last attempt; while no usable set is held, fetches are instead scheduled
// in the background with capped exponential backoff, and requests are
// answered at once with the time of the next attempt.
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
	call        *flight.Call[*keySet]
	jwksURL     string
	lastAttempt time.Time
	lastErr     error
	failures    int       // consecutive failed attempts
	retryAt     time.Time // the scheduled attempt while no usable set is held
	cancelRetry func() bool
	outage      bool // no usable set, and the outage has been logged
	closed      bool

	// schedule runs fn after d; tests replace it to fire retries by hand.
	schedule func(d time.Duration, fn func()) (stop func() bool)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// fetchKind says why a fetch starts, which decides whether the cooldown
// applies and whether intermediate caches are bypassed.
type fetchKind uint8

const (
	// fetchNeeded: a request found no usable set, or a background refresh
	// is due. The cooldown applies.
	fetchNeeded fetchKind = iota
	// fetchUnknownKid: a token names a kid the set lacks. The cooldown
	// applies, and the request bypasses caches.
	fetchUnknownKid
	// fetchPrefetch: asked for by the application. No cooldown, no caches.
	fetchPrefetch
	// fetchRetry: the scheduled retry of an outage. No cooldown.
	fetchRetry
)

// Outage retries start after retryFirst and double up to the refetch
// cooldown.
const retryFirst = time.Second

func newKeyCache(s *settings, log *slog.Logger) *keyCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &keyCache{
		s: s, client: s.Hooks.observeHTTP(fetch.Client(s.HTTPClient)), log: log, jwksURL: s.JWKSURL,
		ctx: ctx, cancel: cancel,
		schedule: func(d time.Duration, fn func()) func() bool { return time.AfterFunc(d, fn).Stop },
	}
}

// usable reports whether set may verify tokens at now: it exists and is
// not older than the maximum staleness.
func (c *keyCache) usable(set *keySet, now time.Time) bool {
	return set != nil && now.Sub(set.fetchedAt) <= c.s.MaxStaleness
}

// current returns a usable key set, fetching one (and waiting for it) when
// there is none and no outage retry is planned. A set past its refresh
// point is returned at once and refreshed in the background.
func (c *keyCache) current(ctx context.Context, now time.Time) (*keySet, error) {
	set := c.set.Load()
	if c.usable(set, now) {
		if !now.Before(set.refreshAt) {
			c.refreshInBackground(now)
		}
		return set, nil
	}
	call := c.begin(now, fetchNeeded)
	if call == nil {
		return nil, c.unavailable(now, nil)
	}
	if _, err := c.wait(ctx, call); err != nil {
		return nil, c.unavailable(now, err)
	}
	if set = c.set.Load(); !c.usable(set, now) {
		return nil, c.unavailable(now, nil)
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
	call := c.begin(now, fetchUnknownKid)
	if call == nil {
		if cur := c.set.Load(); cur != seen && cur != nil {
			return cur, true
		}
		return nil, false
	}
	if _, err := c.wait(ctx, call); err != nil {
		return nil, false
	}
	return c.set.Load(), true
}

// wait waits for call as long as ctx allows; a ctx without a deadline
// waits at most Config.FetchWait, so that a request from a server without
// timeouts does not hang on a slow key set endpoint.
func (c *keyCache) wait(ctx context.Context, call *flight.Call[*keySet]) (*keySet, error) {
	if set, err, done := call.Result(); done {
		return set, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.s.FetchWait)
		defer cancel()
	}
	return call.Wait(ctx)
}

func (c *keyCache) refreshInBackground(now time.Time) {
	if c.busy.Load() || now.UnixNano() < c.nextAttempt.Load() {
		return
	}
	c.begin(now, fetchNeeded)
}

// begin joins the fetch in flight or starts one of the given kind. It
// returns nil when no fetch may start: the cooldown has not passed, an
// outage retry is planned instead, or the cache is closed.
func (c *keyCache) begin(now time.Time, kind fetchKind) *flight.Call[*keySet] {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.call != nil {
		return c.call
	}
	if c.closed {
		return nil
	}
	switch kind {
	case fetchNeeded, fetchUnknownKid:
		if !c.retryAt.IsZero() {
			return nil // the outage schedule decides
		}
		if !c.lastAttempt.IsZero() && now.Sub(c.lastAttempt) < c.s.RefetchCooldown {
			return nil
		}
	case fetchPrefetch, fetchRetry:
		c.stopRetryLocked()
	}
	c.lastAttempt = now
	call := flight.New[*keySet]()
	c.call = call
	c.busy.Store(true)
	c.nextAttempt.Store(now.Add(c.s.RefetchCooldown).UnixNano())
	c.wg.Add(1)
	go c.run(call, kind == fetchUnknownKid || kind == fetchPrefetch)
	return call
}

func (c *keyCache) run(call *flight.Call[*keySet], noCache bool) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, c.s.FetchTimeout)
	set, err := c.fetch(ctx, noCache)
	cancel()
	now := c.s.Now()

	c.mu.Lock()
	c.call = nil
	c.busy.Store(false)
	var recovered, outageBegins bool
	var retryIn time.Duration
	if err == nil {
		c.set.Store(set)
		c.lastErr, c.failures = nil, 0
		c.stopRetryLocked()
		recovered, c.outage = c.outage, false
	} else {
		c.lastErr = err
		c.failures++
		if !c.usable(c.set.Load(), now) && !c.closed {
			retryIn = c.retryDelay()
			c.scheduleRetryLocked(now, retryIn)
			outageBegins, c.outage = !c.outage, true
		}
	}
	failures := c.failures
	c.mu.Unlock()

	c.report(set, err, recovered, outageBegins, retryIn, failures)
	call.Finish(set, err)
}

// report logs the outcome of a fetch and tells the KeySet hook.
func (c *keyCache) report(set *keySet, err error, recovered, outageBegins bool, retryIn time.Duration, failures int) {
	e := KeySetEvent{Issuer: c.s.hookIssuer, Err: err}
	switch {
	case err == nil && recovered:
		c.log.Info("bearerkit: key set recovered", "keys", len(set.keys), "skipped", set.skipped)
		e.State, e.Keys = KeySetRecovered, len(set.keys)
	case err == nil:
		c.log.Debug("bearerkit: key set loaded", "keys", len(set.keys), "skipped", set.skipped, "refresh_at", set.refreshAt)
		e.State, e.Keys = KeySetLoaded, len(set.keys)
	case outageBegins:
		c.log.Warn("bearerkit: no usable signing keys; requests get 503 until a fetch succeeds",
			"error", err.Error(), "retry_in", retryIn)
		e.State, e.Retry = KeySetUnavailable, retryIn
	case retryIn > 0:
		c.log.Debug("bearerkit: key set fetch failed again", "error", err.Error(), "failures", failures, "retry_in", retryIn)
		e.State, e.Retry = KeySetUnavailable, retryIn
	default:
		c.log.Warn("bearerkit: key set refresh failed; keeping the last good keys", "error", err.Error())
		e.State = KeySetStale
		if cur := c.set.Load(); cur != nil {
			e.Keys = len(cur.keys)
		}
	}
	if c.s.Hooks.KeySet != nil {
		c.s.Hooks.KeySet(e)
	}
}

// retryDelay is the wait before the next outage retry: retryFirst after the
// first failure, doubling up to the refetch cooldown, of which the last
// quarter is random so that replicas do not retry in step.
func (c *keyCache) retryDelay() time.Duration {
	d := c.s.RefetchCooldown
	if shift := c.failures - 1; shift < 16 && retryFirst<<shift < d {
		d = retryFirst << shift
	}
	return d - rand.N(d/4+1)
}

func (c *keyCache) scheduleRetryLocked(now time.Time, d time.Duration) {
	c.stopRetryLocked()
	c.retryAt = now.Add(d)
	c.cancelRetry = c.schedule(d, func() { c.begin(c.s.Now(), fetchRetry) })
}

func (c *keyCache) stopRetryLocked() {
	if c.cancelRetry != nil {
		c.cancelRetry()
		c.cancelRetry = nil
	}
	c.retryAt = time.Time{}
}

// unavailable returns the error for a request that has no usable key set,
// with the time until the next fetch attempt for Retry-After.
func (c *keyCache) unavailable(now time.Time, waitErr error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cause := c.lastErr
	if waitErr != nil {
		cause = waitErr
	}
	var next time.Time
	switch {
	case c.call != nil:
		next = now // a fetch is running: its result may come any moment
	case !c.retryAt.IsZero():
		next = c.retryAt
	case !c.lastAttempt.IsZero():
		next = c.lastAttempt.Add(c.s.RefetchCooldown)
	}
	return &Error{Reason: ReasonKeySetUnavailable, Cause: cause, RetryAfter: max(next.Sub(now), 0)}
}

// fetch discovers the JWKS URL if needed, then downloads and parses the set.
func (c *keyCache) fetch(ctx context.Context, noCache bool) (*keySet, error) {
	c.mu.Lock()
	jwksURL := c.jwksURL
	c.mu.Unlock()
	if jwksURL == "" {
		dctx := ctx
		if c.s.Hooks.Fetch != nil {
			dctx = fetch.WithKind(ctx, string(FetchDiscovery))
		}
		md, err := fetch.Discover(dctx, c.client, c.s.Issuer, c.s.MaxResponseSize)
		if err != nil {
			return nil, err
		}
		if md.JWKSURI == "" {
			return nil, errors.New("discovery: the document has no jwks_uri")
		}
		if err := fetch.CheckURL(md.JWKSURI, c.s.AllowInsecureHTTP); err != nil {
			return nil, fmt.Errorf("discovery: jwks_uri: %w", err)
		}
		jwksURL = md.JWKSURI
		c.mu.Lock()
		c.jwksURL = jwksURL
		c.mu.Unlock()
	}
	if c.s.Hooks.Fetch != nil {
		ctx = fetch.WithKind(ctx, string(FetchJWKS))
	}
	resp, err := fetch.Get(ctx, c.client, fetch.Request{
		URL: jwksURL, Accept: "application/jwk-set+json, application/json",
		NoCache: noCache, MaxBody: c.s.MaxResponseSize,
	})
	if err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	set, err := parseKeySet(resp.Body, c.log)
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

// prefetch fetches the key set now, ignoring the cooldown, and reports the
// result. It waits as long as ctx allows.
func (c *keyCache) prefetch(ctx context.Context) error {
	call := c.begin(c.s.Now(), fetchPrefetch)
	if call == nil {
		return errors.New("bearerkit: verifier is closed")
	}
	if _, err := call.Wait(ctx); err != nil {
		return &Error{Reason: ReasonKeySetUnavailable, Cause: err}
	}
	return nil
}

func (c *keyCache) close() {
	c.mu.Lock()
	c.closed = true
	c.stopRetryLocked()
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
