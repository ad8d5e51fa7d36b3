// Package clientcreds obtains OAuth 2.0 access tokens with the client
// credentials grant (RFC 6749 §4.4) for a service's own outbound calls, and
// keeps one token per [Client] fresh for every caller.
//
//	cc, err := clientcreds.New(clientcreds.Config{
//		ClientID: id, ClientSecret: secret, TokenURL: tokenURL,
//		Scopes: []string{"orders:read"}, Audience: []string{"orders-api"},
//	})
//	tok, err := cc.Token(ctx)                   // a cached, valid access token
//	resp, err := cc.HTTPClient().Get(ordersURL) // sends "Authorization: Bearer"
//
// Requests are made with golang.org/x/oauth2/clientcredentials; this
// package adds what long-running services need around it.
//
// # Client authentication
//
// [ClientSecretBasic] (the default) sends the id and secret in a Basic
// header after form-encoding each, as RFC 6749 §2.3.1 requires, so ids and
// secrets with ':', '%', '+', spaces or non-ASCII characters work.
// [ClientSecretPost] puts them in the body (§2.3.1 too). [PrivateKeyJWT]
// signs a fresh assertion per request (RFC 7523 §2.2 and §3): iss and sub
// are the client id, aud is the token endpoint, jti is random and exp is
// one minute after iat.
//
// The "audience" parameter and RFC 8707 "resource" indicators are fields of
// [Config]. Config.EndpointParams adds others but can never replace
// grant_type, client_id, client_secret, scope or the assertion.
//
// # Finding the token endpoint
//
// Config.TokenURL names it. Config.Issuer alone finds it in the issuer's
// OpenID Connect or RFC 8414 metadata, whose issuer must equal Config.Issuer.
// Config.ProtectedResource alone finds it from the resource (RFC 9728), as
// an MCP client does: a request without a token reads the resource_metadata
// of the 401 challenge (used only when it is https, or loopback http, on
// the resource's own origin or one of Config.MetadataOrigins; otherwise the
// resource's well-known URL is read), the document's resource must equal
// Config.ProtectedResource exactly, its first authorization server (or
// Config.Issuer, which it must then list) is looked up as above, and every
// token request carries the resource as an RFC 8707 indicator. Any mismatch
// fails with [ErrDiscovery] before a token is requested.
//
// # Caching and refresh
//
// One token is shared by all callers. It is replaced in the background
// when it enters its refresh lead (by default a fifth of its lifetime,
// between 30 s and 5 min, and never more than half of it) while callers keep
// getting the current one; only one fetch runs at a time, no lock is held
// while it does, and a caller whose ctx ends stops waiting without failing
// the fetch for others. A failed refresh keeps the current token until it
// expires.
//
// expires_in (RFC 6749 §5.1) is counted from when the request was sent.
// Absent, zero or negative, it is taken as [DefaultLifetime] (5 min); over
// 24 h, it is clamped to 24 h. In a JSON answer a non-integer (1e12, 36.5,
// "abc") makes the answer unusable; in a form-encoded answer a value that is
// not a number is taken as absent. token_type must be Bearer, compared without case; a
// missing token_type is read as Bearer. access_token must be an RFC 6750
// §2.1 b64token.
//
// # Failures and retries
//
// Network errors and 5xx answers are retried up to Config.MaxAttempts
// requests in all (default 3), after a delay that doubles from
// Config.MinBackoff up to Config.MaxBackoff with its upper half random, or
// after the answer's Retry-After (seconds or HTTP date) kept within the
// same bounds. Each request is bounded by Config.Timeout (default 10 s).
// 4xx answers are final: an RFC 6749 §5.2 error is returned as an
// *oauth2.RetrieveError, reachable with errors.As, which is a copy holding
// no credentials (its Response.Request has only the method and URL, its
// Body and texts are redacted, then capped at 4 KiB). Redirects from the
// token endpoint are never followed, and bodies over 256 KiB are refused.
//
// Failed fetches are paced, whether or not a token is still held: after a
// fetch fails, no other starts (for callers, background refreshes or the
// HTTP client's forced refreshes) until a pause has passed, and callers
// without a valid token get the last error at once, still reachable with
// errors.As. The pause doubles with each failure in a row:
//
//	after network errors, 5xx, 429   1 s, 2 s, 4 s, … at most 30 s
//	after 4xx and unusable answers   10 s, 20 s, 40 s, … at most 5 min
//
// A success ends the run. [Client.Status] reports the token held, the
// failures in a row and when the next attempt may start; Config.Logger hears
// of a run of failures once, at Warn, and of its end at Info.
//
// # Redaction
//
// A confused token endpoint or a proxy's error page may echo the request.
// Every text that comes back — error bodies, descriptions, headers,
// transport errors — is cleaned of the secret (and of the private_key_jwt
// assertion) as sent and as a server may re-encode it: form- and
// path-escaped, JSON-escaped (HTML-safe or not, with an escaped solidus,
// non-ASCII as \u escapes), HTML-escaped, and the Basic credential and the
// secret in base64. Pieces of those spellings of 4 bytes or more, and a
// piece of any length that ends a text, are cleaned too; only then is a text
// cut to its size limit.
//
// [Client.Close] stops a Client: a fetch in flight is cancelled and waited
// for, and no other starts.
//
// # Outbound requests
//
// [Client.HTTPClient] and [Client.Transport] add "Authorization: Bearer"
// (RFC 6750 §2.1) to requests that have no Authorization header, only for
// the origins allowed by Config.Origins, never to another origin reached
// by a redirect, and never over plain http to a non-loopback host unless
// that origin is listed. A 401 with error="invalid_token" (RFC 6750 §3.1)
// makes them fetch a new token and send the request once more when its body
// can be replayed; such forced refreshes start at most once every 5 s.
//
// # Secrets
//
// No error, fmt output (any verb), slog value or JSON encoding of a
// [Config] or [Client] contains the client secret, the private key, an
// assertion or a token.
package clientcreds
