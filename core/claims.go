package core

import (
	"context"
	"crypto/subtle"
	"github.com/bearerkit/bearerkit/internal/authctx"
	"github.com/bearerkit/bearerkit/internal/jose"

	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/json"
)

// Claims holds the claims of a verified access token. Treat it as
// read-only: cached verifications share the slices.
type Claims struct {
	Issuer   string   // iss
	Subject  string   // sub
	ClientID string   // client_id (RFC 9068 §2.2), else azp
	ID       string   // jti
	Audience []string // aud, as a list even when the token holds a string
	// Scopes merges, without duplicates and in order of appearance, the
	// claims named by Config.ScopeClaims: by default scope (RFC 8693 §4.2,
	// space-delimited) and scp (a string or an array of strings, as Okta,
	// Entra and Hydra issue).
	Scopes    []string
	Expiry    time.Time // exp
	IssuedAt  time.Time // iat; zero when absent
	NotBefore time.Time // nbf; zero when absent
	// ACR is the authentication context class reference (acr, OpenID
	// Connect Core §2; RFC 9470 step-up); "" when absent.
	ACR string
	// AuthTime is when the user last authenticated (auth_time); zero when
	// absent.
	AuthTime time.Time
	// Confirmation is the cnf claim (RFC 7800) of a sender-constrained
	// token: the key it is bound to. A bound token is accepted only when
	// the request proves possession of that key (see [CheckBinding]).
	Confirmation Confirmation

	raw []byte // the payload JSON, already checked for duplicates and depth
}

// Confirmation names the key a sender-constrained token is bound to.
type Confirmation struct {
	// JKT is the RFC 7638 thumbprint of the DPoP key (RFC 9449 §6.1).
	JKT string
	// X5TS256 is the SHA-256 thumbprint of the client certificate, from
	// cnf["x5t#S256"] (RFC 8705 §3.1).
	X5TS256 string
}

// Bound reports whether the token is sender-constrained.
func (c Confirmation) Bound() bool { return c.JKT != "" || c.X5TS256 != "" }

// claimsBox holds a Claims and room for its slices, so that a typical copy
// is one allocation.
type claimsBox struct {
	c   Claims
	buf [6]string
}

// Clone returns a copy that shares nothing mutable with c: callers may
// change the claims they get without affecting cached verifications.
func (c *Claims) Clone() *Claims {
	box := &claimsBox{c: *c}
	out := &box.c
	var buf []string
	if n := len(c.Audience) + len(c.Scopes); n <= len(box.buf) {
		buf = box.buf[:n]
	} else {
		buf = make([]string, n)
	}
	n := copy(buf, c.Audience)
	copy(buf[n:], c.Scopes)
	out.Audience = buf[:n:n]
	out.Scopes = buf[n:]
	if c.Scopes == nil {
		out.Scopes = nil
	}
	return out
}

// HasScopes reports whether the token holds every scope given. Scopes match
// exactly: no prefix, wildcard or case folding.
func (c *Claims) HasScopes(scopes ...string) bool {
	for _, s := range scopes {
		if !contains(c.Scopes, s) {
			return false
		}
	}
	return true
}

// HasAnyScope reports whether the token holds at least one of the scopes
// given. It is false when none are given.
func (c *Claims) HasAnyScope(scopes ...string) bool {
	for _, s := range scopes {
		if contains(c.Scopes, s) {
			return true
		}
	}
	return false
}

// Decode unmarshals the whole claim set into v, for custom claims. It uses
// go-jose's JSON package, which matches jose.Member names case-sensitively, so a
// field tagged "iss" never picks up an "ISS" jose.Member.
func (c *Claims) Decode(v any) error {
	return json.Unmarshal(c.raw, v)
}

// tokenClaims is the parsed claim set before the time and audience checks.
type tokenClaims struct {
	Claims
	hasIat bool
	hasNbf bool
}

// parseClaims reads the registered claims of a payload with the default
// claim rules; the verifier reads members it has scanned itself.
func parseClaims(payload []byte, strict bool) (*tokenClaims, error) {
	var buf [24]jose.Member
	members, err := jose.ScanObject(payload, buf[:0])
	if err != nil {
		return nil, errMalformed
	}
	return readClaims(members, payload, defaultClaimRules(strict))
}

// claimRules are the settings that decide how a claim set is read.
type claimRules struct {
	strict bool
	scopes scopeSources
	// optional lets iss, aud and exp be absent: an introspection response
	// (RFC 7662 §2.2) may leave any of them out.
	optional bool
}

func defaultClaimRules(strict bool) *claimRules {
	return &claimRules{strict: strict, scopes: defaultScopeSources}
}

