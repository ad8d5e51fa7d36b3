package integration

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/core"
)

const discoveryPath = "/.well-known/openid-configuration"

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// expectReason checks that err is a refusal for reason r.
func expectReason(t *testing.T, what string, err error, r core.Reason) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: verified, want refusal %q", what, r)
		return
	}
	if got := core.ReasonOf(err); got != r {
		t.Errorf("%s: reason %q (%v), want %q", what, got, err, r)
	}
}

// scenarioAPIs (scenario 2): a verifier configured with nothing but the
// issuer finds the keys through discovery, and Gin and Echo APIs answer
// 200 with the scope, 403 without it, 401 without a token, and 401 for a
// token meant for another audience or with a broken signature.
func scenarioAPIs(t *testing.T, s *authServer) {
	ctx := ctxFor(t)
	v := newVerifier(t, core.Config{Issuer: s.issuer})
	apis := newAPIs(t, v, s.audience)

	good := s.token(t, s.audience, readScope, writeScope)
	writeOnly := s.token(t, s.audience, writeScope)
	other := s.token(t, s.other, readScope, writeScope)

	claims, err := v.Verify(ctx, good, s.audience)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if claims.Issuer != s.issuer || claims.ClientID != s.basic.id || !claims.HasScopes(readScope, writeScope) {
		t.Errorf("claims: iss %q client_id %q scopes %q; want %q, %q, both scopes", claims.Issuer, claims.ClientID, claims.Scopes, s.issuer, s.basic.id)
	}
	if !slices.Equal(claims.Audience, []string{s.audience}) {
		t.Errorf("claims.Audience = %q, want [%q]", claims.Audience, s.audience)
	}
	if st := v.KeySetStatus(); !st.Loaded || st.JWKSURL != s.disc.JWKSURI {
		t.Errorf("key set: loaded %v from %q, want the discovered %q", st.Loaded, st.JWKSURL, s.disc.JWKSURI)
	}
	_, err = v.Verify(ctx, other, s.audience)
	expectReason(t, "token for another audience", err, core.ReasonAudience)
	if !errors.Is(err, core.ErrInvalidToken) {
		t.Errorf("another audience: %v does not match ErrInvalidToken", err)
	}
	_, err = v.Verify(ctx, tamper(good), s.audience)
	expectReason(t, "token with a changed signature", err, core.ReasonSignature)

	for _, a := range apis {
		t.Run(a.name, func(t *testing.T) {
			w := a.expectOK(t, a.call(t, good))
			if w.ClientID != s.basic.id || !slices.Contains(w.Scopes, readScope) || !slices.Equal(w.Audience, []string{s.audience}) {
				t.Errorf("handler saw %+v", w)
			}
			a.expectRefusal(t, a.call(t, writeOnly), refusedScope)
			a.expectRefusal(t, a.call(t, ""), refusedNoToken)
			a.expectRefusal(t, a.call(t, other), refusedAudience)
			a.expectRefusal(t, a.call(t, tamper(good)), refusedInvalid)
		})
	}

	// The same token is fine for the API it was meant for: the 401 above
	// is about the audience, nothing else.
	for _, a := range newAPIs(t, v, s.other) {
		w := a.expectOK(t, a.call(t, other))
		if !slices.Equal(w.Audience, []string{s.other}) {
			t.Errorf("%s: other API saw aud %q", a.name, w.Audience)
		}
	}
}

// signedToken is a token expected to carry a given algorithm and key id.
type signedToken struct {
	alg      string
	kid      string // "" when the server chooses it
	token    string
	audience string
}

