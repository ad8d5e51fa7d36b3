package core_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

func TestVerifyAcceptsEachAlgorithm(t *testing.T) {
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t, core.Config{}, authtest.WithAlgorithm(alg))
			tok := e.srv.Token(testAudience, "orders:read", "orders:write")
			c, err := e.verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Issuer != e.srv.Issuer || c.Subject != "test-subject" || c.ClientID != "test-client" || c.ID == "" {
				t.Errorf("claims = %+v", c)
			}
			if len(c.Audience) != 1 || c.Audience[0] != testAudience {
				t.Errorf("Audience = %q", c.Audience)
			}
			if !c.HasScopes("orders:read", "orders:write") || c.HasScopes("orders:delete") {
				t.Errorf("Scopes = %q", c.Scopes)
			}
			if !c.Expiry.Equal(e.clock.Now().Add(time.Hour)) || !c.IssuedAt.Equal(e.clock.Now()) || !c.NotBefore.IsZero() {
				t.Errorf("times: exp %v iat %v nbf %v", c.Expiry, c.IssuedAt, c.NotBefore)
			}
		})
	}
}

// RFC 9864 names EdDSA over Ed25519 "Ed25519". Both names verify with an
// Ed25519 key; a key published for one of them is used for that one only,
// and no other key type verifies either.
func TestEd25519AlgorithmName(t *testing.T) {
	e := newEnv(t, core.Config{Algorithms: []string{"Ed25519"}}, authtest.WithAlgorithm("Ed25519"))
	if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
		t.Fatalf("Ed25519 token: %v", err)
	}
	eddsa := mustKey(t, "EdDSA")
	e.srv.PublishKey(eddsa)
	c, err := e.verify(e.mintWith(t, eddsa, nil, e.srv.Claims(testAudience)))
	expectReject(t, c, err, core.ErrInvalidToken, core.ReasonAlgorithm) // EdDSA is not in this allow-list

	e = newEnv(t, core.Config{})
	bare := mustKey(t, "Ed25519")
	bare.HideAlg = true
	e.srv.PublishKey(bare)
	for _, alg := range []string{"EdDSA", "Ed25519"} {
		if _, err := e.verify(e.mintWith(t, bare, map[string]any{"alg": alg}, e.srv.Claims(testAudience))); err != nil {
			t.Errorf("alg %s with an alg-less Ed25519 key: %v", alg, err)
		}
	}
	// A key whose JWK says EdDSA is not used for Ed25519, and the reverse.
	e.srv.PublishKey(eddsa)
	ed := mustKey(t, "Ed25519")
	e.srv.PublishKey(ed)
	e.prefetch(t)
	c, err = e.verify(e.mintWith(t, eddsa, map[string]any{"alg": "Ed25519"}, e.srv.Claims(testAudience)))
	expectReject(t, c, err, core.ErrInvalidToken, core.ReasonKeyMismatch)
	c, err = e.verify(e.mintWith(t, ed, map[string]any{"alg": "EdDSA"}, e.srv.Claims(testAudience)))
	expectReject(t, c, err, core.ErrInvalidToken, core.ReasonKeyMismatch)
	// An RSA key never verifies an Ed25519 token.
	rsaKey := e.srv.SigningKey()
	c, err = e.verify(e.mintWith(t, rsaKey, map[string]any{"alg": "Ed25519"}, e.srv.Claims(testAudience)))
	expectReject(t, c, err, core.ErrInvalidToken, core.ReasonKeyMismatch)
}

func TestVerifyAcceptsKeysWithoutAlg(t *testing.T) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "ES384", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t, core.Config{})
			k := mustKey(t, alg)
			k.HideAlg = true
			e.srv.PublishKey(k)
			if _, err := e.verify(e.mintWith(t, k, nil, e.srv.Claims(testAudience))); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// hs256 signs a token with HMAC-SHA256 under the given secret: the classic