// readClaims reads the registered claims from the scanned members of a
// payload. A registered claim of the wrong JSON type rejects the token, so
// that no two readers of the same token can disagree about what it says.
func readClaims(members []jose.Member, payload []byte, rules *claimRules) (*tokenClaims, error) {
	tc := &tokenClaims{Claims: Claims{raw: payload}}
	var hasIss, hasAud, hasExp, hasClientID bool
	var azp string
	for i := range members {
		m := &members[i]
		name := m.Name
		if m.Escaped {
			name = []byte(jose.Unescape(m.Name))
		}
		var ok bool
		switch string(name) {
		case "iss":
			tc.Issuer, ok = str(m)
			hasIss = true
		case "sub":
			tc.Subject, ok = str(m)
		case "jti":
			tc.ID, ok = str(m)
		case "client_id":
			tc.ClientID, ok = str(m)
			hasClientID = true
		case "azp":
			azp, ok = str(m)
		case "aud":
			tc.Audience, ok = strOrList(m)
			ok = ok && len(tc.Audience) > 0 && !contains(tc.Audience, "")
			hasAud = true
		case "exp":
			tc.Expiry, ok = m.NumericDate()
			hasExp = true
		case "nbf":
			tc.NotBefore, ok = m.NumericDate()
			tc.hasNbf = true
		case "iat":
			tc.IssuedAt, ok = m.NumericDate()
			tc.hasIat = true
		case "acr":
			tc.ACR, ok = str(m)
		case "auth_time":
			tc.AuthTime, ok = m.NumericDate()
		case "cnf":
			if tc.Confirmation, ok = confirmation(m); !ok {
				return nil, errBound // a binding no request here can prove
			}
		default:
			ok = true
		}
		if ok {
			tc.Scopes, ok = rules.scopes.read(tc.Scopes, name, m)
		}
		if !ok {
			return nil, errClaimType
		}
	}
	switch {
	case rules.optional:
	case !hasIss:
		return nil, errIssuer
	case !hasAud:
		return nil, errAudience
	case !hasExp:
		return nil, errMissingClaim
	}
	if !hasClientID {
		tc.ClientID = azp
	}
	if rules.strict && (tc.Subject == "" || !hasClientID || tc.ClientID == "" || !tc.hasIat || tc.ID == "") {
		return nil, errMissingClaim
	}
	return tc, nil
}

// confirmation reads a cnf claim. Only the confirmation methods bearerkit
// can check — jkt (DPoP) and x5t#S256 (mTLS) — are accepted; a cnf naming
// anything else binds the token to a key no request here can prove, and
// refuses it.
func confirmation(m *jose.Member) (Confirmation, bool) {
	var c Confirmation
	if m.Kind != jose.KindObject {
		return c, false
	}
	var buf [4]jose.Member
	members, err := jose.ScanObject(m.Value, buf[:0])
	if err != nil || len(members) == 0 {
		return c, false
	}
	for i := range members {
		mm := &members[i]
		name := mm.Name
		if mm.Escaped {
			name = []byte(jose.Unescape(name))
		}
		var ok bool
		switch string(name) {
		case "jkt":
			c.JKT, ok = str(mm)
		case "x5t#S256":
			c.X5TS256, ok = str(mm)
		}
		if !ok {
			return Confirmation{}, false
		}
	}
	return c, c.Bound()
}

// CheckBinding returns nil when c is a bearer token, or when the request
// whose context ctx is proved possession of the key c is bound to: the
// DPoP proof's key for cnf.jkt (RFC 9449 §7.1), the TLS client certificate
// for cnf["x5t#S256"] (RFC 8705 §3). The middleware of this module records
// what a request proved before it verifies the token; a bound token
// presented without proof matches [ErrInvalidToken] with reason
// sender_constrained. Every verifier of this module calls it.
func CheckBinding(ctx context.Context, c *Claims) error {
	cf := c.Confirmation
	if !cf.Bound() {
		return nil
	}
	jkt, x5t := authctx.Binding(ctx)
	switch {
	case cf.JKT != "" && jkt == "", cf.X5TS256 != "" && x5t == "":
		return errBound
	case cf.JKT != "" && subtle.ConstantTimeCompare([]byte(cf.JKT), []byte(jkt)) != 1,
		cf.X5TS256 != "" && subtle.ConstantTimeCompare([]byte(cf.X5TS256), []byte(x5t)) != 1:
		return errBindingMismatch
	}
	return nil
}

// ParseClaims reads a JSON claim set — a JWT's payload, or an
// introspection response (RFC 7662 §2.2) — with the rules [Verifier.Verify]
// reads tokens by: one UTF-8 object without duplicate members, registered
// claims of the right JSON types, authority from scopeClaims (nil means
// scope and scp; see [Config.ScopeClaims]). Any of iss, aud and exp may be
// absent. It checks no issuer, audience, time or binding: the caller does
// (see [CheckBinding]). Verifiers of other token formats use it, so that no
// two readers of a claim set disagree.
func ParseClaims(data []byte, scopeClaims []string) (*Claims, error) {
	scopes, err := compileScopeClaims(scopeClaims)
	if err != nil {
		return nil, err
	}
	var buf [24]jose.Member
	members, err := jose.ScanObject(data, buf[:0])
	if err != nil {
		return nil, errMalformed
	}
	tc, err := readClaims(members, data, &claimRules{scopes: scopes, optional: true})
	if err != nil {
		return nil, err
	}
	return &tc.Claims, nil
}

func str(m *jose.Member) (string, bool) {
	if m.Kind != jose.KindString {
		return "", false
	}
	return m.StringValue(), true
}

func strOrList(m *jose.Member) ([]string, bool) {
	switch m.Kind {
	case jose.KindString:
		return []string{m.StringValue()}, true
	case jose.KindArray:
		list, err := m.ArrayStrings()
		return list, err == nil
	}
	return nil, false
}

// appendScopes splits a space-delimited scope string (RFC 6749 §3.3: the
// delimiter is a single space, %x20) and appends the scopes not yet seen.
//
// Duplicates are dropped: by a linear scan while the list is short, and
// through a set once it is long, so that a forged token with thousands of
// scopes costs linear time before its signature is even checked.
func appendScopes(dst []string, s string) []string {
	var seen map[string]struct{}
	for s != "" {
		var tok string
		tok, s, _ = strings.Cut(s, " ")
		if tok == "" {
			continue
		}
		if len(dst) < 16 {
			if !contains(dst, tok) {
				dst = append(dst, tok)
			}
			continue
		}
		if seen == nil {
			seen = make(map[string]struct{}, 2*len(dst))
			for _, d := range dst {
				seen[d] = struct{}{}
			}
		}
		if _, dup := seen[tok]; !dup {
			seen[tok] = struct{}{}
			dst = append(dst, tok)
		}
	}
	return dst
}
