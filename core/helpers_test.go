package core_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// clock is a manual clock shared by a test server and its verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is an authtest issuer and a verifier for it on a shared manual clock.
type env struct {
	srv   *authtest.Server
	v     *core.Verifier
	clock *clock
}

const testAudience = "orders-api"

func newEnv(t *testing.T, cfg core.Config, opts ...authtest.Option) *env {
	t.Helper()
	clk := newClock()
	srv := authtest.NewServer(append([]authtest.Option{authtest.WithClock(clk.Now)}, opts...)...)
	t.Cleanup(srv.Close)
	cfg.Issuer = srv.Issuer
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	v, err := core.New(cfg)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	t.Cleanup(v.Close)
	return &env{srv: srv, v: v, clock: clk}
}

func (e *env) verify(token string) (*core.Claims, error) {
	return e.v.Verify(context.Background(), token, testAudience)
}

func (e *env) mint(t *testing.T, claims map[string]any) string {
	t.Helper()
	tok, err := e.srv.Mint(claims)
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return tok
}

func (e *env) mintWith(t *testing.T, key *authtest.Key, header, claims map[string]any) string {
	t.Helper()
	tok, err := e.srv.MintWith(key, header, claims)
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return tok
}

func (e *env) prefetch(t *testing.T) {
	t.Helper()
	if err := e.v.Prefetch(context.Background()); err != nil {
		t.Fatalf("Prefetch: %v", err)
	}
}

func mustKey(t *testing.T, alg string) *authtest.Key {
	t.Helper()
	k, err := authtest.NewKey(alg)
	if err != nil {
		t.Fatalf("NewKey(%s): %v", alg, err)
	}
	return k
}
