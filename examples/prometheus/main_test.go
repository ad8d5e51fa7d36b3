package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bearerkit/bearerkit/authtest"
)

// After a few good and bad requests, /metrics holds the expected series
// with the expected counts.
func TestMetricsAfterRequests(t *testing.T) {
	as := authtest.NewServer()
	defer as.Close()
	h, shutdown, err := newHandler(as.Issuer, "orders-api", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown()
	srv := httptest.NewServer(h)
	defer srv.Close()

	good := as.Token("orders-api", "orders:read")
	noScope := as.Token("orders-api")
	expired := as.Claims("orders-api", "orders:read")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	old, _ := as.Mint(expired)
	for _, c := range []struct {
		token  string
		status int
	}{
		{good, 200}, {good, 200}, {good, 200}, // first-seen, then cached
		{noScope, 403},                       // verified, then refused by the route
		{old, 401}, {"junk", 401}, {"", 401}, // the last carries no token: nothing to verify
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/orders", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
		}
	}

	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	counts := map[string]float64{}
	for _, m := range family(t, families, "bearerkit_verifications_total").GetMetric() {
		counts[label(m, "bearerkit_result")+"/"+label(m, "bearerkit_reason")+"/"+label(m, "bearerkit_cached")] = m.GetCounter().GetValue()
	}
	want := map[string]float64{"accepted//false": 2, "accepted//true": 2, "refused/expired/false": 1, "refused/malformed/false": 1}
	if len(counts) != len(want) {
		t.Errorf("series %v, want %v", counts, want)
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("bearerkit_verifications_total %s = %v, want %v", k, counts[k], n)
		}
	}
	var timed uint64
	for _, m := range family(t, families, "bearerkit_verification_duration_seconds").GetMetric() {
		timed += m.GetHistogram().GetSampleCount()
	}
	if timed != 4 {
		t.Errorf("timed verifications %d, want 4 (cache hits are counted, not timed)", timed)
	}
	kinds := map[string]uint64{}
	for _, m := range family(t, families, "bearerkit_fetch_duration_seconds").GetMetric() {
		kinds[label(m, "bearerkit_fetch_kind")] += m.GetHistogram().GetSampleCount()
	}
	if kinds["discovery"] != 1 || kinds["jwks"] != 1 {
		t.Errorf("fetches %v", kinds)
	}
	if g := family(t, families, "bearerkit_keyset_usable").GetMetric(); len(g) != 1 || g[0].GetGauge().GetValue() != 1 {
		t.Errorf("bearerkit_keyset_usable %v", g)
	}
	if g := family(t, families, "bearerkit_token_cache_entries").GetMetric(); len(g) != 1 || g[0].GetGauge().GetValue() != 2 {
		t.Errorf("bearerkit_token_cache_entries %v, want 2 tokens held", g)
	}
	if strings.Contains(string(body), good) {
		t.Error("a token in /metrics")
	}
}

func family(t *testing.T, fams map[string]*dto.MetricFamily, name string) *dto.MetricFamily {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		names := make([]string, 0, len(fams))
		for n := range fams {
			names = append(names, n)
		}
		t.Fatalf("no %s in /metrics; families: %v", name, names)
	}
	return f
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestRefusesToStartWithoutSettings(t *testing.T) {
	var out strings.Builder
	err := run(t.Context(), nil, func(string) string { return "" }, &out)
	if err == nil || !strings.Contains(err.Error(), "BEARERKIT_ISSUER") {
		t.Errorf("err = %v", err)
	}
}
