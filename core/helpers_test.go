package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// newClock returns a manual clock shared by a test server and the code
// under test.
func newClock() *authtest.Clock {
	return authtest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

// env is an authtest issuer and a verifier for it on a shared manual clock.
type env struct {
	srv     *authtest.Server
	v       *core.Verifier
	clock   *authtest.Clock
	retries *core.Retries // outage retries, fired only by the test
}

const testAudience = "orders-api"

func newEnv(t *testing.T, cfg core.Config, opts ...authtest.Option) *env {
	t.Helper()
	clk := newClock()
	// EdDSA signs and verifies fastest; tests about an algorithm ask for it.
	srv := authtest.NewServer(append([]authtest.Option{authtest.WithClock(clk.Now), authtest.WithAlgorithm("EdDSA")}, opts...)...)
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
	return &env{srv: srv, v: v, clock: clk, retries: core.HoldRetries(v)}
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
