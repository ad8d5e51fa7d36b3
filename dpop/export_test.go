package dpop

import (
	"crypto"
	"sync/atomic"
	"time"

	"github.com/bearerkit/bearerkit/internal/jose"
)

// CountSignatureChecks makes v count the signatures it checks, to prove
// which refusals come before any cryptography.
func CountSignatureChecks(v *Verifier) *atomic.Int64 {
	var n atomic.Int64
	inner := v.checkSig
	v.checkSig = func(a jose.Alg, key crypto.PublicKey, input string, sig []byte) bool {
		n.Add(1)
		return inner(a, key, input, sig)
	}
	return &n
}

// SetSignerClock sets the clock a Signer stamps iat with.
func SetSignerClock(s *Signer, now func() time.Time) { s.now = now }

// NewMemoryStoreWithClock returns a MemoryStore on the given clock.
func NewMemoryStoreWithClock(maxEntries int, now func() time.Time) *MemoryStore {
	return newMemoryStore(maxEntries, now)
}

// StoreLen reports the entries a MemoryStore holds.
func StoreLen(m *MemoryStore) int { return m.len() }

// StoreHeapCap reports the capacity of a MemoryStore's expiry queues, to
// show that memory stays bounded.
func StoreHeapCap(m *MemoryStore) int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += cap(s.queue)
		s.mu.Unlock()
	}
	return n
}
