package peerbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	auth0jwks "github.com/auth0/go-jwt-middleware/v2/jwks"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	golangjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/bearerkit/bearerkit/core"
)

// verifyFunc checks an access token for [audience] and returns its scope
// claim.
type verifyFunc func(ctx context.Context, token string) (string, error)

// peer is a library under comparison. open builds its verifier for e's
// issuer, allowing only e.alg, and releases it when tb's test ends. The key
// set may still be cold: the checks that precede timing warm it.
type peer struct {
	name string
	open func(tb testing.TB, e *env) verifyFunc
}

// peers are benchmarked in this order, after the floor.
var peers = []peer{
	{"bearerkit", openBearerkit(-1)},
	{"bearerkit-repeated", openBearerkit(0)},
	{"golang-jwt+keyfunc", openGolangJWT},
	{"go-jose", openGoJose},
	{"go-oidc", openGoOIDC},
	{"go-jwt-middleware", openGoJWTMiddleware},
	{"jwx", openJWX},
}

// openBearerkit returns a peer with the given token cache size: negative
// turns the cache off, zero is the default.
func openBearerkit(cacheSize int) func(testing.TB, *env) verifyFunc {
	return func(tb testing.TB, e *env) verifyFunc {
		v, err := core.New(core.Config{
			Issuer:         e.srv.Issuer,
			Algorithms:     []string{e.alg},
			Leeway:         leeway,
			TokenCacheSize: cacheSize,
		})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(v.Close)
		return func(ctx context.Context, token string) (string, error) {
			c, err := v.Verify(ctx, token, audience)
			if err != nil {
				return "", err
			}
			return strings.Join(c.Scopes, " "), nil
		}
	}
}

type golangJWTClaims struct {
	golangjwt.RegisteredClaims
	Scope string `json:"scope"`
}

func openGolangJWT(tb testing.TB, e *env) verifyFunc {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	kf, err := keyfunc.NewDefaultCtx(ctx, []string{e.srv.JWKSURL()})
	if err != nil {
		tb.Fatal(err)
	}
	p := golangjwt.NewParser(
		golangjwt.WithValidMethods([]string{e.alg}),
		golangjwt.WithIssuer(e.srv.Issuer),
		golangjwt.WithAudience(audience),
		golangjwt.WithExpirationRequired(),
		golangjwt.WithLeeway(leeway),
	)
	return func(_ context.Context, token string) (string, error) {
		var c golangJWTClaims
		if _, err := p.ParseWithClaims(token, &c, kf.Keyfunc); err != nil {
			return "", err
		}
		return c.Scope, nil
	}
}

type goJoseClaims struct {
	josejwt.Claims
	Scope string `json:"scope"`
}

func openGoJose(tb testing.TB, e *env) verifyFunc {
	var set jose.JSONWebKeySet
	if err := getJSON(e.srv.JWKSURL(), &set); err != nil {
		tb.Fatal(err)
	}
	algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(e.alg)}
	want := josejwt.Expected{Issuer: e.srv.Issuer, AnyAudience: josejwt.Audience{audience}}
	return func(_ context.Context, token string) (string, error) {
		tok, err := josejwt.ParseSigned(token, algs)
		if err != nil {
			return "", err
		}
		var c goJoseClaims
		if err := tok.Claims(&set, &c); err != nil {
			return "", err
		}
		if c.Expiry == nil {
			return "", errors.New("no exp claim")
		}
		if err := c.ValidateWithLeeway(want.WithTime(time.Now()), leeway); err != nil {
			return "", err
		}
		return c.Scope, nil
	}
}

func getJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func openGoOIDC(tb testing.TB, e *env) verifyFunc {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	keys := oidc.NewRemoteKeySet(ctx, e.srv.JWKSURL())
	v := oidc.NewVerifier(e.srv.Issuer, keys, &oidc.Config{
		ClientID:             audience,
		SupportedSigningAlgs: []string{e.alg},
	})
	return func(ctx context.Context, token string) (string, error) {
		t, err := v.Verify(ctx, token)
		if err != nil {
			return "", err
		}
		var c struct {
			Scope string `json:"scope"`
		}
		if err := t.Claims(&c); err != nil {
			return "", err
		}
		return c.Scope, nil
	}
}

