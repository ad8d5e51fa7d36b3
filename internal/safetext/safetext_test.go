package safetext

import "testing"

func TestNearMiss(t *testing.T) {
	for _, c := range []struct{ want, got, diff string }{
		{"https://a.example", "https://a.example/", "trailing slash"},
		{"https://a.example/x", "https://A.example/X", "letter case"},
		{"https://a.example", "http://a.example", "scheme"},
		{"https://a.example", "http://a.example/", "scheme"},
		{"https://a.example", "https://b.example", ""},
		{"https://a.example", "https://a.example", ""},
		{"orders-api", "orders", ""},
	} {
		if got := NearMiss(c.want, c.got); got != c.diff {
			t.Errorf("NearMiss(%q, %q) = %q, want %q", c.want, c.got, got, c.diff)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := Truncate("a\r\nb\"c\\d\u202ee\xff", 20); got != "a??b?c?d?e?" {
		t.Errorf("got %q", got)
	}
	if got := Truncate("abcdef", 3); got != "abc…" {
		t.Errorf("got %q", got)
	}
}
