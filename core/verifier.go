package core

import (
	"github.com/bearerkit/bearerkit/internal/jose"

	"context"
	"log/slog"
	"time"
)

// Verifier checks JWT access tokens from one issuer. It is safe for
// concurrent use. Create it with [New] and stop it with [Verifier.Close].
type Verifier struct {
	s     *settings
	keys  *keyCache
	cache *tokenCache // nil when off
	log   *slog.Logger
	warns warnLimiter
}

// New checks cfg and returns a Verifier. It does no network I/O: discovery
// and the key set are fetched on first need, or up front with
// [Verifier.Prefetch].
func New(cfg Config) (*Verifier, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	return newVerifierFrom(s), nil
}

func newVerifierFrom(s *settings) *Verifier {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &Verifier{s: s, log: log, keys: newKeyCache(s, log)}
	if s.cacheEntries > 0 {
		v.cache = newTokenCache(s.cacheEntries, s.TokenCacheBytes)
		v.cache.observeEvictions(s.Hooks)
	}
	return v
}

// Issuer returns the configured issuer.
func (v *Verifier) Issuer() string { return v.s.Issuer }

// Prefetch fetches discovery and the key set now, so that a service can
// fail fast at start-up. It ignores the refetch cooldown.
func (v *Verifier) Prefetch(ctx context.Context) error {
	return v.keys.prefetch(ctx)
}

// KeySetStatus reports the state of the key cache.
func (v *Verifier) KeySetStatus() KeySetStatus { return v.keys.status() }

// KeySetStatuses is [Verifier.KeySetStatus] as a list of one, the shape
// [MultiIssuer.KeySetStatuses] has, for code that reports on either.
func (v *Verifier) KeySetStatuses() []KeySetStatus { return []KeySetStatus{v.keys.status()} }

// TokenCacheStats reports the size of the verified-token cache (zero when
// it is off).
func (v *Verifier) TokenCacheStats() TokenCacheStats {
	if v.cache == nil {
		return TokenCacheStats{}
	}
	return v.cache.stats()
}

// Close stops background key fetches and waits for them to end. A closed
// Verifier keeps verifying with the keys it holds but fetches no more.
func (v *Verifier) Close() { v.keys.close() }

// Verify checks token and returns its claims. At least one of the
// audiences must appear in the token's aud claim; calling Verify without a
// non-empty audience is a programming error and fails.
//
// The order is cheapest first (RFC 8725 §3): size and shape, header and
// algorithm, the claims (issuer, audience, time), and only then the key
// lookup and the signature. Junk never causes JWKS traffic. Errors match
// one of the package's sentinels with [errors.Is]; no claims are returned
// with an error.
func (v *Verifier) Verify(ctx context.Context, token string, audience ...string) (*Claims, error) {
	hook := v.s.Hooks.Verification
	if hook == nil {
		return v.verify(ctx, token, audience, nil)
	}
	o := observed{start: time.Now()}
	c, err := v.verify(ctx, token, audience, &o)
	hook(ctx, o.event(v.s.hookIssuer, err))
	return c, err
}

func (v *Verifier) verify(ctx context.Context, token string, audience []string, o *observed) (*Claims, error) {
	if !validAudienceArgs(audience) {
		return nil, errNoAudienceArg
	}
	if len(token) > v.s.MaxTokenSize {
		return nil, v.rejected(ctx, errOversize, refusal{})
	}
	var now time.Time
	if o != nil && v.s.wallClock {
		now = o.start // one clock read fewer when observed
	} else {
		now = v.s.Now()
	}
	if v.cache != nil {
		if e := v.cache.get(token); e != nil {
			return v.verifyCached(ctx, token, e, now, audience, o)
		}
	}
	return v.verifyToken(ctx, token, now, audience, o)
}

// observed is what a verification learned for the Verification hook.
type observed struct {
	start  time.Time // when the verification began
	alg    jose.Alg
	cached bool
}

func (o *observed) event(issuer string, err error) VerificationEvent {
	e := VerificationEvent{Issuer: issuer, Verifier: "jwt", Result: ResultAccepted,
		Alg: o.alg.String(), Cached: o.cached, Duration: time.Since(o.start)}
	if err != nil {
		e.Result, e.Reason = ResultOf(err), ReasonOf(err)
	}
	return e
}