// algorithm-confusion forgery with a public key as the secret.
func hs256(header, payload string, secret []byte) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + enc.EncodeToString(m.Sum(nil))
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestVerifyRejects(t *testing.T) {
	e := newEnv(t, core.Config{})
	key := e.srv.SigningKey()
	now := e.clock.Now()
	good := func() map[string]any { return e.srv.Claims(testAudience, "orders:read") }
	with := func(k string, v any) map[string]any {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	pkix, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	payload := `{"iss":"` + e.srv.Issuer + `","aud":"` + testAudience + `","exp":` + itoa(now.Add(time.Hour).Unix()) + `}`
	valid := e.srv.Token(testAudience)
	parts := strings.Split(valid, ".")

	cases := []struct {
		name  string
		token string
		want  error
		why   core.Reason
	}{
		{"alg none", b64(`{"alg":"none","kid":"`+key.ID+`"}`) + "." + b64(payload) + ".", core.ErrInvalidToken, core.ReasonMalformed},
		{"alg none with signature", b64(`{"alg":"none"}`) + "." + b64(payload) + "." + parts[2], core.ErrInvalidToken, core.ReasonAlgorithm},
		{"alg None", b64(`{"alg":"None"}`) + "." + b64(payload) + "." + parts[2], core.ErrInvalidToken, core.ReasonAlgorithm},
		{"HS256 with public key PEM", hs256(`{"alg":"HS256","kid":"`+key.ID+`"}`, payload, pubPEM), core.ErrInvalidToken, core.ReasonAlgorithm},
		{"HS256 with public key DER", hs256(`{"alg":"HS256","kid":"`+key.ID+`"}`, payload, pkix), core.ErrInvalidToken, core.ReasonAlgorithm},
		{"alg outside allow-list", hs256(`{"alg":"HS512"}`, payload, []byte("k")), core.ErrInvalidToken, core.ReasonAlgorithm},
		{"alg lower case", e.mintWith(t, key, map[string]any{"alg": "rs256"}, good()), core.ErrInvalidToken, core.ReasonAlgorithm},
		{"alg number", e.mintWith(t, key, map[string]any{"alg": 256}, good()), core.ErrInvalidToken, core.ReasonAlgorithm},
		{"alg absent", e.mintWith(t, key, map[string]any{"alg": nil}, good()), core.ErrInvalidToken, core.ReasonAlgorithm},
		{"jku header", e.mintWith(t, key, map[string]any{"jku": "http://127.0.0.1:1/jwks"}, good()), core.ErrInvalidToken, core.ReasonUnsupportedHeader},
		{"x5u header", e.mintWith(t, key, map[string]any{"x5u": "http://127.0.0.1:1/cert"}, good()), core.ErrInvalidToken, core.ReasonUnsupportedHeader},
		{"jwk header", e.mintWith(t, key, map[string]any{"jwk": key.JWK()}, good()), core.ErrInvalidToken, core.ReasonUnsupportedHeader},
		{"x5c header", e.mintWith(t, key, map[string]any{"x5c": []string{"MIIB"}}, good()), core.ErrInvalidToken, core.ReasonUnsupportedHeader},
		{"crit header", e.mintWith(t, key, map[string]any{"crit": []string{"exp"}, "exp": 1}, good()), core.ErrInvalidToken, core.ReasonUnsupportedHeader},
		{"b64 false", e.mintWith(t, key, map[string]any{"b64": false}, good()), core.ErrInvalidToken, core.ReasonUnsupportedHeader},
		{"enc header", e.mintWith(t, key, map[string]any{"enc": "A128GCM"}, good()), core.ErrInvalidToken, core.ReasonUnsupportedHeader},
		{"nested JWT", e.mintWith(t, key, map[string]any{"cty": "JWT"}, good()), core.ErrInvalidToken, core.ReasonUnsupportedHeader},
		{"JWE five parts", b64(`{"alg":"dir","enc":"A128GCM"}`) + "..AAAA.AAAA.AAAA", core.ErrInvalidToken, core.ReasonMalformed},
		{"JWE five full parts", parts[0] + "." + parts[1] + "." + parts[2] + "." + parts[1] + "." + parts[2], core.ErrInvalidToken, core.ReasonMalformed},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, core.ErrInvalidToken, core.ReasonMalformed},
		{"wrong issuer", e.mint(t, with("iss", e.srv.Issuer+"/")), core.ErrInvalidToken, core.ReasonIssuer},
		{"issuer case", e.mint(t, with("iss", strings.ToUpper(e.srv.Issuer))), core.ErrInvalidToken, core.ReasonIssuer},
		{"missing issuer", e.mint(t, with("iss", nil)), core.ErrInvalidToken, core.ReasonIssuer},
		{"issuer array", e.mint(t, with("iss", []string{e.srv.Issuer})), core.ErrInvalidToken, core.ReasonClaimType},
		{"wrong audience", e.mint(t, with("aud", "billing-api")), core.ErrInvalidToken, core.ReasonAudience},
		{"audience prefix", e.mint(t, with("aud", "orders-api-v2")), core.ErrInvalidToken, core.ReasonAudience},
		{"audience case", e.mint(t, with("aud", "Orders-API")), core.ErrInvalidToken, core.ReasonAudience},
		{"audience space list", e.mint(t, with("aud", "orders-api billing-api")), core.ErrInvalidToken, core.ReasonAudience},
		{"wrong audience array", e.mint(t, with("aud", []string{"billing-api", "users-api"})), core.ErrInvalidToken, core.ReasonAudience},
		{"empty audience array", e.mint(t, with("aud", []string{})), core.ErrInvalidToken, core.ReasonClaimType},
		{"mixed audience array", e.mint(t, with("aud", []any{testAudience, 1})), core.ErrInvalidToken, core.ReasonClaimType},
		{"missing audience", e.mint(t, with("aud", nil)), core.ErrInvalidToken, core.ReasonAudience},
		{"missing exp", e.mint(t, with("exp", nil)), core.ErrInvalidToken, core.ReasonMissingClaim},
		{"exp string", e.mint(t, with("exp", "2099-01-01")), core.ErrInvalidToken, core.ReasonClaimType},
		{"exp negative", e.mint(t, with("exp", -1)), core.ErrInvalidToken, core.ReasonClaimType},
		{"exp huge", e.mint(t, with("exp", 1e300)), core.ErrInvalidToken, core.ReasonClaimType},
		{"expired", e.mint(t, with("exp", now.Add(-time.Hour).Unix())), core.ErrTokenExpired, core.ReasonExpired},
		{"nbf in the future", e.mint(t, with("nbf", now.Add(time.Hour).Unix())), core.ErrInvalidToken, core.ReasonNotYetValid},
		{"iat in the future", e.mint(t, with("iat", now.Add(time.Hour).Unix())), core.ErrInvalidToken, core.ReasonIssuedInFuture},
		{"cnf bound token", e.mint(t, with("cnf", map[string]any{"jkt": "abc"})), core.ErrInvalidToken, core.ReasonBound},
		{"typ dpop+jwt", e.mintWith(t, key, map[string]any{"typ": "dpop+jwt"}, good()), core.ErrInvalidToken, core.ReasonType},
		{"typ logout+jwt", e.mintWith(t, key, map[string]any{"typ": "logout+jwt"}, good()), core.ErrInvalidToken, core.ReasonType},
		{"typ number", e.mintWith(t, key, map[string]any{"typ": 1}, good()), core.ErrInvalidToken, core.ReasonType},
		{"oversize", parts[0] + "." + b64(`{"x":"`+strings.Repeat("a", 16<<10)+`"}`) + "." + parts[2], core.ErrInvalidToken, core.ReasonOversize},
		{"empty", "", core.ErrInvalidToken, core.ReasonMalformed},
		{"two parts", parts[0] + "." + parts[1], core.ErrInvalidToken, core.ReasonMalformed},
		{"empty signature", parts[0] + "." + parts[1] + ".", core.ErrInvalidToken, core.ReasonMalformed},
		{"padding", parts[0] + "." + parts[1] + "." + parts[2] + "==", core.ErrInvalidToken, core.ReasonMalformed},
		{"plus sign", parts[0] + "." + parts[1] + ".+" + parts[2][1:], core.ErrInvalidToken, core.ReasonMalformed},
		{"newline", parts[0] + "." + parts[1][:4] + "\n" + parts[1][4:] + "." + parts[2], core.ErrInvalidToken, core.ReasonMalformed},
		{"length 1 mod 4", parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-len(parts[2])%4] + "A", core.ErrInvalidToken, core.ReasonMalformed},
		{"tampered payload", parts[0] + "." + b64(strings.Replace(decode(t, parts[1]), "test-subject", "admin", 1)) + "." + parts[2], core.ErrInvalidToken, core.ReasonSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flipFirst(parts[2]), core.ErrInvalidToken, core.ReasonSignature},
		{"duplicate iss", mustRaw(t, key, `{"alg":"`+key.Alg+`","kid":"`+key.ID+`"}`, `{"iss":"`+e.srv.Issuer+`","iss":"x","aud":"`+testAudience+`","exp":`+itoa(now.Add(time.Hour).Unix())+`}`), core.ErrInvalidToken, core.ReasonMalformed},
		{"duplicate alg", mustRaw(t, key, `{"alg":"`+key.Alg+`","alg":"`+key.Alg+`","kid":"`+key.ID+`"}`, payload), core.ErrInvalidToken, core.ReasonMalformed},
		{"escaped duplicate", mustRaw(t, key, `{"alg":"`+key.Alg+`","kid":"`+key.ID+`"}`, `{"iss":"`+e.srv.Issuer+`","\u0069ss":"x","aud":"`+testAudience+`","exp":`+itoa(now.Add(time.Hour).Unix())+`}`), core.ErrInvalidToken, core.ReasonMalformed},
		{"payload array", mustRaw(t, key, `{"alg":"`+key.Alg+`","kid":"`+key.ID+`"}`, `[1]`), core.ErrInvalidToken, core.ReasonMalformed},
		{"payload BOM", mustRaw(t, key, `{"alg":"`+key.Alg+`","kid":"`+key.ID+`"}`, "\ufeff"+payload), core.ErrInvalidToken, core.ReasonMalformed},
		{"header trailing garbage", mustRaw(t, key, `{"alg":"`+key.Alg+`","kid":"`+key.ID+`"}x`, payload), core.ErrInvalidToken, core.ReasonMalformed},
		{"unknown kid", e.mintWith(t, mustKey(t, "RS256"), nil, good()), core.ErrInvalidToken, core.ReasonUnknownKey},
		{"key of another type", e.mintWith(t, mustKey(t, "ES256"), map[string]any{"kid": key.ID}, good()), core.ErrInvalidToken, core.ReasonKeyMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.verify(tc.token)
			if c != nil {
				t.Errorf("claims returned with an error: %+v", c)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if got := core.ReasonOf(err); got != tc.why {
				t.Errorf("reason = %q, want %q", got, tc.why)
			}
			if strings.Contains(err.Error(), parts[1]) || (len(tc.token) > 20 && strings.Contains(err.Error(), tc.token[:20])) {
				t.Errorf("error text holds token bytes: %v", err)
			}
		})
	}
	// Only the signature-stage cases (unknown kid, mismatching key, tampering)
	// need keys: the first of them fetches the set, and the unknown kid comes
	// within the refetch cooldown of that fetch, so it causes none. Every
	// cheap rejection happened without JWKS traffic.
	if got := e.srv.JWKSRequests(); got != 1 {
		t.Errorf("JWKS requests = %d, want 1", got)
	}
	if got := e.srv.DiscoveryRequests(); got != 1 {
		t.Errorf("discovery requests = %d, want 1", got)
	}
}

