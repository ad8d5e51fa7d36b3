package core

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/bearerkit/bearerkit/internal/fetch"
)

// Hooks lets an application observe what a verifier does, for metrics,
// traces, logs and tests: the otelbearer module turns them into
// OpenTelemetry instruments. Every field is optional and a nil field costs
// nothing. Hooks run on the goroutine that does the work: they must be
// fast, must not block, and must be safe for concurrent use. They never
// receive token bytes or secrets, and every value they receive comes from
// the configuration or a fixed list, never unbounded from a token, so that
// each can be a metric label.
//
// [Config.Hooks] sets them for a [Verifier]; a [MultiIssuer] uses each
// issuer's, and reports refusals made before any issuer is chosen (junk,
// an unknown issuer) to the Hooks of its first Config: give every Config
// the same Hooks. The introspect package takes the same Hooks.
type Hooks struct {
	// Verification is called once per verification, with its outcome.
	Verification func(ctx context.Context, e VerificationEvent)
	// Fetch is called after every request a verifier makes: key sets,
	// discovery documents, introspection.
	Fetch func(ctx context.Context, e FetchEvent)
	// KeySet is called after every key set fetch with the state the fetch
	// leaves the set in (see [KeySetState]).
	KeySet func(KeySetEvent)
	// CacheEviction is called when a cache of verified tokens (or of
	// introspection answers) drops entries to stay within its bounds.
	CacheEviction func(EvictionEvent)
}

// Result is the outcome of a verification.
type Result string

// Results reported in [VerificationEvent].
const (
	ResultAccepted    Result = "accepted"
	ResultRefused     Result = "refused"     // the token or request is refused (401, 400 or 403)
	ResultUnavailable Result = "unavailable" // it could not be checked for now (503)
)

// VerificationEvent describes one verification.
type VerificationEvent struct {
	// Issuer is the configured issuer whose verifier ran; "" when none was
	// chosen (a MultiIssuer refusing junk or an unknown issuer).
	Issuer string
	// Verifier is "jwt" for signed tokens, "introspection" for opaque ones.
	Verifier string
	Result   Result
	// Reason is why it was refused or unavailable ("" when accepted).
	Reason Reason
	// Alg is the token's signature algorithm when its header was read and
	// the algorithm is one bearerkit supports, else "".
	Alg string
	// Cached is true when the answer came from the verified-token cache
	// (or the cache of introspection answers).
	Cached   bool
	Duration time.Duration
}

// FetchKind names what a request fetched.
type FetchKind string

// Kinds reported in [FetchEvent].
const (
	FetchJWKS          FetchKind = "jwks"
	FetchDiscovery     FetchKind = "discovery"
	FetchIntrospection FetchKind = "introspection"
)

// FetchEvent describes one finished request.
type FetchEvent struct {
	Kind FetchKind
	// Host is the host (and port) of the URL, from the configuration or
	// the issuer's discovery document.
	Host string
	// Status is the HTTP status, 0 when no response came.
	Status   int
	Bytes    int64 // body bytes read
	Duration time.Duration
	// Err is the transport's error, nil when a response came. A response
	// that was refused (a bad status, an oversized body) has Status set;
	// the KeySet hook tells whether the fetch as a whole succeeded.
	Err error
}

// EvictionEvent describes entries dropped from a bounded cache.
type EvictionEvent struct {
	Cache   string // "token" (verified tokens) or "introspection"
	Entries int
}

// KeySetState names a state of a verifier's key set.
type KeySetState string

// Key set states reported by [Hooks.KeySet].
const (
	// KeySetLoaded: a fetch succeeded and its set is in use.
	KeySetLoaded KeySetState = "loaded"
	// KeySetStale: a refresh failed; the last good keys are still in use.
	KeySetStale KeySetState = "stale"
	// KeySetUnavailable: no usable keys are held (none yet, or all past
	// the maximum staleness) and a fetch failed: requests get 503 until a
	// retry succeeds.
	KeySetUnavailable KeySetState = "unavailable"
	// KeySetRecovered: a fetch succeeded after the set was unavailable.
	KeySetRecovered KeySetState = "recovered"
)

// KeySetEvent describes a change of a key set's state.
type KeySetEvent struct {
	Issuer string
	State  KeySetState
	Keys   int           // usable keys in the set in use (0 when unavailable)
	Err    error         // the failed fetch's error, for Stale and Unavailable
	Retry  time.Duration // for Unavailable: when the next attempt is scheduled
}

// ResultOf classifies a verification's error: accepted (nil), unavailable
// (matching [ErrUnavailable]) or refused.
func ResultOf(err error) Result {
	switch {
	case err == nil:
		return ResultAccepted
	case isUnavailable(err):
		return ResultUnavailable
	}
	return ResultRefused
}

func isUnavailable(err error) bool {
	if e, ok := err.(*Error); ok {
		return e.Is(ErrUnavailable)
	}
	return errors.Is(err, ErrUnavailable)
}

// observeHTTP returns c with its requests reported to h.Fetch, as the
// kind of fetch their context is tagged with (fetch.WithKind); c itself
// when h.Fetch is nil.
func (h Hooks) observeHTTP(c *http.Client) *http.Client {
	if h.Fetch == nil {
		return c
	}
	hook := h.Fetch
	return fetch.Observe(c, func(ctx context.Context, o fetch.Observation) {
		hook(ctx, fetchEventOf(o))
	})
}

// fetchEventOf converts an observation of the internal fetch package.
func fetchEventOf(o fetch.Observation) FetchEvent {
	return FetchEvent{Kind: FetchKind(o.Kind), Host: o.URL.Host, Status: o.Status, Bytes: o.Bytes, Duration: o.Duration, Err: o.Err}
}
