// Package safetext prepares untrusted strings (token claims, key ids,
// values echoed by servers) for logs and error messages, and compares
// configured values with received ones the way an operator would.
package safetext

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Truncate shortens s to at most n runes, marking a cut with '…', and
// replaces what could forge log lines or reorder text — anything
// unprintable (control, format and separator characters such as CR, LF,
// NEL, U+2028 and bidi overrides), invalid UTF-8, quotes and backslashes —
// with '?'.
func Truncate(s string, n int) string {
	out := make([]rune, 0, min(len(s), n+1))
	for _, r := range s {
		if len(out) == n {
			out = append(out, '…')
			break
		}
		if !unicode.IsPrint(r) || r == '"' || r == '\\' || r == utf8.RuneError {
			r = '?'
		}
		out = append(out, r)
	}
	return string(out)
}

// NearMiss reports how got differs from want when the two are different
// spellings of what is probably the same identifier: a trailing slash, the
// case of the letters, or http against https. It returns "" for values that
// are equal or simply different.
func NearMiss(want, got string) string {
	if want == got {
		return ""
	}
	switch {
	case strings.TrimRight(want, "/") == strings.TrimRight(got, "/"):
		return "trailing slash"
	case strings.EqualFold(want, got):
		return "letter case"
	}
	w, err1 := url.Parse(want)
	g, err2 := url.Parse(got)
	if err1 != nil || err2 != nil || w.Scheme == "" || g.Scheme == "" {
		return ""
	}
	if !strings.EqualFold(w.Scheme, g.Scheme) {
		w2, g2 := *w, *g
		w2.Scheme, g2.Scheme = "", ""
		if strings.EqualFold(strings.TrimRight(w2.String(), "/"), strings.TrimRight(g2.String(), "/")) {
			return "scheme"
		}
	}
	return ""
}
