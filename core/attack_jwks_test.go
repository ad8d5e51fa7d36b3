package core_test

// docs/security-checklist.md, section D: JWKS content. Each case sits beside one good key,
// which must keep working.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// publishAndCheck publishes entries beside e's good key and checks that the
// good key still verifies and every entry was skipped.
func publishAndCheck(t *testing.T, e *env, entries ...json.RawMessage) {
	t.Helper()
	for _, raw := range entries {
		e.srv.PublishRawJWK(raw)
	}
	if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
		t.Fatalf("good key stopped working: %v", err)
	}
	if st := e.v.KeySetStatus(); st.Keys != 1 || st.Skipped != len(entries) {
		t.Errorf("Keys %d, Skipped %d; want 1 and %d", st.Keys, st.Skipped, len(entries))
	}
}

func b64Int(n *big.Int) string { return base64.RawURLEncoding.EncodeToString(n.Bytes()) }

func rsaJWK(n *big.Int, e string, kid string) json.RawMessage {
	m := map[string]any{"kty": "RSA", "kid": kid, "n": b64Int(n)}
	if e != "" {
		m["e"] = e
	}
	b, _ := json.Marshal(m)
	return b
}

func TestD1RSAKeySizesAndExponents(t *testing.T) {
	e := newEnv(t, core.Config{}, authtest.WithAlgorithm("RS256"))
	k1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	k2047, err := rsa.GenerateKey(rand.Reader, 2047)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 1024) // any odd 8192-bit number will do as a modulus
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	raw[0] |= 0x80
	raw[1023] |= 1
	huge := new(big.Int).SetBytes(raw)
	good := e.srv.SigningKey().Public().(*rsa.PublicKey).N
	publishAndCheck(t, e,
		rsaJWK(k1024.N, "AQAB", "1024"), rsaJWK(k2047.N, "AQAB", "2047"), rsaJWK(huge, "AQAB", "8192"),
		rsaJWK(good, "AQ", "e1"), rsaJWK(good, "Ag", "e2"), rsaJWK(good, "", "no-e"))
}

