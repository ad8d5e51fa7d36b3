package dpop_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"

	"github.com/bearerkit/bearerkit/dpop"
)

func TestVerifyAcceptsSignedProof(t *testing.T) {
	c := &clock{}
	v := newVerifier(t, c, dpop.Config{})
	s := newSigner(t, c, p256Key())
	proof, err := s.Proof(testMethod, testURL+"?page=2#top", testToken, "")
	if err != nil {
		t.Fatal(err)
	}
	req := testRequest()
	req.AccessToken, req.JKT = testToken, s.Thumbprint()
	p, err := v.Verify(context.Background(), proof, req)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if p.JKT != s.Thumbprint() || p.ID == "" || !p.IssuedAt.Equal(t0) {
		t.Fatalf("Proof = %+v, want jkt %s, a jti and iat %v", p, s.Thumbprint(), t0)
	}
}

// TestL1ProofHeader: alg none/HS*, typ other than dpop+jwt, private key
// material in jwk, jwk missing, jku/x5u/kid instead of jwk → refused, and
// never recorded in the replay store.
func TestL1ProofHeader(t *testing.T) {
	ec, rk, ed := p256Key(), rsaKey(), edKey()
	ecPub := jwkJSON(&ec.PublicKey)
	privEC := string(must(gojose.JSONWebKey{Key: ec}.MarshalJSON()))
	privRSA := string(must(gojose.JSONWebKey{Key: rk}.MarshalJSON()))
	point := must(ec.PublicKey.Bytes())
	offCurve := `{"kty":"EC","crv":"P-256","x":"` + b64.EncodeToString(make([]byte, 32)) +
		`","y":"` + b64.EncodeToString(point[33:]) + `"}`
	bigRSA := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 8191), E: 65537}
	bigRSA.N.Add(bigRSA.N, big.NewInt(1))
	rsa2047 := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 2046), E: 65537} // 256 bytes, 2047 bits
	rsa2047.N.Add(rsa2047.N, big.NewInt(1))
	ecWith := func(extra string) string { return strings.TrimSuffix(ecPub, "}") + extra + "}" }
	hdr := func(typAlg, jwk, extra string) string { return `{` + typAlg + `,"jwk":` + jwk + extra + `}` }
	es := `"typ":"dpop+jwt","alg":"ES256"`

	tests := []struct {
		name   string
		key    any
		alg    string // signing algorithm
		header string
		reason string // "" = accepted
	}{
		{"ES256 accepted", ec, "ES256", header("ES256", &ec.PublicKey, ""), ""},
		{"typ in upper case", ec, "ES256", hdr(`"typ":"DPOP+JWT","alg":"ES256"`, ecPub, ""), ""},
		{"unknown member ignored", ec, "ES256", header("ES256", &ec.PublicKey, `,"foo":{"bar":[1]}`), ""},
		{"escaped member names", ec, "ES256", `{"\u0074yp":"dpop+jwt","al\u0067":"ES256","jwk":` + ecPub + `}`, ""},
		{"jwk with use sig and key_ops verify", ec, "ES256", hdr(es, ecWith(`,"use":"sig","key_ops":["verify"],"kid":"k1"`), ""), ""},

		{"alg none", nil, "none", header("none", &ec.PublicKey, ""), "alg"},
		{"alg NONE", nil, "none", header("NONE", &ec.PublicKey, ""), "alg"},
		{"HS256 keyed with the jwk", []byte(ecPub), "HS256", header("HS256", &ec.PublicKey, ""), "alg"},
		{"HS512 keyed with the jwk", []byte(ecPub), "HS512", header("HS512", &ec.PublicKey, ""), "alg"},
		{"RS384 outside the allow-list", rk, "RS384", header("RS384", &rk.PublicKey, ""), "alg"},
		{"alg with trailing space", ec, "ES256", header("ES256 ", &ec.PublicKey, ""), "alg"},
		{"alg a number", ec, "ES256", hdr(`"typ":"dpop+jwt","alg":256`, ecPub, ""), "alg"},
		{"alg missing", ec, "ES256", hdr(`"typ":"dpop+jwt"`, ecPub, ""), "alg"},

		{"typ JWT", ec, "ES256", hdr(`"typ":"JWT","alg":"ES256"`, ecPub, ""), "typ"},
		{"typ with application/ prefix", ec, "ES256", hdr(`"typ":"application/dpop+jwt","alg":"ES256"`, ecPub, ""), "typ"},
		{"typ empty", ec, "ES256", hdr(`"typ":"","alg":"ES256"`, ecPub, ""), "typ"},
		{"typ a number", ec, "ES256", hdr(`"typ":1,"alg":"ES256"`, ecPub, ""), "typ"},
		{"typ missing", ec, "ES256", hdr(`"alg":"ES256"`, ecPub, ""), "typ"},

		{"jwk missing", ec, "ES256", `{` + es + `}`, "jwk"},
		{"jwk a string", ec, "ES256", hdr(es, `"x"`, ""), "jwk"},
		{"jwk null", ec, "ES256", hdr(es, `null`, ""), "jwk"},
		{"EC private key", ec, "ES256", hdr(es, privEC, ""), "jwk"},
		{"RSA private key", rk, "RS256", hdr(`"typ":"dpop+jwt","alg":"RS256"`, privRSA, ""), "jwk"},
		{"public jwk plus d", ec, "ES256", hdr(es, ecWith(`,"d":"AA"`), ""), "jwk"},
		{"symmetric key", ec, "ES256", hdr(es, `{"kty":"oct","k":"c2VjcmV0"}`, ""), "jwk"},
		{"RSA 1024", rsa1024(), "RS256", header("RS256", &rsa1024().PublicKey, ""), "jwk"},
		{"RSA 2047", rk, "RS256", header("RS256", rsa2047, ""), "jwk"},
		{"RSA 8192", rk, "RS256", header("RS256", bigRSA, ""), "jwk"},
		{"RSA exponent 1", rk, "RS256", header("RS256", &rsa.PublicKey{N: rk.N, E: 1}, ""), "jwk"},
		{"RSA even exponent", rk, "RS256", header("RS256", &rsa.PublicKey{N: rk.N, E: 65538}, ""), "jwk"},
		{"point off the curve", ec, "ES256", hdr(es, offCurve, ""), "jwk"},
		{"padded coordinate", ec, "ES256", hdr(es, strings.Replace(ecPub, `","y"`, `=","y"`, 1), ""), "jwk"},
		{"secp256k1", ec, "ES256", hdr(es, strings.Replace(ecPub, "P-256", "secp256k1", 1), ""), "jwk"},
		{"X25519", ed, "EdDSA", hdr(`"typ":"dpop+jwt","alg":"EdDSA"`, strings.Replace(jwkJSON(ed.Public()), "Ed25519", "X25519", 1), ""), "jwk"},
		{"EC kty with RSA members", ec, "ES256", hdr(es, ecWith(`,"n":"AQAB","e":"AQAB"`), ""), "jwk"},
		{"P-256 key with ES384", ec, "ES384", header("ES384", &ec.PublicKey, ""), "jwk"},
		{"RSA key with ES256", rk, "RS256", header("ES256", &rk.PublicKey, ""), "jwk"},
		{"Ed25519 key with ES256", ed, "EdDSA", header("ES256", ed.Public(), ""), "jwk"},
		{"P-256 key with RS256", ec, "ES256", header("RS256", &ec.PublicKey, ""), "jwk"},
		{"jwk alg other than the header's", ec, "ES256", hdr(es, ecWith(`,"alg":"ES384"`), ""), "jwk"},
		{"jwk use enc", ec, "ES256", hdr(es, ecWith(`,"use":"enc"`), ""), "jwk"},
		{"jwk key_ops without verify", ec, "ES256", hdr(es, ecWith(`,"key_ops":["encrypt"]`), ""), "jwk"},

		{"jku instead of jwk", ec, "ES256", `{` + es + `,"jku":"https://attacker.example/jwks"}`, "header"},
		{"x5u instead of jwk", ec, "ES256", `{` + es + `,"x5u":"https://attacker.example/cert"}`, "header"},
		{"kid instead of jwk", ec, "ES256", `{` + es + `,"kid":"k1"}`, "header"},
		{"kid beside jwk", ec, "ES256", header("ES256", &ec.PublicKey, `,"kid":"k1"`), "header"},
		{"x5c beside jwk", ec, "ES256", header("ES256", &ec.PublicKey, `,"x5c":["MIIB"]`), "header"},
		{"crit", ec, "ES256", header("ES256", &ec.PublicKey, `,"crit":["exp"]`), "header"},
		{"b64 false", ec, "ES256", header("ES256", &ec.PublicKey, `,"b64":false`), "header"},
		{"enc", ec, "ES256", header("ES256", &ec.PublicKey, `,"enc":"A128GCM"`), "header"},
		{"zip", ec, "ES256", header("ES256", &ec.PublicKey, `,"zip":"DEF"`), "header"},
		{"cty", ec, "ES256", header("ES256", &ec.PublicKey, `,"cty":"JWT"`), "header"},

		{"signed by another key", p256Key2(), "ES256", header("ES256", &ec.PublicKey, ""), "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{}
			store := &countingStore{}
			v := newVerifier(t, c, dpop.Config{Replay: store})
			proof := sign(t, tt.key, tt.alg, tt.header, claims(t0, ""))
			_, err := v.Verify(context.Background(), proof, testRequest())
			wantOutcome(t, err, tt.reason)
			if n := store.calls.Load(); tt.reason != "" && n != 0 {
				t.Fatalf("a refused proof reached the replay store %d times", n)
			}
		})
	}
}

