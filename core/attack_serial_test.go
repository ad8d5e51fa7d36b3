package core_test

// docs/security-checklist.md, section B: serialization.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

func TestB1JWE(t *testing.T) {
	e := newEnv(t, core.Config{})
	seg := b64("ciphertext-ish")
	for name, tok := range map[string]string{
		"dir":         b64(`{"alg":"dir","enc":"A128GCM"}`) + ".." + seg + "." + seg + "." + seg,
		"RSA-OAEP":    b64(`{"alg":"RSA-OAEP","enc":"A256GCM"}`) + "." + seg + "." + seg + "." + seg + "." + seg,
		"PBES2 p2c":   b64(`{"alg":"PBES2-HS256+A128KW","enc":"A128GCM","p2c":2000000000,"p2s":"AAAA"}`) + "." + seg + "." + seg + "." + seg + "." + seg,
		"zip":         b64(`{"alg":"RSA-OAEP","enc":"A128GCM","zip":"DEF"}`) + "." + seg + "." + seg + "." + seg + "." + seg,
		"3-part enc":  e.mintWith(t, e.srv.SigningKey(), map[string]any{"enc": "A128GCM"}, e.srv.Claims(testAudience)),
		"3-part zip":  e.mintWith(t, e.srv.SigningKey(), map[string]any{"zip": "DEF"}, e.srv.Claims(testAudience)),
		"3-part PBES": b64(`{"alg":"PBES2-HS256+A128KW","p2c":2000000000}`) + "." + seg + "." + seg,
	} {
		t.Run(name, func(t *testing.T) {
			c, err := e.verify(tok)
			expectReject(t, c, err, core.ErrInvalidToken, "")
		})
	}
	noFetch(t, e)
}

func TestB2JSONSerialization(t *testing.T) {
	e := newEnv(t, core.Config{})
	p := strings.Split(e.srv.Token(testAudience), ".")
	for name, tok := range map[string]string{
		"general":            `{"payload":"` + p[1] + `","signatures":[{"protected":"` + p[0] + `","signature":"` + p[2] + `"}]}`,
		"flattened":          `{"payload":"` + p[1] + `","protected":"` + p[0] + `","signature":"` + p[2] + `"}`,
		"leading whitespace": ` {"payload":"` + p[1] + `","protected":"` + p[0] + `","signature":"` + p[2] + `"}`,
		"unprotected alg":    `{"payload":"` + p[1] + `","header":{"alg":"RS256"},"signature":"` + p[2] + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, err := e.verify(tok)
			expectReject(t, c, err, core.ErrInvalidToken, core.ReasonMalformed)
		})
	}
	noFetch(t, e)
}

func TestB3Shape(t *testing.T) {
	e := newEnv(t, core.Config{})
	p := strings.Split(e.srv.Token(testAudience), ".")
	for name, tok := range map[string]string{
		"empty": "", "dot": ".", "two dots": "..", "2 parts": p[0] + "." + p[1],
		"4 parts": p[0] + "." + p[1] + "." + p[2] + "." + p[2], "6 parts": strings.Repeat(p[0]+".", 5) + p[0],
		"empty header": "." + p[1] + "." + p[2], "empty payload": p[0] + ".." + p[2], "empty signature": p[0] + "." + p[1] + ".",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := e.verify(tok)
			expectReject(t, c, err, core.ErrInvalidToken, core.ReasonMalformed)
		})
	}
	noFetch(t, e)
}

func TestB4NonCanonicalBase64(t *testing.T) {
	e := newEnv(t, core.Config{})
	tok := e.srv.Token(testAudience)
	p := strings.Split(tok, ".")
	if _, err := e.verify(tok); err != nil {
		t.Fatal(err)
	}
	// A signature segment whose last character carries non-zero unused bits:
	// 256 bytes encode to 342 characters, the last holding 4 unused bits.
	last := p[2][len(p[2])-1]
	idx := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", last)
	trailing := p[2][:len(p[2])-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[idx|1])
	// A valid token whose payload encoding holds '-' or '_', so that the
	// standard alphabet spells it differently.
	key := e.srv.SigningKey()
	var payload string
	for i := 0; !strings.ContainsAny(b64(payload), "-_"); i++ {
		if i == 1000 {
			t.Fatal("no payload spelling with '-' or '_'")
		}
		payload = `{"iss":"` + e.srv.Issuer + `","aud":"orders-api","exp":` + itoa(e.clock.Now().Unix()+3600) + `,"n":"` + strconv.Itoa(i) + `~?>"}`
	}
	urlTok := mustRaw(t, key, `{"alg":"`+key.Alg+`","kid":"`+key.ID+`"}`, payload)
	if _, err := e.verify(urlTok); err != nil {
		t.Fatal(err)
	}
	stdTok := strings.NewReplacer("-", "+", "_", "/").Replace(urlTok)
	for name, bad := range map[string]string{
		"padding":           p[0] + "." + p[1] + "." + p[2] + "==",
		"padded payload":    p[0] + "." + base64.URLEncoding.EncodeToString([]byte(decode(t, p[1]))) + "." + p[2],
		"standard alphabet": stdTok,
		"plus":              p[0] + "." + p[1] + "." + strings.Replace(p[2], p[2][:1], "+", 1),
		"slash":             p[0] + "." + p[1] + "." + "/" + p[2][1:],
		"space":             p[0] + "." + p[1][:5] + " " + p[1][5:] + "." + p[2],
		"tab":               p[0] + "\t." + p[1] + "." + p[2],
		"CR":                p[0] + "." + p[1] + "\r." + p[2],
		"LF":                p[0] + "." + p[1] + "." + p[2][:10] + "\n" + p[2][10:],
		"percent":           p[0] + "." + p[1] + "." + p[2][:10] + "%3D" + p[2][10:],
		"hash":              p[0] + "." + p[1] + "#." + p[2],
		"question":          p[0] + "?." + p[1] + "." + p[2],
		"length 1 mod 4":    p[0] + "." + p[1] + "." + p[2][:len(p[2])-len(p[2])%4] + "A",
		"trailing bits":     p[0] + "." + p[1] + "." + trailing,
	} {
		t.Run(name, func(t *testing.T) {
			if bad == tok {
				t.Fatal("mutation produced the original token")
			}
			c, err := e.verify(bad)
			expectReject(t, c, err, core.ErrInvalidToken, "")
		})
	}
}