func TestCheapRejectionsFetchNothing(t *testing.T) {
	e := newEnv(t, core.Config{})
	key := e.srv.SigningKey()
	for _, tok := range []string{
		"", "x", "a.b", "a..c", e.mintWith(t, key, map[string]any{"alg": "none"}, e.srv.Claims(testAudience)),
		e.mint(t, map[string]any{"iss": "elsewhere", "aud": testAudience, "exp": 1e10}),
		e.mint(t, map[string]any{"iss": e.srv.Issuer, "aud": "other", "exp": 1e10}),
		e.mint(t, map[string]any{"iss": e.srv.Issuer, "aud": testAudience, "exp": 1}),
	} {
		if _, err := e.verify(tok); !errors.Is(err, core.ErrInvalidToken) {
			t.Errorf("Verify = %v, want ErrInvalidToken", err)
		}
	}
	if n := e.srv.JWKSRequests() + e.srv.DiscoveryRequests(); n != 0 {
		t.Errorf("requests to the issuer = %d, want 0", n)
	}
}

func TestTimeLeewayEdges(t *testing.T) {
	const leeway = 30 * time.Second
	e := newEnv(t, core.Config{Leeway: leeway})
	now := e.clock.Now()
	sec := func(d time.Duration) float64 { return float64(now.Add(d).UnixNano()) / 1e9 }
	cases := []struct {
		name  string
		claim string
		value float64
		ok    bool
	}{
		{"exp now-L", "exp", sec(-leeway), false},
		{"exp now-L+1", "exp", sec(-leeway + time.Second), true},
		{"exp now-L+0.5", "exp", sec(-leeway) + 0.5, true},
		{"nbf now", "nbf", sec(0), true},
		{"nbf now+L", "nbf", sec(leeway), true},
		{"nbf now+L+1", "nbf", sec(leeway + time.Second), false},
		{"nbf now+L+0.5", "nbf", sec(leeway) + 0.5, false},
		{"iat now+L", "iat", sec(leeway), true},
		{"iat now+L+1", "iat", sec(leeway + time.Second), false},
		{"nbf overflow", "nbf", 9.3e18, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.srv.Claims(testAudience)
			c[tc.claim] = tc.value
			_, err := e.verify(e.mint(t, c))
			if (err == nil) != tc.ok {
				t.Fatalf("Verify err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, core.ErrInvalidToken) {
				t.Fatalf("err = %v does not match ErrInvalidToken", err)
			}
		})
	}
}

