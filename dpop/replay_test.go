package dpop_test

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/dpop"
)

// TestL3Replay: the same jti twice within the window → the second is
// refused; the key of the replay store names the proof key and the jti.
func TestL3Replay(t *testing.T) {
	c := &clock{}
	ec, other := p256Key(), p256Key2()
	hdr := header("ES256", &ec.PublicKey, "")
	body := func(htu string) string {
		return `{"jti":"same","htm":"POST","htu":"` + htu + `","iat":` + strconv.FormatInt(t0.Unix(), 10) + `}`
	}
	v := newVerifier(t, c, dpop.Config{})
	first := sign(t, ec, "ES256", hdr, body(testURL))
	if _, err := v.Verify(context.Background(), first, testRequest()); err != nil {
		t.Fatalf("first use: %v", err)
	}
	c.Advance(30 * time.Second)
	_, err := v.Verify(context.Background(), first, testRequest())
	wantReason(t, err, dpop.ErrInvalidProof, "jti_replayed")

	// The jti is spent for this key whatever else the proof says: a new
	// signature (ECDSA signs each time afresh) changes nothing.
	again := sign(t, ec, "ES256", hdr, body(testURL))
	_, err = v.Verify(context.Background(), again, testRequest())
	wantReason(t, err, dpop.ErrInvalidProof, "jti_replayed")

	// Another key may use the same jti.
	theirs := sign(t, other, "ES256", header("ES256", &other.PublicKey, ""), body(testURL))
	if _, err := v.Verify(context.Background(), theirs, testRequest()); err != nil {
		t.Fatalf("same jti from another key: %v", err)
	}
}

// TestL3IssuedAtWindow: iat too old or in the future → refused, at the
// edges of the window.
func TestL3IssuedAtWindow(t *testing.T) {
	tests := []struct {
		name    string
		cfg     dpop.Config
		iat     string // seconds relative to t0
		refused bool
	}{
		{"now", dpop.Config{}, "0", false},
		{"60 s old", dpop.Config{}, "-60", false},
		{"60.5 s old", dpop.Config{}, "-60.5", true},
		{"61 s old", dpop.Config{}, "-61", true},
		{"a day old", dpop.Config{}, "-86400", true},
		{"5 s ahead", dpop.Config{}, "5", false},
		{"5.5 s ahead", dpop.Config{}, "5.5", true},
		{"6 s ahead", dpop.Config{}, "6", true},
		{"MaxAge 10 s, 10 s old", dpop.Config{MaxAge: 10 * time.Second}, "-10", false},
		{"MaxAge 10 s, 11 s old", dpop.Config{MaxAge: 10 * time.Second}, "-11", true},
		{"Leeway 1 s, 1 s ahead", dpop.Config{Leeway: time.Second}, "1", false},
		{"Leeway 1 s, 2 s ahead", dpop.Config{Leeway: time.Second}, "2", true},
	}
	ed := edKey()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel, _ := strconv.ParseFloat(tt.iat, 64)
			iat := strconv.FormatFloat(float64(t0.Unix())+rel, 'f', -1, 64)
			payload := `{"jti":"j","htm":"POST","htu":"` + testURL + `","iat":` + iat + `}`
			proof := sign(t, ed, "EdDSA", header("EdDSA", ed.Public(), ""), payload)
			_, err := newVerifier(t, &clock{}, tt.cfg).Verify(context.Background(), proof, testRequest())
			if !tt.refused {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			wantReason(t, err, dpop.ErrInvalidProof, "iat")
		})
	}
}

// TestL3ReplayStoreArguments: the store is asked to remember a fixed-length
// key until iat + MaxAge + Leeway, whatever the jti.
func TestL3ReplayStoreArguments(t *testing.T) {
	var keys []string
	var expiries []time.Time
	store := storeFunc(func(_ context.Context, key string, expiry time.Time) (bool, error) {
		keys, expiries = append(keys, key), append(expiries, expiry)
		return true, nil
	})
	c := &clock{}
	v := newVerifier(t, c, dpop.Config{Replay: store, MaxAge: 30 * time.Second, Leeway: 2 * time.Second})
	ed := edKey()
	for _, jti := range []string{"a", strings.Repeat("j", 256), `q\"uote`} {
		payload := `{"jti":"` + jti + `","htm":"POST","htu":"` + testURL + `","iat":` + strconv.FormatInt(t0.Unix()-10, 10) + `}`
		if _, err := v.Verify(context.Background(), sign(t, ed, "EdDSA", header("EdDSA", ed.Public(), ""), payload), testRequest()); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	}
	if len(keys) != 3 || keys[0] == keys[1] || keys[1] == keys[2] {
		t.Fatalf("keys = %q, want three distinct keys", keys)
	}
	for i, k := range keys {
		if len(k) != 43 {
			t.Errorf("key %d has %d bytes, want 43", i, len(k))
		}
		if want := t0.Add(-10*time.Second + 32*time.Second); !expiries[i].Equal(want) {
			t.Errorf("expiry %d = %v, want %v", i, expiries[i], want)
		}
	}
}

