package introspect_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/introspect"
)

// Introspection reports its verifications (first from the endpoint, then
// from the cache) and each request to the endpoint; an endpoint failure is
// an unavailable verification.
func TestHooks(t *testing.T) {
	var mu sync.Mutex
	var verifications []core.VerificationEvent
	var fetches []core.FetchEvent
	hooks := core.Hooks{
		Verification: func(_ context.Context, e core.VerificationEvent) {
			mu.Lock()
			verifications = append(verifications, e)
			mu.Unlock()
		},
		Fetch: func(_ context.Context, e core.FetchEvent) {
			mu.Lock()
			fetches = append(fetches, e)
			mu.Unlock()
		},
	}
	e := newEnv(t, introspect.Config{Hooks: hooks})
	tok := e.opaque(nil, "orders:read")
	ctx := context.Background()
	for range 2 {
		if _, err := e.in.Verify(ctx, tok, audience); err != nil {
			t.Fatal(err)
		}
	}
	e.in.Verify(ctx, "not a token", audience)
	e.srv.SetIntrospectionFault(&authtest.Fault{Status: http.StatusBadGateway})
	e.in.Verify(ctx, e.opaque(nil), audience)

	mu.Lock()
	defer mu.Unlock()
	type seen struct {
		result core.Result
		reason core.Reason
		cached bool
	}
	want := []seen{
		{core.ResultAccepted, "", false},
		{core.ResultAccepted, "", true},
		{core.ResultRefused, core.ReasonMalformed, false},
		{core.ResultUnavailable, core.ReasonIntrospectionUnavailable, false},
	}
	if len(verifications) != len(want) {
		t.Fatalf("verifications: %+v", verifications)
	}
	for i, v := range verifications {
		if got := (seen{v.Result, v.Reason, v.Cached}); got != want[i] || v.Verifier != "introspection" {
			t.Errorf("verification %d: %+v, want %+v", i, v, want[i])
		}
	}
	if len(fetches) != 2 || fetches[0].Kind != core.FetchIntrospection || fetches[0].Status != 200 ||
		fetches[1].Kind != core.FetchIntrospection || fetches[1].Status != http.StatusBadGateway {
		t.Errorf("fetches: %+v", fetches)
	}
}

// One readiness probe covers a MultiIssuer and an Introspector: ready
// while both are, 503 naming the introspection endpoint while it fails.
func TestReadinessCoversEveryVerifier(t *testing.T) {
	e := newEnv(t, introspect.Config{})
	jwts := authtest.NewServer()
	defer jwts.Close()
	m, err := core.NewMultiIssuer(core.Config{Issuer: jwts.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Prefetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := core.ReadinessHandler(m, e.in)
	probe := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := probe(); code != 200 {
		t.Fatalf("both up: %d %s", code, body)
	}
	e.srv.SetIntrospectionFault(&authtest.Fault{Status: http.StatusInternalServerError})
	e.in.Verify(context.Background(), e.opaque(nil), audience)
	if code, body := probe(); code != 503 || !strings.Contains(body, "introspection") {
		t.Errorf("endpoint failing: %d %s", code, body)
	}
}
