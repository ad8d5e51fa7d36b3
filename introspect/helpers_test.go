package introspect_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/introspect"
)

const (
	audience = "orders-api"
	rsID     = "orders-api-rs" // the resource server's client at the issuer
	rsSecret = "rs-secret-9f2c"
)

func newClock() *authtest.Clock {
	return authtest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

// env is an issuer that issues opaque tokens and an Introspector for it on
// one manual clock.
type env struct {
	srv   *authtest.Server
	in    *introspect.Introspector
	clock *authtest.Clock
}

func newEnv(t *testing.T, cfg introspect.Config, opts ...authtest.Option) *env {
	t.Helper()
	clk := newClock()
	srv := authtest.NewServer(append([]authtest.Option{
		authtest.WithClock(clk.Now), authtest.WithAlgorithm("EdDSA"),
		authtest.WithClient(authtest.Client{ID: rsID, Secret: rsSecret}),
	}, opts...)...)
	t.Cleanup(srv.Close)
	if cfg.URL == "" && cfg.Issuer == "" {
		cfg.URL = srv.IntrospectionURL()
	}
	if cfg.ClientID == "" && cfg.AuthMethod == "" {
		cfg.ClientID, cfg.ClientSecret = rsID, rsSecret
	}
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	in, err := introspect.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	return &env{srv: srv, in: in, clock: clk}
}

// opaque issues an opaque token for the audience and scopes, edited by
// edit.
func (e *env) opaque(edit func(map[string]any), scopes ...string) string {
	c := e.srv.Claims(audience, scopes...)
	if edit != nil {
		edit(c)
	}
	return e.srv.OpaqueToken(c)
}

// fixed is an introspection endpoint that answers every request with one
// body, and counts requests.
type fixed struct {
	*httptest.Server
	n    atomic.Int64
	body atomic.Value // string
}

func newFixed(t *testing.T, body string) *fixed {
	f := &fixed{}
	f.body.Store(body)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(f.body.Load().(string)))
	}))
	t.Cleanup(f.Close)
	return f
}
