package core_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// recorder keeps every hook event.
type recorder struct {
	mu            sync.Mutex
	verifications []core.VerificationEvent
	fetches       []core.FetchEvent
	keySets       []core.KeySetEvent
	evicted       int
}

func (r *recorder) hooks() core.Hooks {
	return core.Hooks{
		Verification: func(_ context.Context, e core.VerificationEvent) {
			r.mu.Lock()
			r.verifications = append(r.verifications, e)
			r.mu.Unlock()
		},
		Fetch: func(_ context.Context, e core.FetchEvent) {
			r.mu.Lock()
			r.fetches = append(r.fetches, e)
			r.mu.Unlock()
		},
		KeySet: func(e core.KeySetEvent) {
			r.mu.Lock()
			r.keySets = append(r.keySets, e)
			r.mu.Unlock()
		},
		CacheEviction: func(e core.EvictionEvent) {
			r.mu.Lock()
			if e.Cache == "token" {
				r.evicted += e.Entries
			}
			r.mu.Unlock()
		},
	}
}

// verification is the part of an event a test can predict.
type verification struct {
	issuer string
	result core.Result
	reason core.Reason
	alg    string
	cached bool
}

func (r *recorder) seen() []verification {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []verification
	for _, e := range r.verifications {
		if e.Verifier != "jwt" || e.Duration <= 0 {
			return nil
		}
		out = append(out, verification{e.Issuer, e.Result, e.Reason, e.Alg, e.Cached})
	}
	return out
}

// A scripted sequence of good, cached, bad, junk and outage requests gives
// exactly the events it should.
func TestHooksSeeEverything(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, core.Config{Hooks: rec.hooks()})
	iss := e.srv.Issuer
	e.prefetch(t)
	good := e.srv.Token(testAudience)
	expired := e.srv.Claims(testAudience)
	expired["exp"] = e.clock.Now().Add(-time.Hour).Unix()
	for _, tok := range []string{good, good, e.mint(t, expired), "junk.token.here", "not-a-jwt"} {
		e.verify(tok)
	}
	want := []verification{
		{iss, core.ResultAccepted, "", "EdDSA", false},
		{iss, core.ResultAccepted, "", "EdDSA", true},
		{iss, core.ResultRefused, core.ReasonExpired, "EdDSA", false},
		{iss, core.ResultRefused, core.ReasonMalformed, "", false},
		{iss, core.ResultRefused, core.ReasonMalformed, "", false},
	}
	if got := rec.seen(); !equalEvents(got, want) {
		t.Errorf("verifications:\n got %v\nwant %v", got, want)
	}
	rec.mu.Lock()
	kinds := map[core.FetchKind]int{}
	for _, f := range rec.fetches {
		kinds[f.Kind]++
		if f.Status != http.StatusOK || f.Bytes <= 0 || f.Err != nil || f.Host != e.srv.Issuer[len("http://"):] {
			t.Errorf("fetch %+v", f)
		}
	}
	if kinds[core.FetchDiscovery] != 1 || kinds[core.FetchJWKS] != 1 || len(rec.fetches) != 2 {
		t.Errorf("fetches by kind: %v", kinds)
	}
	if len(rec.keySets) != 1 || rec.keySets[0].State != core.KeySetLoaded || rec.keySets[0].Issuer != iss {
		t.Errorf("key set events: %+v", rec.keySets)
	}
	rec.mu.Unlock()

	// An outage: the key set endpoint answers 500.
	down := &recorder{}
	d := newEnv(t, core.Config{Hooks: down.hooks()})
	d.srv.SetJWKSFault(&authtest.Fault{Status: http.StatusInternalServerError})
	d.verify(d.srv.Token(testAudience))
	if got, want := down.seen(), []verification{{d.srv.Issuer, core.ResultUnavailable, core.ReasonKeySetUnavailable, "EdDSA", false}}; !equalEvents(got, want) {
		t.Errorf("outage: %v, want %v", got, want)
	}
	down.mu.Lock()
	defer down.mu.Unlock()
	if n := len(down.fetches); n != 2 || down.fetches[1].Kind != core.FetchJWKS || down.fetches[1].Status != 500 {
		t.Errorf("outage fetches: %+v", down.fetches)
	}
	if len(down.keySets) != 1 || down.keySets[0].State != core.KeySetUnavailable {
		t.Errorf("outage key set events: %+v", down.keySets)
	}
}

