package clientauth

import (
	"strings"
	"testing"
)

// A whole text keeps an ending that a credential happens to start with;
// a text that may have been cut does not.
func TestCleanWhole(t *testing.T) {
	r := NewRedactor("id", "").With("eyJhbGciOi.assertion")
	if got := r.CleanWhole("invalid_scope"); got != "invalid_scope" {
		t.Errorf("CleanWhole = %q", got)
	}
	if got := r.Clean("invalid_scope"); got == "invalid_scope" {
		t.Errorf("Clean kept a trailing prefix: %q", got)
	}
	if got := r.CleanWhole("echo eyJhbGciOi.assertion and eyJhb"); strings.Contains(got, "eyJhb") {
		t.Errorf("CleanWhole kept the credential or a long fragment: %q", got)
	}
}
