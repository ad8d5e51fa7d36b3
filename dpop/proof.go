package dpop

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bearerkit/bearerkit/internal/jose"
)

// maxJTILength bounds the jti claim: enough for any identifier a client
// makes, and a cap on what a proof can make a replay store hash.
const maxJTILength = 256

// proofHeader holds the members of a proof's protected header.
type proofHeader struct {
	alg jose.Alg
	jwk []byte // the raw jwk object, already scanned as part of the header
}

// readHeader applies RFC 9449 §4.2 and §4.3 checks 4 to 7 to the scanned
// header. Members that locate or name a key (jku, x5u, x5c, kid) are
// refused: the proof key is the jwk and only the jwk. So are members that
// change how the JWS is processed (crit, b64, enc, zip, cty). Other unknown
// members are ignored (RFC 7515 §4).
func readHeader(members []jose.Member, allowed jose.AlgSet) (proofHeader, error) {
	var h proofHeader
	var typSeen, algSeen bool
	for i := range members {
		m := &members[i]
		switch string(memberName(m)) {
		case "typ":
			// Explicit typing (§4.2, RFC 8725 §3.11): exactly dpop+jwt, in
			// any letter case; no "application/" prefix.
			if m.Kind != jose.KindString || !strings.EqualFold(m.StringValue(), "dpop+jwt") {
				return h, errType
			}
			typSeen = true
		case "alg":
			if m.Kind != jose.KindString {
				return h, errAlgorithm
			}
			a, ok := jose.AlgByName(m.StringValue())
			if !ok || !allowed.Has(a) {
				return h, errAlgorithm
			}
			h.alg, algSeen = a, true
		case "jwk":
			if m.Kind != jose.KindObject {
				return h, errKeyMissing
			}
			h.jwk = m.Value
		case "jku", "x5u", "x5c", "kid", "crit", "b64", "enc", "zip", "cty":
			return h, errHeader
		}
	}
	switch {
	case !typSeen:
		return h, errType
	case !algSeen:
		return h, errAlgorithm
	case h.jwk == nil:
		return h, errKeyMissing
	}
	return h, nil
}

// proofClaims holds the claims of a proof (§4.2).
type proofClaims struct {
	jti, htm, htu, ath, nonce string
	hasAth, hasNonce          bool
	iat                       time.Time
}

// readClaims reads the registered claims from the scanned payload. A
// claim of the wrong JSON type refuses the proof, even one this request
// does not check (ath without a token, nonce without server nonces), so
// that no two readers of a proof can disagree about what it says.
func readClaims(members []jose.Member) (proofClaims, error) {
	var c proofClaims
	var hasJTI, hasHTM, hasHTU, hasIat bool
	for i := range members {
		m := &members[i]
		var err error
		switch string(memberName(m)) {
		case "jti":
			c.jti, err = stringClaim(m, errJTI)
			hasJTI = true
		case "htm":
			c.htm, err = stringClaim(m, errMethod)
			hasHTM = true
		case "htu":
			c.htu, err = stringClaim(m, errURL)
			hasHTU = true
		case "ath":
			c.ath, err = stringClaim(m, errTokenHash)
			c.hasAth = true
		case "nonce":
			c.nonce, err = stringClaim(m, errMalformed)
			c.hasNonce = true
		case "iat":
			var ok bool
			if c.iat, ok = m.NumericDate(); !ok {
				err = errIssuedAt
			}
			hasIat = true
		}
		if err != nil {
			return c, err
		}
	}
	switch {
	case !hasJTI || c.jti == "" || len(c.jti) > maxJTILength:
		return c, errJTI
	case !hasHTM:
		return c, errMethod
	case !hasHTU:
		return c, errURL
	case !hasIat:
		return c, errIssuedAt
	}
	return c, nil
}

func stringClaim(m *jose.Member, wrongType *Error) (string, error) {
	if m.Kind != jose.KindString {
		return "", wrongType
	}
	return m.StringValue(), nil
}

// The htu claim is compared with the request's URL after the syntax-based
// and scheme-based normalisation RFC 9449 §4.3 asks for (RFC 3986 §6.2.2,
// §6.2.3): scheme and host are case-insensitive, the default port equals
// no port, percent-encoded unreserved characters equal the characters
// themselves and hex digits are case-insensitive, and an empty path equals
// "/". Nothing else is folded: the path is case-sensitive, %2F is not "/",
// and dot segments are compared as written (a client sends the path it
// signed). Both sides go through the same function, so there is one
// notion of "the same URL".

