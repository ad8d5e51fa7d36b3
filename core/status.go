package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// KeySetStatus describes the key cache for health checks and operators.
// It marshals to JSON with snake_case members and the error as text.
type KeySetStatus struct {
	Issuer      string    // the configured issuer
	Loaded      bool      // a key set is cached (it may be past its maximum staleness)
	Usable      bool      // the cached set may verify tokens now
	Keys        int       // usable keys in it
	Skipped     int       // JWKS entries skipped as unusable
	FetchedAt   time.Time // when the cached set was fetched
	RefreshAt   time.Time // when it will be refreshed in the background
	LastAttempt time.Time // the last fetch attempt, successful or not
	LastError   error     // the last attempt's error; nil after a success
	Failures    int       // consecutive failed attempts
	NextRetry   time.Time // the next scheduled attempt while no usable set is held
	JWKSURL     string    // configured or discovered; "" before discovery
	// Label names the issuer in hook events and metrics: the issuer, or
	// for a MultiIssuer's dynamic issuer its DynamicIssuers.Label.
	Label string
}

func (c *keyCache) status() KeySetStatus {
	now := c.s.Now()
	c.mu.Lock()
	st := KeySetStatus{
		Issuer: c.s.Issuer, Label: c.s.hookIssuer, LastAttempt: c.lastAttempt, LastError: c.lastErr,
		Failures: c.failures, NextRetry: c.retryAt, JWKSURL: c.jwksURL,
	}
	c.mu.Unlock()
	if set := c.set.Load(); set != nil {
		st.Loaded, st.Usable, st.Keys, st.Skipped = true, c.usable(set, now), len(set.keys), set.skipped
		st.FetchedAt, st.RefreshAt = set.fetchedAt, set.refreshAt
	}
	return st
}

// MarshalJSON writes the status with snake_case member names, the error
// as its text and zero times left out.
func (s KeySetStatus) MarshalJSON() ([]byte, error) {
	type out struct {
		Issuer      string     `json:"issuer"`
		Loaded      bool       `json:"loaded"`
		Usable      bool       `json:"usable"`
		Keys        int        `json:"keys"`
		Skipped     int        `json:"skipped"`
		FetchedAt   *time.Time `json:"fetched_at,omitempty"`
		RefreshAt   *time.Time `json:"refresh_at,omitempty"`
		LastAttempt *time.Time `json:"last_attempt,omitempty"`
		LastError   string     `json:"last_error,omitempty"`
		Failures    int        `json:"failures"`
		NextRetry   *time.Time `json:"next_retry,omitempty"`
		JWKSURL     string     `json:"jwks_url,omitempty"`
	}
	o := out{
		Issuer: s.Issuer, Loaded: s.Loaded, Usable: s.Usable, Keys: s.Keys, Skipped: s.Skipped,
		FetchedAt: timePtr(s.FetchedAt), RefreshAt: timePtr(s.RefreshAt), LastAttempt: timePtr(s.LastAttempt),
		Failures: s.Failures, NextRetry: timePtr(s.NextRetry), JWKSURL: s.JWKSURL,
	}
	if s.LastError != nil {
		o.LastError = s.LastError.Error()
	}
	return json.Marshal(o)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Readiness is implemented by everything that can tell whether it is able
// to verify tokens now: [*Verifier] and the other verifiers of this module.
type Readiness interface {
	// Ready returns nil when tokens can be verified, or an error saying why
	// not, fit for an operator.
	Ready() error
	// ReadinessDetail returns a JSON-encodable description of the state
	// behind the answer, such as a [KeySetStatus].
	ReadinessDetail() any
}

// Ready returns nil when a usable key set is held: loaded and not older
// than [Config.MaxStaleness]. Otherwise it says why not.
func (v *Verifier) Ready() error {
	st := v.keys.status()
	switch {
	case st.Usable:
		return nil
	case st.Loaded:
		return fmt.Errorf("the signing keys of %s are older than the maximum staleness", st.Issuer)
	case st.LastError != nil:
		return fmt.Errorf("no signing keys of %s loaded: %w", st.Issuer, st.LastError)
	}
	return fmt.Errorf("no signing keys of %s loaded yet", st.Issuer)
}

// ReadinessDetail returns the [KeySetStatus].
func (v *Verifier) ReadinessDetail() any { return v.keys.status() }

// ReadinessHandler returns an http.Handler for a readiness probe: 200 with
// {"status":"ready",…} when every checker is ready, else 503 with
// {"status":"unavailable","reason":"…",…} naming the first that is not, and
// a Retry-After of 5 s. The body lists each checker's detail. It answers GET
// and HEAD only, and is never cached.
//
// A verifier becomes ready on its first successful key set fetch: call
// [Verifier.Prefetch] at start-up, or readiness waits for the first request.
func ReadinessHandler(checks ...Readiness) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		type answer struct {
			Status string `json:"status"`
			Reason string `json:"reason,omitempty"`
			Checks []any  `json:"checks"`
		}
		a := answer{Status: "ready", Checks: make([]any, 0, len(checks))}
		var failed error
		for _, c := range checks {
			if err := c.Ready(); err != nil && failed == nil {
				failed = err
			}
			a.Checks = append(a.Checks, c.ReadinessDetail())
		}
		if len(checks) == 0 {
			failed = errors.New("nothing to check")
		}
		status := http.StatusOK
		if failed != nil {
			a.Status, a.Reason, status = "unavailable", failed.Error(), http.StatusServiceUnavailable
			w.Header().Set("Retry-After", "5")
		}
		body, err := json.Marshal(a)
		if err != nil {
			http.Error(w, "encoding failed", http.StatusInternalServerError)
			return
		}
		body = append(body, '\n')
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}
