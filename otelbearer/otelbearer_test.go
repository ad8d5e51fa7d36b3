package otelbearer_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/clientcreds"
	"github.com/bearerkit/bearerkit/core"
	"github.com/bearerkit/bearerkit/otelbearer"
)

const audience = "orders-api"

// setup returns an Observer on a manual reader and a span recorder.
func setup(t *testing.T) (*otelbearer.Observer, *sdkmetric.ManualReader, *tracetest.SpanRecorder) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()); _ = tp.Shutdown(context.Background()) })
	obs, err := otelbearer.New(otelbearer.WithMeterProvider(mp), otelbearer.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	return obs, reader, spans
}

func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelbearer.ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func attr(set attribute.Set, key string) string {
	v, _ := set.Value(attribute.Key(key))
	return v.Emit()
}

// A scripted sequence of good, cached, bad, junk and outage requests and
// a client's token requests gives exact counts, spans and gauges.
func TestScriptedSequence(t *testing.T) {
	obs, reader, spans := setup(t)
	client := authtest.Client{ID: "reporting", Secret: "s3cret", Scopes: []string{"orders:read"}}
	srv := authtest.NewServer(authtest.WithAlgorithm("EdDSA"), authtest.WithClient(client), authtest.WithDefaultAudience(audience))
	defer srv.Close()
	v, err := core.New(core.Config{Issuer: srv.Issuer, Hooks: obs.Hooks()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	obs.Observe(v)
	down := authtest.NewServer(authtest.WithAlgorithm("ES256"))
	defer down.Close()
	down.SetJWKSFault(&authtest.Fault{Status: http.StatusServiceUnavailable})
	dv, err := core.New(core.Config{Issuer: down.Issuer, Hooks: obs.Hooks()})
	if err != nil {
		t.Fatal(err)
	}
	defer dv.Close()
	obs.Observe(dv)

	ctx := context.Background()
	good := srv.Token(audience, "orders:read")
	expired := srv.Claims(audience)
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	old, _ := srv.Mint(expired)
	for _, tok := range []string{good, good, good, old, "junk"} {
		v.Verify(ctx, tok, audience)
	}
	dv.Verify(ctx, down.Token(audience), audience)
	cc, err := clientcreds.New(clientcreds.Config{ClientID: client.ID, ClientSecret: client.Secret, TokenURL: srv.TokenURL(), Hooks: obs.ClientHooks()})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := cc.Token(ctx); err != nil {
		t.Fatal(err)
	}

	m := collect(t, reader)
	type key struct{ issuer, result, reason, alg, cached string }
	counts := map[key]int64{}
	for _, dp := range m["bearerkit.verifications"].Data.(metricdata.Sum[int64]).DataPoints {
		counts[key{attr(dp.Attributes, "bearerkit.issuer"), attr(dp.Attributes, "bearerkit.result"), attr(dp.Attributes, "bearerkit.reason"),
			attr(dp.Attributes, "bearerkit.alg"), attr(dp.Attributes, "bearerkit.cached")}] = dp.Value
	}
	want := map[key]int64{
		{srv.Issuer, "accepted", "", "EdDSA", "false"}:                        1,
		{srv.Issuer, "accepted", "", "EdDSA", "true"}:                         2,
		{srv.Issuer, "refused", "expired", "EdDSA", "false"}:                  1,
		{srv.Issuer, "refused", "malformed", "", "false"}:                     1,
		{down.Issuer, "unavailable", "key_set_unavailable", "ES256", "false"}: 1,
	}
	if len(counts) != len(want) {
		t.Errorf("verification series: %v", counts)
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("verifications %+v = %d, want %d", k, counts[k], n)
		}
	}
	var histCount uint64
	for _, dp := range m["bearerkit.verification.duration"].Data.(metricdata.Histogram[float64]).DataPoints {
		histCount += dp.Count
	}
	if histCount != 4 { // the two cache hits are counted, not timed
		t.Errorf("verification durations: %d, want 4", histCount)
	}

	fetches := map[string]uint64{}
	for _, dp := range m["bearerkit.fetch.duration"].Data.(metricdata.Histogram[float64]).DataPoints {
		fetches[attr(dp.Attributes, "bearerkit.fetch.kind")+" "+attr(dp.Attributes, "http.response.status_code")+" "+attr(dp.Attributes, "error.type")] += dp.Count
	}
	if want := map[string]uint64{"discovery 200 ": 2, "jwks 200 ": 1, "jwks 503 503": 1}; !equalMaps(fetches, want) {
		t.Errorf("fetches %v, want %v", fetches, want)
	}
	transitions := map[string]int64{}
	for _, dp := range m["bearerkit.keyset.transitions"].Data.(metricdata.Sum[int64]).DataPoints {
		transitions[attr(dp.Attributes, "bearerkit.keyset.state")] += dp.Value
	}
	if want := map[string]int64{"loaded": 1, "unavailable": 1}; !equalMaps(transitions, want) {
		t.Errorf("key set transitions %v", transitions)
	}
	usable := map[string]int64{}
	for _, dp := range m["bearerkit.keyset.usable"].Data.(metricdata.Gauge[int64]).DataPoints {
		usable[attr(dp.Attributes, "bearerkit.issuer")] = dp.Value
	}
	if usable[srv.Issuer] != 1 || usable[down.Issuer] != 0 {
		t.Errorf("usable gauge %v", usable)
	}
	if ages := m["bearerkit.keyset.age"].Data.(metricdata.Gauge[float64]).DataPoints; len(ages) != 1 || ages[0].Value < 0 || ages[0].Value > 60 {
		t.Errorf("age gauge %+v", ages)
	}
	var entries int64
	for _, dp := range m["bearerkit.token_cache.entries"].Data.(metricdata.Gauge[int64]).DataPoints {
		entries += dp.Value
	}
	if entries != 1 {
		t.Errorf("token cache entries %d, want 1", entries)
	}
	tokens := m["bearerkit.client.token_request.duration"].Data.(metricdata.Histogram[float64]).DataPoints
	if len(tokens) != 1 || tokens[0].Count != 1 || attr(tokens[0].Attributes, "http.response.status_code") != "200" {
		t.Errorf("token requests %+v", tokens)
	}

	names := map[string]int{}
	failed := 0
	for _, s := range spans.Ended() {
		names[s.Name()]++
		if s.Status().Code == codes.Error {
			failed++
		}
	}
	if want := map[string]int{"bearerkit fetch discovery": 2, "bearerkit fetch jwks": 2, "bearerkit token request": 1}; !equalMaps(names, want) || failed != 1 {
		t.Errorf("spans %v (%d failed)", names, failed)
	}
}

func equalMaps[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// However many issuer names reach the hooks, the series stay bounded: the
// rest are counted together.
func TestSeriesBounded(t *testing.T) {
	obs, reader, _ := setup(t)
	hook := obs.Hooks().Verification
	for i := range 3000 {
		hook(context.Background(), core.VerificationEvent{Verifier: "jwt", Issuer: "https://issuer.example/" + strconv.Itoa(i), Result: core.ResultAccepted, Cached: true})
	}
	points := collect(t, reader)["bearerkit.verifications"].Data.(metricdata.Sum[int64]).DataPoints
	var total, overflow int64
	for _, dp := range points {
		total += dp.Value
		if attr(dp.Attributes, "bearerkit.issuer") == "_overflow" {
			overflow = dp.Value
		}
	}
	if len(points) > 2001 || total != 3000 || overflow != 1000 {
		t.Errorf("%d series, %d counted, %d in the overflow series", len(points), total, overflow)
	}
}

// A verifier that is no longer observed leaves the gauges.
func TestObserveStop(t *testing.T) {
	obs, reader, _ := setup(t)
	srv := authtest.NewServer()
	defer srv.Close()
	v, err := core.New(core.Config{Issuer: srv.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	stop := obs.Observe(v)
	if n := len(collect(t, reader)["bearerkit.keyset.usable"].Data.(metricdata.Gauge[int64]).DataPoints); n != 1 {
		t.Fatalf("%d usable points while observed", n)
	}
	stop()
	if m, ok := collect(t, reader)["bearerkit.keyset.usable"]; ok && len(m.Data.(metricdata.Gauge[int64]).DataPoints) != 0 {
		t.Errorf("still reported after stop: %+v", m.Data)
	}
}
