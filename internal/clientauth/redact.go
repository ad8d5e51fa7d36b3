package clientauth

import (
	"encoding/base64"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strings"
	"unicode/utf16"
)

// Marker replaces what a Redactor removes.
const Marker = "[redacted]"

// Redactor removes a client's credentials from text that came back from
// a server: a confused or hostile endpoint, or a proxy's error page, may
// echo what it was sent, in whatever encoding it was sent or the server
// re-encoded it. forms holds every spelling of every credential, longest
// first, so that no shorter spelling cuts a longer one in two.
type Redactor struct{ forms []string }

// MinFragment is the shortest piece of a credential redacted where it
// stands alone: a server that cuts an echo leaves a prefix of the secret,
// which must go too, but single characters would match ordinary text. At
// the very end of a text, where a server's own cut leaves it, a prefix of
// any length is redacted.
const MinFragment = 4

// NewRedactor returns a Redactor for a client id and secret: the secret
// in every spelling, and the Basic credential of the two.
func NewRedactor(id, secret string) Redactor {
	if secret == "" {
		return Redactor{}
	}
	var r Redactor
	r.add(Spellings(secret)...)
	// The Basic credential (RFC 6749 §2.3.1 form-encodes both parts, some
	// clients do not) and a bare base64 of the secret.
	for _, pair := range []string{url.QueryEscape(id) + ":" + url.QueryEscape(secret), id + ":" + secret, secret} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			r.add(Spellings(enc.EncodeToString([]byte(pair)))...)
		}
	}
	return r
}

// With returns a copy of r that also redacts s, such as a client assertion.
func (r Redactor) With(s string) Redactor {
	if s == "" {
		return r
	}
	out := Redactor{forms: append([]string(nil), r.forms...)}
	out.add(Spellings(s)...)
	return out
}

func (r *Redactor) add(forms ...string) {
	for _, f := range forms {
		if f != "" && !slices.Contains(r.forms, f) {
			r.forms = append(r.forms, f)
		}
	}
	slices.SortStableFunc(r.forms, func(a, b string) int { return len(b) - len(a) })
}

// Spellings returns s as sent and as a server may echo it: form- and
// path-escaped (upper- or lower-case hex), JSON-escaped (with or without
// HTML-safe escapes, an escaped solidus, non-ASCII as \u escapes),
// and HTML-escaped.
func Spellings(s string) []string {
	out := []string{s, html.EscapeString(s)}
	for _, e := range []string{url.QueryEscape(s), url.PathEscape(s)} {
		out = append(out, e, lowerHexEscapes(e, "%"))
	}
	for _, style := range []jsonStyle{{}, {htmlSafe: true}, {asciiOnly: true}, {htmlSafe: true, asciiOnly: true}} {
		j := style.escape(s)
		out = append(out, j, strings.ReplaceAll(j, "/", `\/`), lowerHexEscapes(j, `\u`))
	}
	return out
}

// jsonStyle is one way of escaping a JSON string: encoders differ on the
// characters they escape beyond those RFC 8259 §7 requires.
type jsonStyle struct {
	htmlSafe  bool // <, > and & as \u escapes, as Go's encoding/json does
	asciiOnly bool // everything beyond ASCII as \u escapes
}

// escape writes s as the inside of a JSON string.
func (st jsonStyle) escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20, st.htmlSafe && (r == '<' || r == '>' || r == '&'), r == 0x2028, r == 0x2029:
			fmt.Fprintf(&b, `\u%04X`, r)
		case st.asciiOnly && r > 0x7e:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, `\u%04X`, u)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lowerHexEscapes lower-cases the hex digits that follow each prefix.
func lowerHexEscapes(s, prefix string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, prefix)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+len(prefix)])
		s = s[i+len(prefix):]
		n := 0
		for n < len(s) && n < 4 && isHex(s[n]) {
			n++
		}
		b.WriteString(strings.ToLower(s[:n]))
		s = s[n:]
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// Clean replaces every spelling of a credential in s, every prefix of one
// that is at least MinFragment long, and any prefix that ends s. Matches
// are all found in s as given and replaced in one pass, so a replacement
// never meets another spelling's search. A credential that shares
// characters with the marker could meet the text beside a marker and
// spell itself again: the pass then repeats, and a text that still holds a
// credential after three is replaced whole.
func (r Redactor) Clean(s string) string { return r.clean(s, true) }

// CleanWhole is Clean for a text known to be whole, such as a field
// parsed from a JSON answer: a short prefix of a credential at its end is
// an ordinary ending ("invalid_scope" ends with the "e" that every JWT
// assertion starts with), not the remains of a cut.
func (r Redactor) CleanWhole(s string) string { return r.clean(s, false) }

func (r Redactor) clean(s string, cut bool) string {
	for range 3 {
		s = r.cleanOnce(s, cut)
		if !r.holdsAny(s) {
			return s
		}
	}
	return Marker
}

func (r Redactor) holdsAny(s string) bool {
	for _, f := range r.forms {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

func (r Redactor) cleanOnce(s string, cut bool) string {
	var spans [][2]int
	for _, f := range r.forms {
		least := min(MinFragment, len(f))
		for j := 0; j < len(s); j++ {
			if s[j] != f[0] {
				continue
			}
			n := commonPrefix(s[j:], f)
			if n >= least || cut && j+n == len(s) {
				spans = append(spans, [2]int{j, j + n})
			}
		}
	}
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	var b strings.Builder
	at := 0
	for k := 0; k < len(spans); {
		start, end := spans[k][0], spans[k][1]
		for k++; k < len(spans) && spans[k][0] <= end; k++ {
			end = max(end, spans[k][1])
		}
		b.WriteString(s[at:start])
		b.WriteString(Marker)
		at = end
	}
	b.WriteString(s[at:])
	return b.String()
}

// Longest is the length of the longest spelling redacted.
func (r Redactor) Longest() int {
	if len(r.forms) == 0 {
		return 0
	}
	return len(r.forms[0])
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
