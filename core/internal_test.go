package core

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestTruncateSanitizes(t *testing.T) {
	got := truncate("a\"b\\c\r\nd\u202ee\x00\u0085\u2028\xff"+strings.Repeat("z", 100), 15)
	if got != "a?b?c??d?e????z…" {
		t.Errorf("got %q", got)
	}
}

// A set past its refresh point is refreshed in the background: the request
// that notices it is answered with the current keys at once, and requests
// arriving during the refresh start no second fetch.
func TestRefreshAheadDoesNotBlock(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := (&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: "k1", Algorithm: "EdDSA", Use: "sig"}}}).Keys[0].MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var gets atomic.Int64
	gate := make(chan struct{})
	hold := atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		if hold.Load() {
			<-gate
		}
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write([]byte(`{"keys":[` + string(jwks) + `]}`))
	}))
	defer srv.Close()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	v, err := New(Config{Issuer: "https://issuer.example", JWKSURL: srv.URL, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()

	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"EdDSA","kid":"k1"}`)) + "." +
		enc.EncodeToString([]byte(`{"iss":"https://issuer.example","aud":"api","exp":`+strconv.FormatInt(now.Add(48*time.Hour).Unix(), 10)+`}`))
	token := input + "." + enc.EncodeToString(ed25519.Sign(priv, []byte(input)))
	if _, err := v.Verify(t.Context(), token, "api"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(9 * time.Minute) // past 80% of max-age=600
	hold.Store(true)
	if _, err := v.Verify(t.Context(), token, "api"); err != nil {
		t.Fatalf("verify while the refresh is held: %v", err)
	}
	v.keys.mu.Lock()
	call := v.keys.call
	v.keys.mu.Unlock()
	if call == nil {
		t.Fatal("no background refresh started")
	}
	for range 10 {
		if _, err := v.Verify(t.Context(), token, "api"); err != nil {
			t.Fatal(err)
		}
	}
	close(gate)
	if _, err := call.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := gets.Load(); got != 2 {
		t.Errorf("GETs = %d, want 2", got)
	}
	if st := v.KeySetStatus(); !st.FetchedAt.Equal(now) {
		t.Errorf("FetchedAt = %v, want %v", st.FetchedAt, now)
	}
}

// Eviction must be random: a hot set presented between one-off tokens
// stays mostly cached, whatever the tokens' hashes.
func TestCacheEvictionKeepsHotTokens(t *testing.T) {
	c := newTokenCache(1024, 1<<30)
	entry := func() *cacheEntry { return &cacheEntry{claims: &tokenClaims{}} }
	hot := make([]string, 256)
	for i := range hot {
		hot[i] = "hot-" + strconv.Itoa(i) + strings.Repeat("x", i%7)
		c.put(hot[i], entry())
	}
	hits, tries := 0, 20000
	for i := range tries {
		c.put("one-off-"+strconv.Itoa(i), entry())
		h := hot[(i*7919)%len(hot)]
		if c.get(h) != nil {
			hits++
		} else {
			c.put(h, entry())
		}
	}
	// Between two requests for a hot token, eight one-off tokens land in
	// its 32-entry shard: it survives with probability (31/32)^8 ≈ 0.78.
	if rate := float64(hits) / float64(tries); rate < 0.65 {
		t.Errorf("hot-set hit rate %.2f, want about 0.78", rate)
	}
	if st := c.stats(); st.Entries > 1024 || st.Entries < 512 {
		t.Errorf("%d entries for a bound of 1024", st.Entries)
	}
}

func TestScopesLinearAndDeduplicated(t *testing.T) {
	var b strings.Builder
	for i := range 3000 {
		b.WriteString("s" + strconv.Itoa(i%1500) + "  ")
	}
	got := appendScopes(nil, b.String()+strings.Repeat(" ", 10000))
	if len(got) != 1500 || got[0] != "s0" || got[1499] != "s1499" {
		t.Errorf("%d scopes, first %q", len(got), got[0])
	}
	spaces := strings.Repeat(" ", 10000)
	if n := testing.AllocsPerRun(5, func() { appendScopes(nil, spaces) }); n != 0 {
		t.Errorf("%v allocations for a scope of spaces", n)
	}
}
