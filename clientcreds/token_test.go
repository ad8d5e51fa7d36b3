package clientcreds

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
)

func TestConcurrentCallersShareOneRequest(t *testing.T) {
	srv := newIssuer(t, nil)
	hold := make(chan struct{})
	srv.SetTokenFault(&authtest.Fault{Wait: hold})
	c, _ := newClient(t, basicConfig(srv.TokenURL(), nil))

	const callers = 100
	var parked sync.WaitGroup
	parked.Add(callers)
	c.onWait = parked.Done

	toks := make([]string, callers)
	errs := make([]error, callers)
	var done sync.WaitGroup
	for i := range callers {
		done.Add(1)
		go func() {
			defer done.Done()
			toks[i], errs[i] = c.Token(context.Background())
		}()
	}
	parked.Wait() // every caller is waiting on the one fetch
	close(hold)
	done.Wait()

	for i := range callers {
		if errs[i] != nil || toks[i] == "" || toks[i] != toks[0] {
			t.Fatalf("caller %d: token %q, err %v; want the shared token", i, toks[i], errs[i])
		}
	}
	if got := srv.TokenRequests(); got != 1 {
		t.Fatalf("token requests = %d, want 1", got)
	}
	verify(t, srv, nil, toks[0])

	c.onWait = nil
	for range 50 {
		tok, err := c.Token(context.Background())
		if err != nil || tok != toks[0] {
			t.Fatalf("repeat call: %q, %v", tok, err)
		}
	}
	if got := srv.TokenRequests(); got != 1 {
		t.Fatalf("token requests after repeats = %d, want still 1", got)
	}
}

// A token is replaced in the background inside its refresh lead, and no
// caller ever gets one at or past its exp.
func TestRefreshBeforeExpiryNeverExpired(t *testing.T) {
	clk := newClock()
	srv := newIssuer(t, clk, authtest.WithTokenLifetime(time.Minute))
	c, _ := newClient(t, basicConfig(srv.TokenURL(), clk))
	start := clk.Now()

	seen := map[string]bool{}
	for step := 0; step <= 200; step++ {
		tok, err := c.Token(context.Background())
		if err != nil {
			t.Fatalf("t+%ds: %v", step, err)
		}
		claims := verify(t, srv, clk, tok)
		if !clk.Now().Before(claims.Expiry) {
			t.Fatalf("t+%ds: got a token expiring at %v", step, claims.Expiry)
		}
		seen[tok] = true
		settle(c)
		clk.Advance(time.Second)
	}
	// 60 s tokens get the 30 s lead floor: fetches at t = 0, 30, ..., 180.
	if got := srv.TokenRequests(); got != 7 {
		t.Fatalf("token requests = %d, want 7", got)
	}
	if len(seen) != 7 {
		t.Fatalf("distinct tokens = %d, want 7", len(seen))
	}
	if ct := cached(c); !ct.expiry.Equal(start.Add(240*time.Second)) || !ct.refreshAt.Equal(start.Add(210*time.Second)) {
		t.Fatalf("cached expiry %v refreshAt %v", ct.expiry.Sub(start), ct.refreshAt.Sub(start))
	}
}

func TestSlowRefreshDoesNotBlockValidToken(t *testing.T) {
	clk := newClock()
	srv := newIssuer(t, clk, authtest.WithTokenLifetime(time.Hour))
	c, _ := newClient(t, basicConfig(srv.TokenURL(), clk))
	first, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	hold := make(chan struct{})
	srv.SetTokenFault(&authtest.Fault{Wait: hold})
	clk.Advance(56 * time.Minute) // inside the 5 min lead, before expiry
	for i := range 100 {
		tok, err := c.Token(context.Background())
		if err != nil || tok != first {
			t.Fatalf("call %d during refresh: %q, %v; want the current token", i, tok, err)
		}
	}
	if !inFlight(c) {
		t.Fatal("no background refresh in flight")
	}
	close(hold)
	settle(c)

	next, err := c.Token(context.Background())
	if err != nil || next == first {
		t.Fatalf("after refresh: %q, %v; want a new token", next, err)
	}
	if got := srv.TokenRequests(); got != 2 {
		t.Fatalf("token requests = %d, want 2", got)
	}
}

// A failed refresh keeps the current token until exp, pauses before the
// next try (1 s after a 5xx, doubling), and after exp callers get an
// error, never the stale token.
func TestFailedRefreshKeepsTokenUntilExpiry(t *testing.T) {
	clk := newClock()
	srv := newIssuer(t, clk, authtest.WithTokenLifetime(time.Minute))
	cfg := basicConfig(srv.TokenURL(), clk)
	cfg.MaxAttempts = 1
	c, _ := newClient(t, cfg)
	first, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv.SetTokenFault(&authtest.Fault{Status: http.StatusInternalServerError})

	steps := []struct {
		at       time.Duration
		requests int
	}{
		{30 * time.Second, 2},         // refresh begins and fails: 1 s pause
		{30500 * time.Millisecond, 2}, // paused
		{31 * time.Second, 3},         // fails again: 2 s pause
		{32 * time.Second, 3},
		{33 * time.Second, 4}, // 4 s pause
		{36 * time.Second, 4},
		{37 * time.Second, 5},
	}
	start := clk.Now()
	for _, s := range steps {
		clk.Advance(start.Add(s.at).Sub(clk.Now()))
		tok, err := c.Token(context.Background())
		if err != nil || tok != first {
			t.Fatalf("t+%v: %q, %v; want the current token", s.at, tok, err)
		}
		settle(c)
		if got := srv.TokenRequests(); got != s.requests {
			t.Fatalf("t+%v: token requests = %d, want %d", s.at, got, s.requests)
		}
	}
	clk.Advance(start.Add(time.Minute).Sub(clk.Now())) // exactly at expiry
	tok, err := c.Token(context.Background())
	if err == nil || tok != "" {
		t.Fatalf("at expiry: %q, %v; want an error and no token", tok, err)
	}
}

