package core_test

// docs/security-checklist.md, section A: algorithms and keys.

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

// expectReject checks that err rejects the token with the sentinel and,
// when why is not empty, the reason.
func expectReject(t *testing.T, c *core.Claims, err error, sentinel error, why core.Reason) {
	t.Helper()
	if c != nil {
		t.Errorf("claims returned with a rejection: %+v", c)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want %v", err, sentinel)
	}
	if why != "" && core.ReasonOf(err) != why {
		t.Errorf("reason = %q, want %q (err %v)", core.ReasonOf(err), why, err)
	}
}

func noFetch(t *testing.T, e *env) {
	t.Helper()
	if n := e.srv.JWKSRequests() + e.srv.DiscoveryRequests(); n != 0 {
		t.Errorf("requests to the issuer = %d, want 0", n)
	}
}

func TestA1AlgNone(t *testing.T) {
	e := newEnv(t, core.Config{})
	payload := `{"iss":"` + e.srv.Issuer + `","aud":"orders-api","exp":9999999999}`
	real := strings.Split(e.srv.Token(testAudience), ".")[2] // minted, never verified
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		for name, sig := range map[string]string{"empty": "", "garbage": "Z2FyYmFnZQ", "real-looking": real} {
			t.Run(alg+"/"+name, func(t *testing.T) {
				c, err := e.verify(b64(`{"alg":"`+alg+`","typ":"JWT"}`) + "." + b64(payload) + "." + sig)
				expectReject(t, c, err, core.ErrInvalidToken, "")
			})
		}
	}
	noFetch(t, e)
	if _, err := core.New(core.Config{Issuer: "https://a.example", Algorithms: []string{"none"}}); err == nil {
		t.Error("New accepted alg none")
	}
}

func TestA2HMACWithPublicKeyBytes(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		e := newEnv(t, core.Config{}, authtest.WithAlgorithm(alg))
		key := e.srv.SigningKey()
		pkix, err := x509.MarshalPKIXPublicKey(key.Public())
		if err != nil {
			t.Fatal(err)
		}
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
		secrets := map[string][]byte{
			"PKIX PEM":            pemKey,
			"PKIX PEM no newline": []byte(strings.TrimSuffix(string(pemKey), "\n")),
			"DER":                 pkix,
			"JWK JSON":            key.JWK(),
		}
		switch pub := key.Public().(type) {
		case *rsa.PublicKey:
			secrets["PKCS#1 PEM"] = pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)})
			secrets["raw modulus"] = pub.N.Bytes()
		case *ecdsa.PublicKey:
			point, err := pub.Bytes() // uncompressed SEC 1 encoding
			if err != nil {
				t.Fatal(err)
			}
			secrets["raw point"] = point
		}
		payload := `{"iss":"` + e.srv.Issuer + `","aud":"orders-api","exp":9999999999}`
		for name, secret := range secrets {
			for _, hs := range []string{"HS256", "HS384", "HS512"} {
				t.Run(alg+"/"+name+"/"+hs, func(t *testing.T) {
					c, err := e.verify(hs256(`{"alg":"`+hs+`","kid":"`+key.ID+`"}`, payload, secret))
					expectReject(t, c, err, core.ErrInvalidToken, core.ReasonAlgorithm)
				})
			}
		}
		noFetch(t, e)
	}
	for _, hs := range []string{"HS256", "HS384", "HS512"} {
		if _, err := core.New(core.Config{Issuer: "https://a.example", Algorithms: []string{"RS256", hs}}); err == nil {
			t.Errorf("New accepted %s", hs)
		}
	}
}

