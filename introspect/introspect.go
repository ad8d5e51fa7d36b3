package introspect

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/internal/cache"
	"github.com/bearerkit/bearerkit/internal/clientauth"
	"github.com/bearerkit/bearerkit/internal/fetch"
	"github.com/bearerkit/bearerkit/internal/flight"
)

// Introspector verifies opaque access tokens by asking the authorization
// server (RFC 7662). It implements core.TokenVerifier, so core.Middleware,
// ginauth, echoauth and RequireScope work with it unchanged. It is safe for
// concurrent use; [Introspector.Close] stops it.
type Introspector struct {
	s      *settings
	client *http.Client
	redact clientauth.Redactor
	cache  *cache.Cache[[sha256.Size]byte, *answer] // nil when off
	jwt    *core.Verifier                           // RFC 9701 responses only
	slots  chan struct{}                            // one per request in flight

	mu         sync.Mutex
	inflight   map[[sha256.Size]byte]*flight.Call[*answer]
	endpoint   string    // configured or discovered
	failures   int       // failed requests in a row
	lastErr    error     // of the last failed request
	pauseUntil time.Time // no request before this, after a failure
	closed     bool

	life   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// answer is what the endpoint said about one token, as cached.
type answer struct {
	claims *core.Claims // nil: inactive
	err    error        // a refusal that is the same whatever the request (claim types)
	until  time.Time    // when the cache entry ends
	size   int          // bytes of the response the claims keep alive
}

// New checks cfg and returns an Introspector. It does no network I/O.
func New(cfg Config) (*Introspector, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	client := fetch.Client(s.HTTPClient)
	if hook := s.Hooks.Fetch; hook != nil {
		red := clientauth.NewRedactor(s.ClientID, s.ClientSecret)
		client = fetch.Observe(client, func(ctx context.Context, o fetch.Observation) {
			err := o.Err
			if err != nil {
				if msg := red.Clean(err.Error()); msg != err.Error() {
					err = errors.New(msg) // a transport may quote what it sent
				}
			}
			hook(ctx, core.FetchEvent{Kind: core.FetchKind(o.Kind), Host: o.URL.Host, Status: o.Status, Bytes: o.Bytes, Duration: o.Duration, Err: err})
		})
	}
	in := &Introspector{
		s: s, client: client, endpoint: s.URL,
		redact:   clientauth.NewRedactor(s.ClientID, s.ClientSecret),
		slots:    make(chan struct{}, s.MaxInFlight),
		inflight: map[[sha256.Size]byte]*flight.Call[*answer]{},
	}
	if !s.noCache {
		in.cache = cache.New[[sha256.Size]byte, *answer](s.CacheSize, s.CacheBytes,
			func(k [sha256.Size]byte) uint64 { return binary.LittleEndian.Uint64(k[:8]) })
		if hook := s.Hooks.CacheEviction; hook != nil {
			in.cache.OnEvict = func(n int) { hook(core.EvictionEvent{Cache: "introspection", Entries: n}) }
		}
	}
	if s.JWTResponses {
		if in.jwt, err = core.New(core.Config{Issuer: s.Issuer, HTTPClient: s.HTTPClient, Now: s.Now,
			AllowInsecureHTTP: s.AllowInsecureHTTP, Logger: s.Logger, TokenCacheSize: -1,
			Hooks: core.Hooks{Fetch: s.Hooks.Fetch, KeySet: s.Hooks.KeySet}}); err != nil {
			return nil, fmt.Errorf("introspect: %w", err)
		}
	}
	in.life, in.cancel = context.WithCancel(context.Background())
	return in, nil
}

// Verify introspects token (or serves the cached answer) and returns its
// claims. The answer must say active: true (JSON true, nothing else); its
// iss, when present, must be Config.Issuer; its aud must contain one of
// the audiences (unless Config.AudienceOptional and there is none); exp and
// nbf, when present, must hold the token valid now. A token the server
// does not vouch for matches core.ErrInvalidToken (reason inactive); an
// endpoint that fails, hangs or answers something unusable matches
// core.ErrUnavailable (503 with Retry-After in every adapter) and is never
// remembered as inactive.
func (in *Introspector) Verify(ctx context.Context, token string, audience ...string) (*core.Claims, error) {
	hook := in.s.Hooks.Verification
	if hook == nil {
		c, _, err := in.verify(ctx, token, audience)
		return c, err
	}
	start := time.Now()
	c, cached, err := in.verify(ctx, token, audience)
	hook(ctx, core.VerificationEvent{Issuer: in.s.Issuer, Verifier: "introspection", Result: core.ResultOf(err),
		Reason: core.ReasonOf(err), Cached: cached, Duration: time.Since(start)})
	return c, err
}

// verify is Verify, also telling whether the answer came from the cache.
func (in *Introspector) verify(ctx context.Context, token string, audience []string) (*core.Claims, bool, error) {
	if !validAudience(audience) {
		return nil, false, errNoAudience
	}
	if len(token) > in.s.MaxTokenSize {
		return nil, false, errOversize
	}
	if !b64token(token) {
		return nil, false, errMalformed
	}
	key := sha256.Sum256([]byte(token))
	now := in.s.Now()
	if in.cache != nil {
		if a, ok := in.cache.Get(key); ok && now.Before(a.until) {
			c, err := in.accept(ctx, a, now, audience)
			return c, true, err
		}
	}
	a, err := in.lookup(ctx, key, token)
	if err != nil {
		return nil, false, err
	}
	c, err := in.accept(ctx, a, now, audience)
	return c, false, err
}

// lookup asks the endpoint about token, once however many requests need
// the answer at the same time.
func (in *Introspector) lookup(ctx context.Context, key [sha256.Size]byte, token string) (*answer, error) {
	in.mu.Lock()
	call := in.inflight[key]
	if call == nil {
		if err := in.refusedLocked(); err != nil {
			in.mu.Unlock()
			return nil, err
		}
		select {
		case in.slots <- struct{}{}:
		default:
			in.mu.Unlock()
			return nil, unavailable(errors.New("too many introspection requests in flight"), time.Second)
		}
		call = flight.New[*answer]()
		in.inflight[key] = call
		in.wg.Add(1)
		go in.run(context.WithoutCancel(ctx), key, token, call)
	}
	in.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, in.s.FetchWait)
		defer cancel()
	}
	a, err := call.Wait(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil, unavailable(err, 0)
	}
	return a, err
}

