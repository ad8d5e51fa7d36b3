package core_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/bearerkit/bearerkit/authtest"
	"github.com/bearerkit/bearerkit/core"
)

var benchAlgs = []string{"RS256", "PS256", "ES256", "EdDSA"}

// benchEnv is an issuer, a warm verifier, and a typical access token.
type benchEnv struct {
	srv   *authtest.Server
	v     *core.Verifier
	token string
}

func newBenchEnv(b *testing.B, alg string, cacheSize int) *benchEnv {
	b.Helper()
	srv := authtest.NewServer(authtest.WithAlgorithm(alg))
	b.Cleanup(srv.Close)
	v, err := core.New(core.Config{Issuer: srv.Issuer, TokenCacheSize: cacheSize})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(v.Close)
	if err := v.Prefetch(context.Background()); err != nil {
		b.Fatal(err)
	}
	tok := srv.Token("orders-api", "orders:read", "orders:write")
	if _, err := v.Verify(context.Background(), tok, "orders-api"); err != nil {
		b.Fatal(err)
	}
	return &benchEnv{srv: srv, v: v, token: tok}
}

// floor is the bare signature check of the token: the cost no verifier
// can avoid, measured on the same token in the same run.
func floor(b *testing.B, alg string, key crypto.PublicKey, token string) func() bool {
	b.Helper()
	dot := strings.LastIndexByte(token, '.')
	input := []byte(token[:dot])
	sig, err := base64.RawURLEncoding.DecodeString(token[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	switch alg {
	case "RS256":
		return func() bool {
			d := sha256.Sum256(input)
			return rsa.VerifyPKCS1v15(key.(*rsa.PublicKey), crypto.SHA256, d[:], sig) == nil
		}
	case "PS256":
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
		return func() bool {
			d := sha256.Sum256(input)
			return rsa.VerifyPSS(key.(*rsa.PublicKey), crypto.SHA256, d[:], sig, opts) == nil
		}
	case "ES256":
		return func() bool {
			d := sha256.Sum256(input)
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			return ecdsa.Verify(key.(*ecdsa.PublicKey), d[:], r, s)
		}
	case "EdDSA":
		return func() bool { return ed25519.Verify(key.(ed25519.PublicKey), input, sig) }
	}
	b.Fatalf("no floor for %s", alg)
	return nil
}

func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range benchAlgs {
		b.Run(alg+"/floor", func(b *testing.B) {
			e := newBenchEnv(b, alg, -1)
			check := floor(b, alg, e.srv.SigningKey().Public(), e.token)
			b.ReportAllocs()
			for b.Loop() {
				if !check() {
					b.Fatal("floor check failed")
				}
			}
		})
		b.Run(alg+"/first-seen", func(b *testing.B) {
			e := newBenchEnv(b, alg, -1)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.v.Verify(ctx, e.token, "orders-api"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/repeated", func(b *testing.B) {
			e := newBenchEnv(b, alg, 0)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.v.Verify(ctx, e.token, "orders-api"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/first-seen-parallel", func(b *testing.B) {
			e := newBenchEnv(b, alg, -1)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.v.Verify(ctx, e.token, "orders-api"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
		b.Run(alg+"/repeated-parallel", func(b *testing.B) {
			e := newBenchEnv(b, alg, 0)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.v.Verify(ctx, e.token, "orders-api"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func BenchmarkRejectJunk(b *testing.B) {
	ctx := context.Background()
	e := newBenchEnv(b, "RS256", 0)
	parts := strings.Split(e.token, ".")
	none, err := e.srv.MintWith(e.srv.SigningKey(), map[string]any{"alg": "none"}, e.srv.Claims("orders-api"))
	if err != nil {
		b.Fatal(err)
	}
	cases := map[string]string{
		"malformed": "not-a-token",
		"dots":      strings.Repeat(".", 16<<10),
		"oversize":  strings.Repeat("a", 1<<20),
		"alg-none":  none,
		"bad-b64":   parts[0] + ".%%%." + parts[2],
	}
	for name, tok := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.v.Verify(ctx, tok, "orders-api"); err == nil {
					b.Fatal("junk accepted")
				}
			}
		})
	}
	if n := e.srv.JWKSRequests(); n != 1 {
		b.Fatalf("JWKS requests = %d, want 1", n)
	}
	_ = time.Second
}

// BenchmarkAuthorization measures what issue-level features add to a
// verification, each against a baseline measured in the same run: a
// MultiIssuer against a single Verifier (first-seen and cached), a JSON
// Pointer in ScopeClaims against the default claims, and a Validate hook
// that returns nil on the cached path.
func BenchmarkAuthorization(b *testing.B) {
	ctx := context.Background()
	srv := authtest.NewServer(authtest.WithAlgorithm("EdDSA"))
	b.Cleanup(srv.Close)
	other := authtest.NewServer(authtest.WithAlgorithm("EdDSA"))
	b.Cleanup(other.Close)
	claims := srv.Claims("orders-api", "orders:read", "orders:write")
	claims["realm_access"] = map[string]any{"roles": []string{"orders:admin", "orders:audit"}}
	tok, err := srv.Mint(claims)
	if err != nil {
		b.Fatal(err)
	}
	single := func(cfg core.Config) *core.Verifier {
		cfg.Issuer = srv.Issuer
		v, err := core.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(v.Close)
		if err := v.Prefetch(ctx); err != nil {
			b.Fatal(err)
		}
		return v
	}
	multi := func(size int) *core.MultiIssuer {
		m, err := core.NewMultiIssuer(core.Config{Issuer: other.Issuer, TokenCacheSize: size}, core.Config{Issuer: srv.Issuer, TokenCacheSize: size})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(m.Close)
		if err := m.Prefetch(ctx); err != nil {
			b.Fatal(err)
		}
		return m
	}
	run := func(name string, v core.TokenVerifier) {
		b.Run(name, func(b *testing.B) {
			if _, err := v.Verify(ctx, tok, "orders-api"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok, "orders-api"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	nilValidate := func(context.Context, *core.Claims) error { return nil }
	run("first-seen/verifier", single(core.Config{TokenCacheSize: -1}))
	run("first-seen/multi-issuer", multi(-1))
	run("first-seen/scope-pointer", single(core.Config{TokenCacheSize: -1, ScopeClaims: []string{"scope", "scp", "/realm_access/roles"}}))
	run("cached/verifier", single(core.Config{}))
	run("cached/multi-issuer", multi(0))
	run("cached/validate-nil", single(core.Config{Validate: nilValidate}))
}
