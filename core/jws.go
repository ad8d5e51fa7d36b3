package core

import (
	"strings"

	"github.com/bearerkit/bearerkit/internal/jose"
)

// header holds the members of a JOSE header that verification reads.
type header struct {
	alg jose.Alg
	kid string
	// hasKid is false when kid is absent or null.
	hasKid bool
	typ    string
}

// parseHeader reads the protected header. Members that would change how
// the token is processed — JWE (enc, zip), unencoded payloads and
// extensions (b64, crit), nested tokens (cty) and keys or key locations
// carried by the token itself (jwk, jku, x5u, x5c) — are refused: an
// access token has no use for them, and honouring them is how key
// injection and algorithm confusion attacks work.
func parseHeader(data []byte, allowed jose.AlgSet) (header, error) {
	var buf [8]jose.Member
	members, err := jose.ScanObject(data, buf[:0])
	if err != nil {
		return header{}, errMalformed
	}
	var h header
	algSeen := false
	for i := range members {
		m := &members[i]
		name := m.Name
		if m.Escaped {
			name = []byte(jose.Unescape(m.Name))
		}
		switch string(name) {
		case "alg":
			if m.Kind != jose.KindString {
				return header{}, errAlgorithm
			}
			a, ok := jose.AlgByName(m.StringValue())
			if !ok || !allowed.Has(a) {
				return header{}, errAlgorithm
			}
			h.alg, algSeen = a, true
		case "kid":
			switch m.Kind {
			case jose.KindString:
				h.kid, h.hasKid = m.StringValue(), true
			case jose.KindNull:
			default:
				return header{}, errMalformed
			}
		case "typ":
			// An empty typ is not an absent one: it names no type at all,
			// and a reader that treats it as absent disagrees with one that
			// does not.
			if m.Kind != jose.KindString || len(m.Value) == 2 {
				return header{}, errType
			}
			h.typ = m.StringValue()
		case "enc", "zip", "b64", "crit", "cty", "jwk", "jku", "x5u", "x5c":
			return header{}, errHeader
		}
	}
	if !algSeen {
		return header{}, errAlgorithm
	}
	return h, nil
}

// sameMediaType compares typ values as RFC 7515 §4.1.9 recommends:
// without case, the "application/" prefix optional.
func sameMediaType(typ, want string) bool {
	return typ != "" && strings.EqualFold(shortMediaType(typ), shortMediaType(want))
}

func shortMediaType(t string) string {
	const prefix = "application/"
	if len(t) > len(prefix) && strings.EqualFold(t[:len(prefix)], prefix) {
		return t[len(prefix):]
	}
	return t
}

// typAllowed applies RFC 8725 §3.11 / RFC 9068 §2.1 explicit typing, with
// typ compared as [sameMediaType] does.
func typAllowed(typ string, strict bool) bool {
	switch {
	case sameMediaType(typ, "at+jwt"):
		return true
	case strict:
		return false
	}
	return typ == "" || sameMediaType(typ, "JWT")
}