// auth0Claims are the custom claims of go-jwt-middleware: the scope, and
// exp, which its validator checks only when present.
type auth0Claims struct {
	Scope  string `json:"scope"`
	Expiry *int64 `json:"exp"`
}

func (c *auth0Claims) Validate(context.Context) error {
	if c.Expiry == nil {
		return errors.New("no exp claim")
	}
	return nil
}

func openGoJWTMiddleware(tb testing.TB, e *env) verifyFunc {
	issuer, err := url.Parse(e.srv.Issuer)
	if err != nil {
		tb.Fatal(err)
	}
	jwksURL, err := url.Parse(e.srv.JWKSURL())
	if err != nil {
		tb.Fatal(err)
	}
	provider := auth0jwks.NewCachingProvider(issuer, 15*time.Minute, auth0jwks.WithCustomJWKSURI(jwksURL))
	v, err := validator.New(
		provider.KeyFunc,
		validator.SignatureAlgorithm(e.alg),
		e.srv.Issuer,
		[]string{audience},
		validator.WithAllowedClockSkew(leeway),
		validator.WithCustomClaims(func() validator.CustomClaims { return &auth0Claims{} }),
	)
	if err != nil {
		tb.Fatal(err)
	}
	return func(ctx context.Context, token string) (string, error) {
		res, err := v.ValidateToken(ctx, token)
		if err != nil {
			return "", err
		}
		return res.(*validator.ValidatedClaims).CustomClaims.(*auth0Claims).Scope, nil
	}
}

func openJWX(tb testing.TB, e *env) verifyFunc {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	cache, err := jwk.NewCache(ctx, httprc.NewClient())
	if err != nil {
		tb.Fatal(err)
	}
	if err := cache.Register(ctx, e.srv.JWKSURL()); err != nil {
		tb.Fatal(err)
	}
	set, err := cache.CachedSet(e.srv.JWKSURL())
	if err != nil {
		tb.Fatal(err)
	}
	alg, ok := jwa.LookupSignatureAlgorithm(e.alg)
	if !ok {
		tb.Fatalf("jwx does not know %s", e.alg)
	}
	keys := jwxjwt.WithKeyProvider(&allowListKeys{algs: []jwa.SignatureAlgorithm{alg}, set: set})
	opts := []jwxjwt.ParseOption{
		keys,
		jwxjwt.WithIssuer(e.srv.Issuer),
		jwxjwt.WithAudience(audience),
		jwxjwt.WithRequiredClaim(jwxjwt.ExpirationKey),
		jwxjwt.WithAcceptableSkew(leeway),
	}
	return func(_ context.Context, token string) (string, error) {
		t, err := jwxjwt.ParseString(token, opts...)
		if err != nil {
			return "", err
		}
		var s string
		if err := t.Get("scope", &s); err != nil {
			return "", err
		}
		return s, nil
	}
}

// allowListKeys gives jwx the key named by a signature's kid, and only
// when the signature's alg is allowed and equals the key's own alg. jwx's
// key-set provider would verify under any alg a published key declares.
type allowListKeys struct {
	algs []jwa.SignatureAlgorithm
	set  jwk.Set
}

func (p *allowListKeys) FetchKeys(_ context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	alg, ok := h.Algorithm()
	if !ok || !slices.Contains(p.algs, alg) {
		return errors.New("algorithm not allowed")
	}
	kid, ok := h.KeyID()
	if !ok {
		return errors.New("no kid")
	}
	key, ok := p.set.LookupKeyID(kid)
	if !ok {
		return errors.New("unknown kid")
	}
	if ka, ok := key.Algorithm(); !ok || ka.String() != alg.String() {
		return errors.New("key is for another algorithm")
	}
	sink.Key(alg, key)
	return nil
}