// TestL3ReplayStoreFailsClosed: a store that errors or is full refuses the
// proof with ErrReplayStore (503), never ErrInvalidProof (401), and never
// accepts it.
func TestL3ReplayStoreFailsClosed(t *testing.T) {
	c := &clock{}
	s := newSigner(t, c, edKey())
	down := errors.New("connection refused")
	failing := storeFunc(func(context.Context, string, time.Time) (bool, error) { return true, down })
	v := newVerifier(t, c, dpop.Config{Replay: failing})
	_, err := v.Verify(context.Background(), must(s.Proof(testMethod, testURL, "", "")), testRequest())
	wantReason(t, err, dpop.ErrReplayStore, "replay_store")
	if errors.Is(err, dpop.ErrInvalidProof) || errors.Is(err, dpop.ErrUseNonce) || !errors.Is(err, down) {
		t.Fatalf("err = %v: must match ErrReplayStore only, and unwrap to the store's error", err)
	}

	full := dpop.NewMemoryStoreWithClock(1, c.Now)
	v = newVerifier(t, c, dpop.Config{Replay: full})
	if _, err := v.Verify(context.Background(), must(s.Proof(testMethod, testURL, "", "")), testRequest()); err != nil {
		t.Fatalf("first proof: %v", err)
	}
	_, err = v.Verify(context.Background(), must(s.Proof(testMethod, testURL, "", "")), testRequest())
	wantReason(t, err, dpop.ErrReplayStore, "replay_store")
}

// TestL3MemoryStoreFlood: 200,000 unique keys into a 10,000-entry store →
// exactly 10,000 remembered, the rest refused with an error (never
// forgotten or accepted), replays still detected, memory bounded; after
// the window the store accepts again.
func TestL3MemoryStoreFlood(t *testing.T) {
	c := &clock{}
	m := dpop.NewMemoryStoreWithClock(10_000, c.Now)
	ctx := context.Background()
	flood := func(round int) (fresh, failed int) {
		expiry := c.Now().Add(65 * time.Second)
		for i := range 200_000 {
			ok, err := m.Remember(ctx, "r"+strconv.Itoa(round)+"-"+strconv.Itoa(i), expiry)
			switch {
			case err != nil:
				failed++
			case ok:
				fresh++
			default:
				t.Fatalf("unique key %d reported as a replay", i)
			}
		}
		return fresh, failed
	}
	fresh, failed := flood(1)
	if fresh != 10_000 || failed != 190_000 {
		t.Fatalf("fresh %d, failed %d; want 10000 and 190000", fresh, failed)
	}
	if n, heapCap := dpop.StoreLen(m), dpop.StoreHeapCap(m); n != 10_000 || heapCap > 2*10_000 {
		t.Fatalf("store holds %d entries in queues of capacity %d; want 10000 and at most 20000", n, heapCap)
	}
	replays := 0
	for i := range 200_000 {
		ok, err := m.Remember(ctx, "r1-"+strconv.Itoa(i), c.Now().Add(time.Minute))
		if err == nil && !ok {
			replays++
		}
	}
	if replays != 10_000 {
		t.Fatalf("%d replays detected in a full store, want 10000", replays)
	}

	c.Advance(64 * time.Second)
	if ok, err := m.Remember(ctx, "late", c.Now().Add(time.Minute)); err == nil {
		t.Fatalf("a full store accepted a key before its entries expired (fresh %v)", ok)
	}
	c.Advance(time.Second)
	fresh, failed = flood(2)
	if fresh != 10_000 || failed != 190_000 || dpop.StoreLen(m) != 10_000 {
		t.Fatalf("after the window: fresh %d, failed %d, len %d; want 10000, 190000, 10000", fresh, failed, dpop.StoreLen(m))
	}
}

