package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/big"

	"github.com/bearerkit/bearerkit/internal/jose"
)

// RSA moduli outside [minRSABits, maxRSABits] are refused: small ones are
// forgeable, huge ones make every proof a denial-of-service lever.
const (
	minRSABits = 2048
	maxRSABits = 4096
)

// proofKey is the public key a proof carries in its jwk header member, read
// and checked once per proof.
type proofKey struct {
	pub  crypto.PublicKey
	algs jose.AlgSet // the algorithms this key may verify
}

var (
	errKeyPrivate     = refuseWith(reasonKey, "jwk carries private or symmetric material")
	errKeyType        = refuseWith(reasonKey, "jwk kty is not RSA, EC or OKP")
	errKeyMembers     = refuseWith(reasonKey, "jwk members are missing, mistyped or belong to another kty")
	errKeyEncoding    = refuseWith(reasonKey, "jwk value is not canonical base64url")
	errKeyRSASize     = refuseWith(reasonKey, "RSA key outside 2048-4096 bits")
	errKeyRSAExp      = refuseWith(reasonKey, "RSA exponent is not an odd number in [3, 2^31)")
	errKeyCurve       = refuseWith(reasonKey, "unsupported curve")
	errKeyPoint       = refuseWith(reasonKey, "invalid public key")
	errKeyAlg         = refuseWith(reasonKey, "key does not fit alg")
	errKeyUse         = refuseWith(reasonKey, "jwk use or key_ops does not allow verification")
	errUnsupportedKey = errors.New("dpop: unsupported public key type")
)

// jwk member presence bits.
const (
	hasKty = 1 << iota
	hasCrv
	hasX
	hasY
	hasN
	hasE
	hasAlg
	hasUse
)

// parseJWK reads the jwk header member (RFC 9449 §4.2): a public key of a
// type and size bearerkit verifies with, and nothing private (§4.3 check
// 7). Its members come from the strict scanner, and base64url values must
// be canonical and minimal (RFC 7518 §6.2.1, §6.3.1), so a key has exactly
// one accepted spelling and its thumbprint is the same whoever computes it.
func parseJWK(raw []byte) (*proofKey, error) {
	var buf [12]jose.Member
	members, err := jose.ScanObject(raw, buf[:0])
	if err != nil {
		return nil, errKeyMissing
	}
	var kty, crv, x, y, n, e, alg, use string
	var seen int
	var keyOps *jose.Member
	for i := range members {
		m := &members[i]
		var dst *string
		var bit int
		switch string(memberName(m)) {
		case "d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv":
			return nil, errKeyPrivate
		case "kty":
			dst, bit = &kty, hasKty
		case "crv":
			dst, bit = &crv, hasCrv
		case "x":
			dst, bit = &x, hasX
		case "y":
			dst, bit = &y, hasY
		case "n":
			dst, bit = &n, hasN
		case "e":
			dst, bit = &e, hasE
		case "alg":
			dst, bit = &alg, hasAlg
		case "use":
			dst, bit = &use, hasUse
		case "key_ops":
			if m.Kind != jose.KindArray {
				return nil, errKeyMembers
			}
			keyOps = m
			continue
		default:
			continue
		}
		if m.Kind != jose.KindString {
			return nil, errKeyMembers
		}
		*dst, seen = m.StringValue(), seen|bit
	}

	var k *proofKey
	switch {
	case seen&hasKty == 0:
		return nil, errKeyMembers
	case kty == "oct":
		return nil, errKeyPrivate
	case kty == "RSA":
		if seen&(hasCrv|hasX|hasY) != 0 || seen&(hasN|hasE) != hasN|hasE {
			return nil, errKeyMembers
		}
		k, err = rsaKey(n, e)
	case kty == "EC":
		if seen&(hasN|hasE) != 0 || seen&(hasCrv|hasX|hasY) != hasCrv|hasX|hasY {
			return nil, errKeyMembers
		}
		k, err = ecKey(crv, x, y)
	case kty == "OKP":
		if seen&(hasN|hasE|hasY) != 0 || seen&(hasCrv|hasX) != hasCrv|hasX {
			return nil, errKeyMembers
		}
		k, err = okpKey(crv, x)
	default:
		return nil, errKeyType
	}
	if err != nil {
		return nil, err
	}
	if seen&hasAlg != 0 {
		// RFC 7517 §4.4: a key that names its algorithm is used with no other.
		a, ok := jose.AlgByName(alg)
		if !ok || !k.algs.Has(a) {
			return nil, errKeyAlg
		}
		k.algs = 1 << a
	}
	if seen&hasUse != 0 && use != "sig" {
		return nil, errKeyUse
	}
	if keyOps != nil {
		ops, err := keyOps.ArrayStrings()
		if err != nil || !contains(ops, "verify") {
			return nil, errKeyUse
		}
	}
	return k, nil
}

