// Package introspect verifies opaque OAuth 2.0 access tokens by asking the
// authorization server's introspection endpoint (RFC 7662), for servers
// that issue them: Ory Hydra by default, most Keycloak, Okta and
// PingFederate setups, oidc-provider without a resource indicator.
//
//	in, err := introspect.New(introspect.Config{
//		Issuer:   "https://auth.example.com/", // introspection_endpoint is discovered
//		ClientID: "orders-api", ClientSecret: secret,
//	})
//	mux := core.Middleware(in, "orders-api")(routes) // or ginauth.New(in), echoauth.New(in)
//
// An [Introspector] is a core.TokenVerifier: every adapter and route check
// of this module works with it unchanged, and [Combine] serves JWTs and
// opaque tokens on one route.
//
// # Rules
//
//   - The token is checked first for size and RFC 6750 syntax: junk never
//     reaches the endpoint.
//   - The request authenticates the resource server (client_secret_basic,
//     client_secret_post, private_key_jwt, or — chosen explicitly — none),
//     never follows redirects, and is bounded in time and response size.
//   - The answer counts as active only when active is the JSON literal
//     true; a repeated member makes the whole answer inactive. An active
//     answer's iss (when present) must be Config.Issuer, its aud must name
//     one of the audiences asked for, and exp and nbf (when present) must
//     hold the token valid now, as for a JWT. Scopes come from scope, or
//     the claims Config.ScopeClaims names; Claims.Decode reads the whole
//     answer.
//   - A sender-constrained answer (cnf) is accepted only with proof of its
//     key (core.CheckBinding).
//   - With Config.JWTResponses, the answer must be an RFC 9701 JWT, verified
//     with the issuer's key set as access tokens are.
//
// # Cache and failures
//
// Answers are cached under a SHA-256 hash of the token (never the token):
// active ones until min(exp, now + CacheTTL), inactive ones for
// NegativeTTL; the cache is bounded in entries and bytes. However many
// requests carry a token at once, it is introspected once. At most
// MaxInFlight introspections run at a time.
//
// An endpoint that fails — an error status, a transport error, a timeout, a
// redirect, an oversized or unusable body — never makes a token inactive:
// the request fails with an error matching core.ErrUnavailable, which every
// adapter answers with 503 and Retry-After. After a failure no new request
// is made for 1 s, doubling up to 30 s, while cached answers keep being
// served.
//
// A token revoked at the server is refused once its cache entry ends: after
// at most CacheTTL (5 min by default). Lower CacheTTL to shorten that
// window, at the cost of more requests.
package introspect
