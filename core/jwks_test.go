package core_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// verifyAll verifies the tokens concurrently and returns the errors.
func verifyAll(ctx context.Context, v *core.Verifier, tokens []string) []error {
	errs := make([]error, len(tokens))
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Go(func() {
			_, errs[i] = v.Verify(ctx, tok, testAudience)
		})
	}
	wg.Wait()
	return errs
}

func TestUnknownKidRefetchIsSharedAndRateLimited(t *testing.T) {
	e := newEnv(t, core.Config{TokenCacheSize: -1})
	e.prefetch(t)
	e.clock.Advance(core.DefaultRefetchCooldown + time.Second)

	// Rotation: 100 concurrent requests with the new kid share one refetch.
	gate := make(chan struct{})
	e.srv.SetJWKSFault(&authtest.Fault{Wait: gate})
	newKey, err := e.srv.RotateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	tokens := make([]string, 100)
	for i := range tokens {
		tokens[i] = e.srv.Token(testAudience)
	}
	done := make(chan []error)
	go func() { done <- verifyAll(context.Background(), e.v, tokens) }()
	// The gate holds the refetch while requests arrive: whether a request
	// joins the fetch in flight or finds the new key after it, the count of
	// GETs is the same.
	close(gate)
	for i, err := range <-done {
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	if got := e.srv.JWKSRequests(); got != 2 {
		t.Fatalf("JWKS requests = %d, want 2 (prefetch + one refetch)", got)
	}
	if got := e.srv.LastJWKSRequestHeader().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("forced refetch sent Cache-Control %q, want no-cache", got)
	}

	// A burst of random kids within the cooldown: no GET, and no request
	// waits, even though the endpoint would now hang.
	e.srv.SetJWKSFault(&authtest.Fault{Wait: make(chan struct{})})
	burst := make([]string, 1000)
	for i := range burst {
		burst[i] = e.mintWith(t, newKey, map[string]any{"kid": authtest.NewKeyID()}, e.srv.Claims(testAudience))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, err := range verifyAll(ctx, e.v, burst) {
		if core.ReasonOf(err) != core.ReasonUnknownKey {
			t.Fatalf("token %d: err = %v, want unknown_key", i, err)
		}
	}
	if got := e.srv.JWKSRequests(); got != 2 {
		t.Fatalf("JWKS requests after burst = %d, want 2", got)
	}
	// Good keys are untouched by the burst.
	if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
		t.Fatalf("good token after burst: %v", err)
	}

	// After the cooldown, a newly published key is picked up by one GET.
	e.srv.SetJWKSFault(nil)
	e.clock.Advance(core.DefaultRefetchCooldown)
	later, err := e.srv.AddKey("EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.verify(e.mintWith(t, later, nil, e.srv.Claims(testAudience))); err != nil {
		t.Fatalf("token with the newest key: %v", err)
	}
	if got := e.srv.JWKSRequests(); got != 3 {
		t.Fatalf("JWKS requests = %d, want 3", got)
	}
}