func TestL2Method(t *testing.T) {
	tests := []struct {
		name, htm string
		reason    string
	}{
		{"same method", `"htm":"POST"`, ""},
		{"other method", `"htm":"GET"`, "htm"},
		{"other case", `"htm":"post"`, "htm"},
		{"trailing space", `"htm":"POST "`, "htm"},
		{"a number", `"htm":1`, "htm"},
		{"missing", ``, "htm"},
	}
	ec := p256Key()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, &clock{}, dpop.Config{})
			body := `{"jti":"j1","htu":"` + testURL + `","iat":1800000000`
			if tt.htm != "" {
				body += "," + tt.htm
			}
			proof := sign(t, ec, "ES256", header("ES256", &ec.PublicKey, ""), body+"}")
			_, err := v.Verify(context.Background(), proof, testRequest())
			wantOutcome(t, err, tt.reason)
		})
	}
}

// TestL4AccessTokenHash: ath missing or for another token → refused.
func TestL4AccessTokenHash(t *testing.T) {
	c := &clock{}
	s := newSigner(t, c, p256Key())
	tests := []struct {
		name        string
		proofToken  string // the token the proof hashes; "" for none
		verifyToken string // the token the request carries
		reason      string
	}{
		{"hash of the token", testToken, testToken, ""},
		{"no ath", "", testToken, "ath"},
		{"ath of another token", "another-token", testToken, "ath"},
		{"ath of a token differing in case", strings.ToUpper(testToken), testToken, "ath"},
		{"ath when no token is checked", testToken, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, c, dpop.Config{})
			proof := must(s.Proof(testMethod, testURL, tt.proofToken, ""))
			req := testRequest()
			req.AccessToken = tt.verifyToken
			_, err := v.Verify(context.Background(), proof, req)
			wantOutcome(t, err, tt.reason)
		})
	}
}

