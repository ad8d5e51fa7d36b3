package dpop_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bearerkit/bearerkit/dpop"
)

// TestL5RefusedBeforeAnyCrypto: a proof over the size limit, with
// duplicate members at any depth, or of the wrong shape → refused before
// any key is parsed or signature checked: the same with a correct and with
// a garbage signature, and not one signature check counted.
func TestL5RefusedBeforeAnyCrypto(t *testing.T) {
	ec := p256Key()
	jwk := jwkJSON(&ec.PublicKey)
	good := header("ES256", &ec.PublicKey, "")
	body := claims(t0, "")
	nested := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)

	tests := []struct {
		name, header, payload string
		maxSize               int
		mangle                func(proof string) string
		reason                string
	}{
		{name: "one byte over the limit", header: good, payload: body, maxSize: -1, reason: "oversize"},
		{name: "1 MiB", header: good, payload: body, mangle: func(p string) string {
			return p + strings.Repeat("A", 1<<20)
		}, reason: "oversize"},
		{name: "1 MiB of dots", mangle: func(string) string { return strings.Repeat(".", 1<<20) }, reason: "oversize"},
		{name: "alg twice", header: `{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":` + jwk + `}`, payload: body, reason: "malformed"},
		{name: "alg twice, once escaped", header: `{"typ":"dpop+jwt","alg":"ES256","\u0061lg":"ES256","jwk":` + jwk + `}`, payload: body, reason: "malformed"},
		{name: "typ twice", header: `{"typ":"JWT","typ":"dpop+jwt","alg":"ES256","jwk":` + jwk + `}`, payload: body, reason: "malformed"},
		{name: "jwk twice", header: `{"typ":"dpop+jwt","alg":"ES256","jwk":` + jwk + `,"jwk":` + jwk + `}`, payload: body, reason: "malformed"},
		{name: "kty twice inside jwk", header: `{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC",` + jwk[1:] + `}`, payload: body, reason: "malformed"},
		{name: "jti twice", header: good, payload: strings.Replace(body, `"htm"`, `"jti":"other","htm"`, 1), reason: "malformed"},
		{name: "htu twice", header: good, payload: strings.Replace(body, `"htm"`, `"htu":"https://evil.example/","htm"`, 1), reason: "malformed"},
		{name: "duplicates in a nested claim", header: good, payload: strings.Replace(body, "{", `{"x":{"y":1,"y":2},`, 1), reason: "malformed"},
		{name: "nesting beyond the scanner's depth", header: good, payload: strings.Replace(body, "{", `{"x":`+nested+`,`, 1), reason: "malformed"},
		{name: "header not UTF-8", header: "{\"typ\":\"dpop+jwt\xff\",\"alg\":\"ES256\",\"jwk\":" + jwk + "}", payload: body, reason: "malformed"},
		{name: "payload a string", header: good, payload: `"claims"`, reason: "malformed"},
		{name: "two proofs in one value", header: good, payload: body, mangle: func(p string) string { return p + "," + p }, reason: "malformed"},
		{name: "padded base64", header: good, payload: body, mangle: func(p string) string { return p + "=" }, reason: "malformed"},
		{name: "four segments", header: good, payload: body, mangle: func(p string) string { return p + ".AAAA" }, reason: "malformed"},
		{name: "JSON serialization", mangle: func(string) string { return `{"payload":"e30","signatures":[]}` }, reason: "malformed"},
	}
	for _, tt := range tests {
		for _, garbage := range []bool{false, true} {
			name := tt.name
			if garbage {
				name += "/garbage signature"
			}
			t.Run(name, func(t *testing.T) {
				proof := "AAAA.AAAA.AAAA"
				if tt.header != "" {
					proof = sign(t, ec, "ES256", tt.header, tt.payload)
				}
				if garbage {
					proof = proof[:strings.LastIndexByte(proof, '.')+1] + strings.Repeat("A", 86)
				}
				if tt.mangle != nil {
					proof = tt.mangle(proof)
				}
				cfg := dpop.Config{Replay: &countingStore{}}
				if tt.maxSize < 0 {
					cfg.MaxProofSize = len(proof) - 1
				}
				v := newVerifier(t, &clock{}, cfg)
				checks := dpop.CountSignatureChecks(v)
				_, err := v.Verify(context.Background(), proof, testRequest())
				wantReason(t, err, dpop.ErrInvalidProof, tt.reason)
				if n := checks.Load(); n != 0 {
					t.Fatalf("%d signature checks before the refusal, want 0", n)
				}
			})
		}
	}

	// The counter does count: a well-formed proof is checked once.
	v := newVerifier(t, &clock{}, dpop.Config{})
	checks := dpop.CountSignatureChecks(v)
	if _, err := v.Verify(context.Background(), sign(t, ec, "ES256", good, body), testRequest()); err != nil {
		t.Fatal(err)
	}
	if checks.Load() != 1 {
		t.Fatalf("%d signature checks for a good proof, want 1", checks.Load())
	}
}

// TestMaxProofSizeEdge: a proof of exactly MaxProofSize bytes is read.
func TestMaxProofSizeEdge(t *testing.T) {
	c := &clock{}
	proof := must(newSigner(t, c, rsaKey()).Proof(testMethod, testURL, testToken, ""))
	v := newVerifier(t, c, dpop.Config{MaxProofSize: len(proof)})
	if _, err := v.Verify(context.Background(), proof, testRequest()); err != nil {
		t.Fatalf("proof of exactly the limit: %v", err)
	}
}
