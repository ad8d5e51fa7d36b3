package core_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// KeySetStatus marshals to JSON an operator can read: the error as text
// (not "{}"), times only when set.
func TestKeySetStatusJSON(t *testing.T) {
	e := newEnv(t, core.Config{})
	e.srv.SetJWKSFault(&authtest.Fault{Status: http.StatusInternalServerError})
	_, _ = e.verify(e.srv.Token(testAudience))
	b, err := json.Marshal(e.v.KeySetStatus())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["last_error"] != "JWKS: HTTP status 500" || got["loaded"] != false || got["issuer"] != e.srv.Issuer ||
		got["failures"] != 1.0 || got["next_retry"] == nil || got["fetched_at"] != nil {
		t.Errorf("status JSON = %s", b)
	}
}

func TestReadinessHandler(t *testing.T) {
	a, b := newEnv(t, core.Config{}), newEnv(t, core.Config{})
	h := core.ReadinessHandler(a.v, b.v)
	probe := func(method string) (*httptest.ResponseRecorder, map[string]any) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/ready", nil))
		var body map[string]any
		if method == http.MethodGet {
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
		}
		return rec, body
	}

	rec, body := probe(http.MethodGet)
	if rec.Code != http.StatusServiceUnavailable || body["status"] != "unavailable" ||
		!strings.Contains(body["reason"].(string), "no signing keys of "+a.srv.Issuer+" loaded yet") {
		t.Errorf("before any fetch: %d %v", rec.Code, body)
	}
	a.prefetch(t)
	b.srv.SetJWKSFault(&authtest.Fault{Status: http.StatusBadGateway})
	_, _ = b.verify(b.srv.Token(testAudience))
	rec, body = probe(http.MethodGet)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(body["reason"].(string), "HTTP status 502") ||
		rec.Header().Get("Retry-After") == "" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("one verifier down: %d %v %v", rec.Code, body, rec.Header())
	}
	if checks := body["checks"].([]any); len(checks) != 2 || checks[0].(map[string]any)["usable"] != true {
		t.Errorf("checks = %v", body["checks"])
	}
	b.srv.SetJWKSFault(nil)
	b.retries.FireAndWait(b.v)
	rec, body = probe(http.MethodGet)
	if rec.Code != http.StatusOK || body["status"] != "ready" {
		t.Errorf("both ready: %d %v", rec.Code, body)
	}
	if rec, _ := probe(http.MethodHead); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %d, %d body bytes", rec.Code, rec.Body.Len())
	}
	if rec, _ := probe(http.MethodPost); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
	// Keys past the maximum staleness are not ready.
	a.srv.SetJWKSFault(&authtest.Fault{Status: http.StatusInternalServerError})
	a.clock.Advance(core.DefaultMaxStaleness + 1)
	if err := a.v.Ready(); err == nil || !strings.Contains(err.Error(), "older than the maximum staleness") {
		t.Errorf("stale keys: Ready() = %v", err)
	}
}
