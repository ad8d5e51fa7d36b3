package core

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"math/big"
	"strings"
)

// The compact JWS serialization (RFC 7515 §7.1), checked by hand: the token
// is split and its alphabet checked in one pass, each segment is decoded
// once, and the signature is checked with the standard library against keys
// that go-jose parsed and validated when the key set was loaded.

type alg uint8

const (
	algRS256 alg = iota + 1
	algRS384
	algRS512
	algPS256
	algPS384
	algPS512
	algES256
	algES384
	algES512
	algEdDSA
	algEd25519 // RFC 9864: the fully-specified name for EdDSA over Ed25519
)

var algNames = [...]string{
	algRS256: "RS256", algRS384: "RS384", algRS512: "RS512",
	algPS256: "PS256", algPS384: "PS384", algPS512: "PS512",
	algES256: "ES256", algES384: "ES384", algES512: "ES512",
	algEdDSA: "EdDSA", algEd25519: "Ed25519",
}

func (a alg) String() string { return algNames[a] }

func algByName(name string) (alg, bool) {
	for a := algRS256; a <= algEd25519; a++ {
		if algNames[a] == name {
			return a, true
		}
	}
	return 0, false
}

// algSet is a bit set of algorithms.
type algSet uint16

func (s algSet) has(a alg) bool { return s&(1<<a) != 0 }

const (
	rsaAlgs     = algSet(1<<algRS256 | 1<<algRS384 | 1<<algRS512 | 1<<algPS256 | 1<<algPS384 | 1<<algPS512)
	ed25519Algs = algSet(1<<algEdDSA | 1<<algEd25519)
	allAlgs     = rsaAlgs | 1<<algES256 | 1<<algES384 | 1<<algES512 | ed25519Algs
)

// b64url marks the bytes of the base64url alphabet (RFC 4648 §5).
var b64url = func() (t [256]bool) {
	for _, r := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[r] = true
	}
	return t
}()

var b64 = base64.RawURLEncoding.Strict()

// splitCompact checks shape and alphabet in one pass over the token: three
// non-empty segments of the base64url alphabet and nothing else. Any '=',
// '+', '/', whitespace or control byte fails here, before any decoding. It
// returns the positions of the two dots.
func splitCompact(token string) (dot1, dot2 int, err error) {
	dot1, dot2 = -1, -1
	for i := 0; i < len(token); i++ {
		c := token[i]
		if b64url[c] {
			continue
		}
		if c != '.' {
			return 0, 0, errMalformed
		}
		switch {
		case dot1 < 0:
			dot1 = i
		case dot2 < 0:
			dot2 = i
		default:
			return 0, 0, errMalformed
		}
	}
	if dot2 < 0 || dot1 == 0 || dot2 == dot1+1 || dot2 == len(token)-1 {
		return 0, 0, errMalformed
	}
	return dot1, dot2, nil
}

// decodeSegment decodes canonical unpadded base64url into dst, which must
// have room for it: a length of 1 mod 4 and non-zero unused trailing bits
// are refused, so each byte string has exactly one accepted spelling.
//
// The decoder reads byte slices; the segment is handed to it through a
// stack buffer, a whole number of 4-character quanta at a time, so that
// decoding a token costs no copy of it on the heap.
func decodeSegment(dst []byte, seg string) ([]byte, bool) {
	if len(seg)%4 == 1 {
		return nil, false
	}
	var chunk [512]byte
	n := 0
	for len(seg) > 0 {
		k := copy(chunk[:], seg)
		m, err := b64.Decode(dst[n:], chunk[:k])
		if err != nil {
			return nil, false
		}
		n += m
		seg = seg[k:]
	}
	return dst[:n], true
}

// segments decodes the parts of a compact JWS into one buffer, header
// first.
type segments struct {
	token      string
	dot1, dot2 int
	buf        []byte
	hn, pn     int
}

func newSegments(token string, dot1, dot2 int) segments {
	hn := b64.DecodedLen(dot1)
	pn := b64.DecodedLen(dot2 - dot1 - 1)
	sn := b64.DecodedLen(len(token) - dot2 - 1)
	return segments{token: token, dot1: dot1, dot2: dot2, buf: make([]byte, hn+pn+sn), hn: hn, pn: pn}
}