func TestA3AlgOutsideAllowList(t *testing.T) {
	e := newEnv(t, core.Config{Algorithms: []string{"ES256"}})
	key := e.srv.SigningKey() // RS256, correctly signed
	c, err := e.verify(e.srv.Token(testAudience))
	expectReject(t, c, err, core.ErrInvalidToken, core.ReasonAlgorithm)
	for name, alg := range map[string]any{
		"odd case": "Rs256", "trailing space": "RS256 ", "NUL": "RS256\x00", "number": 256,
		"array": []string{"RS256"}, "object": map[string]string{"alg": "RS256"},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := e.verify(e.mintWith(t, key, map[string]any{"alg": alg}, e.srv.Claims(testAudience)))
			expectReject(t, c, err, core.ErrInvalidToken, core.ReasonAlgorithm)
		})
	}
	for name, header := range map[string]string{
		"null":   `{"alg":null,"kid":"` + key.ID + `"}`,
		"absent": `{"kid":"` + key.ID + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, err := e.verify(mustRaw(t, key, header, `{"iss":"`+e.srv.Issuer+`","aud":"orders-api","exp":9999999999}`))
			expectReject(t, c, err, core.ErrInvalidToken, core.ReasonAlgorithm)
		})
	}
	noFetch(t, e)
}

func TestA4KeyAlgMismatch(t *testing.T) {
	e := newEnv(t, core.Config{})
	claims := func() map[string]any { return e.srv.Claims(testAudience) }

	ps512 := mustKey(t, "RS256") // an RSA key published for PS512 only
	e.srv.PublishRawJWK(withAlg(t, ps512, "PS512"))
	ec := mustKey(t, "ES256")
	ec.HideAlg = true
	e.srv.PublishKey(ec)
	rsaNoAlg := mustKey(t, "RS256")
	rsaNoAlg.HideAlg = true
	e.srv.PublishKey(rsaNoAlg)
	unknownAlg := mustKey(t, "RS256")
	e.srv.PublishRawJWK(withAlg(t, unknownAlg, "RS1024"))

	cases := []struct {
		name  string
		token string
		why   core.Reason
	}{
		{"PS512 key used for RS256", e.mintWith(t, ps512, nil, claims()), core.ReasonKeyMismatch},
		{"P-256 key used for ES384", e.mintWith(t, ec, map[string]any{"alg": "ES384"}, claims()), core.ReasonKeyMismatch},
		{"P-256 key used for RS256", e.mintWith(t, ec, map[string]any{"alg": "RS256"}, claims()), core.ReasonKeyMismatch},
		{"RSA key used for ES256", e.mintWith(t, rsaNoAlg, map[string]any{"alg": "ES256"}, claims()), core.ReasonKeyMismatch},
		{"key with an unknown alg", e.mintWith(t, unknownAlg, nil, claims()), core.ReasonUnknownKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.verify(tc.token)
			expectReject(t, c, err, core.ErrInvalidToken, tc.why)
		})
	}
	// The same keys verify the algorithm they are for.
	ps512.Alg = "PS512"
	for _, k := range []*authtest.Key{ps512, ec, rsaNoAlg} {
		if _, err := e.verify(e.mintWith(t, k, nil, claims())); err != nil {
			t.Errorf("%s key with its own alg: %v", k.Alg, err)
		}
	}
}

