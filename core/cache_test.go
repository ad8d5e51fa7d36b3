package core_test

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// The verified-token cache must never answer differently from a fresh
// verification. Each test runs the same steps with the cache on and off.
func bothCacheModes(t *testing.T, fn func(t *testing.T, cfg core.Config)) {
	t.Run("cache on", func(t *testing.T) { fn(t, core.Config{}) })
	t.Run("cache off", func(t *testing.T) { fn(t, core.Config{TokenCacheSize: -1}) })
}

func TestCacheExpiryOnHit(t *testing.T) {
	bothCacheModes(t, func(t *testing.T, cfg core.Config) {
		e := newEnv(t, cfg, authtest.WithTokenLifetime(time.Minute))
		tok := e.srv.Token(testAudience)
		if _, err := e.verify(tok); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute + core.DefaultLeeway - time.Second)
		if _, err := e.verify(tok); err != nil {
			t.Fatalf("within leeway: %v", err)
		}
		e.clock.Advance(time.Second)
		c, err := e.verify(tok)
		expectReject(t, c, err, core.ErrTokenExpired, core.ReasonExpired)
	})
}

func TestCacheAudienceOnHit(t *testing.T) {
	bothCacheModes(t, func(t *testing.T, cfg core.Config) {
		e := newEnv(t, cfg)
		tok := e.srv.Token(testAudience)
		if _, err := e.verify(tok); err != nil {
			t.Fatal(err)
		}
		c, err := e.v.Verify(t.Context(), tok, "billing-api")
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonAudience)
	})
}

func TestCacheNotBeforeOnHit(t *testing.T) {
	e := newEnv(t, core.Config{})
	c := e.srv.Claims(testAudience)
	c["nbf"] = e.clock.Now().Add(time.Minute).Unix()
	tok := e.mint(t, c)
	// Refused now, so not cached; accepted later; the refusal was not cached.
	if _, err := e.verify(tok); core.ReasonOf(err) != core.ReasonNotYetValid {
		t.Fatalf("err = %v", err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.verify(tok); err != nil {
		t.Fatal(err)
	}
}

func TestCacheKeyRemovalAndRotation(t *testing.T) {
	bothCacheModes(t, func(t *testing.T, cfg core.Config) {
		e := newEnv(t, cfg)
		old := e.srv.SigningKey()
		tok := e.srv.Token(testAudience)
		if _, err := e.verify(tok); err != nil {
			t.Fatal(err)
		}
		if _, err := e.srv.RotateKey("ES256"); err != nil {
			t.Fatal(err)
		}
		if err := e.v.Prefetch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.verify(tok); err != nil {
			t.Fatalf("old key still published: %v", err)
		}
		if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
			t.Fatalf("new key: %v", err)
		}
		e.srv.RemoveKey(old.ID)
		if err := e.v.Prefetch(t.Context()); err != nil {
			t.Fatal(err)
		}
		c, err := e.verify(tok)
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonUnknownKey)
	})
}

func TestCacheFollowsLookupRules(t *testing.T) {
	bothCacheModes(t, func(t *testing.T, cfg core.Config) {
		e := newEnv(t, cfg)
		signing := e.srv.SigningKey()
		withKid := e.srv.Token(testAudience)
		kidless := e.mintWith(t, signing, map[string]any{"kid": nil}, e.srv.Claims(testAudience))
		for _, tok := range []string{withKid, kidless} {
			if _, err := e.verify(tok); err != nil {
				t.Fatal(err)
			}
		}
		// Another key of the same type under the same kid makes the kid
		// ambiguous.
		twin := mustKey(t, signing.Alg)
		twin.ID = signing.ID
		e.srv.PublishKey(twin)
		if err := e.v.Prefetch(t.Context()); err != nil {
			t.Fatal(err)
		}
		c, err := e.verify(withKid)
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonKeyMismatch)

		// Three keys of its type ahead of the signer: a kid-less token is no
		// longer checked against it.
		e.srv.RemoveKey(signing.ID)
		for range 3 {
			if _, err := e.srv.AddKey(signing.Alg); err != nil {
				t.Fatal(err)
			}
		}
		signing.ID = authtest.NewKeyID()
		e.srv.PublishKey(signing)
		if err := e.v.Prefetch(t.Context()); err != nil {
			t.Fatal(err)
		}
		c, err = e.verify(kidless)
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonSignature)
	})
}

