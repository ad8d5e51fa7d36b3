package clientauth

import (
	"strings"
	"testing"
)

// FuzzRedaction: a text that holds the secret in any spelling the client
// knows, between arbitrary text, comes out of the redactor without it.
func FuzzRedaction(f *testing.F) {
	f.Add("s3cret-VALUE", "error: ", " end")
	f.Add(`p&ss<w>"rd\/é+ %:=x`, `{"x":"`, `"}`)
	f.Add("d]Q1", "", "Q1")
	f.Fuzz(func(t *testing.T, secret, before, after string) {
		if len(secret) < MinFragment || len(secret) > 128 || len(before)+len(after) > 1<<10 {
			return
		}
		r := NewRedactor("id", secret)
		for _, form := range Spellings(secret) {
			if out := r.Clean(before + form + after); strings.Contains(out, secret) {
				t.Fatalf("secret %q survives in %q (from %q)", secret, out, before+form+after)
			}
		}
	})
}
