package dpop_test

import (
	"slices"
	"testing"

	"github.com/bearerkit/bearerkit/dpop"
)

func TestNewVerifierConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  dpop.Config
		ok   bool
	}{
		{"zero value", dpop.Config{}, true},
		{"one algorithm", dpop.Config{Algorithms: []string{"ES256"}}, true},
		{"none", dpop.Config{Algorithms: []string{"ES256", "none"}}, false},
		{"None", dpop.Config{Algorithms: []string{"None"}}, false},
		{"HS256", dpop.Config{Algorithms: []string{"HS256"}}, false},
		{"hs512", dpop.Config{Algorithms: []string{"hs512"}}, false},
		{"unknown", dpop.Config{Algorithms: []string{"ES256K"}}, false},
		{"wrong case", dpop.Config{Algorithms: []string{"es256"}}, false},
		{"empty list", dpop.Config{Algorithms: []string{}}, false},
		{"negative MaxAge", dpop.Config{MaxAge: -1}, false},
		{"MaxAge over 10 min", dpop.Config{MaxAge: 11 * 60e9}, false},
		{"negative Leeway", dpop.Config{Leeway: -1}, false},
		{"Leeway over 10 min", dpop.Config{Leeway: 11 * 60e9}, false},
		{"negative MaxProofSize", dpop.Config{MaxProofSize: -1}, false},
		{"MaxProofSize of 1 MiB", dpop.Config{MaxProofSize: 1 << 20}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dpop.NewVerifier(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("NewVerifier error = %v, want ok = %v", err, tt.ok)
			}
		})
	}
}

func TestAlgorithms(t *testing.T) {
	v := newVerifier(t, &clock{}, dpop.Config{})
	want := []string{"ES256", "ES384", "ES512", "EdDSA", "Ed25519", "RS256", "PS256"}
	got := v.Algorithms()
	if !slices.Equal(got, want) {
		t.Fatalf("Algorithms() = %v, want %v", got, want)
	}
	got[0] = "changed"
	if v.Algorithms()[0] != "ES256" {
		t.Fatal("Algorithms() shares its slice with the verifier")
	}
	v = newVerifier(t, &clock{}, dpop.Config{Algorithms: []string{"PS256", "ES256", "PS256"}})
	if got := v.Algorithms(); !slices.Equal(got, []string{"PS256", "ES256"}) {
		t.Fatalf("Algorithms() = %v, want [PS256 ES256]", got)
	}
}
