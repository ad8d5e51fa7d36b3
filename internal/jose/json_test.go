package jose

import (
	"strconv"
	"strings"
	"testing"
)

func TestScanObject(t *testing.T) {
	ok := []string{
		`{}`, ` {"a":1} `, "{\"a\":\n[1,2.5e-3,-0,true,false,null,{\"b\":\"\\u00e9\\ud83d\\ude00\"}]}",
		`{"a":{"a":{"a":1}}}`, `{"a":"x","b":{"a":"y"}}`,
	}
	for _, s := range ok {
		if _, err := ScanObject([]byte(s), nil); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := []string{
		``, `[]`, `"x"`, `1`, `null`, `{`, `{"a":1}x`, `{"a":1,}`, `{"a" 1}`, `{a:1}`,
		"\ufeff{}", "{\"a\":\"\xff\"}", `{"a":"\ud800"}`, `{"a":"\udc00"}`, `{"a":"\ud800\u0041"}`,
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":+1}`, `{"a":"\x"}`, "{\"a\":\"\t\"}",
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"x":{"a":1,"a":2}}`, `{"a":tru}`, `{"a":[1,]}`,
		"{\"a\":\"x\"}\x00", strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40),
		`{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
	}
	for _, s := range bad {
		if _, err := ScanObject([]byte(s), nil); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	// Many members switch duplicate detection to a map; it must still work.
	var b strings.Builder
	b.WriteString("{")
	for i := range 1000 {
		b.WriteString(`"k` + strconv.Itoa(i) + `":1,`)
	}
	if _, err := ScanObject([]byte(b.String()+`"k999":2}`), nil); err == nil {
		t.Error("duplicate among 1000 members accepted")
	}
	if _, err := ScanObject([]byte(b.String()+`"last":2}`), nil); err != nil {
		t.Errorf("1001 distinct members: %v", err)
	}
}

func TestUnescape(t *testing.T) {
	m := Member{Value: []byte(`"a\"b\\c\/d\n\u00e9\ud83d\ude00"`), Kind: KindString}
	if got := m.StringValue(); got != "a\"b\\c/d\né😀" {
		t.Errorf("got %q", got)
	}
}