func TestCachedClaimsAreNotShared(t *testing.T) {
	e := newEnv(t, core.Config{})
	tok := e.srv.Token(testAudience, "orders:read")
	first, err := e.verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	first.Audience[0] = "admin-api"
	first.Scopes[0] = "admin"
	first.Scopes = append(first.Scopes, "more")
	second, err := e.verify(tok)
	if err != nil {
		t.Fatalf("after the caller changed its claims: %v", err)
	}
	if second.Audience[0] != testAudience || len(second.Scopes) != 1 || second.Scopes[0] != "orders:read" {
		t.Errorf("cached claims changed: %+v", second)
	}
	if _, err := e.v.Verify(t.Context(), tok, "admin-api"); err == nil {
		t.Error("a caller's change widened the token's audience")
	}
}

func TestCacheBoundedUnderFlood(t *testing.T) {
	e := newEnv(t, core.Config{TokenCacheSize: 64, TokenCacheBytes: 1 << 20})
	for i := range 3000 {
		c := e.srv.Claims(testAudience)
		c["pad"] = string(make([]byte, 1000+i%7))
		if _, err := e.verify(e.mint(t, c)); err != nil {
			t.Fatal(err)
		}
	}
	st := e.v.TokenCacheStats()
	if st.Entries > 64 || st.Bytes > 1<<20 {
		t.Errorf("cache holds %d entries, %d bytes; bounds are 64 and 1 MiB", st.Entries, st.Bytes)
	}
	if st.Entries == 0 {
		t.Error("cache is empty after 3000 verifications")
	}
}

// E9: 100 goroutines verify cached and fresh tokens while refreshes swap
// key sets under them: no race, no torn set, no failure.
func TestCacheConcurrentWithRefreshes(t *testing.T) {
	e := newEnv(t, core.Config{})
	tokens := make([]string, 20)
	for i := range tokens {
		tokens[i] = e.srv.Token(testAudience)
	}
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Go(func() {
			for i := range 50 {
				if _, err := e.v.Verify(context.Background(), tokens[(g+i)%len(tokens)], testAudience); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 5 {
		if _, err := e.srv.AddKey("ES256"); err != nil {
			t.Fatal(err)
		}
		if err := e.v.Prefetch(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

// The byte bound must be true to memory: TokenCacheStats.Bytes, which the
// bound is enforced on, is compared with the heap the entries really keep
// alive, measured by dropping them.
func TestCacheBytesMatchHeap(t *testing.T) {
	shapes := []struct {
		name string
		edit func(c map[string]any)
	}{
		{"typical", nil},
		{"long aud array of short strings", func(c map[string]any) {
			aud := []string{testAudience}
			for i := range 150 {
				aud = append(aud, "a"+strconv.Itoa(i))
			}
			c["aud"] = aud
		}},
		{"many scopes in scp", func(c map[string]any) {
			var scp []string
			for i := range 100 {
				scp = append(scp, "s:"+strconv.Itoa(i))
			}
			c["scp"] = scp
		}},
		{"large custom claim", func(c map[string]any) { c["profile"] = strings.Repeat("x", 6000) }},
	}
	for _, shape := range shapes {
		t.Run(shape.name, func(t *testing.T) {
			e := newEnv(t, core.Config{TokenCacheSize: 1 << 16, TokenCacheBytes: 1 << 30}, authtest.WithAlgorithm("EdDSA"))
			const n = 2000
			for range n {
				c := e.srv.Claims(testAudience, "orders:read", "orders:write")
				if shape.edit != nil {
					shape.edit(c)
				}
				if _, err := e.verify(e.mint(t, c)); err != nil {
					t.Fatal(err)
				}
			}
			held := e.v.TokenCacheStats()
			if held.Entries != n {
				t.Fatalf("%d entries cached, want %d", held.Entries, n)
			}
			var with, without runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&with)
			core.ClearTokenCache(e.v)
			runtime.GC()
			runtime.ReadMemStats(&without)
			real := float64(with.HeapAlloc) - float64(without.HeapAlloc)
			ratio := float64(held.Bytes) / real
			t.Logf("counted %d bytes, heap %0.f bytes: %.2f", held.Bytes, real, ratio)
			if ratio < 0.8 || ratio > 1.2 {
				t.Errorf("counted %d bytes for entries that hold %.0f: off by more than 20%%", held.Bytes, real)
			}
		})
	}
}