// verifyToken is the full verification, without the cache lookup.
func (v *Verifier) verifyToken(ctx context.Context, token string, now time.Time, audience []string, o *observed) (*Claims, error) {
	var buf [24]jose.Member
	p, members, err := decodeToken(token, v.s.algs, v.s.StrictRFC9068, buf[:0])
	if o != nil && p.hdrOK {
		o.alg = p.h.alg
	}
	if err != nil {
		return nil, v.rejected(ctx, err, refusal{h: p.refusedHeader()})
	}
	return v.verifyDecoded(ctx, &p, members, now, audience)
}

// decoded is a token whose shape and header passed the checks that need no
// configuration beyond the algorithms, with its segments decoded. Its
// scanned claim set is kept apart, in a buffer on the caller's stack: a
// struct holding it beside the payload would move it to the heap.
type decoded struct {
	token     string
	dot2      int
	h         header
	hdrOK     bool // h was read (for logging a refusal)
	payload   []byte
	signature []byte
}

func (p *decoded) refusedHeader() *header {
	if p.hdrOK {
		return &p.h
	}
	return nil
}

// decodeToken splits token, decodes and checks its header (alg in algs,
// typ as strict says), decodes its body and scans its claim set into buf
// (the caller's). One buffer holds all three decoded segments; the header
// is decoded and checked first, so a token refused for its header or
// algorithm costs no decoding of its body.
func decodeToken(token string, algs jose.AlgSet, strict bool, buf []jose.Member) (decoded, []jose.Member, error) {
	p := decoded{token: token}
	dot1, dot2, err := jose.SplitCompact(token)
	if err != nil {
		return p, nil, errMalformed
	}
	p.dot2 = dot2
	seg := jose.NewSegments(token, dot1, dot2)
	hdr, ok := seg.Header()
	if !ok {
		return p, nil, errMalformed
	}
	if p.h, err = parseHeader(hdr, algs); err != nil {
		return p, nil, err
	}
	p.hdrOK = true
	if !typAllowed(p.h.typ, strict) {
		return p, nil, errType
	}
	if p.payload, p.signature, ok = seg.Body(); !ok {
		return p, nil, errMalformed
	}
	members, err := jose.ScanObject(p.payload, buf)
	if err != nil {
		return p, nil, errMalformed
	}
	return p, members, nil
}

// verifyDecoded applies this verifier's claim rules, the issuer, audience
// and time checks, and then the key lookup and signature check.
func (v *Verifier) verifyDecoded(ctx context.Context, p *decoded, members []jose.Member, now time.Time, audience []string) (*Claims, error) {
	h := &p.h
	tc, err := readClaims(members, p.payload, &v.s.claims)
	if err == nil {
		err = CheckBinding(ctx, &tc.Claims)
	}
	if err != nil {
		return nil, v.rejected(ctx, err, refusal{h: h, audience: audience})
	}
	if err := v.checkClaims(tc, now, audience); err != nil {
		return nil, v.rejected(ctx, err, refusal{h: h, claims: tc, audience: audience})
	}
	signer, set, err := v.checkSignature(ctx, p, now)
	if err != nil {
		return nil, v.rejected(ctx, err, refusal{h: h})
	}
	if v.cache != nil {
		v.cache.put(p.token, &cacheEntry{v: v, claims: tc, header: *h, key: signer, gen: set.gen})
	}
	return v.accepted(ctx, tc)
}

// checkSignature finds the key that may have signed p — refetching the
// key set once for an unknown kid, within the cooldown — and checks the
// signature with it.
func (v *Verifier) checkSignature(ctx context.Context, p *decoded, now time.Time) (*verificationKey, *keySet, error) {
	set, err := v.keys.current(ctx, now)
	if err != nil {
		return nil, nil, err
	}
	var kbuf [maxKidlessKeysTried]*verificationKey
	keys, res := set.lookup(&p.h, kbuf[:0])
	if res == kidUnknown {
		if fresh, ok := v.keys.refetch(ctx, now, set); ok && fresh != nil {
			set = fresh
			keys, res = set.lookup(&p.h, kbuf[:0])
		}
	}
	switch res {
	case kidUnknown:
		return nil, nil, errUnknownKey
	case kidWrongAlg, kidAmbiguous:
		return nil, nil, errKeyMismatch
	}
	for _, k := range keys {
		if jose.VerifySignature(p.h.alg, k.pub, p.token[:p.dot2], p.signature) {
			return k, set, nil
		}
	}
	return nil, nil, errSignature
}