// withAlg returns k's public JWK with its alg member set to alg.
func withAlg(t *testing.T, k *authtest.Key, alg string) json.RawMessage {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(k.JWK(), &m); err != nil {
		t.Fatal(err)
	}
	m["alg"] = alg
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwkMembers returns k's public JWK as a map, to be edited.
func jwkMembers(t *testing.T, k *authtest.Key) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(k.JWK(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func rawJWK(t *testing.T, m map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestA5KtyDisagreesWithMembers(t *testing.T) {
	e := newEnv(t, core.Config{})
	r, ec, ed := mustKey(t, "RS256"), mustKey(t, "ES256"), mustKey(t, "EdDSA")
	for _, c := range []struct {
		key *authtest.Key
		kty string
	}{{r, "EC"}, {r, "OKP"}, {ec, "RSA"}, {ec, "OKP"}, {ed, "EC"}, {ed, "RSA"}} {
		m := jwkMembers(t, c.key)
		m["kty"] = c.kty
		e.srv.PublishRawJWK(rawJWK(t, m))
	}
	if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
		t.Fatal(err)
	}
	if st := e.v.KeySetStatus(); st.Keys != 1 || st.Skipped != 6 {
		t.Errorf("Keys %d Skipped %d, want 1 and 6", st.Keys, st.Skipped)
	}
	for _, k := range []*authtest.Key{r, ec, ed} {
		c, err := e.verify(e.mintWith(t, k, nil, e.srv.Claims(testAudience)))
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonUnknownKey)
	}
}

func TestA6RandomKidFlood(t *testing.T) {
	e := newEnv(t, core.Config{})
	e.prefetch(t)
	key := e.srv.SigningKey()
	tokens := make([]string, 1000)
	for i := range tokens {
		tokens[i] = e.mintWith(t, key, map[string]any{"kid": authtest.NewKeyID()}, e.srv.Claims(testAudience))
	}
	e.clock.Advance(core.DefaultRefetchCooldown) // the first miss may refetch once
	var wg sync.WaitGroup
	var accepted, wrong atomic.Int64
	next := atomic.Int64{}
	for range 50 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(tokens)) {
					return
				}
				_, err := e.verify(tokens[i])
				switch {
				case err == nil:
					accepted.Add(1)
				case core.ReasonOf(err) != core.ReasonUnknownKey:
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 0 || wrong.Load() != 0 {
		t.Fatalf("accepted %d, other errors %d", accepted.Load(), wrong.Load())
	}
	if got := e.srv.JWKSRequests(); got != 2 {
		t.Fatalf("JWKS requests = %d, want 2 (prefetch + one refetch)", got)
	}
	if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
		t.Fatalf("good key lost: %v", err)
	}
	e.clock.Advance(core.DefaultRefetchCooldown)
	fresh, err := e.srv.AddKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.verify(e.mintWith(t, fresh, nil, e.srv.Claims(testAudience))); err != nil {
		t.Fatalf("new key after the cooldown: %v", err)
	}
	if got := e.srv.JWKSRequests(); got != 3 || e.srv.LastJWKSRequestHeader().Get("Cache-Control") != "no-cache" {
		t.Errorf("JWKS requests = %d, Cache-Control %q", got, e.srv.LastJWKSRequestHeader().Get("Cache-Control"))
	}
}

func TestA7RandomKidsWhileEndpointFails(t *testing.T) {
	bad := mustKey(t, "RS256")
	bad.Alg = "RS1024" // published with an algorithm nobody supports
	faults := map[string]*authtest.Fault{
		"500":           {Status: 500},
		"empty set":     {Body: []byte(`{"keys":[]}`)},
		"unusable keys": {Body: []byte(`{"keys":[` + string(bad.JWK()) + `]}`)},
		"timeout":       {Wait: make(chan struct{})},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			// A hung endpoint: requests stop waiting after FetchWait while
			// the refetch stays in flight until the test lets it go.
			e := newEnv(t, core.Config{FetchWait: time.Millisecond})
			e.prefetch(t)
			e.clock.Advance(core.DefaultRefetchCooldown)
			var release chan struct{}
			arrived := make(chan struct{}, 1)
			fault := *f
			fault.Arrived = arrived
			if f.Wait != nil {
				release = make(chan struct{})
				fault.Wait = release
			}
			e.srv.SetJWKSFault(&fault)
			key := e.srv.SigningKey()
			var wg sync.WaitGroup
			for range 200 {
				wg.Go(func() {
					tok, err := e.srv.MintWith(key, map[string]any{"kid": authtest.NewKeyID()}, e.srv.Claims(testAudience))
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := e.verify(tok); core.ReasonOf(err) != core.ReasonUnknownKey {
						t.Errorf("err = %v", err)
					}
				})
			}
			wg.Wait()
			// The requests stopped waiting after FetchWait; the one refetch
			// they started may reach the server only now.
			<-arrived
			if got := e.srv.JWKSRequests(); got != 2 {
				t.Errorf("JWKS requests = %d, want 2: the prefetch and one refetch", got)
			}
			if release != nil {
				close(release)
			}
			if _, err := e.verify(e.srv.Token(testAudience)); err != nil {
				t.Errorf("good key lost: %v", err)
			}
		})
	}
}

