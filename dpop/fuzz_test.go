package dpop_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/dpop"
)

// Fuzzing workers are separate processes: their keys must be the same as
// the ones the seeds were made with.
var (
	fuzzEd = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	fuzzEC = must(ecdsa.ParseRawPrivateKey(elliptic.P256(), bytes.Repeat([]byte{7}, 32)))
)

// FuzzVerifyProof: Verify never panics, and accepts nothing but proofs the
// test's signers made for the request, whatever bytes it is given. Each
// worker makes its own proofs (with random jtis), so a proof counts as the
// signers' when it carries a signer's exact header and a payload that asks
// for the request; an ECDSA signature's (r, n−s) twin of such a proof is
// one. Proofs made in this process must come back with their own key's
// thumbprint.
func FuzzVerifyProof(f *testing.F) {
	c := &clock{}
	signers := []*dpop.Signer{newSigner(f, c, fuzzEd), newSigner(f, c, fuzzEC)}
	made := map[string]string{}    // proof → the signer's thumbprint
	headers := map[string]string{} // encoded header → the signer's thumbprint
	for _, s := range signers {
		for _, args := range [][4]string{
			{testMethod, testURL, "", ""},
			{testMethod, testURL + "?x=1", testToken, ""},
			{testMethod, testURL, "", "nonce"},
			{"GET", testURL, "", ""},
		} {
			p := must(s.Proof(args[0], args[1], args[2], args[3]))
			made[p] = s.Thumbprint()
			headers[p[:strings.IndexByte(p, '.')]] = s.Thumbprint()
			f.Add(p)
			f.Add(p[:len(p)-1])
			f.Add(strings.Replace(p, ".", "..", 1))
		}
	}
	f.Add("")
	f.Add("..")
	f.Add("e30.e30.AA")
	v := newVerifier(f, c, dpop.Config{Replay: &countingStore{}})
	f.Fuzz(func(t *testing.T, proof string) {
		p, err := v.Verify(context.Background(), proof, testRequest())
		if err != nil {
			var de *dpop.Error
			if !errors.As(err, &de) || p != nil {
				t.Fatalf("refusal %v is not a *dpop.Error, or came with a result", err)
			}
			return
		}
		if jkt, ok := made[proof]; ok && p.JKT != jkt {
			t.Fatalf("accepted with jkt %s, signed by %s", p.JKT, jkt)
		}
		parts := strings.Split(proof, ".")
		if jkt, ok := headers[parts[0]]; !ok || p.JKT != jkt {
			t.Fatalf("accepted a proof with a header no signer wrote: %q", proof)
		}
		var claims map[string]any
		if json.Unmarshal(must(b64.DecodeString(parts[1])), &claims) != nil ||
			claims["htm"] != testMethod || claims["htu"] != testURL || claims["jti"] != p.ID {
			t.Fatalf("accepted a payload no signer wrote for the request: %q", proof)
		}
	})
}

// FuzzVerifySignedClaims signs arbitrary header and payload bytes with a
// real key, so the fuzzer reaches every check after the signature's. Any
// proof Verify accepts must say, to an independent JSON reader, what the
// request asked.
func FuzzVerifySignedClaims(f *testing.F) {
	ed := fuzzEd
	hdr := header("EdDSA", ed.Public(), "")
	f.Add(hdr, claims(t0, ""))
	f.Add(hdr, claims(t0, `,"ath":"x","nonce":"n","extra":[1,{"a":null}]`))
	f.Add(`{"typ":"DPoP+JWT","alg":"Ed25519","jwk":`+jwkJSON(ed.Public())+`}`, claims(t0.Add(-30*time.Second), ""))
	f.Add(hdr, `{"jti":"\u006a","htm":"POST","htu":"HTTPS://api.example.com:443/%6Frders","iat":1800000000.5}`)
	v := newVerifier(f, &clock{}, dpop.Config{Replay: &countingStore{}})
	f.Fuzz(func(t *testing.T, header, payload string) {
		p, err := v.Verify(context.Background(), sign(t, ed, "EdDSA", header, payload), testRequest())
		if err != nil {
			return
		}
		var h, c map[string]any
		if json.Unmarshal([]byte(header), &h) != nil || json.Unmarshal([]byte(payload), &c) != nil {
			t.Fatalf("accepted a proof encoding/json cannot read: %q %q", header, payload)
		}
		typ, _ := h["typ"].(string)
		alg, _ := h["alg"].(string)
		jti, _ := c["jti"].(string)
		iat, _ := c["iat"].(float64)
		_, htuIsString := c["htu"].(string)
		switch {
		case !strings.EqualFold(typ, "dpop+jwt"), alg != "EdDSA" && alg != "Ed25519":
			t.Fatalf("accepted header %q", header)
		case c["htm"] != testMethod, jti == "", jti != p.ID, !htuIsString:
			t.Fatalf("accepted payload %q", payload)
		case iat < float64(t0.Add(-time.Minute).Unix()) || iat >= float64(t0.Add(6*time.Second).Unix()):
			t.Fatalf("accepted iat %v", iat)
		}
	})
}