func TestB5NotAJSONObject(t *testing.T) {
	e := newEnv(t, core.Config{})
	key := e.srv.SigningKey()
	header := `{"alg":"` + key.Alg + `","kid":"` + key.ID + `"}`
	payload := `{"iss":"` + e.srv.Issuer + `","aud":"orders-api","exp":` + itoa(e.clock.Now().Unix()+3600) + `}`
	utf16 := func(s string) string {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r), 0)
		}
		return string(b)
	}
	bad := map[string]string{
		"array": `[1]`, "string": `"x"`, "number": `1`, "null": `null`, "trailing garbage": payload + `x`,
		"two objects": payload + payload, "BOM": "\ufeff" + payload, "UTF-16": utf16(payload),
		"invalid UTF-8": strings.Replace(payload, "orders-api", "orders-\xff", 1), "lone surrogate": strings.Replace(payload, "orders-api", `orders-\ud800`, 1),
	}
	for name, p := range bad {
		t.Run("payload "+name, func(t *testing.T) {
			c, err := e.verify(mustRaw(t, key, header, p))
			expectReject(t, c, err, core.ErrInvalidToken, "")
		})
		t.Run("header "+name, func(t *testing.T) {
			h := p
			if strings.HasPrefix(p, `{"iss"`) || strings.HasPrefix(p, "\ufeff") {
				h = strings.Replace(p, payload, header, 1)
			}
			c, err := e.verify(mustRaw(t, key, h, payload))
			expectReject(t, c, err, core.ErrInvalidToken, "")
		})
	}
	spaced := " {\n\t\"alg\" : \"" + key.Alg + "\" ,\r\n \"kid\":\"" + key.ID + "\" } "
	if _, err := e.verify(mustRaw(t, key, spaced, strings.ReplaceAll(payload, ",", " ,\n "))); err != nil {
		t.Errorf("whitespace inside the JSON: %v", err)
	}
}

