package core_test

// docs/security-checklist.md, sections F (resource limits) and I (configuration).

import (
	"strconv"
	"strings"
	"testing"

	"github.com/bearerkit/bearerkit/core"
)

func TestF1OversizeTokens(t *testing.T) {
	e := newEnv(t, core.Config{})
	for _, n := range []int{core.DefaultMaxTokenSize + 1, 1 << 20, 10 << 20} {
		tok := strings.Repeat("a", n)
		c, err := e.verify(tok)
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonOversize)
		if allocs := testing.AllocsPerRun(10, func() { _, _ = e.verify(tok) }); allocs != 0 {
			t.Errorf("%d bytes: %v allocations", n, allocs)
		}
	}
	noFetch(t, e)
}

func TestF2Dots(t *testing.T) {
	e := newEnv(t, core.Config{MaxTokenSize: 2 << 20, TokenCacheSize: -1})
	for _, tok := range []string{strings.Repeat(".", 1<<20), strings.Repeat("a.", 100000), "a." + strings.Repeat("b", 1<<20) + "."} {
		c, err := e.verify(tok)
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonMalformed)
		if allocs := testing.AllocsPerRun(10, func() { _, _ = e.verify(tok) }); allocs != 0 {
			t.Errorf("%d-byte token: %v allocations", len(tok), allocs)
		}
	}
	noFetch(t, e)
}

func TestF3DeepNesting(t *testing.T) {
	e := newEnv(t, core.Config{MaxTokenSize: 1 << 20})
	key := e.srv.SigningKey()
	good := e.claimsWith("x", "1")
	for _, depth := range []int{9000, 20000} {
		arrays := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		objects := strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
		for name, tok := range map[string]string{
			"header arrays":  mustRaw(t, key, `{"alg":"`+key.Alg+`","kid":"`+key.ID+`","x":`+arrays+`}`, good),
			"claims arrays":  e.rawClaims(t, strings.TrimSuffix(good, "}")+`,"deep":`+arrays+`}`),
			"claims objects": e.rawClaims(t, strings.TrimSuffix(good, "}")+`,"deep":`+objects+`}`),
		} {
			c, err := e.verify(tok)
			if depth == 9000 {
				name += " 9000"
			}
			if c != nil || core.ReasonOf(err) != core.ReasonMalformed {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	// Decode only ever sees payloads the scanner accepted: moderate nesting
	// decodes, and nothing deeper than the scanner's limit reaches it.
	c, err := e.verify(e.rawClaims(t, strings.TrimSuffix(good, "}")+`,"deep":`+strings.Repeat("[", 20)+strings.Repeat("]", 20)+`}`))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := c.Decode(&v); err != nil {
		t.Error(err)
	}
}

func TestF4LargeClaims(t *testing.T) {
	e := newEnv(t, core.Config{})
	base := strings.TrimSuffix(e.claimsWith("x", "1"), "}")
	var tiny strings.Builder
	for i := 0; tiny.Len() < 10<<10; i++ {
		tiny.WriteString(`,"c` + strconv.Itoa(i) + `":0`)
	}
	for name, payload := range map[string]string{
		"many tiny claims": base + tiny.String() + "}",
		"huge string":      base + `,"s":"` + strings.Repeat("x", 10<<10) + `"}`,
		"10000 digits":     base + `,"n":` + strings.Repeat("9", 10000) + `}`,
		"10000-digit exp":  strings.Replace(base, `"exp":`, `"exp":`+strings.Repeat("9", 9000)+`0`, 1) + "}",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := e.verify(e.rawClaims(t, payload))
			if name == "10000-digit exp" {
				expectReject(t, c, err, core.ErrInvalidToken, "")
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			// A 10,000-digit number overflows float64: Decode reports it
			// instead of panicking; everything else decodes.
			var all map[string]any
			if err := c.Decode(&all); (err != nil) != (name == "10000 digits") {
				t.Fatalf("Decode: %.80v", err)
			}
		})
	}
}

func TestF5KidlessTokenAgainstManyKeys(t *testing.T) {
	e := newEnv(t, core.Config{MaxResponseSize: 4 << 20})
	signer := e.srv.SigningKey()
	e.srv.RemoveKey(signer.ID)
	for range 1000 {
		e.srv.PublishKey(signer) // the same key material under one kid, 1000 times
	}
	// 100 keys are kept; a kid-less token is tried against at most three, so
	// the work per token is a small constant whatever the set holds.
	if _, err := e.verify(e.mintWith(t, signer, map[string]any{"kid": nil}, e.srv.Claims(testAudience))); err != nil {
		t.Fatal(err)
	}
	if st := e.v.KeySetStatus(); st.Keys != 100 {
		t.Errorf("kept %d keys", st.Keys)
	}
	other := mustKey(t, signer.Alg)
	c, err := e.verify(e.mintWith(t, other, map[string]any{"kid": nil}, e.srv.Claims(testAudience)))
	expectReject(t, c, err, core.ErrInvalidToken, core.ReasonSignature)
}