// refusedLocked says why no request may start now, if one may not: the
// Introspector is closed, or the endpoint failed recently.
func (in *Introspector) refusedLocked() error {
	now := in.s.Now()
	switch {
	case in.closed:
		return unavailable(errors.New("introspector is closed"), 0)
	case now.Before(in.pauseUntil):
		return unavailable(in.lastErr, in.pauseUntil.Sub(now))
	}
	return nil
}

func (in *Introspector) run(ctx context.Context, key [sha256.Size]byte, token string, call *flight.Call[*answer]) {
	defer in.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(in.life, cancel)
	a, err := in.introspect(ctx, token)
	stop()
	cancel()
	<-in.slots

	now := in.s.Now()
	if err == nil {
		a.until = now.Add(in.s.NegativeTTL)
		if a.claims != nil {
			a.until = now.Add(in.s.CacheTTL)
			if exp := a.claims.Expiry; !exp.IsZero() && exp.Before(a.until) {
				a.until = exp
			}
		}
		// Cached before the call leaves the in-flight map, so that a
		// request arriving in between finds one or the other.
		if in.cache != nil {
			in.cache.Put(key, a, footprint(a))
		}
	}
	in.mu.Lock()
	delete(in.inflight, key)
	failures := in.failures
	if err != nil {
		in.failures++
		in.lastErr = err
		in.pauseUntil = now.Add(pause(in.failures))
	} else {
		in.failures, in.lastErr, in.pauseUntil = 0, nil, time.Time{}
	}
	retry := in.pauseUntil.Sub(now)
	in.mu.Unlock()

	switch {
	case err != nil && failures == 0:
		in.s.Logger.WarnContext(ctx, "introspect: the introspection endpoint failed; tokens not in the cache get 503",
			"error", err.Error())
	case err != nil:
		in.s.Logger.DebugContext(ctx, "introspect: the introspection endpoint failed again", "error", err.Error(), "failures", failures+1)
	case failures > 0:
		in.s.Logger.InfoContext(ctx, "introspect: the introspection endpoint answers again", "failures", failures)
	}
	if err != nil {
		call.Finish(nil, unavailable(err, retry))
		return
	}
	call.Finish(a, nil)
}

