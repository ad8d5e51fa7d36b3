// Package core verifies OAuth 2.0 JWT access tokens (RFC 9068, RFC 7519)
// for resource servers, framework-neutrally.
//
// A [Verifier] checks a token's shape, header, algorithm, issuer, audience
// and time claims and only then its signature, against keys fetched from the
// issuer's JWKS (found by OpenID Connect discovery or RFC 8414 metadata when
// no JWKS URL is configured). It fails closed: anything it does not
// understand is refused.
//
//	v, err := core.New(core.Config{Issuer: "https://auth.example.com/"})
//	...
//	claims, err := v.Verify(ctx, rawToken, "orders-api")
//	if errors.Is(err, core.ErrTokenExpired) { ... }
//
// # Verification rules
//
//   - Tokens over [Config.MaxTokenSize] (16 KiB), and anything but three
//     non-empty segments of canonical unpadded base64url, are refused before
//     any decoding.
//   - Header and claims must be UTF-8 JSON objects without duplicate
//     members. Header members enc, zip, b64, crit, cty, jwk, jku, x5u and x5c
//     are refused: keys only ever come from the configured issuer's JWKS.
//   - alg must be in the allow-list ([DefaultAlgorithms]); none and HS* are
//     never accepted. Ed25519 keys verify both EdDSA and its RFC 9864
//     fully-specified name Ed25519. The key must fit the algorithm: a JWK's
//     own alg, or else its type and curve.
//   - typ may be absent (but not empty), JWT, at+jwt or application/at+jwt;
//     [Config.StrictRFC9068] requires at+jwt and the RFC 9068 claims. The
//     lenient default cannot tell an OpenID Connect ID token whose aud equals
//     the API identifier from an access token: issuers that send at+jwt
//     should be verified in strict mode.
//   - iss must equal [Config.Issuer] byte for byte; aud (string or array)
//     must contain one of the audiences asked for exactly; exp is required.
//     A token is valid while now < exp + leeway; nbf and iat may not lie
//     beyond now + leeway. Registered claims of the wrong JSON type refuse
//     the token, and so does a cnf claim (a sender-constrained token
//     presented as a bearer token).
//   - A token without kid is tried against at most three keys of the right
//     type, in JWKS order. A kid shared by several keys must be resolved by
//     the algorithm to exactly one, or the token is refused.
//
// # Key set cache
//
// The JWKS is fetched on first need (or by [Verifier.Prefetch]) and kept
// for the response's Cache-Control max-age, clamped to [1 min, 24 h] (15
// min when absent), and refreshed in the background once 80% of that has
// passed. Unusable keys (unknown types or algorithms, use other than sig,
// key_ops without verify, RSA outside 2048–4096 bits, private or symmetric
// material, invalid points) are skipped; at most 100 keys are kept. A token
// with an unknown kid causes at most one refetch, shared by all concurrent
// requests, and no further refetch for [Config.RefetchCooldown] (30 s)
// after any attempt; requests are never queued behind the cooldown. When the
// endpoint fails, the last good keys are used for up to
// [Config.MaxStaleness] (24 h); then, and on a cold start with the endpoint
// down, verification fails with [ErrKeySetUnavailable]. Fetches never
// follow redirects, send no cookies or credentials, are bounded by
// [Config.FetchTimeout] (10 s) and [Config.MaxResponseSize] (1 MiB after
// decompression), and run without holding a lock.
//
// Repeated tokens are served from a bounded cache of verified tokens keyed
// by the exact token string; every hit re-checks time, audience and that the
// signing key is still published. Its byte bound counts what each entry
// keeps alive on the heap.
//
// # Logs
//
// With [Config.Logger] set, refusals that usually mean a misconfiguration —
// a token for another issuer or audience, a key id the issuer does not
// publish even after a refetch — are logged at Warn, at most once a minute
// each, with the configured and the received values (sanitized and
// truncated) and near misses (a trailing slash, letter case, the scheme)
// named as such. Other refusals are logged at Debug. Key set outages are
// logged at Warn when they begin and at Info when they end.
//
// # HTTP
//
// [Middleware] and [RequireScope] protect net/http handlers for any
// [TokenVerifier]; the gin and echo adapters use the same [Authenticate],
// [CheckScopes] and [NewErrorResponse], so every adapter answers alike (RFC
// 6750 §3). Route-level checks answer with the [Options] of the middleware
// that verified the token, which travel with the claims in the request's
// context.
//
//	no bearer token               401  WWW-Authenticate: Bearer realm="api"
//	bad, expired, wrong iss/aud   401  Bearer realm="api", error="invalid_token", error_description="…"
//	more than one token           400  Bearer realm="api", error="invalid_request", error_description="…"
//	valid token, missing scope    403  Bearer realm="api", error="insufficient_scope", scope="…"
//	signing keys unavailable      503  Retry-After: seconds until the next fetch
//
// Tokens never appear in errors or logs.
package core