func rsaKey(n, e string) (*proofKey, error) {
	nb, ok := uintBytes(n)
	if !ok {
		return nil, errKeyEncoding
	}
	if bits := len(nb) * 8; bits < minRSABits || bits > maxRSABits+8 {
		return nil, errKeyRSASize
	}
	mod := new(big.Int).SetBytes(nb)
	if bits := mod.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, errKeyRSASize
	}
	eb, ok := uintBytes(e)
	if !ok {
		return nil, errKeyEncoding
	}
	if len(eb) > 4 {
		return nil, errKeyRSAExp
	}
	var exp int64
	for _, b := range eb {
		exp = exp<<8 | int64(b)
	}
	if exp < 3 || exp%2 == 0 || exp >= 1<<31 {
		return nil, errKeyRSAExp
	}
	return &proofKey{pub: &rsa.PublicKey{N: mod, E: int(exp)}, algs: jose.RSAAlgs}, nil
}

func ecKey(crv, x, y string) (*proofKey, error) {
	var curve elliptic.Curve
	var alg jose.Alg
	switch crv {
	case "P-256":
		curve, alg = elliptic.P256(), jose.ES256
	case "P-384":
		curve, alg = elliptic.P384(), jose.ES384
	case "P-521":
		curve, alg = elliptic.P521(), jose.ES512
	default:
		return nil, errKeyCurve
	}
	size := (curve.Params().BitSize + 7) / 8
	xb, okx := decodeB64(x)
	yb, oky := decodeB64(y)
	if !okx || !oky {
		return nil, errKeyEncoding
	}
	if len(xb) != size || len(yb) != size {
		return nil, errKeyPoint
	}
	point := make([]byte, 0, 1+2*size)
	point = append(append(append(point, 4), xb...), yb...)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, errKeyPoint
	}
	return &proofKey{pub: pub, algs: 1 << alg}, nil
}

func okpKey(crv, x string) (*proofKey, error) {
	if crv != "Ed25519" {
		return nil, errKeyCurve
	}
	xb, ok := decodeB64(x)
	if !ok {
		return nil, errKeyEncoding
	}
	if len(xb) != ed25519.PublicKeySize || weakEd25519(xb) {
		return nil, errKeyPoint
	}
	return &proofKey{pub: ed25519.PublicKey(xb), algs: jose.Ed25519Algs}, nil
}

// weakEd25519 reports whether an encoded Ed25519 public key is a point of
// small order, or not in canonical form. A small-order key verifies forged
// signatures (the identity point accepts R = identity, S = 0 for every
// message), so a proof with it proves possession of nothing. The points of
// order 1, 2, 4 and 8 have y in {1, p-1, 0, y8, p-y8}; with y < p required,
// comparing y (the encoding without its sign bit) with those five covers
// every encoding of them.
func weakEd25519(enc []byte) bool {
	var y [32]byte
	copy(y[:], enc)
	y[31] &= 0x7f // the sign of x
	if !lessThanP(y[:]) {
		return true
	}
	for _, w := range &smallOrderY {
		if y == w {
			return true
		}
	}
	return false
}

// fieldP is p = 2^255 - 19, little-endian.
var fieldP = belowP(0)

