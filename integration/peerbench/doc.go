// Package peerbench compares the cost of verifying one JWT access token
// with bearerkit and with the Go libraries a resource server would
// otherwise use. It lives in its own module so that the root module never
// depends on the peers.
//
// For each algorithm (RS256, PS256, ES256, EdDSA) an authtest issuer is
// started and one typical access token is minted. Every library is then
// configured to make the same checks on it:
//
//   - the signature, against a warm key set fetched from the issuer's JWKS
//     URL;
//   - an algorithm allow-list holding only the algorithm under test (the
//     JWKS also publishes an ES384 key, so a token signed with it must be
//     refused);
//   - iss equal to the issuer, aud containing "orders-api";
//   - exp required and in the future, nbf (when present) in the past, with a
//     30 s leeway where the library lets it be set;
//
// and each returns the token's scope claim, which an API needs to authorize
// the request. Before a library is timed it must accept the good token and
// refuse a wrong audience, a wrong issuer, an expired token, a token not yet
// valid, a token without exp, a changed payload, a changed signature, an
// unsigned token and a token signed under an algorithm outside the
// allow-list. TestVerifiersAgree runs the same checks as a test.
//
// How each peer is set up, and where it cannot match the others exactly:
//
//   - golang-jwt/jwt/v5 with MicahParks/keyfunc/v3: a parser with
//     WithValidMethods, WithIssuer, WithAudience, WithExpirationRequired and
//     WithLeeway; claims decoded into RegisteredClaims plus scope.
//   - go-jose/v4 used directly: the JWKS fetched once over HTTP;
//     jwt.ParseSigned with the allow-list, Claims against the key set,
//     ValidateWithLeeway, and a check that exp is present (go-jose treats a
//     missing exp as valid).
//   - coreos/go-oidc/v3: an IDTokenVerifier on a RemoteKeySet, with ClientID
//     as the audience and SupportedSigningAlgs as the allow-list. Its
//     leeways are fixed (none for exp, 5 min for nbf). The scope needs a
//     second decode of the payload through IDToken.Claims.
//   - auth0/go-jwt-middleware/v2: the validator with its caching JWKS
//     provider. It accepts exactly one algorithm. Version 2 verifies with
//     gopkg.in/go-jose/go-jose.v2. Scope and the exp requirement come from
//     custom claims, which the validator decodes separately.
//   - lestrrat-go/jwx/v3: a jwk.Cache, and jwt.Parse with WithIssuer,
//     WithAudience, WithRequiredClaim("exp") and WithAcceptableSkew. jwx
//     has no algorithm allow-list: it verifies under whatever alg the JWK
//     declares. A small key provider therefore refuses algorithms outside
//     the list before handing jwx the key that matches the kid.
//   - bearerkit: core.Config with Issuer and Algorithms, verified once
//     with the token cache off (first-seen cost) and once with it on
//     (repeated token).
//
// The floor is the bare signature check of the same token with the
// standard library: the cost no verifier can avoid.
//
// Run the comparison with run.sh, which prints a markdown report; see
// BENCHMARKS.md at the repository root for the latest one.
package peerbench
