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
// read-write lock, so that no lock is shared by all requests; each shard is
// bounded in entries and bytes.
type tokenCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

const cacheShards = 32

// cacheShard is one part of the cache with its own lock. Hits take the
// read lock only.
type cacheShard struct {
	mu       sync.RWMutex
	entries  map[string]*cacheEntry
	bytes    int
	maxCount int
	maxBytes int
}

type cacheEntry struct {
	v      *Verifier // the verifier that verified the token (one of a MultiIssuer's)
	claims *tokenClaims
	header header           // alg and kid, to repeat the key lookup
	key    *verificationKey // the key that verified the signature
	gen    uint64           // generation of the set the key was found in
	size   int
}

func newTokenCache(entries, bytes int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].entries = make(map[string]*cacheEntry)
		c.shards[i].maxCount = max((entries+cacheShards-1)/cacheShards, 1)
		c.shards[i].maxBytes = bytes / cacheShards
	}
	return c
}

// shard picks a shard from the token's last bytes, which for a JWS are
// signature bytes: uniformly spread, and cheap to hash however long the
// token is. The shard only spreads lock contention; the map lookup inside
// compares the whole token.
func (c *tokenCache) shard(token string) *cacheShard {
	return &c.shards[maphash.String(c.seed, token[max(len(token)-16, 0):])%cacheShards]
}

func (c *tokenCache) get(token string) *cacheEntry {
	s := c.shard(token)
	s.mu.RLock()
	e := s.entries[token]
	s.mu.RUnlock()
	return e
}

func (c *tokenCache) put(token string, e *cacheEntry) {
	e.size = e.footprint(token)
	s := c.shard(token)
	if e.size > s.maxBytes {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteLocked(token)
	// Evict arbitrary entries until the new one fits. Go starts every map
	// iteration at a random point, so eviction is random and constant-time,
	// and a flood of distinct tokens has no way to pin entries.
	for len(s.entries) > 0 && (len(s.entries) >= s.maxCount || s.bytes+e.size > s.maxBytes) {
		for k := range s.entries {
			s.deleteLocked(k)
			break
		}
	}
	s.entries[token] = e
	s.bytes += e.size
}

func (c *tokenCache) remove(token string) {
	s := c.shard(token)
	s.mu.Lock()
	s.deleteLocked(token)
	s.mu.Unlock()
}

func (s *cacheShard) deleteLocked(token string) {
	if old, ok := s.entries[token]; ok {
		s.bytes -= old.size
		delete(s.entries, token)
	}
}

// TokenCacheStats describes the verified-token cache.
type TokenCacheStats struct {
	Entries int // tokens held
	Bytes   int // heap bytes the entries keep alive, as counted against Config.TokenCacheBytes
}

func (c *tokenCache) stats() TokenCacheStats {
	var st TokenCacheStats
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		st.Entries += len(s.entries)
		st.Bytes += s.bytes
		s.mu.RUnlock()
	}
	return st
}

// keyStillSelected reports whether a fresh verification against the
// current key set would pick the entry's signing key again: the key must
// still be published, and the lookup rules (exact kid, one key per kid and
// algorithm, at most a few candidates without kid) must still lead to it.
func (e *cacheEntry) keyStillSelected(current *keySet) bool {
	if current.gen == e.gen {
		return true
	}
	var buf [maxKidlessKeysTried]*verificationKey
	keys, res := current.lookup(&e.header, buf[:0])
	if res != keysFound {
		return false
	}
	for _, k := range keys {
		if k == e.key || (k.kid == e.key.kid && k.algs == e.key.algs && publicKeysEqual(k.pub, e.key.pub)) {
			return true
		}
	}
	return false
}
