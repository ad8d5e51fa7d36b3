package core

import (
	"hash/maphash"
	"sync"
)

// tokenCache remembers tokens that passed every check, so that a token
// presented again skips parsing and signature work. It never remembers
// failures, so a token refused before its key was published is verified
// afresh once the key appears.
//
// Entries are keyed by the complete token string: only the identical byte
// string can hit an entry. A hit still re-checks the time claims against
// the clock, the audience asked for, and that the signing key is still in
// the current key set. The cache is split into shards, each with its own
// lock, so that no lock is shared by all requests; each shard is bounded in
// entries and bytes.
type tokenCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

const (
	cacheShards = 32
	// maxCacheBytes bounds the token and payload bytes held per verifier.
	maxCacheBytes = 32 << 20
)

type cacheShard struct {
	mu       sync.Mutex
	entries  map[string]*cacheEntry
	bytes    int
	maxCount int
	maxBytes int
}

type cacheEntry struct {
	claims *tokenClaims
	key    *verificationKey
	set    *keySet // the set the key was found in
	size   int
}

func newTokenCache(entries int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed()}
	per := max(entries/cacheShards, 1)
	for i := range c.shards {
		c.shards[i].entries = make(map[string]*cacheEntry)
		c.shards[i].maxCount = per
		c.shards[i].maxBytes = maxCacheBytes / cacheShards
	}
	return c
}

func (c *tokenCache) shard(token string) *cacheShard {
	return &c.shards[maphash.String(c.seed, token)%cacheShards]
}

func (c *tokenCache) get(token string) *cacheEntry {
	s := c.shard(token)
	s.mu.Lock()
	e := s.entries[token]
	s.mu.Unlock()
	return e
}

func (c *tokenCache) put(token string, e *cacheEntry) {
	e.size = len(token) + len(e.claims.raw)
	s := c.shard(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.entries[token]; ok {
		s.bytes -= old.size
		delete(s.entries, token)
	}
	// Evict arbitrary entries (Go's map iteration order is randomised) until
	// the new one fits. Random eviction keeps the cost constant and gives a
	// flood of distinct tokens no way to pin entries.
	for len(s.entries) > 0 && (len(s.entries) >= s.maxCount || s.bytes+e.size > s.maxBytes) {
		for k, old := range s.entries {
			s.bytes -= old.size
			delete(s.entries, k)
			break
		}
	}
	if e.size > s.maxBytes {
		return
	}
	s.entries[token] = e
	s.bytes += e.size
}

func (c *tokenCache) remove(token string) {
	s := c.shard(token)
	s.mu.Lock()
	if old, ok := s.entries[token]; ok {
		s.bytes -= old.size
		delete(s.entries, token)
	}
	s.mu.Unlock()
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		s.mu.Unlock()
	}
	return n
}

// keyStillPublished reports whether the entry's signing key is still in
// the current key set.
func (e *cacheEntry) keyStillPublished(current *keySet) bool {
	return current == e.set || current.has(e.key)
}