func TestA8TokensWithoutKid(t *testing.T) {
	for _, n := range []int{1, 2, 50} {
		e := newEnv(t, core.Config{})
		for range n - 1 {
			if _, err := e.srv.AddKey("EdDSA"); err != nil {
				t.Fatal(err)
			}
		}
		keys := e.srv.Keys()
		for _, header := range []map[string]any{{"kid": nil}} {
			// The first key verifies; with 50 keys, the last is beyond the
			// three tried and is refused without a refetch.
			if _, err := e.verify(e.mintWith(t, keys[0], header, e.srv.Claims(testAudience))); err != nil {
				t.Errorf("%d keys: %v", n, err)
			}
			c, err := e.verify(e.mintWith(t, keys[n-1], header, e.srv.Claims(testAudience)))
			if n <= 3 && err != nil {
				t.Errorf("%d keys, last key: %v", n, err)
			}
			if n > 3 {
				expectReject(t, c, err, core.ErrInvalidToken, core.ReasonSignature)
			}
		}
		key := keys[0]
		nullKid := mustRaw(t, key, `{"alg":"`+key.Alg+`","kid":null}`, `{"iss":"`+e.srv.Issuer+`","aud":"orders-api","exp":`+itoa(e.clock.Now().Add(time.Hour).Unix())+`}`)
		if _, err := e.verify(nullKid); err != nil {
			t.Errorf("%d keys, kid null: %v", n, err)
		}
		if got := e.srv.JWKSRequests(); got != 1 {
			t.Errorf("%d keys: JWKS requests = %d, want 1", n, got)
		}
	}
}

// logCapture is a slog handler that keeps every record's text.
type logCapture struct {
	mu    sync.Mutex
	lines []string
}

func (l *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logCapture) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCapture) WithGroup(string) slog.Handler      { return l }

