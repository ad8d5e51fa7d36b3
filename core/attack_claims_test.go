package core_test

// docs/security-checklist.md, section C: claims.

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/core"
)

// rawClaims signs a payload spelled exactly as given with e's signing key.
func (e *env) rawClaims(t *testing.T, payload string) string {
	t.Helper()
	k := e.srv.SigningKey()
	return mustRaw(t, k, `{"alg":"`+k.Alg+`","kid":"`+k.ID+`"}`, payload)
}

// claimsWith is the JSON of a typical valid claim set with one member
// replaced by raw JSON (or removed when raw is "").
func (e *env) claimsWith(name, raw string) string {
	members := map[string]string{
		"iss": `"` + e.srv.Issuer + `"`, "aud": `"orders-api"`, "sub": `"s"`, "client_id": `"c"`, "jti": `"j"`,
		"iat": itoa(e.clock.Now().Unix()), "exp": itoa(e.clock.Now().Unix() + 3600),
	}
	if raw == "" {
		delete(members, name)
	} else {
		members[name] = raw
	}
	var b strings.Builder
	b.WriteString("{")
	first := true
	for _, k := range []string{"iss", "aud", "sub", "client_id", "jti", "iat", "exp", "nbf", "scope", "scp", name} {
		v, ok := members[k]
		if !ok {
			continue
		}
		delete(members, k)
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(`"` + k + `":` + v)
	}
	b.WriteString("}")
	return b.String()
}

func TestC1ExpMissingOrWrongType(t *testing.T) {
	e := newEnv(t, core.Config{})
	for _, raw := range []string{"", "null", `"9999999999"`, "true", "[9999999999]", `{"t":9999999999}`} {
		c, err := e.verify(e.rawClaims(t, e.claimsWith("exp", raw)))
		expectReject(t, c, err, core.ErrInvalidToken, "")
	}
	noFetch(t, e)
}

func TestC2ExpBoundaries(t *testing.T) {
	for _, leeway := range []time.Duration{core.NoLeeway, 30 * time.Second} {
		e := newEnv(t, core.Config{Leeway: leeway})
		now := e.clock.Now().Unix()
		l := int64(0)
		if leeway > 0 {
			l = int64(leeway / time.Second)
		}
		cases := map[string]bool{
			itoa(now - l):               false,
			itoa(now - l + 1):           true,
			itoa(now-l) + ".25":         true, // fractions are kept, never rounded
			itoa(now-l-1) + ".99999999": false,
		}
		for exp, ok := range cases {
			_, err := e.verify(e.rawClaims(t, e.claimsWith("exp", exp)))
			if (err == nil) != ok {
				t.Errorf("leeway %v, exp %s (now %d): err = %v, want ok=%v", leeway, exp, now, err, ok)
			}
		}
	}
}

func TestC3NotBefore(t *testing.T) {
	const L = 30
	e := newEnv(t, core.Config{})
	now := e.clock.Now().Unix()
	for nbf, ok := range map[string]bool{
		itoa(now): true, itoa(now + L): true, itoa(now + L + 1): false,
		"9.3e18": false, "1e300": false, "9223372036854775807": false, "-1": false,
	} {
		_, err := e.verify(e.rawClaims(t, e.claimsWith("nbf", nbf)))
		if (err == nil) != ok {
			t.Errorf("nbf %s: err = %v, want ok=%v", nbf, err, ok)
		}
	}
}

