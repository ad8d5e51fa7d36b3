package core_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// count returns how many captured log lines hold every one of parts.
func (l *logCapture) count(parts ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// With the key set endpoint down at start, the verifier retries in the
// background — first within a second, then doubling up to the refetch
// cooldown — instead of waiting for a request after the cooldown; requests
// meanwhile get 503 at once with the time of the next attempt; and the
// first attempt that succeeds ends the outage.
func TestOutageRecoveryRetriesInBackground(t *testing.T) {
	logs := &logCapture{}
	var mu sync.Mutex
	var states []core.KeySetState
	hooks := core.Hooks{KeySet: func(e core.KeySetEvent) {
		mu.Lock()
		states = append(states, e.State)
		mu.Unlock()
	}}
	e := newEnv(t, core.Config{Logger: slog.New(logs), Hooks: hooks})
	e.srv.SetJWKSFault(&authtest.Fault{Status: http.StatusServiceUnavailable})
	tok := e.srv.Token(testAudience)

	_, err := e.verify(tok)
	expectReject(t, nil, err, core.ErrKeySetUnavailable, core.ReasonKeySetUnavailable)
	wantDelays := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, want := range wantDelays {
		d := e.retries.Delays()
		if len(d) != 1 || d[0] > want || d[0] < want*3/4 {
			t.Fatalf("retry %d scheduled after %v, want one within [%v, %v]", i+1, d, want*3/4, want)
		}
		// No request starts a fetch while a retry is planned; each is told
		// when the next attempt comes.
		for range 20 {
			_, err := e.verify(tok)
			var be *core.Error
			if !errors.As(err, &be) || be.Reason != core.ReasonKeySetUnavailable || be.RetryAfter != d[0] {
				t.Fatalf("during the outage: err = %v, want unavailable with RetryAfter %v", err, d[0])
			}
		}
		if got := e.srv.JWKSRequests(); got != i+1 {
			t.Fatalf("JWKS requests = %d, want %d", got, i+1)
		}
		e.retries.FireAndWait(e.v)
	}
	if got := e.srv.JWKSRequests(); got != len(wantDelays)+1 {
		t.Fatalf("JWKS requests = %d, want %d", got, len(wantDelays)+1)
	}

	e.srv.SetJWKSFault(nil)
	e.retries.FireAndWait(e.v)
	if _, err := e.verify(tok); err != nil {
		t.Fatalf("after the endpoint came back: %v", err)
	}
	if d := e.retries.Delays(); len(d) != 0 {
		t.Errorf("retries still scheduled after recovery: %v", d)
	}
	if st := e.v.KeySetStatus(); !st.Usable || st.Failures != 0 || !st.NextRetry.IsZero() {
		t.Errorf("status after recovery = %+v", st)
	}
	// One Warn when the outage began, one Info when it ended, and never
	// the claim that last good keys are kept, since there were none.
	if n := logs.count("WARN", "no usable signing keys"); n != 1 {
		t.Errorf("%d outage warnings, want 1:\n%s", n, strings.Join(logs.lines, "\n"))
	}
	if n := logs.count("INFO", "key set recovered"); n != 1 {
		t.Errorf("%d recovery lines, want 1", n)
	}
	if n := logs.count("keeping the last good keys"); n != 0 {
		t.Errorf("%d lines claim last good keys were kept", n)
	}
	mu.Lock()
	defer mu.Unlock()
	want := slices.Repeat([]core.KeySetState{core.KeySetUnavailable}, len(wantDelays)+1)
	if want = append(want, core.KeySetRecovered); !slices.Equal(states, want) {
		t.Errorf("key set events %v, want %v", states, want)
	}
}

// A refresh that fails while good keys are held keeps them, says so, and
// schedules no outage retries: requests drive refreshes, paced by the
// cooldown.
func TestFailedRefreshKeepsKeysWithoutOutage(t *testing.T) {
	logs := &logCapture{}
	e := newEnv(t, core.Config{Logger: slog.New(logs)})
	tok := e.srv.Token(testAudience)
	if _, err := e.verify(tok); err != nil {
		t.Fatal(err)
	}
	e.srv.SetJWKSFault(&authtest.Fault{Status: http.StatusInternalServerError})
	e.clock.Advance(core.DefaultJWKSTTL)
	if _, err := e.verify(tok); err != nil {
		t.Fatalf("with stale keys: %v", err)
	}
	core.AwaitFetch(e.v) // the refresh that request started
	if d := e.retries.Delays(); len(d) != 0 {
		t.Errorf("outage retries scheduled while keys are held: %v", d)
	}
	if n := logs.count("WARN", "keeping the last good keys"); n < 1 {
		t.Errorf("no warning that the last good keys are kept:\n%s", strings.Join(logs.lines, "\n"))
	}
	if n := logs.count("no usable signing keys"); n != 0 {
		t.Errorf("an outage was reported while keys were held")
	}
}

// The 503 answer's Retry-After is the time until the next planned attempt,
// rounded up to whole seconds.
func TestRetryAfterComesFromNextAttempt(t *testing.T) {
	e := newEnv(t, core.Config{})
	e.srv.SetJWKSFault(&authtest.Fault{Status: http.StatusBadGateway})
	h := core.Middleware(e.v, testAudience)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler reached") }))
	tok := e.srv.Token(testAudience)
	for i := range 4 {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		d := e.retries.Delays()
		if len(d) != 1 {
			t.Fatalf("round %d: scheduled %v", i, d)
		}
		want := strconv.Itoa(int((d[0] + time.Second - 1) / time.Second))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != want {
			t.Errorf("round %d: %d, Retry-After %q, want 503 and %q", i, rec.Code, rec.Header().Get("Retry-After"), want)
		}
		e.retries.FireAndWait(e.v)
	}
}

// A request without a deadline waits for a cold-start fetch only as long
// as Config.FetchWait allows, not the whole fetch timeout; the fetch goes
// on, and later requests use its result.
func TestColdStartWaitIsBounded(t *testing.T) {
	e := newEnv(t, core.Config{FetchWait: 20 * time.Millisecond, FetchTimeout: time.Hour})
	release := make(chan struct{})
	e.srv.SetJWKSFault(&authtest.Fault{Wait: release})
	tok := e.srv.Token(testAudience)
	_, err := e.v.Verify(context.Background(), tok, testAudience)
	if !errors.Is(err, core.ErrKeySetUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrKeySetUnavailable after the wait bound", err)
	}
	var be *core.Error
	if errors.As(err, &be); be.RetryAfter != 0 {
		t.Errorf("RetryAfter = %v while a fetch runs, want 0 (answered as 1 s)", be.RetryAfter)
	}
	// A request with a deadline of its own waits up to it: it joins the
	// fetch still in flight (or finds its keys), and nothing is fetched
	// twice.
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if _, err := e.v.Verify(ctx, tok, testAudience); err != nil {
		t.Fatalf("after the fetch was released: %v", err)
	}
	if got := e.srv.JWKSRequests(); got != 1 {
		t.Errorf("JWKS requests = %d, want 1", got)
	}
}