// VerifySigned checks a JWS signed by the issuer that is not an access
// token — such as a JWT introspection response (RFC 9701), whose typ is
// token-introspection+jwt — and returns its payload. It applies the same
// shape, header, algorithm and key rules as [Verifier.Verify], with typ
// required to equal typ (compared as RFC 7515 §4.1.9 says), and checks the
// signature with the issuer's key set; the payload's claims are the
// caller's to check.
func (v *Verifier) VerifySigned(ctx context.Context, jws, typ string) ([]byte, error) {
	if len(jws) > v.s.MaxTokenSize {
		return nil, v.rejected(ctx, errOversize, refusal{})
	}
	p := decoded{token: jws}
	dot1, dot2, err := jose.SplitCompact(jws)
	if err != nil {
		return nil, v.rejected(ctx, errMalformed, refusal{})
	}
	p.dot2 = dot2
	seg := jose.NewSegments(jws, dot1, dot2)
	hdr, ok := seg.Header()
	if !ok {
		return nil, v.rejected(ctx, errMalformed, refusal{})
	}
	if p.h, err = parseHeader(hdr, v.s.algs); err != nil {
		return nil, v.rejected(ctx, err, refusal{})
	}
	if !sameMediaType(p.h.typ, typ) {
		return nil, v.rejected(ctx, errType, refusal{h: &p.h})
	}
	if p.payload, p.signature, ok = seg.Body(); !ok {
		return nil, v.rejected(ctx, errMalformed, refusal{h: &p.h})
	}
	if _, _, err := v.checkSignature(ctx, &p, v.s.Now()); err != nil {
		return nil, v.rejected(ctx, err, refusal{h: &p.h})
	}
	return p.payload, nil
}

// verifyCached serves a token verified before: the signature and shape
// cannot have changed, but time passes, the caller may ask for another
// audience, and the signing key may have left the key set.
func (v *Verifier) verifyCached(ctx context.Context, token string, e *cacheEntry, now time.Time, audience []string, o *observed) (*Claims, error) {
	if o != nil {
		o.alg, o.cached = e.header.alg, true
	}
	if err := CheckBinding(ctx, &e.claims.Claims); err != nil {
		return nil, v.rejected(ctx, err, refusal{h: &e.header})
	}
	if err := v.checkClaims(e.claims, now, audience); err != nil {
		if err == errExpired {
			v.cache.remove(token)
		}
		return nil, v.rejected(ctx, err, refusal{h: &e.header, claims: e.claims, audience: audience})
	}
	set, err := v.keys.current(ctx, now)
	if err != nil {
		return nil, v.rejected(ctx, err, refusal{h: &e.header})
	}
	if !e.keyStillSelected(set) {
		// Verify afresh: the set changed in a way that no longer leads to
		// the key that verified this token, and the full path reports why.
		v.cache.remove(token)
		if o != nil {
			o.cached = false
		}
		return v.verifyToken(ctx, token, now, audience, o)
	}
	return v.accepted(ctx, e.claims)
}

// accepted hands the caller a copy of the claims, after the application's
// own checks.
func (v *Verifier) accepted(ctx context.Context, tc *tokenClaims) (*Claims, error) {
	c := tc.Claims.Clone()
	if v.s.Validate != nil {
		if err := v.s.Validate(ctx, c); err != nil {
			return nil, v.rejected(ctx, validationError(err), refusal{})
		}
	}
	return c, nil
}

// checkClaims applies the issuer, audience and time rules (RFC 7519 §4.1,
// RFC 9068 §4).
func (v *Verifier) checkClaims(tc *tokenClaims, now time.Time, audience []string) error {
	if tc.Issuer != v.s.Issuer {
		return errIssuer
	}
	if !audienceMatches(tc.Audience, audience) {
		return errAudience
	}
	leeway := v.s.Leeway
	if !now.Before(tc.Expiry.Add(leeway)) {
		return errExpired
	}
	if tc.hasNbf && tc.NotBefore.After(now.Add(leeway)) {
		return errNotYetValid
	}
	if tc.hasIat && tc.IssuedAt.After(now.Add(leeway)) {
		return errIssuedFuture
	}
	return nil
}

func audienceMatches(have, want []string) bool {
	for _, w := range want {
		if contains(have, w) {
			return true
		}
	}
	return false
}

func validAudienceArgs(audience []string) bool {
	if len(audience) == 0 {
		return false
	}
	for _, a := range audience {
		if a == "" {
			return false
		}
	}
	return true
}