func TestC4IssuedAt(t *testing.T) {
	e := newEnv(t, core.Config{})
	strict := newEnv(t, core.Config{StrictRFC9068: true})
	now := e.clock.Now().Unix()
	if _, err := e.verify(e.rawClaims(t, e.claimsWith("iat", itoa(now+31)))); core.ReasonOf(err) != core.ReasonIssuedInFuture {
		t.Errorf("iat beyond leeway: %v", err)
	}
	if _, err := e.verify(e.rawClaims(t, e.claimsWith("iat", itoa(now+30)))); err != nil {
		t.Errorf("iat at leeway: %v", err)
	}
	if _, err := e.verify(e.rawClaims(t, e.claimsWith("iat", ""))); err != nil {
		t.Errorf("missing iat, lenient: %v", err)
	}
	k := strict.srv.SigningKey()
	tok := mustRaw(t, k, `{"alg":"`+k.Alg+`","kid":"`+k.ID+`","typ":"at+jwt"}`, strict.claimsWith("iat", ""))
	if _, err := strict.verify(tok); core.ReasonOf(err) != core.ReasonMissingClaim {
		t.Errorf("missing iat, strict: %v", err)
	}
}

func TestC5ExtremeNumbers(t *testing.T) {
	e := newEnv(t, core.Config{})
	for _, claim := range []string{"exp", "nbf", "iat"} {
		for _, v := range []string{"1e300", "9223372036854775807", "-1", "1e400", "-1e400", "1" + strings.Repeat("0", 400), "0.1e-400", "253402300800"} {
			c, err := e.verify(e.rawClaims(t, e.claimsWith(claim, v)))
			if claim == "exp" || v != "0.1e-400" {
				expectReject(t, c, err, core.ErrInvalidToken, "")
			} else if err != nil {
				// 0.1e-400 underflows to 0: a 1970 nbf/iat is harmless.
				t.Errorf("%s %s: %v", claim, v, err)
			}
		}
	}
}

func TestC6IssuerVariants(t *testing.T) {
	e := newEnv(t, core.Config{})
	iss := e.srv.Issuer // http://127.0.0.1:port
	host := strings.TrimPrefix(iss, "http://")
	for _, raw := range []string{
		`"` + iss + `/"`, `"` + iss + `//"`, `"` + strings.ToUpper(iss) + `"`, `"https://` + host + `"`,
		`"http://` + strings.Replace(host, ":", ".:", 1) + `"`, `"http://127.0.0.\u0661:` + strings.Split(host, ":")[1] + `"`,
		`"` + iss + ` "`, `"` + iss + `\u0000"`, `["` + iss + `"]`, `1`, `null`, `""`, "",
	} {
		c, err := e.verify(e.rawClaims(t, e.claimsWith("iss", raw)))
		expectReject(t, c, err, core.ErrInvalidToken, "")
	}
	noFetch(t, e)
}

func TestC7Audience(t *testing.T) {
	e := newEnv(t, core.Config{})
	for raw, ok := range map[string]bool{
		`"orders-api"`: true, `["x","orders-api"]`: true, `"Orders-Api"`: false, `"orders"`: false, `"orders-api2"`: false,
		`"orders-api x"`: false, `["orders-api x"]`: false, `[]`: false, `""`: false, `null`: false, `["orders-api",1]`: false,
		`[["orders-api"]]`: false, `{"aud":"orders-api"}`: false, "": false, `"orders-api "`: false,
	} {
		_, err := e.verify(e.rawClaims(t, e.claimsWith("aud", raw)))
		if (err == nil) != ok {
			t.Errorf("aud %s: err = %v, want ok=%v", raw, err, ok)
		}
	}
	if _, err := e.v.Verify(t.Context(), e.srv.Token(testAudience)); err == nil {
		t.Error("Verify without an audience succeeded")
	}
}