// pause is how long no request starts after the failures-th failure in a
// row: 1 s, doubling, at most 30 s, the last quarter random.
func pause(failures int) time.Duration {
	d := 30 * time.Second
	if shift := failures - 1; shift < 5 {
		d = time.Second << shift
	}
	return d - rand.N(d/4+1)
}

// accept applies the checks that depend on the request: audience, time
// (which moves while the answer is cached), binding, and the application's
// own.
func (in *Introspector) accept(ctx context.Context, a *answer, now time.Time, audience []string) (*core.Claims, error) {
	if a.err != nil {
		return nil, a.err
	}
	c := a.claims
	if c == nil {
		return nil, errInactive
	}
	switch {
	case len(c.Audience) == 0 && !in.s.AudienceOptional, len(c.Audience) > 0 && !anyOf(c.Audience, audience):
		return nil, refuse(in, ctx, core.ReasonAudience)
	case !c.Expiry.IsZero() && !now.Before(c.Expiry.Add(in.s.Leeway)):
		return nil, refuse(in, ctx, core.ReasonExpired)
	case !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(in.s.Leeway)):
		return nil, refuse(in, ctx, core.ReasonNotYetValid)
	}
	if err := core.CheckBinding(ctx, c); err != nil {
		return nil, err
	}
	out := c.Clone()
	if in.s.Validate != nil {
		if err := in.s.Validate(ctx, out); err != nil {
			if errors.Is(err, core.ErrInsufficientScope) {
				return nil, &core.Error{Reason: core.ReasonScope, Cause: err}
			}
			return nil, &core.Error{Reason: core.ReasonValidation, Cause: err}
		}
	}
	return out, nil
}

func refuse(in *Introspector, ctx context.Context, r core.Reason) error {
	if in.s.Logger.Enabled(ctx, slog.LevelDebug) {
		in.s.Logger.DebugContext(ctx, "introspect: token rejected", "reason", string(r))
	}
	return &core.Error{Reason: r}
}

// Ready returns nil unless the last introspection request failed (and no
// later one succeeded): an operator's readiness probe then reports the
// endpoint's trouble.
func (in *Introspector) Ready() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.lastErr != nil {
		return fmt.Errorf("introspection endpoint failing (%d in a row): %w", in.failures, in.lastErr)
	}
	return nil
}

// Status describes the Introspector for operators; it marshals to JSON.
type Status struct {
	Endpoint     string    `json:"endpoint,omitempty"` // "" before discovery
	Failures     int       `json:"failures"`
	LastError    string    `json:"last_error,omitempty"`
	NextAttempt  time.Time `json:"next_attempt,omitzero"`
	CacheEntries int       `json:"cache_entries"`
	CacheBytes   int       `json:"cache_bytes"`
}

// Status reports the endpoint's recent failures and the cache.
func (in *Introspector) Status() Status {
	in.mu.Lock()
	st := Status{Endpoint: in.endpoint, Failures: in.failures, NextAttempt: in.pauseUntil}
	if in.lastErr != nil {
		st.LastError = in.lastErr.Error()
	}
	in.mu.Unlock()
	if in.cache != nil {
		st.CacheEntries, st.CacheBytes = in.cache.Stats()
	}
	return st
}

// ReadinessDetail returns the [Status], for core.ReadinessHandler.
func (in *Introspector) ReadinessDetail() any { return in.Status() }

// Close cancels the requests in flight and waits for them to end; later
// verifications of tokens not in the cache fail with core.ErrUnavailable.
func (in *Introspector) Close() {
	in.mu.Lock()
	in.closed = true
	in.mu.Unlock()
	in.cancel()
	in.wg.Wait()
	if in.jwt != nil {
		in.jwt.Close()
	}
}
