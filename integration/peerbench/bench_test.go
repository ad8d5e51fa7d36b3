package peerbench

import (
	"context"
	"testing"
)

// BenchmarkVerify times one verification of the same valid token per
// algorithm and library. Names are alg=…/lib=… so that benchstat can group
// by either. Each library is opened, checked and warmed just before it is
// timed and closed right after, so no other library's background work runs
// meanwhile.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range algorithms {
		b.Run("alg="+alg, func(b *testing.B) {
			e := newEnv(b, alg)
			b.Run("lib=floor", func(b *testing.B) {
				check := checkFloor(b, e)
				b.ReportAllocs()
				for b.Loop() {
					if !check() {
						b.Fatal("signature check failed")
					}
				}
			})
			for _, p := range peers {
				b.Run("lib="+p.name, func(b *testing.B) {
					verify := p.open(b, e)
					checkVerifier(b, e, verify)
					b.ReportAllocs()
					for b.Loop() {
						if _, err := verify(ctx, e.token); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
