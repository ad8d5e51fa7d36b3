package core

import "reflect"

// The verified-token cache is bounded in bytes, so each entry must be
// counted as what it keeps alive on the heap: the token (the map key), the
// buffer its segments were decoded into (the claims' raw payload points
// into it), the entry and claims structs, every claim string and slice, and
// its map slot. Each allocation is rounded up to the allocator's size
// class, which is what short strings really cost.

var (
	entryStructSize  = int(reflect.TypeFor[cacheEntry]().Size())
	claimsStructSize = int(reflect.TypeFor[tokenClaims]().Size())
	stringHeaderSize = int(reflect.TypeFor[string]().Size())
)

// mapSlotBytes is the average cost of one map entry (key and value
// headers, control byte, and the free room a map keeps as it grows).
const mapSlotBytes = 48

// footprint returns the heap bytes the entry for token keeps alive.
func (e *cacheEntry) footprint(token string) int {
	c := &e.claims.Claims
	n := mapSlotBytes + allocSize(len(token)) + allocSize(entryStructSize) + allocSize(claimsStructSize)
	n += allocSize(len(token) * 3 / 4) // header, payload and signature, decoded into one buffer
	for _, s := range [...]string{c.Issuer, c.Subject, c.ClientID, c.ID, c.ACR, c.Confirmation.JKT, c.Confirmation.X5TS256, e.header.kid, e.header.typ} {
		n += allocSize(len(s))
	}
	for _, list := range [...][]string{c.Audience, c.Scopes} {
		n += allocSize(cap(list) * stringHeaderSize)
		for _, s := range list {
			n += allocSize(len(s))
		}
	}
	return n
}

// sizeClasses are the object sizes of the Go allocator up to 32 KiB
// (runtime/sizeclasses.go); larger objects take whole 8 KiB pages.
var sizeClasses = [...]int{
	8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
	288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280,
	1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528,
	6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432,
	19072, 20480, 21760, 24576, 27264, 28672, 32768,
}

// allocSize is the heap cost of an allocation of n bytes.
func allocSize(n int) int {
	if n == 0 {
		return 0
	}
	if n > sizeClasses[len(sizeClasses)-1] {
		return (n + 8191) &^ 8191
	}
	lo, hi := 0, len(sizeClasses)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if sizeClasses[mid] < n {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return sizeClasses[lo]
}
