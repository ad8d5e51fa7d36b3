package clientcreds

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bearerkit/bearerkit/authtest"
)

// Every token request is reported: a success, and each attempt of a
// failing fetch, with its status and a redacted error.
func TestHooksTokenRequests(t *testing.T) {
	srv := newIssuer(t, nil)
	var mu sync.Mutex
	var events []TokenRequestEvent
	cfg := basicConfig(srv.TokenURL(), nil)
	cfg.Hooks = Hooks{TokenRequest: func(_ context.Context, e TokenRequestEvent) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}}
	c, _ := newClient(t, cfg)
	defer c.Close()
	if _, err := c.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.SetTokenFault(&authtest.Fault{Status: http.StatusServiceUnavailable, Body: []byte("echo " + testSecret)})
	c2, _ := newClient(t, cfg)
	defer c2.Close()
	if _, err := c2.Token(t.Context()); err == nil {
		t.Fatal("token from a failing endpoint")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1+DefaultMaxAttempts {
		t.Fatalf("%d events, want %d: %+v", len(events), 1+DefaultMaxAttempts, events)
	}
	host := strings.TrimPrefix(srv.Issuer, "http://")
	if e := events[0]; e.Status != 200 || e.Err != nil || e.Host != host || e.Duration < 0 {
		t.Errorf("success: %+v", e)
	}
	for _, e := range events[1:] {
		if e.Status != http.StatusServiceUnavailable || e.Err == nil || strings.Contains(e.Err.Error(), testSecret) {
			t.Errorf("failure: %+v", e)
		}
	}
}