// The caller that started the fetch gives up; the fetch still serves the
// nine others, with one request.
func TestCancelledCallerDoesNotFailOthers(t *testing.T) {
	srv := newIssuer(t, nil)
	arrived, release := make(chan struct{}), make(chan struct{})
	fs := front(t, srv, func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			close(arrived)
			<-release
		}
		return false
	})
	c, _ := newClient(t, basicConfig(fs.URL+authtest.TokenPath, nil))

	ctx, cancel := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() {
		_, err := c.Token(ctx)
		firstErr <- err
	}()
	<-arrived

	var wg sync.WaitGroup
	toks := make([]string, 9)
	errs := make([]error, 9)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], errs[i] = c.Token(context.Background())
		}()
	}
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v, want context.Canceled", err)
	}
	close(release) // the cancelled caller returned while the fetch was held
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i] == "" {
			t.Fatalf("caller %d: %q, %v", i, toks[i], errs[i])
		}
	}
	if fs.count() != 1 {
		t.Fatalf("token requests = %d, want 1", fs.count())
	}
}

func TestRefreshLead(t *testing.T) {
	c, _ := newClient(t, basicConfig("https://auth.example.com/token", nil))
	fixed, _ := newClient(t, Config{ClientID: "a", ClientSecret: "b", TokenURL: "https://a.example/t", RefreshLead: 2 * time.Minute})
	tests := []struct {
		c        *Client
		lifetime time.Duration
		want     time.Duration
	}{
		{c, time.Hour, 5 * time.Minute},         // a fifth is 12 min: capped
		{c, 10 * time.Minute, 2 * time.Minute},  // a fifth
		{c, 2 * time.Minute, 30 * time.Second},  // floor
		{c, 20 * time.Second, 10 * time.Second}, // never over half
		{fixed, time.Hour, 2 * time.Minute},
		{fixed, time.Minute, 30 * time.Second},
	}
	for _, tt := range tests {
		if got := tt.c.refreshLead(tt.lifetime); got != tt.want {
			t.Errorf("lead(%v) = %v, want %v", tt.lifetime, got, tt.want)
		}
	}
}

func TestTokenSource(t *testing.T) {
	clk := newClock()
	srv := newIssuer(t, clk)
	c, _ := newClient(t, basicConfig(srv.TokenURL(), clk))
	ot, err := c.TokenSource().Token()
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := c.Token(context.Background())
	if ot.AccessToken != tok || ot.TokenType != "Bearer" || !ot.Expiry.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("TokenSource gave %q %q %v", ot.AccessToken, ot.TokenType, ot.Expiry)
	}
	if srv.TokenRequests() != 1 {
		t.Fatalf("token requests = %d, want 1", srv.TokenRequests())
	}
}

func TestDiscovery(t *testing.T) {
	t.Run("openid-configuration", func(t *testing.T) {
		clk := newClock()
		srv := newIssuer(t, clk, authtest.WithTokenLifetime(time.Minute))
		c, _ := newClient(t, Config{ClientID: testID, ClientSecret: testSecret, Issuer: srv.Issuer, Now: clk.Now})
		for range 2 {
			tok, err := c.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			verify(t, srv, clk, tok)
			clk.Advance(time.Minute)
		}
		if srv.DiscoveryRequests() != 1 || srv.TokenRequests() != 2 {
			t.Fatalf("discovery %d, token %d; want 1 and 2", srv.DiscoveryRequests(), srv.TokenRequests())
		}
	})
	t.Run("rfc8414 only", func(t *testing.T) {
		srv := newIssuer(t, nil, authtest.WithoutOIDCDiscovery())
		c, _ := newClient(t, Config{ClientID: testID, ClientSecret: testSecret, Issuer: srv.Issuer})
		if _, err := c.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		if srv.DiscoveryRequests() != 2 {
			t.Fatalf("discovery requests = %d, want 2", srv.DiscoveryRequests())
		}
	})
	t.Run("issuer mismatch", func(t *testing.T) {
		srv := newIssuer(t, nil, authtest.WithMetadataIssuer("https://evil.example"))
		c, _ := newClient(t, Config{ClientID: testID, ClientSecret: testSecret, Issuer: srv.Issuer})
		_, err := c.Token(context.Background())
		if !errors.Is(err, ErrDiscovery) {
			t.Fatalf("err = %v, want ErrDiscovery", err)
		}
		if srv.TokenRequests() != 0 {
			t.Fatalf("token requests = %d, want 0", srv.TokenRequests())
		}
	})
}
