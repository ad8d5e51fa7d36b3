package core

import (
	"time"
)

// Hooks lets an application observe what a verifier does, for metrics,
// traces and tests. Every field is optional and a nil field costs nothing.
// Hooks run on the goroutine that does the work: they must be fast, must
// not block, and must be safe for concurrent use. They never receive token
// bytes or secrets.
type Hooks struct {
	// KeySet is called after every key set fetch with the state the fetch
	// leaves the set in (see [KeySetState]).
	KeySet func(KeySetEvent)
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
