package core

import (
	"errors"
	"time"
)

// Sentinel errors. Every error returned by [Verifier.Verify] and the HTTP
// helpers matches one of them with [errors.Is]; an *[Error] carries the
// precise [Reason].
var (
	// ErrMissingToken: the request carries no bearer token.
	ErrMissingToken = errors.New("bearer token missing")
	// ErrInvalidToken: the token is malformed, forged, expired, or meant for
	// another issuer or audience. Also matched by ErrTokenExpired failures.
	ErrInvalidToken = errors.New("invalid token")
	// ErrTokenExpired: the token's exp lies in the past (beyond the leeway).
	ErrTokenExpired = errors.New("token expired")
	// ErrInsufficientScope: the token is valid but lacks a required scope.
	ErrInsufficientScope = errors.New("insufficient scope")
	// ErrKeySetUnavailable: the issuer's signing keys could not be obtained,
	// or the last good copy is older than the maximum staleness. It also
	// matches ErrUnavailable.
	ErrKeySetUnavailable = errors.New("signing keys unavailable")
	// ErrUnavailable: the token could not be checked for now — its issuer's
	// keys, or its introspection endpoint, are out of reach. Every adapter
	// answers 503 with Retry-After; the token is neither accepted nor
	// refused.
	ErrUnavailable = errors.New("token verification unavailable")
	// ErrInvalidRequest: the request is malformed, for example it carries
	// more than one token (RFC 6750 §3.1 invalid_request).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrInsufficientUserAuthentication: the token is valid, but the user's
	// authentication is not strong or recent enough for the route (RFC 9470).
	ErrInsufficientUserAuthentication = errors.New("insufficient user authentication")
	// ErrInvalidDPoPProof: the request's DPoP proof is missing, malformed,
	// forged, replayed or made for another request, token or key (RFC 9449
	// invalid_dpop_proof), or the server demands a nonce (use_dpop_nonce;
	// the *Error carries it in Nonce).
	ErrInvalidDPoPProof = errors.New("invalid DPoP proof")
)

// Reason is a machine-readable cause, stable for logs and metrics.
type Reason string

// Reasons reported by [Error.Reason].
const (
	ReasonMissing           Reason = "missing_token"
	ReasonMultipleTokens    Reason = "multiple_tokens"
	ReasonMalformedRequest  Reason = "malformed_request"
	ReasonOversize          Reason = "oversize"
	ReasonMalformed         Reason = "malformed"
	ReasonUnsupportedHeader Reason = "unsupported_header"
	ReasonAlgorithm         Reason = "algorithm"
	ReasonType              Reason = "type"
	ReasonClaimType         Reason = "claim_type"
	ReasonMissingClaim      Reason = "missing_claim"
	ReasonIssuer            Reason = "issuer"
	ReasonAudience          Reason = "audience"
	ReasonExpired           Reason = "expired"
	ReasonNotYetValid       Reason = "not_yet_valid"
	ReasonIssuedInFuture    Reason = "issued_in_future"
	ReasonBound             Reason = "sender_constrained"
	// ReasonBindingMismatch: a sender-constrained token presented with
	// proof of another key than the one it is bound to.
	ReasonBindingMismatch   Reason = "binding_mismatch"
	ReasonUnknownKey        Reason = "unknown_key"
	ReasonKeyMismatch       Reason = "key_mismatch"
	ReasonSignature         Reason = "signature"
	ReasonKeySetUnavailable Reason = "key_set_unavailable"
	ReasonScope             Reason = "insufficient_scope"
	// ReasonValidation: Config.Validate refused the token.
	ReasonValidation Reason = "validation"
	// ReasonUserAuthentication: a step-up requirement is not met.
	ReasonUserAuthentication Reason = "insufficient_user_authentication"
	// ReasonInactive: the authorization server says the token is not
	// active (RFC 7662 §2.2), or does not know it.
	ReasonInactive Reason = "inactive"
	// ReasonIntrospectionUnavailable: the introspection endpoint failed,
	// timed out or answered something unusable.
	ReasonIntrospectionUnavailable Reason = "introspection_unavailable"
	// ReasonDPoPProof: the DPoP proof is refused (ErrInvalidDPoPProof);
	// Cause names the check that failed.
	ReasonDPoPProof Reason = "invalid_dpop_proof"
	// ReasonDPoPNonce: the proof lacks the server's current nonce
	// (ErrInvalidDPoPProof); Error.Nonce is the one to use.
	ReasonDPoPNonce Reason = "use_dpop_nonce"
	// ReasonDPoPRequired: a bearer token where DPoP.Required asks for a
	// DPoP-bound one.
	ReasonDPoPRequired Reason = "dpop_required"
	// ReasonNotDPoPBound: a token presented with the DPoP scheme has no
	// cnf.jkt.
	ReasonNotDPoPBound Reason = "not_dpop_bound"
	// ReasonReplayStoreUnavailable: the DPoP replay store failed, so no
	// proof can be checked for now (ErrUnavailable).
	ReasonReplayStoreUnavailable Reason = "replay_store_unavailable"
)

