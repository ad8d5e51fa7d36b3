package dpop_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/dpop"
)

func testSecret(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// TestL7Nonces: a missing, expired or forged nonce → use_dpop_nonce with a
// fresh nonce, which then works.
func TestL7Nonces(t *testing.T) {
	c := &clock{}
	nonces := must(dpop.NewNonces(testSecret(1), time.Minute, c.Now))
	stranger := must(dpop.NewNonces(testSecret(2), time.Minute, c.Now))
	s := newSigner(t, c, edKey())
	v := newVerifier(t, c, dpop.Config{Nonces: nonces})
	verify := func(nonce string) error {
		_, err := v.Verify(context.Background(), must(s.Proof(testMethod, testURL, "", nonce)), testRequest())
		return err
	}
	// wantUseNonce checks the refusal and returns the nonce it carries.
	wantUseNonce := func(err error) string {
		t.Helper()
		wantReason(t, err, dpop.ErrUseNonce, "nonce")
		var de *dpop.Error
		errors.As(err, &de)
		if errors.Is(err, dpop.ErrInvalidProof) || de.Nonce != nonces.Current() {
			t.Fatalf("use_dpop_nonce error %v carries nonce %q, want the current one %q", err, de.Nonce, nonces.Current())
		}
		return de.Nonce
	}

	issued := wantUseNonce(verify(""))
	if err := verify(issued); err != nil {
		t.Fatalf("with the nonce the server gave: %v", err)
	}
	c.Advance(time.Minute)
	if err := verify(issued); err != nil {
		t.Fatalf("with the previous period's nonce: %v", err)
	}
	c.Advance(time.Minute)
	fresh := wantUseNonce(verify(issued)) // two periods on: expired
	if fresh == issued {
		t.Fatal("the nonce did not rotate")
	}

	forged := []string{
		rand.Text()[:26] + "abcdef",
		stranger.Current(),
		strings.ToUpper(fresh[:1]) + strings.ToLower(fresh[1:]),
		fresh[:31],
		fresh + "A",
	}
	for _, nonce := range forged {
		if nonce == fresh {
			continue
		}
		wantUseNonce(verify(nonce))
	}
	if err := verify(fresh); err != nil {
		t.Fatalf("with the fresh nonce: %v", err)
	}

	// A proof that is bad in itself is refused as such, not sent back for
	// a nonce.
	_, err := v.Verify(context.Background(), must(s.Proof("GET", testURL, "", "")), testRequest())
	wantReason(t, err, dpop.ErrInvalidProof, "htm")
}

// TestL7NoncesAreStateless: checking nonces stores nothing, however many
// are presented; replicas sharing a secret agree without talking.
func TestL7NoncesAreStateless(t *testing.T) {
	c := &clock{}
	a := must(dpop.NewNonces(testSecret(1), time.Minute, c.Now))
	b := must(dpop.NewNonces(testSecret(1), time.Minute, c.Now))
	current := a.Current()
	forged := []string{rand.Text() + "ABCDEF", current[:31] + "x", "", strings.Repeat("n", 4096)}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		a.Valid(forged[i%len(forged)])
		a.Valid(current)
		i++
	})
	if allocs != 0 {
		t.Fatalf("checking a nonce allocates %.1f times, want 0", allocs)
	}
	if !b.Valid(current) || b.Current() != current {
		t.Fatal("two replicas with one secret disagree")
	}
	for _, f := range forged {
		if a.Valid(f) {
			t.Fatalf("forged nonce %q accepted", f)
		}
	}
}

func TestNoncesRotate(t *testing.T) {
	c := &clock{}
	secret := testSecret(1)
	n := must(dpop.NewNonces(secret, 30*time.Second, c.Now))
	secret[0] = 9 // the caller's slice is copied
	c.offset.Store(int64(t0.Truncate(30*time.Second).Sub(t0)) + int64(30*time.Second))
	first := n.Current()
	c.Advance(30*time.Second - time.Nanosecond)
	if n.Current() != first {
		t.Fatal("the nonce changed within its period")
	}
	c.Advance(time.Nanosecond)
	second := n.Current()
	if second == first || !n.Valid(first) || !n.Valid(second) {
		t.Fatal("at the boundary, the nonce must change and the previous one stay valid")
	}
	c.Advance(30 * time.Second)
	if n.Valid(first) {
		t.Fatal("a nonce two periods old is still valid")
	}
	if want := must(dpop.NewNonces(testSecret(1), 30*time.Second, c.Now)).Current(); n.Current() != want {
		t.Fatal("the secret was not copied")
	}
	for _, r := range n.Current() {
		// RFC 9449 §8.1: NQCHAR.
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			t.Fatalf("nonce %q holds %q", n.Current(), r)
		}
	}
}

func TestNewNoncesConfig(t *testing.T) {
	tests := []struct {
		name   string
		secret []byte
		period time.Duration
		ok     bool
	}{
		{"32-byte secret", testSecret(1), time.Minute, true},
		{"31-byte secret", testSecret(1)[:31], time.Minute, false},
		{"no secret", nil, time.Minute, false},
		{"period of 1 s", testSecret(1), time.Second, true},
		{"period under 1 s", testSecret(1), time.Second - 1, false},
		{"zero period", testSecret(1), 0, false},
		{"negative period", testSecret(1), -time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := dpop.NewNonces(tt.secret, tt.period, nil)
			if (err == nil) != tt.ok {
				t.Fatalf("NewNonces error = %v, want ok = %v", err, tt.ok)
			}
			if tt.ok && !n.Valid(n.Current()) {
				t.Fatal("the current nonce is not valid")
			}
		})
	}
}
