package clientcreds

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

const (
	testID     = "reporting"
	testSecret = "s3cret-VALUE-7f3a"
	testAud    = "orders-api"
)

// newClock returns a manual clock shared by a test server and the code
// under test.
func newClock() *authtest.Clock {
	return authtest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

// sleeps records the delays the client chose between attempts, instead of
// waiting them out.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// newIssuer starts authtest with the standard test client registered.
func newIssuer(t *testing.T, clk *authtest.Clock, opts ...authtest.Option) *authtest.Server {
	t.Helper()
	base := []authtest.Option{
		authtest.WithClient(authtest.Client{ID: testID, Secret: testSecret, Scopes: []string{"orders:read", "orders:write"}}),
		authtest.WithDefaultAudience(testAud),
	}
	if clk != nil {
		base = append(base, authtest.WithClock(clk.Now))
	}
	srv := authtest.NewServer(append(base, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// newClient builds a Client whose retries do not wait.
func newClient(t *testing.T, cfg Config) (*Client, *sleeps) {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := &sleeps{}
	c.sleep = s.sleep
	return c, s
}

func basicConfig(tokenURL string, clk *authtest.Clock) Config {
	cfg := Config{ClientID: testID, ClientSecret: testSecret, TokenURL: tokenURL, Scopes: []string{"orders:read"}}
	if clk != nil {
		cfg.Now = clk.Now
	}
	return cfg
}

// verify checks tok with core, as an API would, and returns its claims.
func verify(t *testing.T, srv *authtest.Server, clk *authtest.Clock, tok string, aud ...string) *core.Claims {
	t.Helper()
	cfg := core.Config{Issuer: srv.Issuer, JWKSURL: srv.JWKSURL()} // no discovery: tests count it
	if clk != nil {
		cfg.Now = clk.Now
	}
	v, err := core.New(cfg)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	defer v.Close()
	if len(aud) == 0 {
		aud = []string{testAud}
	}
	claims, err := v.Verify(context.Background(), tok, aud...)
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	return claims
}

// countingServer serves h and counts requests.
type countingServer struct {
	*httptest.Server
	n atomic.Int64
}

func newCountingServer(t *testing.T, h func(n int64, w http.ResponseWriter, r *http.Request)) *countingServer {
	t.Helper()
	cs := &countingServer{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(cs.n.Add(1), w, r)
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *countingServer) count() int { return int(cs.n.Load()) }

// front puts a counting server in front of an authtest token endpoint:
// hook may answer a request itself (returning true); otherwise the request
// goes on to authtest.
func front(t *testing.T, srv *authtest.Server, hook func(n int64, w http.ResponseWriter, r *http.Request) bool) *countingServer {
	t.Helper()
	target, _ := url.Parse(srv.Issuer)
	proxy := httputil.NewSingleHostReverseProxy(target)
	return newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if hook != nil && hook(n, w, r) {
			return
		}
		proxy.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// settle waits for the fetch in flight, if any, to end.
func settle(c *Client) {
	c.mu.Lock()
	call := c.call
	c.mu.Unlock()
	if call != nil {
		<-call.Done()
	}
}

// cached returns the cached token, if any.
func cached(c *Client) *token {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

func inFlight(c *Client) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.call != nil
}
