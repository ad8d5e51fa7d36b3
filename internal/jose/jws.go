// Package jose reads compact JWS (RFC 7515) strictly, for every part of
// bearerkit that checks a signed token: access tokens in core, DPoP proofs
// in dpop, JWT introspection responses. It splits and decodes the compact
// serialization with one accepted spelling per byte string, scans JSON
// objects without duplicates at any depth, names the algorithms bearerkit
// supports, and checks signatures with the standard library. Policy —
// which header members a token may carry, which keys it may use — stays
// with each caller.
package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"math/big"
)

// The compact JWS serialization (RFC 7515 §7.1), checked by hand: the token
// is split and its alphabet checked in one pass, each segment is decoded
// once, and the signature is checked with the standard library against keys
// the caller has already parsed and validated.

type Alg uint8

const (
	RS256 Alg = iota + 1
	RS384
	RS512
	PS256
	PS384
	PS512
	ES256
	ES384
	ES512
	EdDSA
	Ed25519 // RFC 9864: the fully-specified name for EdDSA over Ed25519
)

var algNames = [...]string{
	RS256: "RS256", RS384: "RS384", RS512: "RS512",
	PS256: "PS256", PS384: "PS384", PS512: "PS512",
	ES256: "ES256", ES384: "ES384", ES512: "ES512",
	EdDSA: "EdDSA", Ed25519: "Ed25519",
}

func (a Alg) String() string { return algNames[a] }

func AlgByName(name string) (Alg, bool) {
	for a := RS256; a <= Ed25519; a++ {
		if algNames[a] == name {
			return a, true
		}
	}
	return 0, false
}

// AlgSet is a bit set of algorithms.
type AlgSet uint16

func (s AlgSet) Has(a Alg) bool { return s&(1<<a) != 0 }

const (
	RSAAlgs     = AlgSet(1<<RS256 | 1<<RS384 | 1<<RS512 | 1<<PS256 | 1<<PS384 | 1<<PS512)
	Ed25519Algs = AlgSet(1<<EdDSA | 1<<Ed25519)
	AllAlgs     = RSAAlgs | 1<<ES256 | 1<<ES384 | 1<<ES512 | Ed25519Algs
)

// b64url marks the bytes of the base64url alphabet (RFC 4648 §5).
var b64url = func() (t [256]bool) {
	for _, r := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[r] = true
	}
	return t
}()

var b64 = base64.RawURLEncoding.Strict()

// ErrMalformed reports a token that is not three non-empty segments of the
// base64url alphabet.
var ErrMalformed = errors.New("malformed compact serialization")

// SplitCompact checks shape and alphabet in one pass over the token: three
// non-empty segments of the base64url alphabet and nothing else. Any '=',
// '+', '/', whitespace or control byte fails here, before any decoding. It
// returns the positions of the two dots.
func SplitCompact(token string) (dot1, dot2 int, err error) {
	dot1, dot2 = -1, -1
	for i := 0; i < len(token); i++ {
		c := token[i]
		if b64url[c] {
			continue
		}
		if c != '.' {
			return 0, 0, ErrMalformed
		}
		switch {
		case dot1 < 0:
			dot1 = i
		case dot2 < 0:
			dot2 = i
		default:
			return 0, 0, ErrMalformed
		}
	}
	if dot2 < 0 || dot1 == 0 || dot2 == dot1+1 || dot2 == len(token)-1 {
		return 0, 0, ErrMalformed
	}
	return dot1, dot2, nil
}

// DecodeSegment decodes canonical unpadded base64url into dst, which must
// have room for it: a length of 1 mod 4 and non-zero unused trailing bits
// are refused, so each byte string has exactly one accepted spelling.
//
// The decoder reads byte slices; the segment is handed to it through a
// stack buffer, a whole number of 4-character quanta at a time, so that
// decoding a token costs no copy of it on the heap.
func DecodeSegment(dst []byte, seg string) ([]byte, bool) {
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
type Segments struct {
	token      string
	dot1, dot2 int
	buf        []byte
	hn, pn     int
}

func NewSegments(token string, dot1, dot2 int) Segments {
	hn := b64.DecodedLen(dot1)
	pn := b64.DecodedLen(dot2 - dot1 - 1)
	sn := b64.DecodedLen(len(token) - dot2 - 1)
	return Segments{token: token, dot1: dot1, dot2: dot2, buf: make([]byte, hn+pn+sn), hn: hn, pn: pn}
}

func (s Segments) Header() ([]byte, bool) {
	return DecodeSegment(s.buf[:s.hn:s.hn], s.token[:s.dot1])
}

func (s Segments) Body() (payload, signature []byte, ok bool) {
	end := s.hn + s.pn
	if payload, ok = DecodeSegment(s.buf[s.hn:end:end], s.token[s.dot1+1:s.dot2]); !ok {
		return nil, nil, false
	}
	signature, ok = DecodeSegment(s.buf[end:], s.token[s.dot2+1:])
	return payload, signature, ok
}

var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

// VerifySignature checks sig over input with key for algorithm a. The
// caller has already checked that the key may be used with a.
func VerifySignature(a Alg, key crypto.PublicKey, input string, sig []byte) bool {
	switch a {
	case RS256, PS256, ES256:
		d := sha256.Sum256([]byte(input))
		return verifyDigest(a, key, crypto.SHA256, d[:], sig)
	case RS384, PS384, ES384:
		d := sha512.Sum384([]byte(input))
		return verifyDigest(a, key, crypto.SHA384, d[:], sig)
	case RS512, PS512, ES512:
		d := sha512.Sum512([]byte(input))
		return verifyDigest(a, key, crypto.SHA512, d[:], sig)
	case EdDSA, Ed25519:
		pub, ok := key.(ed25519.PublicKey)
		return ok && len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, []byte(input), sig)
	}
	return false
}

func verifyDigest(a Alg, key crypto.PublicKey, h crypto.Hash, digest, sig []byte) bool {
	switch a {
	case RS256, RS384, RS512:
		pub, ok := key.(*rsa.PublicKey)
		return ok && rsa.VerifyPKCS1v15(pub, h, digest, sig) == nil
	case PS256, PS384, PS512:
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