func TestB6DuplicatesAndCaseVariants(t *testing.T) {
	e := newEnv(t, core.Config{})
	key := e.srv.SigningKey()
	exp := itoa(e.clock.Now().Unix() + 3600)
	good := `"iss":"` + e.srv.Issuer + `","aud":"orders-api","exp":` + exp
	for name, tc := range map[string][2]string{
		"alg twice":          {`{"alg":"` + key.Alg + `","alg":"` + key.Alg + `","kid":"` + key.ID + `"}`, `{` + good + `}`},
		"iss twice":          {`{"alg":"` + key.Alg + `","kid":"` + key.ID + `"}`, `{` + good + `,"iss":"evil"}`},
		"escaped iss":        {`{"alg":"` + key.Alg + `","kid":"` + key.ID + `"}`, `{` + good + `,"\u0069ss":"evil"}`},
		"nested duplicate":   {`{"alg":"` + key.Alg + `","kid":"` + key.ID + `"}`, `{` + good + `,"ext":{"a":1,"a":2}}`},
		"kid twice":          {`{"alg":"` + key.Alg + `","kid":"x","kid":"` + key.ID + `"}`, `{` + good + `}`},
		"duplicate in array": {`{"alg":"` + key.Alg + `","kid":"` + key.ID + `"}`, `{` + good + `,"ext":[{"b":1,"b":1}]}`},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := e.verify(mustRaw(t, key, tc[0], tc[1]))
			expectReject(t, c, err, core.ErrInvalidToken, core.ReasonMalformed)
		})
	}
	c, err := e.verify(mustRaw(t, key, `{"alg":"`+key.Alg+`","kid":"`+key.ID+`","ALG":"none"}`, `{`+good+`,"ISS":"evil","Iss":"evil","AUD":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Iss string `json:"iss"`
		Aud string `json:"aud"`
	}
	if err := c.Decode(&decoded); err != nil {
		t.Fatal(err)
	}
	if c.Issuer != e.srv.Issuer || decoded.Iss != e.srv.Issuer || decoded.Aud != "orders-api" {
		t.Errorf("case variants leaked: Issuer %q, decoded %+v", c.Issuer, decoded)
	}
}

func TestB7UnencodedPayloadAndCrit(t *testing.T) {
	e := newEnv(t, core.Config{})
	for name, h := range map[string]map[string]any{
		"b64 false":           {"b64": false},
		"b64 false with crit": {"b64": false, "crit": []string{"b64"}},
		"b64 true":            {"b64": true},
		"crit empty":          {"crit": []string{}},
		"crit exp":            {"crit": []string{"exp"}, "exp": 1},
		"crit unknown":        {"crit": []string{"x-ext"}, "x-ext": 1},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := e.verify(e.mintWith(t, e.srv.SigningKey(), h, e.srv.Claims(testAudience)))
			expectReject(t, c, err, core.ErrInvalidToken, core.ReasonUnsupportedHeader)
		})
	}
	noFetch(t, e)
}

func TestB8ECDSASignatureEncodings(t *testing.T) {
	e := newEnv(t, core.Config{TokenCacheSize: -1}, authtest.WithAlgorithm("ES256"))
	tok := e.srv.Token(testAudience)
	p := strings.Split(tok, ".")
	sig := []byte(decode(t, p[2]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	n := e.srv.SigningKey().Private.(*ecdsa.PrivateKey).Curve.Params().N
	fixed := func(a, b *big.Int) string {
		out := make([]byte, 64)
		a.FillBytes(out[:32])
		b.FillBytes(out[32:])
		return p[0] + "." + p[1] + "." + base64.RawURLEncoding.EncodeToString(out)
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	if err != nil {
		t.Fatal(err)
	}
	one, zero, nMinus1 := big.NewInt(1), big.NewInt(0), new(big.Int).Sub(n, big.NewInt(1))
	for name, bad := range map[string]string{
		"DER":      p[0] + "." + p[1] + "." + base64.RawURLEncoding.EncodeToString(der),
		"63 bytes": p[0] + "." + p[1] + "." + base64.RawURLEncoding.EncodeToString(sig[1:]),
		"65 bytes": p[0] + "." + p[1] + "." + base64.RawURLEncoding.EncodeToString(append([]byte{0}, sig...)),
		"r=0":      fixed(zero, s), "s=0": fixed(r, zero), "r=1": fixed(one, s), "s=1": fixed(r, one),
		"r=n": fixed(n, s), "s=n": fixed(r, n), "r=n-1": fixed(nMinus1, s), "s=n-1": fixed(r, nMinus1),
		"swapped": fixed(s, r),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := e.verify(bad)
			expectReject(t, c, err, core.ErrInvalidToken, "")
		})
	}
	// ECDSA signatures are malleable: (r, n-s) verifies too. This is why no
	// deny-list or replay cache may key on the raw token string; the
	// verified-token cache holds only successes, keyed by the exact string.
	twin := fixed(r, new(big.Int).Sub(n, s))
	for _, tk := range []string{tok, twin} {
		if _, err := e.verify(tk); err != nil {
			t.Errorf("valid signature refused: %v", err)
		}
	}
}

func TestB9PSSSaltLength(t *testing.T) {
	e := newEnv(t, core.Config{}, authtest.WithAlgorithm("PS256"))
	key := e.srv.SigningKey()
	p := strings.Split(e.srv.Token(testAudience), ".")
	input := p[0] + "." + p[1]
	d := sha256.Sum256([]byte(input))
	for _, salt := range []int{0, 20, 64, rsa.PSSSaltLengthAuto} {
		sig, err := rsa.SignPSS(rand.Reader, key.Private.(*rsa.PrivateKey), crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: salt})
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.verify(input + "." + base64.RawURLEncoding.EncodeToString(sig))
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonSignature)
	}
	sig, err := rsa.SignPSS(rand.Reader, key.Private.(*rsa.PrivateKey), crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.verify(input + "." + base64.RawURLEncoding.EncodeToString(sig)); err != nil {
		t.Errorf("salt = hash length refused: %v", err)
	}
}

func TestB10HeaderReencoded(t *testing.T) {
	e := newEnv(t, core.Config{})
	key := e.srv.SigningKey()
	p := strings.Split(e.srv.Token(testAudience), ".")
	for name, h := range map[string]string{
		"whitespace": `{ "alg": "` + key.Alg + `", "kid": "` + key.ID + `", "typ": "at+jwt" }`,
		"order":      `{"typ":"at+jwt","kid":"` + key.ID + `","alg":"` + key.Alg + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, err := e.verify(b64(h) + "." + p[1] + "." + p[2])
			expectReject(t, c, err, core.ErrInvalidToken, core.ReasonSignature)
		})
	}
}
