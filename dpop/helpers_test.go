package dpop_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"math/big"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"

	"github.com/bearerkit/bearerkit/dpop"
)

// t0 is the fixed instant the tests' clocks start at.
var t0 = time.Unix(1_800_000_000, 0).UTC()

// clock is an injected clock that tests move by hand.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return t0.Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Test keys, generated once per run.
var (
	rsaKey   = sync.OnceValue(func() *rsa.PrivateKey { return must(rsa.GenerateKey(rand.Reader, 2048)) })
	rsa1024  = sync.OnceValue(func() *rsa.PrivateKey { return must(rsa.GenerateKey(rand.Reader, 1024)) })
	p256Key  = sync.OnceValue(func() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) })
	p256Key2 = sync.OnceValue(func() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) })
	p384Key  = sync.OnceValue(func() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)) })
	p521Key  = sync.OnceValue(func() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader)) })
	edKey    = sync.OnceValue(func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return must(k, err)
	})
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

const (
	testMethod = "POST"
	testURL    = "https://api.example.com/orders"
	testToken  = "an-access-token"
)

func testRequest() dpop.Request {
	return dpop.Request{Method: testMethod, URL: must(url.Parse(testURL))}
}

// newVerifier returns a verifier on c's clock with cfg's other settings.
func newVerifier(t testing.TB, c *clock, cfg dpop.Config) *dpop.Verifier {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = c.Now
	}
	v, err := dpop.NewVerifier(cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// newSigner returns a signer for key on c's clock.
func newSigner(t testing.TB, c *clock, key crypto.Signer) *dpop.Signer {
	t.Helper()
	s, err := dpop.NewSigner(key)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	dpop.SetSignerClock(s, c.Now)
	return s
}

// jwkJSON returns the public JWK of pub as go-jose writes it.
func jwkJSON(pub crypto.PublicKey) string {
	return string(must(gojose.JSONWebKey{Key: pub}.MarshalJSON()))
}

// header returns a proof header for key, with extra members appended.
func header(alg string, pub crypto.PublicKey, extra string) string {
	return `{"typ":"dpop+jwt","alg":"` + alg + `","jwk":` + jwkJSON(pub) + extra + `}`
}

// claims returns proof claims for the test request issued at iat, with a
// random jti and extra members appended.
func claims(iat time.Time, extra string) string {
	return `{"jti":"` + rand.Text() + `","htm":"` + testMethod + `","htu":"` + testURL +
		`","iat":` + strconv.FormatInt(iat.Unix(), 10) + extra + `}`
}

var b64 = base64.RawURLEncoding

// sign makes a compact JWS of exactly the header and payload bytes given,
// signed with key under alg. It can sign what no well-behaved signer
// would: HS* with a []byte key, "none" with no signature, duplicate
// members, wrong types.
func sign(t testing.TB, key any, alg, hdr, payload string) string {
	t.Helper()
	input := b64.EncodeToString([]byte(hdr)) + "." + b64.EncodeToString([]byte(payload))
	sig, err := rawSign(key, alg, input)
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	return input + "." + b64.EncodeToString(sig)
}

func rawSign(key any, alg, input string) ([]byte, error) {
	var h crypto.Hash
	switch alg[2:] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	}
	digest := func() []byte {
		switch h {
		case crypto.SHA256:
			d := sha256.Sum256([]byte(input))
			return d[:]
		case crypto.SHA384:
			d := sha512.Sum384([]byte(input))
			return d[:]
		}
		d := sha512.Sum512([]byte(input))
		return d[:]
	}
	switch k := key.(type) {
	case []byte:
		newHash := sha256.New
		switch h {
		case crypto.SHA384:
			newHash = sha512.New384
		case crypto.SHA512:
			newHash = sha512.New
		}
		mac := hmac.New(newHash, k)
		mac.Write([]byte(input))
		return mac.Sum(nil), nil
	case nil:
		return []byte("x"), nil // "none" still needs a non-empty segment
	case *rsa.PrivateKey:
		if alg[0] == 'P' {
			return rsa.SignPSS(rand.Reader, k, h, digest(), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.SignPKCS1v15(rand.Reader, k, h, digest())
	case *ecdsa.PrivateKey:
		der, err := ecdsa.SignASN1(rand.Reader, k, digest())
		if err != nil {
			return nil, err
		}
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &rs); err != nil {
			return nil, err
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		rs.R.FillBytes(out[:size])
		rs.S.FillBytes(out[size:])
		return out, nil
	case ed25519.PrivateKey:
		return ed25519.Sign(k, []byte(input)), nil
	}
	return nil, errors.New("unsupported key")
}

// wantReason checks that err is an *dpop.Error with the given reason that
// matches sentinel.
func wantReason(t testing.TB, err error, sentinel error, reason string) {
	t.Helper()
	var de *dpop.Error
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a *dpop.Error with reason %q", err, reason)
	}
	if de.Reason != reason || !errors.Is(err, sentinel) {
		t.Fatalf("err = %v (reason %q), want reason %q matching %v", err, de.Reason, reason, sentinel)
	}
}

// wantOutcome checks a Verify error: none when reason is "", else an
// invalid proof for reason.
func wantOutcome(t testing.TB, err error, reason string) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		return
	}
	wantReason(t, err, dpop.ErrInvalidProof, reason)
}

// storeFunc adapts a function to dpop.ReplayStore.
type storeFunc func(ctx context.Context, key string, expiry time.Time) (bool, error)

func (f storeFunc) Remember(ctx context.Context, key string, expiry time.Time) (bool, error) {
	return f(ctx, key, expiry)
}

// countingStore counts Remember calls and always reports fresh keys.
type countingStore struct{ calls atomic.Int64 }

func (s *countingStore) Remember(context.Context, string, time.Time) (bool, error) {
	s.calls.Add(1)
	return true, nil
}
