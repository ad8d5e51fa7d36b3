package core

import (
	"sync"
	"time"
)

// Retries holds a verifier's scheduled outage retries until a test fires
// them, so that no test depends on timers.
type Retries struct {
	mu      sync.Mutex
	pending []scheduled
}

type scheduled struct {
	d  time.Duration
	fn func()
	on *bool
}

// HoldRetries makes v schedule its outage retries on r. Call it before v
// fetches anything.
func HoldRetries(v *Verifier) *Retries {
	r := &Retries{}
	v.keys.schedule = func(d time.Duration, fn func()) func() bool {
		on := true
		r.mu.Lock()
		r.pending = append(r.pending, scheduled{d, fn, &on})
		r.mu.Unlock()
		return func() bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			was := on
			on = false
			return was
		}
	}
	return r
}

// Delays returns the delays of the retries scheduled and not stopped.
func (r *Retries) Delays() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ds []time.Duration
	for _, p := range r.pending {
		if *p.on {
			ds = append(ds, p.d)
		}
	}
	return ds
}

// Fire runs the retries scheduled and not stopped, as their timers would,
// and reports how many ran.
func (r *Retries) Fire() int {
	r.mu.Lock()
	var run []func()
	for _, p := range r.pending {
		if *p.on {
			*p.on = false
			run = append(run, p.fn)
		}
	}
	r.pending = nil
	r.mu.Unlock()
	for _, fn := range run {
		fn()
	}
	return len(run)
}

// ClearTokenCache drops every cached verification of v.
func ClearTokenCache(v *Verifier) {
	if v.cache != nil {
		v.cache = newTokenCache(v.s.cacheEntries, v.s.TokenCacheBytes)
	}
}

// AwaitFetch waits for v's key set fetch in flight, if any, to end.
func AwaitFetch(v *Verifier) {
	v.keys.mu.Lock()
	call := v.keys.call
	v.keys.mu.Unlock()
	if call != nil {
		<-call.Done()
	}
}

// FireAndWait runs the held retries of v and waits for the fetch they
// start to end.
func (r *Retries) FireAndWait(v *Verifier) int {
	n := r.Fire()
	AwaitFetch(v)
	return n
}

// HoldDynamicRetries holds the outage retries of every issuer m admits
// from now on; they are never fired.
func HoldDynamicRetries(m *MultiIssuer) { m.admitted = func(v *Verifier) { HoldRetries(v) } }