// TestL4KeyThumbprint: a token whose cnf.jkt names another key → refused.
func TestL4KeyThumbprint(t *testing.T) {
	c := &clock{}
	other := must(dpop.Thumbprint(&p256Key2().PublicKey))
	for _, key := range []crypto.Signer{p256Key(), rsaKey(), edKey()} {
		s := newSigner(t, c, key)
		t.Run(fmt.Sprintf("%T", key), func(t *testing.T) {
			v := newVerifier(t, c, dpop.Config{})
			req := testRequest()
			req.JKT = other
			_, err := v.Verify(context.Background(), must(s.Proof(testMethod, testURL, "", "")), req)
			wantReason(t, err, dpop.ErrInvalidProof, "jkt")
			req.JKT = s.Thumbprint()
			if _, err := v.Verify(context.Background(), must(s.Proof(testMethod, testURL, "", "")), req); err != nil {
				t.Fatalf("Verify with the key's own thumbprint: %v", err)
			}
		})
	}
}

func TestClaimTypes(t *testing.T) {
	base := `"htm":"POST","htu":"` + testURL + `"`
	tests := []struct {
		name, payload, reason string
	}{
		{"jti missing", `{` + base + `,"iat":1800000000}`, "jti"},
		{"jti empty", `{"jti":"",` + base + `,"iat":1800000000}`, "jti"},
		{"jti a number", `{"jti":7,` + base + `,"iat":1800000000}`, "jti"},
		{"jti of 257 bytes", `{"jti":"` + strings.Repeat("j", 257) + `",` + base + `,"iat":1800000000}`, "jti"},
		{"jti of 256 bytes", `{"jti":"` + strings.Repeat("j", 256) + `",` + base + `,"iat":1800000000}`, ""},
		{"htu missing", `{"jti":"j","htm":"POST","iat":1800000000}`, "htu"},
		{"htu a number", `{"jti":"j","htm":"POST","htu":1,"iat":1800000000}`, "htu"},
		{"iat missing", `{"jti":"j",` + base + `}`, "iat"},
		{"iat a string", `{"jti":"j",` + base + `,"iat":"1800000000"}`, "iat"},
		{"iat null", `{"jti":"j",` + base + `,"iat":null}`, "iat"},
		{"iat negative", `{"jti":"j",` + base + `,"iat":-1}`, "iat"},
		{"iat 1e300", `{"jti":"j",` + base + `,"iat":1e300}`, "iat"},
		{"iat 1e400", `{"jti":"j",` + base + `,"iat":1e400}`, "iat"},
		{"iat fractional", `{"jti":"j",` + base + `,"iat":1800000000.75}`, ""},
		{"ath a number", `{"jti":"j",` + base + `,"iat":1800000000,"ath":1}`, "ath"},
		{"nonce a number", `{"jti":"j",` + base + `,"iat":1800000000,"nonce":1}`, "malformed"},
		{"payload an array", `[1]`, "malformed"},
	}
	ec := p256Key()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, &clock{}, dpop.Config{})
			proof := sign(t, ec, "ES256", header("ES256", &ec.PublicKey, ""), tt.payload)
			_, err := v.Verify(context.Background(), proof, testRequest())
			wantOutcome(t, err, tt.reason)
		})
	}
}

