package core

import (
	"github.com/bearerkit/bearerkit/internal/jose"

	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bearerkit/bearerkit/internal/fetch"
)

// MultiIssuer verifies tokens from several issuers — tenants, or the old
// and the new identity provider during a migration — each with its own
// [Config] and key set. It implements [TokenVerifier].
//
// A token's issuer is read, unverified, only to choose among the issuers
// configured, after the size, shape and header checks: a token naming no
// configured issuer is refused without any network request, and a key of
// one issuer never verifies a token naming another. With
// [NewDynamicMultiIssuer], issuers not known in advance (one Entra tenant
// each, say) are admitted by a predicate, bounded in number and rate.
//
// The verifiers share one verified-token cache, bounded by the largest
// TokenCacheSize and TokenCacheBytes among the configurations.
type MultiIssuer struct {
	static  map[string]*Verifier
	order   []*Verifier // static verifiers, in the order given
	dyn     *dynamicIssuers
	cache   *tokenCache // nil when every configuration turns it off
	algs    jose.AlgSet // every algorithm some issuer allows
	maxSize int         // the largest MaxTokenSize
	log     *slog.Logger
	warns   warnLimiter
	// hooks receive verifications refused before an issuer is chosen;
	// observed is set when any configuration has a Verification hook.
	hooks    Hooks
	observed bool
	now      func() time.Time
	// admitted, when set, sees every dynamic issuer's verifier before its
	// first use; tests hold its retries with it.
	admitted func(*Verifier)
}

// DynamicIssuers admits issuers that are not configured in advance.
type DynamicIssuers struct {
	// Accept decides, on a token's unverified iss, whether the issuer may
	// be trusted; it is required. It is called only for https issuers that
	// are not configured statically, and only an accepted issuer's
	// discovery document and keys are ever fetched. Match the whole
	// identifier (for Entra: a known tenant id, or the exact pattern
	// https://login.microsoftonline.com/{tenant}/v2.0 with a tenant id
	// syntax check), never a prefix an attacker can extend.
	Accept func(issuer string) bool
	// Config returns the configuration for an accepted issuer (its Issuer
	// field is set by the MultiIssuer); nil means the zero Config.
	Config func(issuer string) Config
	// MaxIssuers bounds the dynamic issuers held at once; 0 means 100. The
	// least recently used one is dropped to admit another.
	MaxIssuers int
	// NewPerMinute bounds how many issuers are admitted per minute (with
	// a burst of as many); 0 means 10. A token from an issuer beyond the
	// rate is answered as if its keys were unavailable (503).
	NewPerMinute int
	// Logger receives refusals of unknown issuers; nil means the Logger of
	// the first static Config, if any.
	Logger *slog.Logger
	// Hooks observe the dynamic issuers' verifiers (whatever Config
	// returns for Hooks) and the verifications refused before any issuer
	// is chosen; unset (no field set) means the Hooks of the first static
	// Config, if any. Their events name a dynamic issuer by Label, never by
	// the token's iss, so that an attacker cannot mint label values.
	Hooks Hooks
	// Label names a dynamic issuer in hook events, such as "entra" or a
	// tenant name from a table of your own; it must return one of a small,
	// fixed set of values. nil means "dynamic" for every dynamic issuer.
	Label func(issuer string) string
	// Now is the clock for the rate; nil means time.Now.
	Now func() time.Time
}

// NewMultiIssuer returns a MultiIssuer for the issuers of cfgs, one
// [Config] each (see [New]); two configurations for one issuer are an
// error. Like New, it does no network I/O.
func NewMultiIssuer(cfgs ...Config) (*MultiIssuer, error) {
	if len(cfgs) == 0 {
		return nil, errors.New("bearerkit: NewMultiIssuer needs at least one Config")
	}
	return newMultiIssuer(nil, cfgs)
}

