package dpop

import "errors"

// Sentinel errors. Every error returned by [Verifier.Verify] matches exactly
// one of them with [errors.Is]; an *[Error] carries the precise reason.
var (
	// ErrInvalidProof: the proof is malformed, forged, stale, replayed, or
	// made for another request, token or key. RFC 9449 §7.1 error code
	// invalid_dpop_proof (401 at a resource server).
	ErrInvalidProof = errors.New("dpop: invalid proof")
	// ErrUseNonce: the server requires a nonce and the proof carries none,
	// or one that is expired or was never issued. The *Error holds a fresh
	// nonce for the DPoP-Nonce header (RFC 9449 §9, error code
	// use_dpop_nonce).
	ErrUseNonce = errors.New("dpop: use nonce")
	// ErrReplayStore: the replay store failed or is full, so the proof could
	// not be checked for replay and is refused. This is the server's
	// failure, not the client's: answer 503, not 401.
	ErrReplayStore = errors.New("dpop: replay store unavailable")
)

// Reasons reported in [Error.Reason]. They are fixed strings, stable for
// logs and metrics.
const (
	reasonOversize    = "oversize"     // the proof is over Config.MaxProofSize
	reasonMalformed   = "malformed"    // not a compact JWS of two UTF-8 JSON objects without duplicates
	reasonType        = "typ"          // typ is not dpop+jwt
	reasonAlgorithm   = "alg"          // alg missing, not a string, or outside the allow-list
	reasonHeader      = "header"       // a header member DPoP proofs may not carry (jku, kid, crit, …)
	reasonKey         = "jwk"          // jwk missing, private, symmetric, invalid, or unfit for alg
	reasonSignature   = "signature"    // the signature does not verify with the jwk
	reasonJTI         = "jti"          // jti missing, empty, not a string, or too long
	reasonMethod      = "htm"          // htm missing or not the request's method
	reasonURL         = "htu"          // htu missing, malformed, or not the request's URL
	reasonIssuedAt    = "iat"          // iat missing, not a number, or outside the window
	reasonTokenHash   = "ath"          // ath missing or not the hash of the access token
	reasonThumbprint  = "jkt"          // the proof key is not the key the token is bound to
	reasonNonce       = "nonce"        // nonce missing, expired or forged (ErrUseNonce)
	reasonReplayed    = "jti_replayed" // the same key and jti were seen within the window
	reasonReplayStore = "replay_store" // the replay store failed (ErrReplayStore)
	reasonRequest     = "request"      // the Request passed to Verify is incomplete
)

// Error describes why a proof was refused. Its text names the reason and,
// for store failures and some key problems, a cause; it never holds the
// proof, the access token or key material.
type Error struct {
	// Reason is one short fixed word: "oversize", "malformed", "typ",
	// "alg", "header", "jwk", "signature", "jti", "htm", "htu", "iat",
	// "ath", "jkt", "nonce", "jti_replayed", "replay_store" or "request".
	Reason string
	// Nonce is, for ErrUseNonce, the nonce the client should use: send it
	// in the DPoP-Nonce response header.
	Nonce string
	// Cause is an underlying error, for logs (for example a Redis error).
	Cause error
}

func (e *Error) Error() string {
	msg := "dpop: " + e.Reason
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Cause }

// Is matches the sentinel that the reason belongs to.
func (e *Error) Is(target error) bool {
	switch e.Reason {
	case reasonNonce:
		return target == ErrUseNonce
	case reasonReplayStore:
		return target == ErrReplayStore
	}
	return target == ErrInvalidProof
}

func refuse(reason string) *Error { return &Error{Reason: reason} }

func refuseWith(reason, cause string) *Error {
	return &Error{Reason: reason, Cause: errors.New(cause)}
}

// Static errors for the reject paths: refusing junk should not allocate.
var (
	errOversize    = refuse(reasonOversize)
	errMalformed   = refuse(reasonMalformed)
	errType        = refuse(reasonType)
	errAlgorithm   = refuse(reasonAlgorithm)
	errHeader      = refuse(reasonHeader)
	errKeyMissing  = refuseWith(reasonKey, "jwk missing or not an object")
	errSignature   = refuse(reasonSignature)
	errJTI         = refuse(reasonJTI)
	errMethod      = refuse(reasonMethod)
	errURL         = refuse(reasonURL)
	errIssuedAt    = refuse(reasonIssuedAt)
	errTokenHash   = refuse(reasonTokenHash)
	errThumbprint  = refuse(reasonThumbprint)
	errReplayed    = refuse(reasonReplayed)
	errRequestURL  = refuseWith(reasonRequest, "Request.URL must be an absolute http or https URL")
	errRequestMeth = refuseWith(reasonRequest, "Request.Method is empty")
)
