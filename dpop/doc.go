// Package dpop implements OAuth 2.0 Demonstrating Proof of Possession
// (DPoP, RFC 9449): checking proofs at a resource or authorization server,
// making them at a client, and the replay and nonce state behind them.
//
// A DPoP-bound access token is useless without the private key it is bound
// to: with every request the client sends a proof, a JWT signed with that
// key, naming the request's method and URL and hashing the token (§4).
//
//	v, err := dpop.NewVerifier(dpop.Config{})
//	...
//	proofs := r.Header.Values("DPoP")
//	if len(proofs) != 1 { // §4.3 check 1: exactly one DPoP header
//		// 401 invalid_dpop_proof
//	}
//	p, err := v.Verify(ctx, proofs[0], dpop.Request{
//		Method:      r.Method,
//		URL:         externalURL, // scheme, host and path as the client addressed them
//		AccessToken: token,       // from "Authorization: DPoP <token>"
//		Check:       verifyToken, // verifies the token, bound to the proof's key (§6.1)
//	})
//	switch {
//	case errors.Is(err, dpop.ErrUseNonce):    // 401 use_dpop_nonce, DPoP-Nonce: err.(*dpop.Error).Nonce
//	case errors.Is(err, dpop.ErrReplayStore): // 503
//	case err != nil:                          // 401 invalid_dpop_proof
//	}
//
// core's middleware (core.Options.DPoP) does all of this for HTTP
// handlers, Gin and Echo alike.
//
// # Proof checks
//
// [Verifier.Verify] applies the checks of §4.3, cheapest first, and fails
// closed:
//
//   - A proof over [Config.MaxProofSize] (8 KiB) is refused before any
//     decoding; then it must be three segments of canonical base64url, and
//     header and claims UTF-8 JSON objects without duplicate members at any
//     depth, all before a key is read or a signature checked.
//   - typ is dpop+jwt (in any letter case); alg is in the allow-list, which
//     holds asymmetric algorithms only (none and HS* can never be
//     configured); jwk is a public RSA (2048–4096 bits), EC (P-256, P-384,
//     P-521) or Ed25519 key that fits alg, with no private or symmetric
//     member and canonical encodings. The header may not carry jku, x5u,
//     x5c, kid, crit, b64, enc, zip or cty: the key is the jwk, and only it.
//   - jti is a non-empty string of at most 256 bytes; htm equals the
//     request's method; htu equals the request's URL after RFC 3986 §6.2.2
//     and §6.2.3 normalisation (scheme and host case, default port, encoded
//     unreserved characters, empty path; the path is otherwise compared
//     as written, dot segments included), with no userinfo, query or
//     fragment; iat lies within [now − MaxAge, now + Leeway] (60 s and 5 s
//     by default, §11.1). A registered claim of the wrong JSON type refuses
//     the proof, even one the request does not check.
//   - With [Request.AccessToken] set, ath must equal its base64url SHA-256
//     hash (§4.3 check 11); with [Request.JKT] set, the key's RFC 7638
//     thumbprint must equal it (§6.1). Then the signature is checked.
//   - With [Config.Nonces] set, the proof must carry a nonce issued in the
//     current or previous period (§9); otherwise the error, matching
//     [ErrUseNonce], holds a fresh one.
//   - Last, the proof is remembered in the [ReplayStore] under a hash of
//     the key's thumbprint and the jti until it could no longer be
//     accepted (§11.1); a second use is refused. A store that fails or is
//     full refuses the proof with [ErrReplayStore]: a proof is never
//     accepted unchecked.
//
// Errors match [ErrInvalidProof], [ErrUseNonce] or [ErrReplayStore], and an
// *[Error] gives a short reason for logs. Their text never holds the proof,
// the token or key material.
//
// # Replay state and nonces
//
// [MemoryStore] suits one instance: bounded, it fails closed when full of
// live entries. Replicas behind one load balancer must share state, or each
// accepts a proof once: the module
// github.com/bearerkit/bearerkit/dpop/redisstore keeps it in Redis.
// [Nonces] are stateless (an HMAC of the period), so replicas need only
// share the secret.
//
// # Clients
//
// A [Signer] makes one proof per request with a crypto.Signer key (§4.2):
// typ dpop+jwt, the public jwk, a random jti, iat, htm, htu without query
// and fragment, ath when the request carries a token, and the server's
// nonce when it asked for one. [Thumbprint] computes the RFC 7638
// thumbprint a server binds tokens to.
package dpop