// scenarioAlgorithms (scenario 4): each token verifies with a verifier
// that allows only its algorithm, is refused before any key lookup by one
// that does not allow it, and one default verifier verifies them all
// from a single JWKS fetch.
func scenarioAlgorithms(t *testing.T, s *authServer, tokens []signedToken) {
	ctx := ctxFor(t)
	for i, st := range tokens {
		t.Run(st.alg, func(t *testing.T) {
			if got := headerString(t, st.token, "alg"); got != st.alg {
				t.Fatalf("token alg %q, want %q", got, st.alg)
			}
			if got := headerString(t, st.token, "kid"); st.kid != "" && got != st.kid {
				t.Errorf("token kid %q, want %q", got, st.kid)
			}
			only := newVerifier(t, core.Config{Issuer: s.issuer, Algorithms: []string{st.alg}})
			claims, err := only.Verify(ctx, st.token, st.audience)
			if err != nil {
				t.Fatalf("verifier allowing only %s: %v", st.alg, err)
			}
			if claims.ClientID != s.basic.id {
				t.Errorf("client_id %q, want %q", claims.ClientID, s.basic.id)
			}

			ct := newCountingTransport()
			otherAlg := tokens[(i+1)%len(tokens)].alg
			deny := newVerifier(t, core.Config{Issuer: s.issuer, Algorithms: []string{otherAlg}, HTTPClient: ct.client()})
			_, err = deny.Verify(ctx, st.token, st.audience)
			expectReason(t, "verifier allowing only "+otherAlg, err, core.ReasonAlgorithm)
			if n := ct.total(); n != 0 {
				t.Errorf("a refused algorithm caused %d requests to the issuer, want 0", n)
			}
		})
	}

	ct := newCountingTransport()
	all := newVerifier(t, core.Config{Issuer: s.issuer, HTTPClient: ct.client()})
	for _, st := range tokens {
		if _, err := all.Verify(ctx, st.token, st.audience); err != nil {
			t.Errorf("default verifier, %s token: %v", st.alg, err)
		}
	}
	if n := ct.count(s.disc.jwksPath(t)); n != 1 {
		t.Errorf("default verifier fetched the JWKS %d times for %d tokens, want 1", n, len(tokens))
	}
}

// rotation publishes a new signing key (returning its kid) and later
// retires an old one, each the way the server does it.
type rotation struct {
	rotate func(t *testing.T) string
	retire func(t *testing.T, kid string)
}