func TestD2BadECKeys(t *testing.T) {
	e := newEnv(t, core.Config{})
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	coord := func(n *big.Int, size int) string {
		b := make([]byte, size)
		n.FillBytes(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	ec := func(crv, x, y, alg string) json.RawMessage {
		m := map[string]any{"kty": "EC", "crv": crv, "x": x, "y": y, "kid": crv + x[:4]}
		if alg != "" {
			m["alg"] = alg
		}
		b, _ := json.Marshal(m)
		return b
	}
	x, y := coord(p256.X, 32), coord(p256.Y, 32)
	offCurve := coord(new(big.Int).Add(p256.Y, big.NewInt(1)), 32)
	publishAndCheck(t, e,
		ec("P-256", x, offCurve, ""),
		ec("P-256", coord(big.NewInt(0), 32), coord(big.NewInt(0), 32), ""), // the point at infinity's encoding
		ec("P-256", x[:40], y, ""),                                          // short x
		ec("P-256", base64.RawURLEncoding.EncodeToString(append([]byte{0}, p256.X.FillBytes(make([]byte, 32))...)), y, ""), // long x
		ec("P-256", x, y, "ES384"), // curve does not match alg
		ec("secp256k1", x, y, ""),
		json.RawMessage(`{"kty":"OKP","crv":"Ed448","x":"`+strings.Repeat("A", 76)+`","kid":"ed448"}`),
		json.RawMessage(`{"kty":"OKP","crv":"X25519","x":"`+strings.Repeat("A", 43)+`","kid":"x25519"}`),
	)
}

func TestD3KeyUse(t *testing.T) {
	e := newEnv(t, core.Config{})
	k := mustKey(t, "RS256")
	with := func(extra map[string]any) json.RawMessage {
		m := jwkMembers(t, k)
		delete(m, "use")
		for name, v := range extra {
			m[name] = v
		}
		m["kid"] = authtest.NewKeyID()
		return rawJWK(t, m)
	}
	publishAndCheck(t, e,
		with(map[string]any{"use": "enc"}),
		with(map[string]any{"key_ops": []string{"encrypt", "wrapKey"}}),
		with(map[string]any{"use": "enc", "key_ops": []string{"verify"}}),
		with(map[string]any{"use": "SIG"}),
	)
}

func TestD4SecretMaterialIsLoud(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, core.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	rsaKey := mustKey(t, "RS256")
	ecKey := mustKey(t, "ES256")
	oct, err := (&jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hmac", Algorithm: "HS256"}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	publishAndCheck(t, e, oct, rawJWKPrivate(t, rsaKey), rawJWKPrivate(t, ecKey))
	if n := strings.Count(logs.String(), "level=WARN"); n != 3 || !strings.Contains(logs.String(), "private or symmetric") {
		t.Errorf("%d warnings:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "0123456789abcdef") {
		t.Error("the secret was logged")
	}
}

func TestD5DuplicateKids(t *testing.T) {
	e := newEnv(t, core.Config{})
	claims := func() map[string]any { return e.srv.Claims(testAudience) }
	// Same type under one kid: ambiguous for RS256, refused whichever signs.
	a, b := mustKey(t, "RS256"), mustKey(t, "RS256")
	b.ID = a.ID
	// Different types under one kid: the algorithm picks exactly one.
	c, d := mustKey(t, "ES256"), mustKey(t, "EdDSA")
	d.ID = c.ID
	// One usable and one unusable key under a kid: the usable one counts.
	f := mustKey(t, "ES384")
	unusable := jwkMembers(t, mustKey(t, "RS256"))
	unusable["kid"], unusable["use"] = f.ID, "enc"
	for _, k := range []*authtest.Key{a, b, c, d, f} {
		e.srv.PublishKey(k)
	}
	e.srv.PublishRawJWK(rawJWK(t, unusable))
	for _, k := range []*authtest.Key{a, b} {
		_, err := e.verify(e.mintWith(t, k, nil, claims()))
		expectReject(t, nil, err, core.ErrInvalidToken, core.ReasonKeyMismatch)
	}
	for _, k := range []*authtest.Key{c, d, f} {
		if _, err := e.verify(e.mintWith(t, k, nil, claims())); err != nil {
			t.Errorf("%s under a shared kid: %v", k.Alg, err)
		}
	}
}

func TestD6X5CNeverTrusted(t *testing.T) {
	e := newEnv(t, core.Config{})
	victim := mustKey(t, "RS256")
	other := mustKey(t, "RS256")
	disagree := jwkMembers(t, victim)
	disagree["x5c"] = []string{selfSigned(t, other)}
	disagree["kid"] = "disagree"
	garbage := jwkMembers(t, victim)
	garbage["x5c"] = []string{"bm90IGEgY2VydA"}
	garbage["kid"] = "garbage"
	publishAndCheck(t, e, rawJWK(t, disagree), rawJWK(t, garbage))
	// A certificate-only entry (x5c without key members) is not a key.
	certOnly := map[string]any{"kty": "RSA", "kid": "cert-only", "x5c": []string{selfSigned(t, other)}}
	e2 := newEnv(t, core.Config{})
	publishAndCheck(t, e2, rawJWK(t, certOnly))
}

func TestD7UnknownTypesAndAlgorithms(t *testing.T) {
	e := newEnv(t, core.Config{})
	k := jwkMembers(t, mustKey(t, "RS256"))
	future := func(alg string) json.RawMessage {
		m := map[string]any{}
		for n, v := range k {
			m[n] = v
		}
		m["alg"], m["kid"] = alg, alg
		return rawJWK(t, m)
	}
	publishAndCheck(t, e,
		json.RawMessage(`{"kty":"ML-DSA","kid":"pq","pub":"AAAA"}`),
		json.RawMessage(`{"kid":"no-kty","n":"AQAB","e":"AQAB"}`),
		json.RawMessage(`{"kty":"","kid":"empty-kty"}`),
		json.RawMessage(`{"kty":7,"kid":"numeric-kty"}`),
		future("RS1024"), future("ML-DSA-65"), future("none"), future("HS256"))
}

func TestD8MalformedSets(t *testing.T) {
	for name, body := range map[string]string{
		"keys null": `{"keys":null}`, "keys object": `{"keys":{}}`, "array": `[]`, "numbers and strings": `{"keys":[1,"x",null,true]}`,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, core.Config{})
			e.srv.SetJWKSFault(&authtest.Fault{Body: []byte(body)})
			c, err := e.verify(e.srv.Token(testAudience))
			expectReject(t, c, err, core.ErrKeySetUnavailable, core.ReasonKeySetUnavailable)
		})
	}
	t.Run("10000 keys", func(t *testing.T) {
		e := newEnv(t, core.Config{MaxResponseSize: 8 << 20})
		good := string(e.srv.SigningKey().JWK())
		filler := string(mustKey(t, "ES256").JWK())
		entries := []string{good}
		for range 9999 {
			entries = append(entries, filler, `"x"`)
		}
		e.srv.SetJWKSFault(&authtest.Fault{Body: []byte(`{"keys":[` + strings.Join(entries[:10000], ",") + `]}`)})
		if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
			t.Fatal(err)
		}
		if st := e.v.KeySetStatus(); st.Keys != 100 {
			t.Errorf("kept %d keys, want 100", st.Keys)
		}
	})
	t.Run("1 MiB kid", func(t *testing.T) {
		e := newEnv(t, core.Config{MaxResponseSize: 4 << 20})
		huge := jwkMembers(t, mustKey(t, "ES256"))
		huge["kid"] = strings.Repeat("k", 1<<20)
		publishAndCheck(t, e, rawJWK(t, huge))
	})
}