func TestC8StrictAndTypes(t *testing.T) {
	strict := newEnv(t, core.Config{StrictRFC9068: true})
	k := strict.srv.SigningKey()
	sign := func(payload string) string {
		return mustRaw(t, k, `{"alg":"`+k.Alg+`","kid":"`+k.ID+`","typ":"at+jwt"}`, payload)
	}
	if _, err := strict.verify(sign(strict.claimsWith("x", `1`))); err != nil {
		t.Fatalf("complete claims refused: %v", err)
	}
	for _, claim := range []string{"sub", "client_id", "iat", "jti"} {
		c, err := strict.verify(sign(strict.claimsWith(claim, "")))
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonMissingClaim)
	}
	lenient := newEnv(t, core.Config{})
	for _, env := range []*env{strict, lenient} {
		for claim, raw := range map[string]string{"sub": "1", "client_id": "[]", "jti": "{}", "azp": "true", "scope": `["a"]`, "scp": "7"} {
			tok := sign(env.claimsWith(claim, raw))
			if env == lenient {
				tok = env.rawClaims(t, env.claimsWith(claim, raw))
			}
			c, err := env.verify(tok)
			expectReject(t, c, err, core.ErrInvalidToken, core.ReasonClaimType)
		}
	}
}

func TestC9Scopes(t *testing.T) {
	e := newEnv(t, core.Config{})
	h := core.Middleware(e.v, testAudience)(core.RequireScope("orders:read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	for raw, want := range map[string]int{
		`"scope":"orders:read"`: 200, `"scope":"a  orders:read"`: 200, `"scope":"orders:read\tx"`: 403,
		`"scp":["orders:read"]`: 200, `"scp":"x orders:read"`: 200, `"scope":"x","scp":["orders:read"]`: 200,
		`"scope":"orders:read:all"`: 403, `"scope":"ORDERS:READ"`: 403, `"scope":"orders:rea"`: 403, `"scope":""`: 403,
		`"scp":["orders:read",1]`: 401, `"scope":["orders:read"]`: 401,
		// An array element is one scope: one holding a space is refused,
		// never split into two grants, and so is an empty one.
		`"scp":["x orders:read"]`: 401, `"scp":["orders:read x"]`: 401, `"scp":["orders:read",""]`: 401,
		`"scp":[]`: 403,
	} {
		payload := strings.TrimSuffix(e.claimsWith("x", "1"), "}") + "," + raw + "}"
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+e.rawClaims(t, payload))
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: status %d, want %d", raw, rec.Code, want)
		}
	}
}

func TestC10ConfirmationClaim(t *testing.T) {
	e := newEnv(t, core.Config{})
	for _, raw := range []string{`{"jkt":"abc"}`, `{"x5t#S256":"abc"}`, `null`, `{}`} {
		c, err := e.verify(e.rawClaims(t, e.claimsWith("cnf", raw)))
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonBound)
	}
	noFetch(t, e)
}

func TestC11NestedJWT(t *testing.T) {
	e := newEnv(t, core.Config{})
	inner := e.srv.Token(testAudience)
	for _, cty := range []string{"JWT", "jwt", "application/jwt"} {
		tok := e.mintWith(t, e.srv.SigningKey(), map[string]any{"cty": cty}, map[string]any{"jwt": inner})
		c, err := e.verify(tok)
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonUnsupportedHeader)
	}
}

func TestC12RejectedClaimsNeverExposed(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, core.Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	secretSub := "subject-that-must-not-leak"
	c := e.srv.Claims("billing-api")
	c["sub"] = secretSub
	tok := e.mint(t, c)
	claims, err := e.verify(tok)
	expectReject(t, claims, err, core.ErrInvalidToken, core.ReasonAudience)
	reached := false
	h := core.MiddlewareWithOptions(e.v, core.Options{Optional: true}, testAudience)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	h.ServeHTTP(rec, req)
	if reached || rec.Code != 401 {
		t.Errorf("handler reached %v, status %d", reached, rec.Code)
	}
	for _, leak := range []string{secretSub, tok[:40], strings.Split(tok, ".")[1][:20]} {
		if strings.Contains(logs.String(), leak) || strings.Contains(err.Error(), leak) || strings.Contains(rec.Body.String(), leak) ||
			strings.Contains(rec.Header().Get("WWW-Authenticate"), leak) {
			t.Errorf("%q leaked", leak)
		}
	}
	if !strings.Contains(logs.String(), "reason=audience") {
		t.Errorf("rejection not logged: %s", logs.String())
	}
}