func (s segments) header() ([]byte, bool) {
	return decodeSegment(s.buf[:s.hn:s.hn], s.token[:s.dot1])
}

func (s segments) body() (payload, signature []byte, ok bool) {
	end := s.hn + s.pn
	if payload, ok = decodeSegment(s.buf[s.hn:end:end], s.token[s.dot1+1:s.dot2]); !ok {
		return nil, nil, false
	}
	signature, ok = decodeSegment(s.buf[end:], s.token[s.dot2+1:])
	return payload, signature, ok
}

// header holds the members of a JOSE header that verification reads.
type header struct {
	alg alg
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
func parseHeader(data []byte, allowed algSet) (header, error) {
	var buf [8]member
	members, err := scanObject(data, buf[:0])
	if err != nil {
		return header{}, errMalformed
	}
	var h header
	algSeen := false
	for i := range members {
		m := &members[i]
		name := m.name
		if m.escaped {
			name = []byte(unescape(m.name))
		}
		switch string(name) {
		case "alg":
			if m.kind != kindString {
				return header{}, errAlgorithm
			}
			a, ok := algByName(m.stringValue())
			if !ok || !allowed.has(a) {
				return header{}, errAlgorithm
			}
			h.alg, algSeen = a, true
		case "kid":
			switch m.kind {
			case kindString:
				h.kid, h.hasKid = m.stringValue(), true
			case kindNull:
			default:
				return header{}, errMalformed
			}
		case "typ":
			// An empty typ is not an absent one: it names no type at all,
			// and a reader that treats it as absent disagrees with one that
			// does not.
			if m.kind != kindString || len(m.value) == 2 {
				return header{}, errType
			}
			h.typ = m.stringValue()
		case "enc", "zip", "b64", "crit", "cty", "jwk", "jku", "x5u", "x5c":
			return header{}, errHeader
		}
	}
	if !algSeen {
		return header{}, errAlgorithm
	}
	return h, nil
}

// typAllowed applies RFC 8725 §3.11 / RFC 9068 §2.1 explicit typing. The
// comparison is case-insensitive and the "application/" prefix optional,
// as RFC 7515 §4.1.9 recommends.
func typAllowed(typ string, strict bool) bool {
	t := typ
	if len(t) > len("application/") && strings.EqualFold(t[:len("application/")], "application/") {
		t = t[len("application/"):]
	}
	if strings.EqualFold(t, "at+jwt") {
		return true
	}
	if strict {
		return false
	}
	return typ == "" || strings.EqualFold(t, "JWT")
}

var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

// verifySignature checks sig over input with key for algorithm a. The
// caller has already checked that the key may be used with a.
func verifySignature(a alg, key crypto.PublicKey, input string, sig []byte) bool {
	switch a {
	case algRS256, algPS256, algES256:
		d := sha256.Sum256([]byte(input))
		return verifyDigest(a, key, crypto.SHA256, d[:], sig)
	case algRS384, algPS384, algES384:
		d := sha512.Sum384([]byte(input))
		return verifyDigest(a, key, crypto.SHA384, d[:], sig)
	case algRS512, algPS512, algES512:
		d := sha512.Sum512([]byte(input))
		return verifyDigest(a, key, crypto.SHA512, d[:], sig)
	case algEdDSA, algEd25519:
		pub, ok := key.(ed25519.PublicKey)
		return ok && len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, []byte(input), sig)
	}
	return false
}

func verifyDigest(a alg, key crypto.PublicKey, h crypto.Hash, digest, sig []byte) bool {
	switch a {
	case algRS256, algRS384, algRS512:
		pub, ok := key.(*rsa.PublicKey)
		return ok && rsa.VerifyPKCS1v15(pub, h, digest, sig) == nil
	case algPS256, algPS384, algPS512:
		// RFC 7518 §3.5: the salt is as long as the hash output.
		pub, ok := key.(*rsa.PublicKey)
		return ok && rsa.VerifyPSS(pub, h, digest, sig, pssOptions) == nil
	}
	// ES*: RFC 7518 §3.4, R and S as fixed-length big-endian integers.
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return false
	}
	size := (pub.Curve.Params().BitSize + 7) / 8
	if len(sig) != 2*size {
		return false
	}
	r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
	return ecdsa.Verify(pub, digest, r, s)
}