func TestStrictProfile(t *testing.T) {
	e := newEnv(t, core.Config{StrictRFC9068: true})
	key := e.srv.SigningKey()
	if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
		t.Fatalf("at+jwt token refused: %v", err)
	}
	if _, err := e.verify(e.mintWith(t, key, map[string]any{"typ": "application/AT+JWT"}, e.srv.Claims(testAudience))); err != nil {
		t.Fatalf("application/at+jwt token refused: %v", err)
	}
	for _, typ := range []any{"JWT", nil} {
		_, err := e.verify(e.mintWith(t, key, map[string]any{"typ": typ}, e.srv.Claims(testAudience)))
		if core.ReasonOf(err) != core.ReasonType {
			t.Errorf("typ %v: err = %v, want a type rejection", typ, err)
		}
	}
	for _, claim := range []string{"sub", "client_id", "iat", "jti"} {
		c := e.srv.Claims(testAudience)
		delete(c, claim)
		if _, err := e.verify(e.mint(t, c)); core.ReasonOf(err) != core.ReasonMissingClaim {
			t.Errorf("without %s: err = %v, want missing_claim", claim, err)
		}
	}
	// The lenient default takes the same tokens without typ or jti.
	lenient := newEnv(t, core.Config{})
	c := lenient.srv.Claims(testAudience)
	delete(c, "jti")
	if _, err := lenient.verify(lenient.mintWith(t, lenient.srv.SigningKey(), map[string]any{"typ": nil}, c)); err != nil {
		t.Errorf("lenient mode refused a token without typ and jti: %v", err)
	}
}

