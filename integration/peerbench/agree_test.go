package peerbench

import (
	"context"
	"testing"
)

// checkVerifier fails tb unless verify accepts e's token with its scope
// and refuses every bad token. It runs before anything is timed, and also
// warms the verifier's key set.
func checkVerifier(tb testing.TB, e *env, verify verifyFunc) {
	tb.Helper()
	ctx := context.Background()
	got, err := verify(ctx, e.token)
	if err != nil {
		tb.Fatalf("good token refused: %v", err)
	}
	if got != scope {
		tb.Fatalf("scope = %q, want %q", got, scope)
	}
	for _, bad := range e.bad {
		if _, err := verify(ctx, bad.token); err == nil {
			tb.Errorf("%s token accepted", bad.name)
		}
	}
	// The good token again: refusals must not have spoiled the verifier.
	if _, err := verify(ctx, e.token); err != nil {
		tb.Fatalf("good token refused after the bad ones: %v", err)
	}
	if tb.Failed() {
		tb.FailNow()
	}
}

// checkFloor fails tb unless the bare signature check accepts e's token
// and refuses it with a changed payload or signature.
func checkFloor(tb testing.TB, e *env) func() bool {
	tb.Helper()
	check := floor(tb, e.alg, e.srv.SigningKey().Public(), e.token)
	if !check() {
		tb.Fatal("floor refuses the good token")
	}
	for _, bad := range e.bad {
		if bad.name != "tampered-payload" && bad.name != "tampered-signature" {
			continue
		}
		if floor(tb, e.alg, e.srv.SigningKey().Public(), bad.token)() {
			tb.Fatalf("floor accepts the %s token", bad.name)
		}
	}
	return check
}

// TestVerifiersAgree runs the checks that precede every benchmark, so that
// a misconfigured peer fails CI rather than a benchmark run.
func TestVerifiersAgree(t *testing.T) {
	for _, alg := range algorithms {
		t.Run("alg="+alg, func(t *testing.T) {
			e := newEnv(t, alg)
			t.Run("lib=floor", func(t *testing.T) { checkFloor(t, e) })
			for _, p := range peers {
				t.Run("lib="+p.name, func(t *testing.T) {
					checkVerifier(t, e, p.open(t, e))
				})
			}
		})
	}
}