// NewDynamicMultiIssuer is [NewMultiIssuer] that also admits, lazily, the
// issuers d accepts. cfgs may be empty.
func NewDynamicMultiIssuer(d DynamicIssuers, cfgs ...Config) (*MultiIssuer, error) {
	if d.Accept == nil {
		return nil, errors.New("bearerkit: DynamicIssuers.Accept is required")
	}
	if d.MaxIssuers < 0 || d.NewPerMinute < 0 {
		return nil, errors.New("bearerkit: DynamicIssuers bounds are negative")
	}
	if d.MaxIssuers == 0 {
		d.MaxIssuers = 100
	}
	if d.NewPerMinute == 0 {
		d.NewPerMinute = 10
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return newMultiIssuer(&d, cfgs)
}

func newMultiIssuer(d *DynamicIssuers, cfgs []Config) (*MultiIssuer, error) {
	m := &MultiIssuer{static: make(map[string]*Verifier, len(cfgs)), now: time.Now}
	entries, bytes := 0, 0
	seen := make(map[string]bool, len(cfgs))
	for i, cfg := range cfgs {
		s, err := cfg.settings()
		if err != nil {
			return nil, fmt.Errorf("bearerkit: Config %d: %w", i, err)
		}
		if seen[cfg.Issuer] {
			return nil, fmt.Errorf("bearerkit: issuer %q is configured twice", cfg.Issuer)
		}
		seen[cfg.Issuer] = true
		entries, bytes = max(entries, s.cacheEntries), max(bytes, s.TokenCacheBytes)
		m.algs |= s.algs
		m.maxSize = max(m.maxSize, s.MaxTokenSize)
		if i == 0 {
			m.log, m.now, m.hooks = s.Logger, s.Now, s.Hooks
		}
		m.observed = m.observed || s.Hooks.Verification != nil
	}
	if d != nil {
		if d.Logger != nil || m.log == nil {
			m.log = d.Logger
		}
		if h := d.Hooks; h.Verification != nil || h.Fetch != nil || h.KeySet != nil || h.CacheEviction != nil {
			m.hooks = d.Hooks
		}
		m.observed = m.observed || m.hooks.Verification != nil
		if len(cfgs) == 0 {
			m.now = d.Now
		}
		m.dyn = &dynamicIssuers{cfg: *d, byIss: map[string]*dynamicIssuer{}, tokens: float64(d.NewPerMinute), last: d.Now()}
		m.algs |= jose.AllAlgs // each admitted issuer applies its own list
		m.maxSize = max(m.maxSize, DefaultMaxTokenSize)
		entries, bytes = max(entries, DefaultTokenCacheSize), max(bytes, DefaultTokenCacheBytes)
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if entries > 0 {
		m.cache = newTokenCache(entries, bytes)
		m.cache.observeEvictions(m.hooks)
	}
	for _, cfg := range cfgs {
		v, err := m.newVerifier(cfg)
		if err != nil {
			m.Close()
			return nil, err
		}
		m.static[cfg.Issuer] = v
		m.order = append(m.order, v)
	}
	return m, nil
}

// newVerifier makes a verifier that uses the shared token cache.
// newDynamicVerifier is newVerifier for an admitted dynamic issuer, whose
// hook events carry its label.
func (m *MultiIssuer) newDynamicVerifier(cfg Config) (*Verifier, error) {
	label := "dynamic"
	if m.dyn.cfg.Label != nil {
		label = m.dyn.cfg.Label(cfg.Issuer)
	}
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	s.hookIssuer = label
	s.cacheEntries = 0
	v := newVerifierFrom(s)
	v.cache = m.cache
	return v, nil
}

func (m *MultiIssuer) newVerifier(cfg Config) (*Verifier, error) {
	cfg.TokenCacheSize = -1
	v, err := New(cfg)
	if err != nil {
		return nil, err
	}
	v.cache = m.cache
	return v, nil
}

// Verify checks token with the verifier of the issuer it names; see
// [Verifier.Verify].
func (m *MultiIssuer) Verify(ctx context.Context, token string, audience ...string) (*Claims, error) {
	if !m.observed {
		c, _, err := m.verify(ctx, token, audience, nil)
		return c, err
	}
	o := observed{start: time.Now()}
	c, v, err := m.verify(ctx, token, audience, &o)
	hook, issuer := m.hooks.Verification, ""
	if v != nil {
		hook, issuer = v.s.Hooks.Verification, v.s.hookIssuer
	}
	if hook != nil {
		hook(ctx, o.event(issuer, err))
	}
	return c, err
}

// verify is Verify, also returning the verifier chosen (nil when none).
func (m *MultiIssuer) verify(ctx context.Context, token string, audience []string, o *observed) (*Claims, *Verifier, error) {
	if !validAudienceArgs(audience) {
		return nil, nil, errNoAudienceArg
	}
	if len(token) > m.maxSize {
		return nil, nil, m.rejected(ctx, errOversize, "")
	}
	if m.cache != nil {
		if e := m.cache.get(token); e != nil {
			c, err := e.v.verifyCached(ctx, token, e, e.v.s.Now(), audience, o)
			return c, e.v, err
		}
	}
	var buf [24]jose.Member
	p, members, err := decodeToken(token, m.algs, false, buf[:0])
	if o != nil && p.hdrOK {
		o.alg = p.h.alg
	}
	if err != nil {
		return nil, nil, m.rejected(ctx, err, "")
	}
	v, err := m.verifierFor(ctx, members)
	if err != nil {
		return nil, nil, err
	}
	c, err := m.verifyWith(ctx, v, &p, members, audience)
	return c, v, err
}

func (m *MultiIssuer) verifyWith(ctx context.Context, v *Verifier, p *decoded, members []jose.Member, audience []string) (*Claims, error) {
	if !v.s.algs.Has(p.h.alg) {
		return nil, v.rejected(ctx, errAlgorithm, refusal{h: &p.h})
	}
	if !typAllowed(p.h.typ, v.s.StrictRFC9068) {
		return nil, v.rejected(ctx, errType, refusal{h: &p.h})
	}
	return v.verifyDecoded(ctx, p, members, v.s.Now(), audience)
}

// verifierFor chooses the verifier for the issuer the claim set names.
func (m *MultiIssuer) verifierFor(ctx context.Context, members []jose.Member) (*Verifier, error) {
	var iss *jose.Member
	for i := range members {
		name := members[i].Name
		if members[i].Escaped {
			name = []byte(jose.Unescape(name))
		}
		if string(name) == "iss" {
			iss = &members[i]
			break
		}
	}
	switch {
	case iss == nil:
		return nil, m.rejected(ctx, errIssuer, "")
	case iss.Kind != jose.KindString:
		return nil, m.rejected(ctx, errClaimType, "")
	}
	if raw := iss.Value[1 : len(iss.Value)-1]; bytes.IndexByte(raw, '\\') < 0 {
		if v, ok := m.static[string(raw)]; ok {
			return v, nil
		}
	}
	name := iss.StringValue()
	if v, ok := m.static[name]; ok {
		return v, nil
	}
	if m.dyn != nil {
		return m.dyn.verifier(ctx, m, name)
	}
	return nil, m.rejected(ctx, errIssuer, name)
}

// rejected logs a refusal made before any issuer's verifier was chosen.
func (m *MultiIssuer) rejected(ctx context.Context, err error, issuer string) error {
	e, _ := err.(*Error)
	if e != nil && e.Reason == ReasonIssuer && m.log.Enabled(ctx, slog.LevelWarn) && m.warns.allow(0, m.now()) {
		m.log.WarnContext(ctx, "bearerkit: tokens refused: their issuer is none of the configured issuers",
			"reason", string(e.Reason), "received", truncate(issuer, 200), "configured", listForLog(m.issuers()))
		return err
	}
	if e != nil && m.log.Enabled(ctx, slog.LevelDebug) {
		m.log.DebugContext(ctx, "bearerkit: token rejected", "reason", string(e.Reason))
	}
	return err
}

func (m *MultiIssuer) issuers() []string {
	out := make([]string, 0, len(m.order))
	for _, v := range m.order {
		out = append(out, v.s.Issuer)
	}
	return out
}

// Prefetch fetches the key sets of every configured issuer (see
// [Verifier.Prefetch]) and joins their errors.
func (m *MultiIssuer) Prefetch(ctx context.Context) error {
	errs := make([]error, len(m.order))
	var wg sync.WaitGroup
	for i, v := range m.order {
		wg.Go(func() {
			if err := v.Prefetch(ctx); err != nil {
				errs[i] = fmt.Errorf("%s: %w", v.s.Issuer, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// KeySetStatuses reports the key set of every issuer held: the configured
// ones in order, then the dynamic ones.
func (m *MultiIssuer) KeySetStatuses() []KeySetStatus {
	var out []KeySetStatus
	for _, v := range m.order {
		out = append(out, v.KeySetStatus())
	}
	if m.dyn != nil {
		for _, v := range m.dyn.held() {
			out = append(out, v.KeySetStatus())
		}
	}
	return out
}

// Ready returns nil when every configured issuer holds usable keys (see
// [Verifier.Ready]). Dynamic issuers come and go with their tokens and do
// not count.
func (m *MultiIssuer) Ready() error {
	var errs []error
	for _, v := range m.order {
		if err := v.Ready(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ReadinessDetail returns the [KeySetStatus] of every issuer held.
func (m *MultiIssuer) ReadinessDetail() any { return m.KeySetStatuses() }

// TokenCacheStats reports the shared verified-token cache.
func (m *MultiIssuer) TokenCacheStats() TokenCacheStats {
	if m.cache == nil {
		return TokenCacheStats{}
	}
	return m.cache.stats()
}

// Close stops every issuer's background work and waits for it to end.
func (m *MultiIssuer) Close() {
	for _, v := range m.order {
		v.Close()
	}
	if m.dyn != nil {
		m.dyn.close()
	}
}

// dynamicIssuers holds the issuers admitted by DynamicIssuers.Accept.
type dynamicIssuers struct {
	cfg DynamicIssuers

	mu     sync.RWMutex
	byIss  map[string]*dynamicIssuer
	tokens float64   // admissions left in the bucket
	last   time.Time // when the bucket was last refilled
	closed bool
	wg     sync.WaitGroup // Close calls of dropped issuers
}

type dynamicIssuer struct {
	v        *Verifier
	lastUsed atomic.Int64 // unix nanoseconds
}

// verifier returns the verifier for an issuer that is not configured
// statically, admitting it if the predicate accepts it and the bounds
// allow.
func (d *dynamicIssuers) verifier(ctx context.Context, m *MultiIssuer, iss string) (*Verifier, error) {
	now := d.cfg.Now()
	d.mu.RLock()
	e := d.byIss[iss]
	d.mu.RUnlock()
	if e != nil {
		e.lastUsed.Store(now.UnixNano())
		return e.v, nil
	}
	if !strings.HasPrefix(iss, "https://") || fetch.CheckIssuer(iss, false) != nil || !d.cfg.Accept(iss) {
		return nil, m.rejected(ctx, errIssuer, iss)
	}
	d.mu.Lock()
	if e := d.byIss[iss]; e != nil {
		d.mu.Unlock()
		e.lastUsed.Store(now.UnixNano())
		return e.v, nil
	}
	if d.closed {
		d.mu.Unlock()
		return nil, &Error{Reason: ReasonKeySetUnavailable, Cause: errors.New("closed")}
	}
	if wait := d.takeLocked(now); wait > 0 {
		d.mu.Unlock()
		m.log.WarnContext(ctx, "bearerkit: new issuers arrive faster than DynamicIssuers.NewPerMinute; one is turned away",
			"issuer", truncate(iss, 200))
		return nil, &Error{Reason: ReasonKeySetUnavailable, Cause: errors.New("too many new issuers"), RetryAfter: wait}
	}
	cfg := Config{}
	if d.cfg.Config != nil {
		cfg = d.cfg.Config(iss)
	}
	cfg.Issuer = iss
	cfg.Hooks = m.hooks
	v, err := m.newDynamicVerifier(cfg)
	if err != nil {
		d.mu.Unlock()
		m.log.WarnContext(ctx, "bearerkit: DynamicIssuers.Config is not valid for an accepted issuer",
			"issuer", truncate(iss, 200), "error", err.Error())
		return nil, &Error{Reason: ReasonIssuer, Cause: err}
	}
	if m.admitted != nil {
		m.admitted(v)
	}
	var dropped *Verifier
	if len(d.byIss) >= d.cfg.MaxIssuers {
		dropped = d.dropLeastRecentLocked()
	}
	e = &dynamicIssuer{v: v}
	e.lastUsed.Store(now.UnixNano())
	d.byIss[iss] = e
	d.mu.Unlock()
	if dropped != nil {
		d.wg.Go(dropped.Close) // Close waits for its fetch; the request does not
	}
	m.log.InfoContext(ctx, "bearerkit: issuer admitted", "issuer", truncate(iss, 200), "held", len(d.byIss))
	return v, nil
}

// takeLocked takes one admission from the bucket, refilled at
// NewPerMinute per minute up to NewPerMinute, and returns 0, or how long
// until one is free.
func (d *dynamicIssuers) takeLocked(now time.Time) time.Duration {
	rate := float64(d.cfg.NewPerMinute) / float64(time.Minute)
	if elapsed := now.Sub(d.last); elapsed > 0 {
		d.tokens = min(float64(d.cfg.NewPerMinute), d.tokens+float64(elapsed)*rate)
		d.last = now
	}
	if d.tokens >= 1 {
		d.tokens--
		return 0
	}
	return time.Duration((1 - d.tokens) / rate)
}

func (d *dynamicIssuers) dropLeastRecentLocked() *Verifier {
	var oldest string
	var at int64
	for iss, e := range d.byIss {
		if t := e.lastUsed.Load(); oldest == "" || t < at {
			oldest, at = iss, t
		}
	}
	v := d.byIss[oldest].v
	delete(d.byIss, oldest)
	return v
}

func (d *dynamicIssuers) held() []*Verifier {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]*Verifier, 0, len(d.byIss))
	for _, e := range d.byIss {
		out = append(out, e.v)
	}
	return out
}

func (d *dynamicIssuers) close() {
	d.mu.Lock()
	d.closed = true
	held := make([]*Verifier, 0, len(d.byIss))
	for _, e := range d.byIss {
		held = append(held, e.v)
	}
	d.mu.Unlock()
	for _, v := range held {
		v.Close()
	}
	d.wg.Wait()
}
