// Package authtest runs a real OAuth 2.0 authorization server in-process,
// for tests and demos. FOR TESTS AND DEMOS ONLY: never use it to protect
// anything. Keys are generated in memory, every registered secret is kept in
// plain text, and any code holding a [Server] can mint any token.
//
// It is shaped like net/http/httptest: [NewServer] starts it on a loopback
// port, [Server.Issuer] is its issuer identifier and base URL, and
// [Server.Close] stops it. Under the issuer it serves
//
//   - the OpenID Connect discovery document and the RFC 8414 authorization
//     server metadata, both pointing at the JWKS and token endpoint;
//   - the JWKS, with fault injection ([Server.SetJWKSFault]) and a request
//     counter ([Server.JWKSRequests]);
//   - a token endpoint for the client credentials grant (RFC 6749 §4.4)
//     with client_secret_basic, client_secret_post and private_key_jwt
//     (RFC 7523) client authentication, scopes, and the audience and
//     resource (RFC 8707) parameters, answering RFC 6749 §5.2 errors.
//
// Tests mint tokens directly with [Server.Token], [Server.Mint] and
// [Server.MintWith], or byte for byte with [SignRaw], and rotate or remove
// keys with [Server.RotateKey], [Server.AddKey] and [Server.RemoveKey].
package authtest
