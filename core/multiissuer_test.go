package core_test

// docs/security-checklist.md, section J: several issuers.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// multiEnv is two issuers on one clock and a MultiIssuer for both.
type multiEnv struct {
	a, b  *authtest.Server
	m     *core.MultiIssuer
	clock *authtest.Clock
}

func newMultiEnv(t *testing.T) *multiEnv {
	t.Helper()
	clk := newClock()
	a := authtest.NewServer(authtest.WithClock(clk.Now), authtest.WithAlgorithm("EdDSA"))
	t.Cleanup(a.Close)
	b := authtest.NewServer(authtest.WithClock(clk.Now), authtest.WithAlgorithm("ES256"))
	t.Cleanup(b.Close)
	m, err := core.NewMultiIssuer(core.Config{Issuer: a.Issuer, Now: clk.Now}, core.Config{Issuer: b.Issuer, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return &multiEnv{a: a, b: b, m: m, clock: clk}
}

func TestMultiIssuerVerifiesEachIssuer(t *testing.T) {
	e := newMultiEnv(t)
	for _, srv := range []*authtest.Server{e.a, e.b, e.a} {
		c, err := e.m.Verify(context.Background(), srv.Token(testAudience, "orders:read"), testAudience)
		if err != nil || c.Issuer != srv.Issuer || !c.HasScopes("orders:read") {
			t.Fatalf("token of %s: %+v, %v", srv.Issuer, c, err)
		}
	}
	// Each issuer's keys were fetched once, and a repeated token is served
	// from the shared cache.
	tok := e.b.Token(testAudience)
	for range 3 {
		if _, err := e.m.Verify(context.Background(), tok, testAudience); err != nil {
			t.Fatal(err)
		}
	}
	if e.a.JWKSRequests() != 1 || e.b.JWKSRequests() != 1 || e.m.TokenCacheStats().Entries != 4 {
		t.Errorf("JWKS requests %d and %d, cache %+v", e.a.JWKSRequests(), e.b.JWKSRequests(), e.m.TokenCacheStats())
	}
	if err := e.m.Ready(); err != nil {
		t.Errorf("Ready: %v", err)
	}
	if st := e.m.KeySetStatuses(); len(st) != 2 || st[0].Issuer != e.a.Issuer || !st[1].Usable {
		t.Errorf("statuses %+v", st)
	}
}

func TestMultiIssuerConfigErrors(t *testing.T) {
	if _, err := core.NewMultiIssuer(); err == nil {
		t.Error("no configuration accepted")
	}
	if _, err := core.NewMultiIssuer(core.Config{Issuer: "https://a.example"}, core.Config{Issuer: "https://a.example"}); err == nil {
		t.Error("one issuer configured twice accepted")
	}
	if _, err := core.NewMultiIssuer(core.Config{Issuer: "https://a.example"}, core.Config{}); err == nil {
		t.Error("an invalid Config accepted")
	}
	if _, err := core.NewDynamicMultiIssuer(core.DynamicIssuers{}); err == nil {
		t.Error("dynamic issuers without Accept accepted")
	}
}

// J1: a token naming issuer A whose kid is a key of issuer B is refused;
// A fetches nothing beyond its normal cadence, B nothing at all.
func TestJ1KeysNeverCrossIssuers(t *testing.T) {
	e := newMultiEnv(t)
	if err := e.m.Prefetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	bKey := e.b.SigningKey()
	claims := e.a.Claims(testAudience, "orders:read") // iss = A
	forged, err := e.b.MintWith(bKey, nil, claims)
	if err != nil {
		t.Fatal(err)
	}
	// Also with A's kid in the header, and without any kid.
	withAKid, _ := e.b.MintWith(bKey, map[string]any{"kid": e.a.SigningKey().ID, "alg": "ES256"}, claims)
	noKid, _ := e.b.MintWith(bKey, map[string]any{"kid": nil}, claims)
	for name, tok := range map[string]string{"B's kid": forged, "A's kid": withAKid, "no kid": noKid} {
		for range 20 {
			c, err := e.m.Verify(context.Background(), tok, testAudience)
			if c != nil || !errors.Is(err, core.ErrInvalidToken) {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	// A refetched at most once for the unknown kid (the cooldown holds the
	// rest); B was never asked.
	if a, b := e.a.JWKSRequests(), e.b.JWKSRequests(); a > 2 || b != 1 {
		t.Errorf("JWKS requests: A %d (want ≤ 2), B %d (want 1, the prefetch)", a, b)
	}
}

// J2: an issuer no configuration names is refused without any network
// request, whatever it looks like.
func TestJ2UnknownIssuerFetchesNothing(t *testing.T) {
	e := newMultiEnv(t)
	var hits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer attacker.Close()
	for _, iss := range []string{attacker.URL, e.a.Issuer + "/", strings.ToUpper(e.a.Issuer), "https://evil.example", ""} {
		c := e.a.Claims(testAudience)
		c["iss"] = iss
		tok, _ := e.a.Mint(c)
		got, err := e.m.Verify(context.Background(), tok, testAudience)
		expectReject(t, got, err, core.ErrInvalidToken, core.ReasonIssuer)
	}
	c := e.a.Claims(testAudience)
	c["iss"] = 7
	tok, _ := e.a.Mint(c)
	got, err := e.m.Verify(context.Background(), tok, testAudience)
	expectReject(t, got, err, core.ErrInvalidToken, core.ReasonClaimType)
	if n := hits.Load() + int64(e.a.JWKSRequests()+e.a.DiscoveryRequests()+e.b.JWKSRequests()+e.b.DiscoveryRequests()); n != 0 {
		t.Errorf("%d requests for tokens of unknown issuers", n)
	}
}

// tenantServer is an https server that counts requests per path and serves
// nothing, standing in for the issuers an attacker names.
type tenantServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newTenantServer(t *testing.T) *tenantServer {
	s := &tenantServer{hits: map[string]int{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		http.NotFound(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// J2, dynamic mode: 1,000 distinct attacker-chosen issuers admit at most
// the configured number of verifiers at the configured rate, and nothing is
// fetched for an issuer the predicate did not accept.
func TestJ2DynamicIssuersAreBounded(t *testing.T) {
	ts := newTenantServer(t)
	clk := newClock()
	accepted := func(iss string) bool {
		rest, ok := strings.CutPrefix(iss, ts.URL+"/tenants/")
		return ok && len(rest) == 8 && !strings.ContainsAny(rest, "/?#")
	}
	m, err := core.NewDynamicMultiIssuer(core.DynamicIssuers{
		Accept:       accepted,
		Config:       func(string) core.Config { return core.Config{HTTPClient: ts.Client(), Now: clk.Now} },
		MaxIssuers:   5,
		NewPerMinute: 10,
		Now:          clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	core.HoldDynamicRetries(m) // the admitted issuers' failed fetches are not retried behind the test's back
	signer := mustKey(t, "EdDSA")
	verifyAs := func(iss string) error {
		tok, err := authtest.SignRaw(signer, []byte(`{"alg":"EdDSA","kid":"k"}`),
			[]byte(`{"iss":"`+iss+`","aud":"`+testAudience+`","exp":`+itoa(clk.Now().Add(time.Hour).Unix())+`}`))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err = m.Verify(ctx, tok, testAudience)
		return err
	}
	var unavailable, refused int
	for i := range 1000 {
		var iss string
		switch i % 4 {
		case 0:
			iss = fmt.Sprintf("%s/tenants/%08d", ts.URL, i) // accepted
		case 1:
			iss = fmt.Sprintf("%s/other/%08d", ts.URL, i) // not accepted
		case 2:
			iss = fmt.Sprintf("http://%s/tenants/%08d", ts.Listener.Addr(), i) // not https
		case 3:
			iss = fmt.Sprintf("%s/tenants/%08d/x", ts.URL, i) // an extension of an accepted name
		}
		err := verifyAs(iss)
		switch core.ReasonOf(err) {
		case core.ReasonKeySetUnavailable:
			unavailable++
		case core.ReasonIssuer:
			refused++
		default:
			t.Fatalf("%s: %v", iss, err)
		}
	}
	if held := len(m.KeySetStatuses()); held > 5 {
		t.Errorf("%d dynamic issuers held, bound 5", held)
	}
	if refused != 750 || unavailable != 250 {
		t.Errorf("refused %d, unavailable %d; want 750 and 250", refused, unavailable)
	}
	// Only the ten issuers admitted within the minute were fetched from,
	// and only their discovery documents.
	ts.mu.Lock()
	fetched := 0
	for path, n := range ts.hits {
		issuerPath, ok := strings.CutPrefix(path, "/.well-known/oauth-authorization-server")
		if !ok {
			issuerPath = strings.TrimSuffix(path, "/.well-known/openid-configuration")
		}
		if !accepted(ts.URL + issuerPath) {
			t.Errorf("fetched %s for an issuer that was not accepted", path)
		}
		fetched += n
	}
	ts.mu.Unlock()
	if fetched != 20 {
		t.Errorf("%d requests, want 20 (two discovery documents for each of 10 admitted issuers)", fetched)
	}
	// A minute later, ten more are admitted.
	clk.Advance(time.Minute)
	for i := range 30 {
		if err := verifyAs(fmt.Sprintf("%s/tenants/9%07d", ts.URL, i)); !errors.Is(err, core.ErrKeySetUnavailable) {
			t.Fatalf("accepted issuer: %v", err)
		}
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	n := 0
	for _, c := range ts.hits {
		n += c
	}
	if n != 40 {
		t.Errorf("%d requests after a minute, want 40", n)
	}
}

// Dynamic issuers, the happy path: two tenants on https, each admitted on
// its first token and verified with its own keys only.
func TestDynamicIssuersVerifyTenants(t *testing.T) {
	clk := newClock()
	t1 := authtest.NewServer(authtest.WithTLS(), authtest.WithClock(clk.Now), authtest.WithAlgorithm("EdDSA"))
	defer t1.Close()
	t2 := authtest.NewServer(authtest.WithTLS(), authtest.WithClock(clk.Now), authtest.WithAlgorithm("EdDSA"))
	defer t2.Close()
	clients := map[string]*http.Client{t1.Issuer: t1.Client(), t2.Issuer: t2.Client()}
	m, err := core.NewDynamicMultiIssuer(core.DynamicIssuers{
		Accept: func(iss string) bool { return clients[iss] != nil },
		Config: func(iss string) core.Config { return core.Config{HTTPClient: clients[iss], Now: clk.Now} },
		Now:    clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, srv := range []*authtest.Server{t1, t2} {
		if c, err := m.Verify(context.Background(), srv.Token(testAudience), testAudience); err != nil || c.Issuer != srv.Issuer {
			t.Fatalf("tenant %s: %v", srv.Issuer, err)
		}
	}
	// t2's key under t1's name: refused.
	forged, _ := t2.MintWith(t2.SigningKey(), nil, t1.Claims(testAudience))
	if _, err := m.Verify(context.Background(), forged, testAudience); !errors.Is(err, core.ErrInvalidToken) {
		t.Errorf("cross-tenant token: %v", err)
	}
	if st := m.KeySetStatuses(); len(st) != 2 {
		t.Errorf("statuses %+v", st)
	}
	if err := m.Ready(); err != nil {
		t.Errorf("Ready with dynamic issuers only: %v", err)
	}
}