// TestL3FloodThroughVerifier: unique valid proofs beyond the store's size
// fail closed with ErrReplayStore, and are accepted again once the window
// has passed.
func TestL3FloodThroughVerifier(t *testing.T) {
	c := &clock{}
	v := newVerifier(t, c, dpop.Config{Replay: dpop.NewMemoryStoreWithClock(500, c.Now)})
	s := newSigner(t, c, edKey())
	count := func() (accepted, unavailable int) {
		for range 600 {
			_, err := v.Verify(context.Background(), must(s.Proof(testMethod, testURL, "", "")), testRequest())
			switch {
			case err == nil:
				accepted++
			case errors.Is(err, dpop.ErrReplayStore):
				unavailable++
			default:
				t.Fatalf("Verify: %v", err)
			}
		}
		return accepted, unavailable
	}
	if a, u := count(); a != 500 || u != 100 {
		t.Fatalf("accepted %d, unavailable %d; want 500 and 100", a, u)
	}
	c.Advance(65 * time.Second)
	if a, u := count(); a != 500 || u != 100 {
		t.Fatalf("after the window: accepted %d, unavailable %d; want 500 and 100", a, u)
	}
}

func TestMemoryStoreExpiry(t *testing.T) {
	c := &clock{}
	m := dpop.NewMemoryStoreWithClock(10, c.Now)
	expiry := t0.Add(10*time.Second + 300*time.Microsecond) // kept to the next millisecond
	end := 10*time.Second + time.Millisecond
	steps := []struct {
		name   string
		at     time.Duration
		expiry time.Time
		fresh  bool
	}{
		{"first", 0, expiry, true},
		{"within the window", 5 * time.Second, expiry, false},
		{"a nanosecond before the end", end - time.Nanosecond, expiry, false},
		{"at the end, expiry passed", end, expiry, true}, // not stored
		{"again, expiry passed", end, expiry, true},
		{"with a new expiry", end, c.Now().Add(time.Hour), true},
		{"replayed", end + time.Minute, c.Now().Add(time.Hour), false},
	}
	for _, st := range steps {
		c.offset.Store(int64(st.at))
		fresh, err := m.Remember(context.Background(), "k", st.expiry)
		if err != nil || fresh != st.fresh {
			t.Fatalf("%s: fresh %v, err %v; want %v", st.name, fresh, err, st.fresh)
		}
	}
	if n := dpop.StoreLen(m); n != 1 {
		t.Fatalf("store holds %d entries, want 1", n)
	}
}

// TestMemoryStoreConcurrent: one key remembered from 50 goroutines at once
// is fresh exactly once; 50 goroutines × 1,000 unique keys into a 10,000
// entry store remember exactly 10,000.
func TestMemoryStoreConcurrent(t *testing.T) {
	c := &clock{}
	m := dpop.NewMemoryStoreWithClock(10_000, c.Now)
	expiry := t0.Add(time.Minute)
	var fresh, failed atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if ok, err := m.Remember(context.Background(), "one", expiry); err == nil && ok {
				fresh.Add(1)
			}
		})
	}
	wg.Wait()
	if fresh.Load() != 1 {
		t.Fatalf("one key fresh %d times, want 1", fresh.Load())
	}

	m = dpop.NewMemoryStoreWithClock(10_000, c.Now)
	fresh.Store(0)
	for g := range 50 {
		wg.Go(func() {
			for i := range 1000 {
				ok, err := m.Remember(context.Background(), strconv.Itoa(g)+"/"+strconv.Itoa(i), expiry)
				switch {
				case err != nil:
					failed.Add(1)
				case ok:
					fresh.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if fresh.Load() != 10_000 || failed.Load() != 40_000 {
		t.Fatalf("fresh %d, failed %d; want 10000 and 40000", fresh.Load(), failed.Load())
	}
}

// The default store's bound holds in memory too: 100,000 remembered
// proofs keep at most 80 bytes each alive (the README says about 5 MB).
func TestMemoryStoreFootprint(t *testing.T) {
	const n = 90_000 // the shards' shares of the bound may fill a little early
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := dpop.NewMemoryStore(100_000)
	exp := time.Now().Add(time.Minute)
	for i := range n {
		if fresh, err := m.Remember(context.Background(), "key-"+strconv.Itoa(i), exp); !fresh || err != nil {
			t.Fatalf("entry %d: %v, %v", i, fresh, err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	t.Logf("%.1f bytes per entry", perEntry)
	if perEntry > 80 {
		t.Errorf("%.0f bytes per entry, want at most 80", perEntry)
	}
	runtime.KeepAlive(m)
}