// Error describes why a token or request was refused. Its text never holds
// the token or any secret; Cause may hold transport details (for example a
// JWKS fetch error) and is meant for logs, not for HTTP clients.
type Error struct {
	Reason Reason
	Cause  error
	// Scopes lists the scopes a route required, for ReasonScope.
	Scopes []string
	// RetryAfter is, for ReasonKeySetUnavailable, how long until the next
	// attempt to fetch the keys: the Retry-After of the 503 answer.
	RetryAfter time.Duration
	// ACRValues and MaxAge are, for ReasonUserAuthentication, what the
	// route asks for (RFC 9470 §3).
	ACRValues []string
	MaxAge    time.Duration
	// Scheme is the authentication scheme of the request, "DPoP" when it
	// used DPoP and "" for Bearer: the challenge of that scheme carries
	// the error.
	Scheme string
	// Nonce is, for ReasonDPoPNonce, the nonce the client must put in its
	// next proof: the DPoP-Nonce header of the answer.
	Nonce string
}

func (e *Error) Error() string {
	msg := "bearerkit: " + string(e.Reason)
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Cause }

// Is matches the sentinel that the reason belongs to.
func (e *Error) Is(target error) bool {
	switch {
	case target == e.sentinel():
		return true
	case target == ErrInvalidToken:
		return e.Reason == ReasonExpired
	case target == ErrUnavailable:
		return e.Reason == ReasonKeySetUnavailable || e.Reason == ReasonIntrospectionUnavailable ||
			e.Reason == ReasonReplayStoreUnavailable
	}
	return false
}

func (e *Error) sentinel() error {
	switch e.Reason {
	case ReasonMissing:
		return ErrMissingToken
	case ReasonMultipleTokens, ReasonMalformedRequest:
		return ErrInvalidRequest
	case ReasonExpired:
		return ErrTokenExpired
	case ReasonScope:
		return ErrInsufficientScope
	case ReasonKeySetUnavailable:
		return ErrKeySetUnavailable
	case ReasonIntrospectionUnavailable, ReasonReplayStoreUnavailable:
		return ErrUnavailable
	case ReasonDPoPProof, ReasonDPoPNonce:
		return ErrInvalidDPoPProof
	case ReasonUserAuthentication:
		return ErrInsufficientUserAuthentication
	}
	return ErrInvalidToken
}

func reject(r Reason) *Error { return &Error{Reason: r} }

// Static errors for the hot reject paths: refusing junk should not allocate.
var (
	errOversize        = reject(ReasonOversize)
	errMalformed       = reject(ReasonMalformed)
	errHeader          = reject(ReasonUnsupportedHeader)
	errAlgorithm       = reject(ReasonAlgorithm)
	errType            = reject(ReasonType)
	errClaimType       = reject(ReasonClaimType)
	errMissingClaim    = reject(ReasonMissingClaim)
	errIssuer          = reject(ReasonIssuer)
	errAudience        = reject(ReasonAudience)
	errExpired         = reject(ReasonExpired)
	errNotYetValid     = reject(ReasonNotYetValid)
	errIssuedFuture    = reject(ReasonIssuedInFuture)
	errBound           = reject(ReasonBound)
	errBindingMismatch = reject(ReasonBindingMismatch)
	errUnknownKey      = reject(ReasonUnknownKey)
	errKeyMismatch     = reject(ReasonKeyMismatch)
	errSignature       = reject(ReasonSignature)
	errMissing         = reject(ReasonMissing)
	errMultiple        = reject(ReasonMultipleTokens)
	errBadRequest      = reject(ReasonMalformedRequest)
	errNoAudienceArg   = errors.New("bearerkit: Verify needs at least one non-empty audience")
	errDPoPRequired    = reject(ReasonDPoPRequired)
)

// validationError wraps an error of Config.Validate: one that wraps
// ErrInsufficientScope stays a scope failure (403), any other refuses the
// token (401). The cause stays reachable for logs.
func validationError(err error) error {
	if errors.Is(err, ErrInsufficientScope) {
		var e *Error
		if errors.As(err, &e) && e.Reason == ReasonScope {
			return e
		}
		return &Error{Reason: ReasonScope, Cause: err}
	}
	return &Error{Reason: ReasonValidation, Cause: err}
}

// ReasonOf returns the [Reason] carried by err, or "" when err is not an
// *[Error].
func ReasonOf(err error) Reason {
	if e, ok := err.(*Error); ok {
		return e.Reason
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
