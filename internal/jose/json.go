package jose

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// A strict JSON reader for JOSE headers and JWT claim sets.
//
// Tokens are attacker-controlled, so the reader is deliberately narrower than
// encoding/json: the document must be a single UTF-8 object (RFC 8259 with no
// byte order mark), Member names must be unique at every level after
// unescaping (RFC 7515 §4 and RFC 7519 §4 allow rejecting duplicates, and
// accepting them is how parser-differential attacks work), lone UTF-16
// surrogates are refused, and nesting is bounded. It validates the whole
// document in one pass and hands back the top-level members as raw byte
// slices, so registered claims are read without reflection or a second parse.

const MaxDepth = 32

var ErrJSON = errors.New("malformed JSON")

// ErrDuplicate reports an object with a member name twice (at any depth);
// it matches ErrJSON too.
var ErrDuplicate = fmt.Errorf("%w: duplicate member", ErrJSON)

type Kind uint8

const (
	KindString Kind = iota + 1
	KindNumber
	KindObject
	KindArray
	KindTrue
	KindFalse
	KindNull
)

// Member is one top-level Member of a scanned object. name and value alias
// the input; name is still escaped when escaped is true.
type Member struct {
	Name    []byte
	Escaped bool
	Value   []byte
	Kind    Kind
}

// ScanObject validates data as one JSON object and appends its top-level
// members to dst.
func ScanObject(data []byte, dst []Member) ([]Member, error) {
	if !utf8.Valid(data) {
		return nil, ErrJSON
	}
	s := scanner{data: data}
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return nil, ErrJSON
	}
	dst, err := s.object(0, dst, true)
	if err != nil {
		return nil, err
	}
	s.skipSpace()
	if s.pos != len(s.data) {
		return nil, ErrJSON
	}
	return dst, nil
}

type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// object reads an object starting at '{'. When top is true its members are
// appended to dst.
func (s *scanner) object(depth int, dst []Member, top bool) ([]Member, error) {
	if depth >= MaxDepth {
		return nil, ErrJSON
	}
	s.pos++ // '{'
	var names nameSet
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return dst, nil
	}
	for {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return nil, ErrJSON
		}
		start := s.pos + 1
		escaped, err := s.str()
		if err != nil {
			return nil, err
		}
		name := s.data[start : s.pos-1]
		if !names.add(s.data, start, s.pos-1, escaped) {
			return nil, ErrDuplicate
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return nil, ErrJSON
		}
		s.pos++
		s.skipSpace()
		vstart := s.pos
		kind, err := s.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if top {
			dst = append(dst, Member{Name: name, Escaped: escaped, Value: s.data[vstart:s.pos], Kind: kind})
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return nil, ErrJSON
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return dst, nil
		default:
			return nil, ErrJSON
		}
	}
}

func (s *scanner) array(depth int) error {
	if depth >= MaxDepth {
		return ErrJSON
	}
	s.pos++ // '['
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for {
		s.skipSpace()
		if _, err := s.value(depth + 1); err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return ErrJSON
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return ErrJSON
		}
	}
}

func (s *scanner) value(depth int) (Kind, error) {
	if s.pos >= len(s.data) {
		return 0, ErrJSON
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		_, err := s.str()
		return KindString, err
	case c == '{':
		_, err := s.object(depth, nil, false)
		return KindObject, err
	case c == '[':
		return KindArray, s.array(depth)
	case c == '-' || (c >= '0' && c <= '9'):
		return KindNumber, s.number()
	case c == 't':
		return KindTrue, s.literal("true")
	case c == 'f':
		return KindFalse, s.literal("false")
	case c == 'n':
		return KindNull, s.literal("null")
	}
	return 0, ErrJSON
}

func (s *scanner) literal(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return ErrJSON
	}
	s.pos += len(word)
	return nil
}

// number checks the RFC 8259 §6 grammar.
func (s *scanner) number() error {
	d := s.data
	i := s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		return ErrJSON
	}
	if i < len(d) && d[i] == '.' {
		i++
		n := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == n {
			return ErrJSON
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		n := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == n {
			return ErrJSON
		}
	}
	s.pos = i
	return nil
}

// str reads a string starting at '"' and reports whether it holds escapes.
// Escapes are checked here, including surrogate pairing, so that unescape
// cannot fail later.
func (s *scanner) str() (escaped bool, err error) {
	d := s.data
	i := s.pos + 1
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return escaped, nil
		case c < 0x20:
			return false, ErrJSON
		case c == '\\':
			escaped = true
			n, ok := escapeLen(d[i:])
			if !ok {
				return false, ErrJSON
			}
			i += n
		default:
			i++
		}
	}
	return false, ErrJSON
}