func TestRequestErrors(t *testing.T) {
	c := &clock{}
	proof := must(newSigner(t, c, p256Key()).Proof(testMethod, testURL, "", ""))
	tests := []struct {
		name string
		req  dpop.Request
	}{
		{"no method", dpop.Request{URL: must(url.Parse(testURL))}},
		{"no URL", dpop.Request{Method: "POST"}},
		{"relative URL", dpop.Request{Method: "POST", URL: &url.URL{Path: "/orders"}}},
		{"ftp URL", dpop.Request{Method: "POST", URL: must(url.Parse("ftp://api.example.com/orders"))}},
		{"port with a leading zero", dpop.Request{Method: "POST", URL: must(url.Parse("https://api.example.com:0443/orders"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newVerifier(t, c, dpop.Config{}).Verify(context.Background(), proof, tt.req)
			wantReason(t, err, dpop.ErrInvalidProof, "request")
		})
	}
}

// TestErrorsHideSecrets: no refusal's text, in any format, holds the proof,
// its parts, the access token or the key.
func TestErrorsHideSecrets(t *testing.T) {
	c := &clock{}
	rk := rsaKey()
	s := newSigner(t, c, rk)
	proof := must(s.Proof(testMethod, testURL, testToken, ""))
	secrets := append(strings.Split(proof, "."), proof, testToken, b64.EncodeToString(rk.N.Bytes())[:40])
	failing := storeFunc(func(context.Context, string, time.Time) (bool, error) {
		return false, errors.New("connection refused")
	})
	nonces := must(dpop.NewNonces(make([]byte, 32), time.Minute, c.Now))
	otherToken, otherKey := testRequest(), testRequest()
	otherToken.AccessToken = "another-token"
	otherKey.JKT = must(dpop.Thumbprint(&p256Key().PublicKey))
	cases := []struct {
		cfg    dpop.Config
		req    dpop.Request
		reason string
	}{
		{dpop.Config{}, otherToken, "ath"},
		{dpop.Config{}, otherKey, "jkt"},
		{dpop.Config{Algorithms: []string{"ES256"}}, testRequest(), "alg"},
		{dpop.Config{MaxProofSize: 100}, testRequest(), "oversize"},
		{dpop.Config{Nonces: nonces}, testRequest(), "nonce"},
		{dpop.Config{Replay: failing}, testRequest(), "replay_store"},
	}
	for _, tc := range cases {
		_, err := newVerifier(t, c, tc.cfg).Verify(context.Background(), proof, tc.req)
		var de *dpop.Error
		if !errors.As(err, &de) || de.Reason != tc.reason {
			t.Fatalf("err = %v, want reason %s", err, tc.reason)
		}
		for _, text := range []string{err.Error(), fmt.Sprintf("%v %+v %#v", err, err, de)} {
			for _, secret := range secrets {
				if strings.Contains(text, secret) {
					t.Fatalf("error text %q holds a secret", text)
				}
			}
		}
	}
}

// TestVerifyConcurrentSameProof: one proof sent by 50 goroutines at once is
// accepted exactly once.
func TestVerifyConcurrentSameProof(t *testing.T) {
	c := &clock{}
	v := newVerifier(t, c, dpop.Config{})
	proof := must(newSigner(t, c, edKey()).Proof(testMethod, testURL, "", ""))
	var wg sync.WaitGroup
	results := make([]error, 50)
	for i := range results {
		wg.Go(func() { _, results[i] = v.Verify(context.Background(), proof, testRequest()) })
	}
	wg.Wait()
	accepted, replayed := 0, 0
	for _, err := range results {
		var de *dpop.Error
		switch {
		case err == nil:
			accepted++
		case errors.As(err, &de) && de.Reason == "jti_replayed":
			replayed++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if accepted != 1 || replayed != 49 {
		t.Fatalf("accepted %d, replayed %d; want 1 and 49", accepted, replayed)
	}
}