// requestTarget normalises the URL a proof must match.
func requestTarget(u *url.URL) (string, bool) {
	if u == nil || u.Opaque != "" || u.Host == "" {
		return "", false
	}
	return normaliseURL(u.Scheme, u.Host, u.EscapedPath())
}

// htuTarget normalises an htu claim. It must be an absolute http or https
// URL with no userinfo, query or fragment (§4.2): a '?' or '#' anywhere
// refuses it, even with nothing after it.
func htuTarget(htu string) (string, bool) {
	if strings.ContainsAny(htu, "?#") {
		return "", false
	}
	scheme, rest, ok := strings.Cut(htu, "://")
	if !ok {
		return "", false
	}
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	return normaliseURL(scheme, authority, path)
}

// normaliseURL returns scheme://host[:port]/path in normal form, or false
// when any part is not what an http(s) request target can be.
func normaliseURL(scheme, authority, path string) (string, bool) {
	var defaultPort string
	switch {
	case strings.EqualFold(scheme, "https"):
		scheme, defaultPort = "https", "443"
	case strings.EqualFold(scheme, "http"):
		scheme, defaultPort = "http", "80"
	default:
		return "", false
	}
	host, port, ok := splitAuthority(authority)
	if !ok {
		return "", false
	}
	if port == defaultPort {
		port = ""
	}
	p, ok := normalisePath(path)
	if !ok {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(scheme) + 3 + len(host) + 1 + len(port) + len(p))
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	b.WriteString(p)
	return b.String(), true
}

// splitAuthority splits host[:port] into a lower-case host and a port
// ("" when absent or empty, RFC 3986 §6.2.3).
// Userinfo, percent-encoding and non-ASCII hosts are refused: a target URI
// has no userinfo (RFC 9110 §4.2.4), and other spellings of a host are not
// worth the ambiguity.
func splitAuthority(a string) (host, port string, ok bool) {
	host = a
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", "", false
		}
		host = a[:end+1]
		rest := a[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", "", false
			}
			port = rest[1:]
		}
		for i := 1; i < len(host)-1; i++ {
			if c := host[i]; !(isHex(c) || c == ':' || c == '.') {
				return "", "", false
			}
		}
		if len(host) < 4 {
			return "", "", false
		}
	} else {
		if i := strings.LastIndexByte(a, ':'); i >= 0 {
			host, port = a[:i], a[i+1:]
		}
		if host == "" {
			return "", "", false
		}
		for i := 0; i < len(host); i++ {
			if !isUnreserved(host[i]) {
				return "", "", false
			}
		}
	}
	if port != "" {
		// Leading zeros would be one more spelling of a port: refused.
		if len(port) > 5 || port[0] == '0' {
			return "", "", false
		}
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return "", "", false
			}
		}
		if n, _ := strconv.Atoi(port); n > 65535 {
			return "", "", false
		}
	}
	return strings.ToLower(host), port, true
}

// normalisePath checks that p is an absolute path of RFC 3986 pchars,
// decodes percent-encoded unreserved characters and upper-cases the hex
// digits of the other escapes (§6.2.2.1, §6.2.2.2).
func normalisePath(p string) (string, bool) {
	if p == "" {
		return "/", true
	}
	if p[0] != '/' {
		return "", false
	}
	clean := true
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return "", false
			}
			if d := unhex(p[i+1])<<4 | unhex(p[i+2]); isUnreserved(d) || isLowerHex(p[i+1]) || isLowerHex(p[i+2]) {
				clean = false
			}
			i += 2
		case !isPathChar(c):
			return "", false
		}
	}
	if clean {
		return p, true
	}
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b = append(b, p[i])
			continue
		}
		d := unhex(p[i+1])<<4 | unhex(p[i+2])
		if isUnreserved(d) {
			b = append(b, d)
		} else {
			b = append(b, '%', upperHex[d>>4], upperHex[d&15])
		}
		i += 2
	}
	return string(b), true
}

const upperHex = "0123456789ABCDEF"

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// isPathChar reports the characters a path may hold unescaped: pchar
// (unreserved, sub-delims, ':' and '@') and the '/' separator.
func isPathChar(c byte) bool {
	return isUnreserved(c) || strings.IndexByte("!$&'()*+,;=:@/", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isLowerHex(c byte) bool { return 'a' <= c && c <= 'f' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
