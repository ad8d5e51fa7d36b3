package clientcreds

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestH2TokenEndpointRedirectNotFollowed(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		for _, where := range []string{"same host", "other host"} {
			t.Run(http.StatusText(status)+"/"+where, func(t *testing.T) {
				other := newCountingServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
					writeJSON(w, 200, `{"access_token":"stolen","token_type":"Bearer"}`)
				})
				var elsewhere int
				ts := newCountingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/elsewhere" {
						elsewhere++
						writeJSON(w, 200, `{"access_token":"stolen","token_type":"Bearer"}`)
						return
					}
					target := "/elsewhere"
					if where == "other host" {
						target = other.URL + "/token"
					}
					http.Redirect(w, r, target, status)
				})
				c, _ := newClient(t, basicConfig(ts.URL+"/token", nil))
				_, err := c.Token(context.Background())
				var re *oauth2.RetrieveError
				if !errors.Is(err, ErrTokenResponse) || !errors.As(err, &re) || re.Response.StatusCode != status {
					t.Fatalf("err = %v, want a redirect error", err)
				}
				if ts.count() != 1 || other.count() != 0 || elsewhere != 0 {
					t.Fatalf("requests: endpoint %d, other %d, elsewhere %d; want 1, 0, 0", ts.count(), other.count(), elsewhere)
				}
			})
		}
	}
}

func TestH4TokenResponses(t *testing.T) {
	padded := func(n int) string {
		return `{"access_token":"abc","token_type":"Bearer","pad":"` + strings.Repeat("x", n) + `"}`
	}
	tests := []struct {
		name        string
		contentType string
		body        string
		lifetime    time.Duration // when the answer is usable
	}{
		{"no access_token", "", `{"token_type":"Bearer","expires_in":60}`, 0},
		{"empty access_token", "", `{"access_token":"","token_type":"Bearer"}`, 0},
		{"access_token with space", "", `{"access_token":"ab cd","token_type":"Bearer"}`, 0},
		{"access_token with CRLF", "", `{"access_token":"ab\r\nX-Evil: 1","token_type":"Bearer"}`, 0},
		{"token_type mac", "", `{"access_token":"abc","token_type":"mac","expires_in":60}`, 0},
		{"token_type with CRLF", "", `{"access_token":"abc","token_type":"Bearer\r\n","expires_in":60}`, 0},
		{"token_type missing", "", `{"access_token":"abc","expires_in":60}`, time.Minute},
		{"token_type lower case", "", `{"access_token":"abc","token_type":"bearer","expires_in":60}`, time.Minute},
		{"expires_in missing", "", `{"access_token":"abc","token_type":"Bearer"}`, DefaultLifetime},
		{"expires_in 0", "", `{"access_token":"abc","token_type":"Bearer","expires_in":0}`, DefaultLifetime},
		{"expires_in -1", "", `{"access_token":"abc","token_type":"Bearer","expires_in":-1}`, DefaultLifetime},
		{"expires_in string", "", `{"access_token":"abc","token_type":"Bearer","expires_in":"3600"}`, time.Hour},
		{"expires_in bad string", "", `{"access_token":"abc","token_type":"Bearer","expires_in":"abc"}`, 0},
		{"expires_in 1e12", "", `{"access_token":"abc","token_type":"Bearer","expires_in":1e12}`, 0},
		{"expires_in huge", "", `{"access_token":"abc","token_type":"Bearer","expires_in":1000000000000}`, 24 * time.Hour},
		{"form encoded", "application/x-www-form-urlencoded", `access_token=abc&token_type=Bearer&expires_in=120`, 2 * time.Minute},
		{"error in 200", "", `{"error":"invalid_request"}`, 0},
		{"not json", "text/html", `<html>hello</html>`, 0},
		{"2 MiB body", "", padded(2 << 20), 0},
		{"300 KiB body", "", padded(300 << 10), 0}, // x/oauth2 alone would take it
		{"200 KiB body", "", padded(200 << 10), DefaultLifetime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			ts := newCountingServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
				ct := tt.contentType
				if ct == "" {
					ct = "application/json"
				}
				w.Header().Set("Content-Type", ct)
				_, _ = io.WriteString(w, tt.body)
			})
			c, _ := newClient(t, basicConfig(ts.URL, clk))
			tok, err := c.Token(context.Background())
			if tt.lifetime == 0 {
				var re *oauth2.RetrieveError
				if tok != "" || !errors.Is(err, ErrTokenResponse) && !errors.As(err, &re) {
					t.Fatalf("got %q, %v; want ErrTokenResponse or a RetrieveError", tok, err)
				}
				if ts.count() != 1 {
					t.Fatalf("requests = %d; a bad answer must not be retried", ts.count())
				}
				return
			}
			if err != nil || tok != "abc" {
				t.Fatalf("got %q, %v", tok, err)
			}
			if got := cached(c).expiry.Sub(clk.Now()); got != tt.lifetime {
				t.Fatalf("lifetime %v, want %v", got, tt.lifetime)
			}
		})
	}
}

// A body that stalls is cut off by Timeout, and that is retried like any
// transport failure. Attempts are counted where they are made, on the
// client side: a request cut off by the timeout may not reach the server.
func TestH4SlowBody(t *testing.T) {
	release := make(chan struct{})
	ts := newCountingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"ab`)
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	var attempts atomic.Int64
	cfg := basicConfig(ts.URL, nil)
	cfg.Timeout, cfg.MaxAttempts = 50*time.Millisecond, 2
	cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		attempts.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	c, _ := newClient(t, cfg)
	if tok, err := c.Token(context.Background()); err == nil || tok != "" {
		t.Fatalf("got %q, %v; want an error", tok, err)
	}
	if got := attempts.Load(); got != 2 {
		t.Fatalf("attempts = %d, want 2", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
