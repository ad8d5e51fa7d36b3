package core

import (
	"github.com/bearerkit/bearerkit/internal/jose"

	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
)

// fuzzIssuer is a verifier with one Ed25519 key loaded directly into its
// cache (no network), and tokens signed with that key.
type fuzzIssuer struct {
	v      *Verifier
	tokens []string
}

func newFuzzIssuer(f *testing.F) *fuzzIssuer {
	f.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	jwk, err := (&gojose.JSONWebKey{Key: pub, KeyID: "k1", Algorithm: "EdDSA", Use: "sig"}).MarshalJSON()
	if err != nil {
		f.Fatal(err)
	}
	set, err := parseKeySet([]byte(`{"keys":[`+string(jwk)+`]}`), discardLogger())
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	set.fetchedAt, set.refreshAt = now, now.Add(time.Hour)
	v, err := New(Config{Issuer: "https://issuer.example", JWKSURL: "https://issuer.example/jwks", Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(v.Close)
	v.keys.set.Store(set)
	enc := base64.RawURLEncoding.EncodeToString
	sign := func(header, payload string) string {
		input := enc([]byte(header)) + "." + enc([]byte(payload))
		return input + "." + enc(ed25519.Sign(priv, []byte(input)))
	}
	exp := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	fi := &fuzzIssuer{v: v}
	for _, p := range []string{
		`{"iss":"https://issuer.example","aud":"api","exp":` + exp + `}`,
		`{"iss":"https://issuer.example","aud":["x","api"],"exp":` + exp + `,"scope":"a b","scp":["c"],"sub":"s","client_id":"c","jti":"j","iat":1,"nbf":1}`,
		`{"iss":"https://issuer.example","aud":"api","exp":` + exp + `,"ext":{"deep":[1,2,{"x":null}]},"s":"\u00e9\ud83d\ude00"}`,
	} {
		fi.tokens = append(fi.tokens, sign(`{"alg":"EdDSA","kid":"k1","typ":"at+jwt"}`, p), sign(`{"alg":"EdDSA"}`, p))
	}
	return fi
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// FuzzVerify: no input panics, and nothing is accepted but the tokens the
// key really signed. Base64url is canonical and Ed25519 signatures are not
// malleable, so an accepted token must be one of the seeds, byte for byte.
func FuzzVerify(f *testing.F) {
	fi := newFuzzIssuer(f)
	for _, tok := range fi.tokens {
		f.Add(tok)
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + "." + parts[2][:10])
		f.Add(strings.ToUpper(tok))
	}
	f.Add("")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := fi.v.Verify(context.Background(), token, "api")
		if err == nil {
			for _, seed := range fi.tokens {
				if token == seed {
					return
				}
			}
			t.Fatalf("accepted a token the key never signed: %q (%+v)", token, c)
		}
		if c != nil {
			t.Fatal("claims returned with an error")
		}
		if ReasonOf(err) == "" {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// FuzzScanObject: the scanner accepts only valid JSON objects, and whatever
// it accepts go-jose's JSON decoder reads as an object too (claims are
// later decoded by it).
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":null}],"c":"\u00e9"}`, `{"a":1,"a":2}`, `{"a":"\ud800"}`, "\ufeff{}", `{"a":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		members, err := jose.ScanObject(data, nil)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("scanner accepted invalid JSON %q", data)
		}
		for i := range members {
			m := &members[i]
			if m.Kind == jose.KindString {
				_ = m.StringValue()
			}
			if m.Kind == jose.KindArray {
				_, _ = m.ArrayStrings()
			}
		}
		tc, err := parseClaims(data, false)
		if err == nil {
			var out map[string]any
			_ = tc.Decode(&out) // may fail on numbers too big for float64, never panic
		}
	})
}

// FuzzParseKeySet: hostile JWKS documents never panic, and every key kept
// is usable for at least one algorithm.
func FuzzParseKeySet(f *testing.F) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	jwk, _ := (&gojose.JSONWebKey{Key: pub, KeyID: "k", Use: "sig"}).MarshalJSON()
	for _, s := range []string{`{"keys":[` + string(jwk) + `]}`, `{"keys":null}`, `{"keys":[1,"x",{}]}`, `[]`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"EC","crv":"P-256","x":"AA","y":"AA"},{"kty":"oct","k":"AA"}]}`} {
		f.Add([]byte(s))
	}
	log := discardLogger()
	f.Fuzz(func(t *testing.T, body []byte) {
		set, err := parseKeySet(body, log)
		if err != nil {
			return
		}
		if len(set.keys) == 0 || len(set.keys) > maxKeysPerSet {
			t.Fatalf("%d keys kept", len(set.keys))
		}
		for _, k := range set.keys {
			if k.algs == 0 || k.pub == nil || len(k.kid) > maxKidLength {
				t.Fatalf("unusable key kept: %+v", k)
			}
		}
	})
}

// FuzzFromHeader: extraction never panics, and a token it returns is one
// word taken from the end of a single Bearer credential.
func FuzzFromHeader(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer  x", "Basic dTpw", "Bearer", "Bearer a b", "BEARER x=", "Bearertoken"} {
		f.Add(s, "")
	}
	f.Add("Bearer x", "Bearer y")
	f.Fuzz(func(t *testing.T, a, b string) {
		r, _ := http.NewRequest("GET", "http://127.0.0.1/", nil)
		r.Header["Authorization"] = []string{a}
		if b != "" {
			r.Header["Authorization"] = append(r.Header["Authorization"], b)
		}
		tok, err := FromHeader(r)
		if err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if tok == "" {
			return
		}
		if b != "" || strings.ContainsRune(tok, ' ') || !strings.HasSuffix(a, tok) || !strings.EqualFold(a[:6], "bearer") {
			t.Fatalf("extracted %q from %q, %q", tok, a, b)
		}
	})
}
