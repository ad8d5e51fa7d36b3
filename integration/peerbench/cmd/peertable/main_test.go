package main

import (
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		want key
		m    measurement
		ok   bool
	}{
		{
			line: "BenchmarkVerify/alg=RS256/lib=golang-jwt+keyfunc-2   6559   39544 ns/op   4784 B/op   66 allocs/op",
			want: key{"RS256", "golang-jwt+keyfunc"}, m: measurement{39544, 4784, 66}, ok: true,
		},
		{
			line: "BenchmarkVerify/alg=EdDSA/lib=bearerkit-repeated   1000000   380.5 ns/op   240 B/op   2 allocs/op",
			want: key{"EdDSA", "bearerkit-repeated"}, m: measurement{380.5, 240, 2}, ok: true,
		},
		{line: "BenchmarkVerify/alg=RS256/lib=jwx-2   4596   71127 ns/op", ok: false},
		{line: "BenchmarkOther-2   10   5 ns/op   0 B/op   0 allocs/op", ok: false},
		{line: "goos: linux", ok: false},
		{line: "PASS", ok: false},
	}
	for _, tt := range tests {
		k, m, ok := parseLine(tt.line)
		if ok != tt.ok || k != tt.want || m != tt.m {
			t.Errorf("parseLine(%q) = %v, %v, %v; want %v, %v, %v", tt.line, k, m, ok, tt.want, tt.m, tt.ok)
		}
	}
}

func TestWriteMediansAndRatios(t *testing.T) {
	rounds := []string{
		"BenchmarkVerify/alg=RS256/lib=floor-2 1 100 ns/op 0 B/op 0 allocs/op\n" +
			"BenchmarkVerify/alg=RS256/lib=x-2 1 300 ns/op 10 B/op 2 allocs/op\n",
		"BenchmarkVerify/alg=RS256/lib=floor-2 1 90 ns/op 0 B/op 0 allocs/op\n" +
			"BenchmarkVerify/alg=RS256/lib=x-2 1 120 ns/op 10 B/op 2 allocs/op\n",
		"BenchmarkVerify/alg=RS256/lib=floor-2 1 200 ns/op 0 B/op 0 allocs/op\n" +
			"BenchmarkVerify/alg=RS256/lib=x-2 1 150 ns/op 10 B/op 3 allocs/op\n",
	}
	r := &results{byKey: map[key]*samples{}}
	for _, round := range rounds {
		if err := r.read(strings.NewReader(round)); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	if err := r.write(&out); err != nil {
		t.Fatal(err)
	}
	// Medians: floor 100, x 150, so x is 1.5× the floor; allocs median 2.
	// Spreads: floor's 200 is 100% off its median, x's 300 is 100% off too,
	// and nothing else is further.
	for _, want := range []string{
		"| RS256 | floor | 100 ns | ±100% | 1.00× | 0 | 0 | 3 |",
		"| RS256 | x | 150 ns | ±100% | 1.50× | 2 | 10 | 3 |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMedianEven(t *testing.T) {
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median = %v, want 2.5", got)
	}
}