// belowP returns p - n, little-endian, for a small n.
func belowP(n byte) (y [32]byte) {
	for i := range y {
		y[i] = 0xff
	}
	y[0], y[31] = 0xed-n, 0x7f
	return y
}

// lessThanP compares a little-endian 255-bit number with p.
func lessThanP(y []byte) bool {
	for i := 31; i >= 0; i-- {
		switch {
		case y[i] < fieldP[i]:
			return true
		case y[i] > fieldP[i]:
			return false
		}
	}
	return false // equal
}

// smallOrderY are the y coordinates (little-endian) of the points of small
// order: 0 (order 4), 1 (the identity), p-1 (order 2) and the two of order
// 8.
var smallOrderY = [5][32]byte{
	{},
	{0: 1},
	belowP(1),
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
		0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
}

// decodeB64 decodes canonical unpadded base64url. Go's decoder skips CR and
// LF, so the alphabet is checked first.
func decodeB64(s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, false
		}
	}
	return jose.DecodeSegment(make([]byte, base64.RawURLEncoding.DecodedLen(len(s))), s)
}

// uintBytes decodes an RFC 7518 §2 Base64urlUInt: big-endian, non-empty,
// and without leading zero octets.
func uintBytes(s string) ([]byte, bool) {
	b, ok := decodeB64(s)
	if !ok || len(b) == 0 || b[0] == 0 {
		return nil, false
	}
	return b, true
}

// Thumbprint returns the RFC 7638 JWK thumbprint of a public key: the
// base64url SHA-256 hash of its required JWK members in canonical form
// (§3.2). It is the value of a DPoP-bound token's cnf.jkt (RFC 9449 §6.1)
// and of the dpop_jkt authorization request parameter (§10). Keys are
// *rsa.PublicKey, *ecdsa.PublicKey on P-256, P-384 or P-521, and
// ed25519.PublicKey.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	canonical, err := canonicalJWK(pub)
	if err != nil {
		return "", err
	}
	return thumbprintOf(canonical), nil
}

func thumbprintOf(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// canonicalJWK writes the required members of a public key's JWK in the
// order and form of RFC 7638 §3.2: lexicographic member names, no
// whitespace. The values are base64url text and fixed names, which need no
// JSON escaping. The result is also a valid public JWK, used as the jwk
// header member of proofs.
func canonicalJWK(pub crypto.PublicKey) ([]byte, error) {
	b64 := base64.RawURLEncoding
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil || k.N.Sign() <= 0 || k.E <= 0 {
			return nil, errUnsupportedKey
		}
		e := big.NewInt(int64(k.E)).Bytes()
		out := []byte(`{"e":"`)
		out = b64.AppendEncode(out, e)
		out = append(out, `","kty":"RSA","n":"`...)
		out = b64.AppendEncode(out, k.N.Bytes())
		return append(out, `"}`...), nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return nil, errUnsupportedKey
		}
		var crv string
		switch k.Curve {
		case elliptic.P256():
			crv = "P-256"
		case elliptic.P384():
			crv = "P-384"
		case elliptic.P521():
			crv = "P-521"
		default:
			return nil, errUnsupportedKey
		}
		point, err := k.Bytes()
		if err != nil {
			return nil, errUnsupportedKey
		}
		size := (len(point) - 1) / 2
		out := []byte(`{"crv":"` + crv + `","kty":"EC","x":"`)
		out = b64.AppendEncode(out, point[1:1+size])
		out = append(out, `","y":"`...)
		out = b64.AppendEncode(out, point[1+size:])
		return append(out, `"}`...), nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, errUnsupportedKey
		}
		out := []byte(`{"crv":"Ed25519","kty":"OKP","x":"`)
		out = b64.AppendEncode(out, k)
		return append(out, `"}`...), nil
	}
	return nil, errUnsupportedKey
}

// memberName returns the unescaped name of a scanned member.
func memberName(m *jose.Member) []byte {
	if m.Escaped {
		return []byte(jose.Unescape(m.Name))
	}
	return m.Name
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