func equalEvents(a, b []verification) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Evictions are counted exactly: every token stored and no longer held.
func TestHooksCountEvictions(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, core.Config{Hooks: rec.hooks(), TokenCacheSize: 32})
	const n = 200
	for range n {
		if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
			t.Fatal(err)
		}
	}
	held := e.v.TokenCacheStats().Entries
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.evicted != n-held || rec.evicted == 0 {
		t.Errorf("evicted %d, want %d (%d stored, %d held)", rec.evicted, n-held, n, held)
	}
}

// A MultiIssuer reports a refusal made before any issuer is chosen to its
// first Config's hooks, with no issuer; the rest to each issuer's.
func TestMultiIssuerHooks(t *testing.T) {
	first, second := &recorder{}, &recorder{}
	a := authtest.NewServer(authtest.WithAlgorithm("EdDSA"))
	defer a.Close()
	b := authtest.NewServer(authtest.WithAlgorithm("ES256"))
	defer b.Close()
	stranger := authtest.NewServer()
	defer stranger.Close()
	m, err := core.NewMultiIssuer(core.Config{Issuer: a.Issuer, Hooks: first.hooks()}, core.Config{Issuer: b.Issuer, Hooks: second.hooks()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	m.Verify(ctx, b.Token(testAudience), testAudience)
	m.Verify(ctx, b.Token(testAudience), testAudience)
	m.Verify(ctx, stranger.Token(testAudience), testAudience)
	if got, want := second.seen(), []verification{
		{b.Issuer, core.ResultAccepted, "", "ES256", false},
		{b.Issuer, core.ResultAccepted, "", "ES256", false},
	}; !equalEvents(got, want) {
		t.Errorf("second issuer: %v, want %v", got, want)
	}
	if got, want := first.seen(), []verification{{"", core.ResultRefused, core.ReasonIssuer, "RS256", false}}; !equalEvents(got, want) {
		t.Errorf("first config: %v, want %v", got, want)
	}
}

// Dynamic issuers appear in hook events and statuses by their label, never
// by the token's iss; their verifiers report to DynamicIssuers.Hooks.
func TestDynamicIssuerHookLabels(t *testing.T) {
	clk := newClock()
	t1 := authtest.NewServer(authtest.WithTLS(), authtest.WithClock(clk.Now), authtest.WithAlgorithm("EdDSA"))
	defer t1.Close()
	t2 := authtest.NewServer(authtest.WithTLS(), authtest.WithClock(clk.Now), authtest.WithAlgorithm("EdDSA"))
	defer t2.Close()
	clients := map[string]*http.Client{t1.Issuer: t1.Client(), t2.Issuer: t2.Client()}
	rec := &recorder{}
	m, err := core.NewDynamicMultiIssuer(core.DynamicIssuers{
		Accept: func(iss string) bool { return clients[iss] != nil },
		Config: func(iss string) core.Config { return core.Config{HTTPClient: clients[iss], Now: clk.Now} },
		Hooks:  rec.hooks(),
		Label: func(iss string) string {
			if iss == t1.Issuer {
				return "tenant-one"
			}
			return "other-tenants"
		},
		Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, srv := range []*authtest.Server{t1, t2} {
		if _, err := m.Verify(context.Background(), srv.Token(testAudience), testAudience); err != nil {
			t.Fatal(err)
		}
	}
	got := rec.seen()
	if len(got) != 2 || got[0].issuer != "tenant-one" || got[1].issuer != "other-tenants" {
		t.Errorf("verification issuers %+v", got)
	}
	rec.mu.Lock()
	for _, k := range rec.keySets {
		if k.Issuer != "tenant-one" && k.Issuer != "other-tenants" {
			t.Errorf("key set event names %q", k.Issuer)
		}
	}
	rec.mu.Unlock()
	labels := map[string]bool{}
	for _, st := range m.KeySetStatuses() {
		labels[st.Label] = true
	}
	if !labels["tenant-one"] || !labels["other-tenants"] || len(labels) != 2 {
		t.Errorf("status labels %v", labels)
	}
}