func TestA9HostileKids(t *testing.T) {
	logs := &logCapture{}
	e := newEnv(t, core.Config{Logger: slog.New(logs)})
	e.prefetch(t)
	key := e.srv.SigningKey()
	kids := map[string]string{
		"path":    "../../" + key.ID,
		"quotes":  `"` + key.ID + `"`,
		"jndi":    "${jndi:ldap://127.0.0.1/x}",
		"NUL":     key.ID + "\x00",
		"CRLF":    key.ID + "\r\nlevel=ERROR msg=forged",
		"64 KiB":  strings.Repeat("k", 64<<10),
		"RTL":     "\u202e" + key.ID,
		"prefix":  key.ID[:len(key.ID)-1],
		"case":    strings.ToUpper(key.ID),
		"padding": " " + key.ID,
	}
	for name, kid := range kids {
		t.Run(name, func(t *testing.T) {
			c, err := e.verify(e.mintWith(t, key, map[string]any{"kid": kid}, e.srv.Claims(testAudience)))
			if name == "64 KiB" {
				expectReject(t, c, err, core.ErrInvalidToken, core.ReasonOversize)
				return
			}
			expectReject(t, c, err, core.ErrInvalidToken, core.ReasonUnknownKey)
		})
	}
	for name, kid := range map[string]any{"number": 1, "array": []string{key.ID}, "object": map[string]string{"kid": key.ID}, "bool": true} {
		c, err := e.verify(e.mintWith(t, key, map[string]any{"kid": kid}, e.srv.Claims(testAudience)))
		if c != nil || !errors.Is(err, core.ErrInvalidToken) {
			t.Errorf("kid %s: %v", name, err)
		}
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	unknown := 0
	for _, line := range logs.lines {
		for _, bad := range []string{"\r", "\n", "\u202e", "\x00", strings.Repeat("k", 100)} {
			if strings.Contains(line, bad) {
				t.Errorf("log line holds %q: %q", bad, line)
			}
		}
		if strings.Contains(line, "reason=unknown_key") && strings.Contains(line, "kid=") {
			unknown++
		}
	}
	if unknown != len(kids)-1 {
		t.Errorf("%d unknown_key log lines with a kid, want %d", unknown, len(kids)-1)
	}
}

func TestA10KeysCarriedByTheToken(t *testing.T) {
	e := newEnv(t, core.Config{})
	var hits atomic.Int64
	counter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"keys":[]}`))
	}))
	defer counter.Close()
	attacker := mustKey(t, "RS256")
	privJWK := rawJWKPrivate(t, attacker)
	claims := e.srv.Claims(testAudience)
	cert := selfSigned(t, attacker)
	for name, header := range map[string]map[string]any{
		"jwk":              {"jwk": json.RawMessage(attacker.JWK())},
		"jwk with private": {"jwk": privJWK},
		"jku":              {"jku": counter.URL + "/jwks"},
		"x5u":              {"x5u": counter.URL + "/cert"},
		"x5c":              {"x5c": []string{cert}},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := e.verify(e.mintWith(t, attacker, header, claims))
			expectReject(t, c, err, core.ErrInvalidToken, core.ReasonUnsupportedHeader)
		})
	}
	if hits.Load() != 0 {
		t.Errorf("counting server saw %d requests", hits.Load())
	}
	noFetch(t, e)
}

func TestA12TokenTypes(t *testing.T) {
	e := newEnv(t, core.Config{})
	strict := newEnv(t, core.Config{StrictRFC9068: true})
	for _, typ := range []any{"dpop+jwt", "logout+jwt", "secevent+jwt", "id_token+jwt", 1, "at+jwt+x", "application/jwt+at"} {
		c, err := e.verify(e.mintWith(t, e.srv.SigningKey(), map[string]any{"typ": typ}, e.srv.Claims(testAudience)))
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonType)
	}
	for typ, ok := range map[string]bool{"at+jwt": true, "AT+JWT": true, "application/at+jwt": true, "JWT": false, "jwt": false} {
		_, err := strict.verify(strict.mintWith(t, strict.srv.SigningKey(), map[string]any{"typ": typ}, strict.srv.Claims(testAudience)))
		if (err == nil) != ok {
			t.Errorf("strict, typ %q: err = %v", typ, err)
		}
	}
	for typ, ok := range map[string]bool{"JWT": true, "jwt": true, "application/JWT": true, "at+jwt": true, "application/at+jwt": true} {
		if _, err := e.verify(e.mintWith(t, e.srv.SigningKey(), map[string]any{"typ": typ}, e.srv.Claims(testAudience))); (err == nil) != ok {
			t.Errorf("lenient, typ %q: err = %v", typ, err)
		}
	}
}

// An empty typ member is not an absent one (I3): one reader would treat
// it as "no type declared", another as an unknown type.
func TestI3EmptyTypRefused(t *testing.T) {
	for _, cfg := range []core.Config{{}, {StrictRFC9068: true}} {
		e := newEnv(t, cfg)
		c, err := e.verify(e.mintWith(t, e.srv.SigningKey(), map[string]any{"typ": ""}, e.srv.Claims(testAudience)))
		expectReject(t, c, err, core.ErrInvalidToken, core.ReasonType)
		noFetch(t, e)
	}
	// Absent stays accepted by the lenient default.
	e := newEnv(t, core.Config{})
	if _, err := e.verify(e.mintWith(t, e.srv.SigningKey(), map[string]any{"typ": nil}, e.srv.Claims(testAudience))); err != nil {
		t.Errorf("no typ: %v", err)
	}
}

func rawJWKPrivate(t *testing.T, k *authtest.Key) json.RawMessage {
	t.Helper()
	b, err := (&jose.JSONWebKey{Key: k.Private, KeyID: k.ID, Algorithm: k.Alg}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// selfSigned returns a base64 (standard) DER certificate for k, as x5c
// carries it.
func selfSigned(t *testing.T, k *authtest.Key) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attacker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k.Private)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}