// escapeLen returns the length of the escape sequence at the start of b,
// which begins with a backslash. A \u escape of a high surrogate must be
// followed by one of a low surrogate; a lone low surrogate is refused.
func escapeLen(b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return 0, false
		}
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return 0, false
		case r >= 0xD800 && r <= 0xDBFF:
			if len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
				return 0, false
			}
			lo, ok := hex4(b[8:])
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return 0, false
			}
			return 12, true
		}
		return 6, true
	}
	return 0, false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unescape decodes the body of a string that scanner.str accepted.
func Unescape(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] != '\\' {
			out = append(out, b[i])
			i++
			continue
		}
		switch b[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := hex4(b[i+2:])
			if r >= 0xD800 && r <= 0xDBFF {
				lo, _ := hex4(b[i+8:])
				out = utf8.AppendRune(out, utf16.DecodeRune(r, lo))
				i += 12
				continue
			}
			out = utf8.AppendRune(out, r)
			i += 6
			continue
		default: // '"', '\\', '/'
			out = append(out, b[i+1])
		}
		i += 2
	}
	return string(out)
}

// StringValue returns the decoded text of a string Member.
func (m *Member) StringValue() string {
	body := m.Value[1 : len(m.Value)-1]
	for _, c := range body {
		if c == '\\' {
			return Unescape(body)
		}
	}
	return string(body)
}

// NumberValue parses a number Member. Values that overflow float64 are
// errors, never infinities.
func (m *Member) NumberValue() (float64, error) {
	f, err := strconv.ParseFloat(string(m.Value), 64)
	if err != nil {
		return 0, ErrJSON
	}
	return f, nil
}

// nameSet detects duplicate Member names in one object. Small objects use a
// linear scan over an inline array of positions in the document; larger
// ones switch to a map so that hostile documents with thousands of members
// stay linear. Keeping positions rather than slices lets the document stay
// on the caller's stack.
type nameSet struct {
	small [16]nameRef
	n     int
	big   map[string]struct{}
}

// nameRef is a Member name: data[start:end], or text when it was escaped.
type nameRef struct {
	start, end int
	text       string
}

func (r nameRef) equal(data []byte, other nameRef) bool {
	a, b := r.text, other.text
	if a == "" {
		a = string(data[r.start:r.end]) // no allocation in a comparison
	}
	if b == "" {
		b = string(data[other.start:other.end])
	}
	return a == b
}

func (ns *nameSet) add(data []byte, start, end int, escaped bool) bool {
	ref := nameRef{start: start, end: end}
	if escaped {
		ref.text = Unescape(data[start:end]) // never empty: an escape yields a character
	}
	if ns.big == nil {
		for _, seen := range ns.small[:ns.n] {
			if seen.equal(data, ref) {
				return false
			}
		}
		if ns.n < len(ns.small) {
			ns.small[ns.n] = ref
			ns.n++
			return true
		}
		ns.big = make(map[string]struct{}, 2*len(ns.small))
		for _, seen := range ns.small {
			ns.big[seen.key(data)] = struct{}{}
		}
	}
	k := ref.key(data)
	if _, dup := ns.big[k]; dup {
		return false
	}
	ns.big[k] = struct{}{}
	return true
}

func (r nameRef) key(data []byte) string {
	if r.text != "" {
		return r.text
	}
	return string(data[r.start:r.end])
}

// ArrayStrings decodes an array Member whose elements must all be strings.
func (m *Member) ArrayStrings() ([]string, error) {
	s := scanner{data: m.Value, pos: 1}
	var out []string
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		return out, nil
	}
	for {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return nil, ErrJSON
		}
		start := s.pos
		if _, err := s.str(); err != nil {
			return nil, err
		}
		el := Member{Value: s.data[start:s.pos], Kind: KindString}
		out = append(out, el.StringValue())
		s.skipSpace()
		if s.pos >= len(s.data) {
			return nil, ErrJSON
		}
		if s.data[s.pos] == ']' {
			return out, nil
		}
		if s.data[s.pos] != ',' {
			return nil, ErrJSON
		}
		s.pos++
	}
}

// maxNumericDate is 9999-12-31T23:59:59Z. Larger values, negative values,
// and values that overflow float64 are refused rather than clamped.
const maxNumericDate = 253402300799

// NumericDate reads m as an RFC 7519 §2 NumericDate. Fractions are kept to
// the nanosecond and truncated, never rounded up.
func (m *Member) NumericDate() (time.Time, bool) {
	if m.Kind != KindNumber {
		return time.Time{}, false
	}
	f, err := m.NumberValue()
	if err != nil || f < 0 || f > maxNumericDate {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	nsec := math.Floor((f - sec) * 1e9)
	return time.Unix(int64(sec), int64(nsec)).UTC(), true
}
