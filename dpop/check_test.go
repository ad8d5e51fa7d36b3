package dpop_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/bearerkit/bearerkit/dpop"
)

// Request.Check runs after the signature and before the replay store: a
// proof whose token it refuses takes no place in the store and can be sent
// again once the token is right; its error comes back unchanged.
func TestL3CheckBeforeReplayStore(t *testing.T) {
	c := &clock{}
	store := &countingStore{}
	v := newVerifier(t, c, dpop.Config{Replay: store})
	client := newSigner(t, c, p256Key())
	proof, err := client.Proof(testMethod, testURL, testToken, "")
	if err != nil {
		t.Fatal(err)
	}
	req := dpop.Request{Method: testMethod, URL: must(url.Parse(testURL)), AccessToken: testToken}

	refused := errors.New("token refused")
	var seen []string
	req.Check = func(jkt string) error { seen = append(seen, jkt); return refused }
	if _, err := v.Verify(t.Context(), proof, req); err != refused {
		t.Fatalf("err = %v, want the Check error itself", err)
	}
	if store.calls.Load() != 0 {
		t.Errorf("replay store written %d times for a refused token", store.calls.Load())
	}

	// A forged proof never reaches Check.
	forged := proof[:len(proof)-4] + "AAAA"
	if _, err := v.Verify(t.Context(), forged, req); !errors.Is(err, dpop.ErrInvalidProof) {
		t.Errorf("forged proof: %v", err)
	}
	if len(seen) != 1 || seen[0] != client.Thumbprint() {
		t.Errorf("Check saw %q, want one call with %q", seen, client.Thumbprint())
	}

	req.Check = func(string) error { return nil }
	p, err := v.Verify(t.Context(), proof, req)
	if err != nil || p.JKT != client.Thumbprint() || store.calls.Load() != 1 {
		t.Errorf("accepted check: %v, %d store writes", err, store.calls.Load())
	}
}