// scenarioRotation (scenario 5): a token signed by a new key verifies
// after exactly one JWKS refetch, however many requests carry it at once;
// tokens signed by the old key keep verifying while it is published, and
// stop once it is withdrawn and the key set is fetched again.
func scenarioRotation(t *testing.T, s *authServer, r rotation) {
	ctx := ctxFor(t)
	clock := newFakeClock()
	ct := newCountingTransport()
	// Without the token cache every verification checks a signature
	// against the key set held at that moment.
	v := newVerifier(t, core.Config{Issuer: s.issuer, HTTPClient: ct.client(), Now: clock.Now, TokenCacheSize: -1})
	jwks := s.disc.jwksPath(t)

	old := s.token(t, s.audience, readScope)
	oldKid := headerString(t, old, "kid")
	if _, err := v.Verify(ctx, old, s.audience); err != nil {
		t.Fatalf("token from the current key: %v", err)
	}
	if n := ct.count(jwks); n != 1 {
		t.Fatalf("JWKS fetched %d times after the first token, want 1", n)
	}

	newKid := r.rotate(t)
	fresh := s.token(t, s.audience, readScope)
	if got := headerString(t, fresh, "kid"); got != newKid || got == oldKid {
		t.Fatalf("after rotation the token's kid is %q, want the new key %q (old %q)", got, newKid, oldKid)
	}

	// Within the cooldown after the last fetch the new kid is unknown, and
	// asking again sends nothing to the issuer.
	_, err := v.Verify(ctx, fresh, s.audience)
	expectReason(t, "new key within the refetch cooldown", err, core.ReasonUnknownKey)
	if n := ct.count(jwks); n != 1 {
		t.Errorf("JWKS fetched %d times within the cooldown, want 1", n)
	}

	clock.Advance(core.DefaultRefetchCooldown + time.Second)
	const concurrent = 32
	var wg sync.WaitGroup
	errs := make([]error, concurrent)
	for i := range concurrent {
		wg.Go(func() {
			_, errs[i] = v.Verify(ctx, fresh, s.audience)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent verification %d of the new key's token: %v", i, err)
		}
	}
	if n := ct.count(jwks); n != 2 {
		t.Errorf("JWKS fetched %d times, want exactly 2 (one refetch for %d requests)", n, concurrent)
	}
	if n := ct.noCacheCount(jwks); n != 1 {
		t.Errorf("%d JWKS requests carried Cache-Control: no-cache, want 1 (the forced refetch)", n)
	}
	if n := ct.count(discoveryPath); n != 1 {
		t.Errorf("discovery fetched %d times, want 1", n)
	}

	if _, err := v.Verify(ctx, old, s.audience); err != nil {
		t.Errorf("token from the old, still published key: %v", err)
	}
	if n := ct.count(jwks); n != 2 {
		t.Errorf("JWKS fetched %d times after the old token, want 2", n)
	}

	// A verifier with the token cache on, holding the old token as
	// verified.
	cached := newVerifier(t, core.Config{Issuer: s.issuer})
	if _, err := cached.Verify(ctx, old, s.audience); err != nil {
		t.Fatalf("caching verifier, old token: %v", err)
	}

	// Withdrawing a key takes effect at the verifier's next key set fetch
	// (scheduled by the JWKS TTL; Prefetch makes it happen now). A refresh
	// replaces the set: the old key does not survive in it.
	r.retire(t, oldKid)
	for name, vv := range map[string]*core.Verifier{"uncached": v, "caching": cached} {
		if err := vv.Prefetch(ctx); err != nil {
			t.Fatalf("%s verifier, Prefetch: %v", name, err)
		}
		_, err = vv.Verify(ctx, old, s.audience)
		expectReason(t, name+" verifier, token from a withdrawn key", err, core.ReasonUnknownKey)
		if _, err := vv.Verify(ctx, fresh, s.audience); err != nil {
			t.Errorf("%s verifier, token from the new key after the old one left: %v", name, err)
		}
	}
	if n := ct.count(jwks); n != 3 {
		t.Errorf("JWKS fetched %d times by the uncached verifier, want 3 (first, refetch, prefetch)", n)
	}
}

// scenarioOutage (scenario 6): with the server stopped, a verifier that
// holds keys keeps verifying; a fresh one answers 503 through both
// adapters, with the Retry-After of its next background attempt, and
// requests during the outage fetch nothing themselves; once the server is
// back on the same port, a background retry recovers the verifier before
// any request asks.
func scenarioOutage(t *testing.T, s *authServer) {
	ctx := ctxFor(t)
	before := s.token(t, s.audience, readScope)
	warm := newVerifier(t, core.Config{Issuer: s.issuer, TokenCacheSize: -1})
	if _, err := warm.Verify(ctx, before, s.audience); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	warmAPIs := newAPIs(t, warm, s.audience)

	s.stop(t)

	if _, err := warm.Verify(ctx, before, s.audience); err != nil {
		t.Errorf("cached keys during the outage: %v", err)
	}
	for _, a := range warmAPIs {
		a.expectOK(t, a.call(t, before))
	}

	var attempts atomic.Int64
	recovered := make(chan struct{})
	ct := newCountingTransport()
	cold := newVerifier(t, core.Config{
		Issuer: s.issuer, HTTPClient: ct.client(),
		RefetchCooldown: 2 * time.Second, // retries every 2 s at most
		Hooks: core.Hooks{KeySet: func(e core.KeySetEvent) {
			attempts.Add(1)
			if e.State == core.KeySetRecovered {
				close(recovered)
			}
		}},
	})
	coldAPIs := newAPIs(t, cold, s.audience)
	for range 10 {
		for _, a := range coldAPIs {
			a.expectRefusal(t, a.call(t, before), refusedUnavailable)
		}
	}
	_, err := cold.Verify(ctx, before, s.audience)
	if !errors.Is(err, core.ErrKeySetUnavailable) {
		t.Errorf("fresh verifier during the outage: %v, want ErrKeySetUnavailable", err)
	}
	if st := cold.KeySetStatus(); st.Loaded || st.LastError == nil || st.NextRetry.IsZero() {
		t.Errorf("key set status during the outage: %+v", st)
	}
	// Each attempt is one refused connection; requests add none. One more
	// may be on its way while this is counted.
	if n, a := ct.total(), int(attempts.Load()); n > a+1 {
		t.Errorf("%d requests sent for %d attempts during the outage", n, a)
	}

	s.restart(t)
	after := s.token(t, s.audience, readScope)
	select {
	case <-recovered:
	case <-ctx.Done():
		t.Fatalf("no background retry recovered the verifier: %+v", cold.KeySetStatus())
	}
	// A restarted Hydra (in-memory store) makes its new signing key when
	// first asked, and may publish it only after the set the retry fetched:
	// take the set as it is now, as the next refresh would.
	if err := cold.Prefetch(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range coldAPIs {
		w := a.expectOK(t, a.call(t, after))
		if w.ClientID != s.basic.id {
			t.Errorf("%s: client_id %q after recovery", a.name, w.ClientID)
		}
	}
	if j := ct.count(s.disc.jwksPath(t)); j != 2 {
		t.Errorf("after recovery: %d JWKS requests, want 2 (the retry and the prefetch)", j)
	}
}
