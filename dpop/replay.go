package dpop

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"errors"
	"hash/maphash"
	"sync"
	"time"
)

// ReplayStore remembers proofs for as long as they could be accepted, so
// that each is accepted once (RFC 9449 §11.1). Replicas that serve the same
// clients must share one store.
//
// A store that cannot answer must return an error, never guess: [Verifier]
// then refuses the proof with [ErrReplayStore].
type ReplayStore interface {
	// Remember records key until expiry and reports whether it was unseen;
	// false means a replay. Keys from a Verifier are 43 base64url
	// characters.
	Remember(ctx context.Context, key string, expiry time.Time) (fresh bool, err error)
}

// errStoreFull is returned when every slot of a MemoryStore shard holds a
// live entry.
var errStoreFull = errors.New("dpop: replay store full")

// MemoryStore is a bounded in-memory [ReplayStore] for a single instance.
// It holds at most maxEntries live entries; when it is full it refuses new
// keys with an error rather than forget one that might be replayed, so a
// flood of unique proofs costs bounded memory and fails closed, and it
// accepts again as entries expire. Large stores split the bound evenly
// over up to 16 locks, so one part can fill slightly before the whole:
// size the store with some headroom over the peak rate of accepted proofs
// times the window (MaxAge + Leeway). Expired entries are dropped as calls
// arrive, from a min-heap ordered by expiry, each once: never by scanning
// the table. Keys are kept as 128-bit hashes, so entries have a fixed size
// whatever the callers' keys.
//
// MemoryStore reads the wall clock. A Verifier with its own Config.Now and
// a nil Config.Replay gets a MemoryStore on its own clock.
//
// It is safe for concurrent use.
type MemoryStore struct {
	seed   maphash.Seed
	now    func() time.Time
	shards []memShard
}

type memShard struct {
	mu    sync.Mutex
	limit int
	seen  map[entryKey]struct{}
	queue expiryQueue
}

type entryKey [16]byte

type entry struct {
	expiry int64 // Unix milliseconds, rounded up
	key    entryKey
}

// A store is split into up to maxShards locks, each of at least
// shardEntries entries; small stores keep one lock.
const (
	maxShards    = 16
	shardEntries = 1024
)

// NewMemoryStore returns a store of at most maxEntries live entries;
// maxEntries ≤ 0 means 100,000. An entry costs about 50 bytes, so a full
// default store holds about 5 MB.
func NewMemoryStore(maxEntries int) *MemoryStore {
	return newMemoryStore(maxEntries, time.Now)
}

func newMemoryStore(maxEntries int, now func() time.Time) *MemoryStore {
	if maxEntries <= 0 {
		maxEntries = defaultReplayEntries
	}
	n := min(maxShards, max(1, maxEntries/shardEntries))
	m := &MemoryStore{seed: maphash.MakeSeed(), now: now, shards: make([]memShard, n)}
	for i := range m.shards {
		// The limits add up to maxEntries exactly.
		m.shards[i].limit = maxEntries / n
		if i < maxEntries%n {
			m.shards[i].limit++
		}
		m.shards[i].seen = make(map[entryKey]struct{})
	}
	return m
}

// Remember implements [ReplayStore]. A key whose expiry has already passed
// is not stored: it is fresh unless a live entry holds it. Only a full store
// returns an error.
func (m *MemoryStore) Remember(_ context.Context, key string, expiry time.Time) (bool, error) {
	sum := sha256.Sum256([]byte(key))
	var k entryKey
	copy(k[:], sum[:])
	s := &m.shards[0]
	if len(m.shards) > 1 {
		// A seeded hash picks the shard, so that nobody can aim keys at one.
		s = &m.shards[maphash.Bytes(m.seed, k[:])%uint64(len(m.shards))]
	}
	now := m.now().UnixMilli()
	exp := expiry.UnixMilli()
	if expiry.After(time.UnixMilli(exp)) {
		exp++ // never forget a key early
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if _, dup := s.seen[k]; dup {
		return false, nil
	}
	if exp <= now {
		return true, nil
	}
	if len(s.seen) >= s.limit {
		return false, errStoreFull
	}
	s.seen[k] = struct{}{}
	heap.Push(&s.queue, entry{expiry: exp, key: k})
	return true, nil
}

// expire drops the entries whose expiry has passed. Each entry is dropped
// once, so the work is O(log n) per entry ever stored.
func (s *memShard) expire(now int64) {
	for len(s.queue) > 0 && s.queue[0].expiry <= now {
		e := heap.Pop(&s.queue).(entry)
		delete(s.seen, e.key)
	}
}

// len reports the number of live and not yet dropped entries.
func (m *MemoryStore) len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.seen)
		s.mu.Unlock()
	}
	return n
}

// expiryQueue is a min-heap of entries by expiry.
type expiryQueue []entry

func (q expiryQueue) Len() int           { return len(q) }
func (q expiryQueue) Less(i, j int) bool { return q[i].expiry < q[j].expiry }
func (q expiryQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *expiryQueue) Push(x any)        { *q = append(*q, x.(entry)) }
func (q *expiryQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