func TestOutageServesLastGoodKeysUntilMaxStaleness(t *testing.T) {
	e := newEnv(t, core.Config{}, authtest.WithTokenLifetime(48*time.Hour))
	tok := e.srv.Token(testAudience)
	if _, err := e.verify(tok); err != nil {
		t.Fatal(err)
	}
	fresh := e.srv.Token(testAudience) // not cached yet
	e.srv.SetJWKSFault(&authtest.Fault{Status: 503, Header: map[string][]string{"Retry-After": {"120"}}})
	e.clock.Advance(core.DefaultMaxStaleness - time.Minute)
	for _, tk := range []string{tok, fresh} {
		if _, err := e.verify(tk); err != nil {
			t.Fatalf("within max staleness: %v", err)
		}
	}
	e.clock.Advance(2 * time.Minute)
	for _, tk := range []string{tok, fresh} {
		if _, err := e.verify(tk); !errors.Is(err, core.ErrKeySetUnavailable) || errors.Is(err, core.ErrInvalidToken) {
			t.Fatalf("past max staleness: err = %v, want ErrKeySetUnavailable only", err)
		}
	}
	// Recovery: the retry scheduled for the outage finds the endpoint
	// answering again.
	e.srv.SetJWKSFault(nil)
	if n := e.retries.FireAndWait(e.v); n != 1 {
		t.Fatalf("%d retries scheduled, want 1", n)
	}
	if _, err := e.verify(tok); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestColdStartWithEndpointDown(t *testing.T) {
	for _, f := range []*authtest.Fault{
		{Status: 500},
		{Status: 429, Header: map[string][]string{"Retry-After": {"5"}}},
		{Body: []byte(`{"keys":[]}`)},
		{Body: []byte(`<html>oops</html>`)},
		{Body: []byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}`)},
		{Body: []byte(`{"keys":"x"}`)},
	} {
		e := newEnv(t, core.Config{})
		e.srv.SetJWKSFault(f)
		_, err := e.verify(e.srv.Token(testAudience))
		if !errors.Is(err, core.ErrKeySetUnavailable) || errors.Is(err, core.ErrInvalidToken) {
			t.Errorf("fault %d %q: err = %v, want ErrKeySetUnavailable", f.Status, f.Body, err)
		}
		st := e.v.KeySetStatus()
		if st.Loaded || st.LastError == nil || st.LastAttempt.IsZero() {
			t.Errorf("status = %+v", st)
		}
		// Within the cooldown no further request reaches the endpoint.
		_, _ = e.verify(e.srv.Token(testAudience))
		if got := e.srv.JWKSRequests(); got != 1 {
			t.Errorf("JWKS requests = %d, want 1", got)
		}
	}
}

func TestUnusableKeysAreSkipped(t *testing.T) {
	e := newEnv(t, core.Config{})
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	big := mustKey(t, "RS256")
	jwk := func(k jose.JSONWebKey) json.RawMessage {
		b, err := k.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withMember := func(raw json.RawMessage, name, value string) json.RawMessage {
		return json.RawMessage(strings.Replace(string(raw), "{", `{"`+name+`":`+value+`,`, 1))
	}
	entries := []json.RawMessage{
		json.RawMessage(`{"kty":"XYZ","kid":"unknown"}`),
		json.RawMessage(`{"kid":"no-kty","n":"AQAB","e":"AQAB"}`),
		jwk(jose.JSONWebKey{Key: &small.PublicKey, KeyID: "rsa-1024", Algorithm: "RS256"}),
		jwk(jose.JSONWebKey{Key: big.Public(), KeyID: "enc", Use: "enc"}),
		withMember(jwk(jose.JSONWebKey{Key: big.Public(), KeyID: "ops"}), "key_ops", `["encrypt"]`),
		jwk(jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "oct"}),
		jwk(jose.JSONWebKey{Key: small, KeyID: "private"}),
		withMember(jwk(jose.JSONWebKey{Key: big.Public(), KeyID: "future"}), "alg", `"RS1024"`),
		json.RawMessage(`{"kty":"EC","crv":"P-256","kid":"off-curve","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"}`),
		json.RawMessage(`{"kty":"OKP","crv":"X25519","kid":"x25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`),
		json.RawMessage(`"just a string"`),
		json.RawMessage(`42`),
	}
	for _, raw := range entries {
		e.srv.PublishRawJWK(raw)
	}
	if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
		t.Fatalf("good key stopped working: %v", err)
	}
	st := e.v.KeySetStatus()
	if st.Keys != 1 || st.Skipped != len(entries) {
		t.Errorf("Keys = %d, Skipped = %d; want 1 and %d", st.Keys, st.Skipped, len(entries))
	}
}

func TestFetchLimits(t *testing.T) {
	t.Run("body over the cap", func(t *testing.T) {
		e := newEnv(t, core.Config{MaxResponseSize: 256})
		_, err := e.verify(e.srv.Token(testAudience))
		if !errors.Is(err, core.ErrKeySetUnavailable) {
			t.Fatalf("err = %v", err)
		}
		if st := e.v.KeySetStatus(); st.LastError == nil || !strings.Contains(st.LastError.Error(), "exceeds") {
			t.Errorf("LastError = %v", st.LastError)
		}
	})
	t.Run("slow endpoint", func(t *testing.T) {
		e := newEnv(t, core.Config{FetchTimeout: 50 * time.Millisecond})
		e.srv.SetJWKSFault(&authtest.Fault{Wait: make(chan struct{})})
		_, err := e.verify(e.srv.Token(testAudience))
		if !errors.Is(err, core.ErrKeySetUnavailable) {
			t.Fatalf("err = %v", err)
		}
		if st := e.v.KeySetStatus(); !errors.Is(st.LastError, context.DeadlineExceeded) {
			t.Errorf("LastError = %v", st.LastError)
		}
	})
	t.Run("caller gives up first", func(t *testing.T) {
		e := newEnv(t, core.Config{})
		e.srv.SetJWKSFault(&authtest.Fault{Wait: make(chan struct{})})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := e.v.Verify(ctx, e.srv.Token(testAudience), testAudience)
		if !errors.Is(err, core.ErrKeySetUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDiscovery(t *testing.T) {
	t.Run("issuer mismatch", func(t *testing.T) {
		e := newEnv(t, core.Config{}, authtest.WithMetadataIssuer("https://evil.example/"))
		_, err := e.verify(e.srv.Token(testAudience))
		if !errors.Is(err, core.ErrKeySetUnavailable) {
			t.Fatalf("err = %v", err)
		}
		if st := e.v.KeySetStatus(); !strings.Contains(st.LastError.Error(), "issuer") || e.srv.JWKSRequests() != 0 {
			t.Errorf("LastError = %v, JWKS requests = %d", st.LastError, e.srv.JWKSRequests())
		}
	})
	t.Run("RFC 8414 fallback", func(t *testing.T) {
		e := newEnv(t, core.Config{}, authtest.WithoutOIDCDiscovery())
		if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
			t.Fatal(err)
		}
		if got := e.srv.DiscoveryRequests(); got != 2 {
			t.Errorf("discovery requests = %d, want 2", got)
		}
		if got := e.v.KeySetStatus().JWKSURL; got != e.srv.JWKSURL() {
			t.Errorf("JWKSURL = %q", got)
		}
	})
	t.Run("configured JWKS URL skips discovery", func(t *testing.T) {
		srv := authtest.NewServer()
		defer srv.Close()
		v, err := core.New(core.Config{Issuer: srv.Issuer, JWKSURL: srv.JWKSURL()})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		if _, err := v.Verify(t.Context(), srv.Token(testAudience), testAudience); err != nil {
			t.Fatal(err)
		}
		if srv.DiscoveryRequests() != 0 || srv.JWKSRequests() != 1 {
			t.Errorf("discovery %d, JWKS %d", srv.DiscoveryRequests(), srv.JWKSRequests())
		}
		h := srv.LastJWKSRequestHeader()
		if h.Get("Authorization") != "" || h.Get("Cookie") != "" || h.Get("User-Agent") != "bearerkit" || !strings.Contains(h.Get("Accept"), "jwk-set+json") {
			t.Errorf("JWKS request headers = %v", h)
		}
	})
}

func TestCacheControlIsClamped(t *testing.T) {
	cases := map[string]time.Duration{
		"max-age=0":           core.DefaultJWKSMinTTL,
		"no-store":            core.DefaultJWKSMinTTL,
		"max-age=1":           core.DefaultJWKSMinTTL,
		"public, max-age=600": 10 * time.Minute,
		"max-age=999999999":   core.DefaultJWKSMaxTTL,
		"max-age=banana":      core.DefaultJWKSTTL,
		"":                    core.DefaultJWKSTTL,
	}
	for cc, ttl := range cases {
		e := newEnv(t, core.Config{}, authtest.WithJWKSCacheControl(cc))
		e.prefetch(t)
		st := e.v.KeySetStatus()
		if got, want := st.RefreshAt.Sub(st.FetchedAt), ttl-ttl/5; got != want {
			t.Errorf("Cache-Control %q: refresh after %v, want %v", cc, got, want)
		}
	}
}

func TestRefreshComesBeforeMaxStaleness(t *testing.T) {
	e := newEnv(t, core.Config{MaxStaleness: 10 * time.Minute}, authtest.WithJWKSCacheControl("max-age=3600"))
	e.prefetch(t)
	st := e.v.KeySetStatus()
	if got := st.RefreshAt.Sub(st.FetchedAt); got != 8*time.Minute {
		t.Errorf("refresh after %v, want 8m (80%% of MaxStaleness)", got)
	}
}

func TestD9RemovedKeyStopsVerifying(t *testing.T) {
	e := newEnv(t, core.Config{})
	old := e.srv.SigningKey()
	tok := e.srv.Token(testAudience)
	if _, err := e.verify(tok); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.RotateKey("RS256"); err != nil {
		t.Fatal(err)
	}
	// Old tokens keep verifying while the old key is published.
	if err := e.v.Prefetch(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.verify(tok); err != nil {
		t.Fatalf("old key still published: %v", err)
	}
	e.srv.RemoveKey(old.ID)
	if err := e.v.Prefetch(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.verify(tok); core.ReasonOf(err) != core.ReasonUnknownKey {
		t.Fatalf("after removal: err = %v, want unknown_key", err)
	}
	if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
		t.Fatalf("new key: %v", err)
	}
}

func TestA11KeysSharingAKidAcrossIssuers(t *testing.T) {
	a := newEnv(t, core.Config{})
	b := newEnv(t, core.Config{})
	shared := mustKey(t, a.srv.SigningKey().Alg)
	shared.ID = a.srv.SigningKey().ID
	b.srv.PublishKey(shared) // b publishes another key under a's kid
	tok := a.srv.Token(testAudience)
	claims := b.srv.Claims(testAudience)
	forged := b.mintWith(t, shared, nil, claims)
	if _, err := a.verify(tok); err != nil {
		t.Fatal(err)
	}
	if _, err := b.verify(forged); err != nil {
		t.Fatal(err)
	}
	// a's token presented to b: wrong issuer; b's key under a's kid, with
	// a's issuer: wrong signature.
	if _, err := b.verify(tok); !errors.Is(err, core.ErrInvalidToken) {
		t.Errorf("a's token at b: %v", err)
	}
	claims["iss"] = a.srv.Issuer
	if _, err := a.verify(b.mintWith(t, shared, nil, claims)); core.ReasonOf(err) != core.ReasonSignature {
		t.Errorf("b's key at a: %v", err)
	}
}

func TestAmbiguousKid(t *testing.T) {
	e := newEnv(t, core.Config{})
	signing := e.srv.SigningKey()
	twin := mustKey(t, signing.Alg)
	twin.ID = signing.ID
	e.srv.PublishKey(twin)
	ec := mustKey(t, "ES256")
	ec.ID = signing.ID
	e.srv.PublishKey(ec)
	// Two Ed25519 keys under one kid: EdDSA cannot pick one.
	if _, err := e.verify(e.srv.Token(testAudience)); core.ReasonOf(err) != core.ReasonKeyMismatch {
		t.Errorf("EdDSA with two Ed25519 keys under the kid: %v", err)
	}
	// ES256 picks exactly one.
	if _, err := e.verify(e.mintWith(t, ec, nil, e.srv.Claims(testAudience))); err != nil {
		t.Errorf("ES256 under a shared kid: %v", err)
	}
}

func TestTokensWithoutKid(t *testing.T) {
	for _, n := range []int{1, 2, 50} {
		e := newEnv(t, core.Config{})
		for range n - 1 {
			if _, err := e.srv.AddKey("ES256"); err != nil {
				t.Fatal(err)
			}
		}
		first := e.srv.SigningKey()
		_, err := e.verify(e.mintWith(t, first, map[string]any{"kid": nil}, e.srv.Claims(testAudience)))
		if err != nil {
			t.Errorf("%d keys, signer first: %v", n, err)
		}
		if n == 50 {
			last := e.srv.Keys()[49]
			_, err := e.verify(e.mintWith(t, last, map[string]any{"kid": nil}, e.srv.Claims(testAudience)))
			if core.ReasonOf(err) != core.ReasonSignature {
				t.Errorf("signer beyond the first three candidates: err = %v", err)
			}
		}
		if got := e.srv.JWKSRequests(); got != 1 {
			t.Errorf("%d keys: JWKS requests = %d, want 1", n, got)
		}
	}
}