func TestVerifyNeedsAnAudience(t *testing.T) {
	e := newEnv(t, core.Config{})
	tok := e.srv.Token(testAudience)
	for _, aud := range [][]string{nil, {""}, {testAudience, ""}} {
		c, err := e.v.Verify(t.Context(), tok, aud...)
		if err == nil || c != nil || errors.Is(err, core.ErrInvalidToken) {
			t.Errorf("Verify(%q) = %v, %v; want a programming error", aud, c, err)
		}
	}
	if _, err := e.v.Verify(t.Context(), tok, "billing-api", testAudience); err != nil {
		t.Errorf("any-of audience: %v", err)
	}
}

func TestScopesAndClientID(t *testing.T) {
	e := newEnv(t, core.Config{})
	cases := []struct {
		name   string
		claims map[string]any
		scopes []string
		client string
	}{
		{"scope string", map[string]any{"scope": "a  b\tc"}, []string{"a", "b\tc"}, "test-client"},
		{"scp array", map[string]any{"scp": []string{"a", "b"}}, []string{"a", "b"}, "test-client"},
		{"scp string", map[string]any{"scp": "a b"}, []string{"a", "b"}, "test-client"},
		{"both", map[string]any{"scope": "a b", "scp": []string{"b", "c"}}, []string{"a", "b", "c"}, "test-client"},
		{"azp fallback", map[string]any{"client_id": nil, "azp": "spa"}, nil, "spa"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.srv.Claims(testAudience)
			for k, v := range tc.claims {
				if v == nil {
					delete(c, k)
				} else {
					c[k] = v
				}
			}
			got, err := e.verify(e.mint(t, c))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.Scopes, ",") != strings.Join(tc.scopes, ",") || got.ClientID != tc.client {
				t.Errorf("Scopes = %q, ClientID = %q", got.Scopes, got.ClientID)
			}
		})
	}
	for _, bad := range []map[string]any{{"scope": []string{"a"}}, {"scp": []any{"a", 1}}, {"scp": 5}, {"client_id": 7}, {"sub": true}} {
		c := e.srv.Claims(testAudience)
		for k, v := range bad {
			c[k] = v
		}
		if _, err := e.verify(e.mint(t, c)); core.ReasonOf(err) != core.ReasonClaimType {
			t.Errorf("%v: err = %v, want claim_type", bad, err)
		}
	}
	got, err := e.verify(e.srv.Token(testAudience, "orders:read:all"))
	if err != nil {
		t.Fatal(err)
	}
	if got.HasScopes("orders:read") || got.HasAnyScope("orders:read", "ORDERS:READ:ALL") || !got.HasAnyScope("x", "orders:read:all") {
		t.Errorf("scope matching is not exact: %q", got.Scopes)
	}
}

func TestDecodeIsCaseSensitive(t *testing.T) {
	e := newEnv(t, core.Config{})
	c := e.srv.Claims(testAudience)
	c["ISS"] = "evil"
	c["tenant"] = "acme"
	got, err := e.verify(e.mint(t, c))
	if err != nil {
		t.Fatal(err)
	}
	var custom struct {
		Iss    string `json:"iss"`
		Tenant string `json:"tenant"`
	}
	if err := got.Decode(&custom); err != nil {
		t.Fatal(err)
	}
	if custom.Iss != e.srv.Issuer || got.Issuer != e.srv.Issuer || custom.Tenant != "acme" {
		t.Errorf("Decode = %+v, Issuer = %q", custom, got.Issuer)
	}
}

func mustRaw(t *testing.T, k *authtest.Key, header, payload string) string {
	t.Helper()
	tok, err := authtest.SignRaw(k, []byte(header), []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func decode(t *testing.T, seg string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
