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

const cacheShards = 32

// cacheShard reads lock-free: a hot token presented on every core at once
// touches no shared lock word. Writers serialise on mu, which guards the
// entry count and byte total.
type cacheShard struct {
	m        sync.Map // token string → *cacheEntry
	mu       sync.Mutex
	count    int
	bytes    int
	maxCount int
	maxBytes int
}

type cacheEntry struct {
	claims *tokenClaims
	header header           // alg and kid, to repeat the key lookup
	key    *verificationKey // the key that verified the signature
	gen    uint64           // generation of the set the key was found in
	size   int
}

func newTokenCache(entries, bytes int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
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
	e, _ := c.shard(token).m.Load(token)
	if e == nil {
		return nil
	}
	return e.(*cacheEntry)
}

func (c *tokenCache) put(token string, e *cacheEntry) {
	e.size = len(token) + len(e.claims.raw)
	s := c.shard(token)
	if e.size > s.maxBytes {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteLocked(token)
	// Evict arbitrary entries until the new one fits. Iteration order is
	// unspecified, which keeps eviction constant-time and gives a flood of
	// distinct tokens no way to pin entries.
	for s.count > 0 && (s.count >= s.maxCount || s.bytes+e.size > s.maxBytes) {
		s.m.Range(func(k, _ any) bool {
			s.deleteLocked(k.(string))
			return false
		})
	}
	s.m.Store(token, e)
	s.count++
	s.bytes += e.size
}

func (c *tokenCache) remove(token string) {
	s := c.shard(token)
	s.mu.Lock()
	s.deleteLocked(token)
	s.mu.Unlock()
}

func (s *cacheShard) deleteLocked(token string) {
	if old, ok := s.m.LoadAndDelete(token); ok {
		s.count--
		s.bytes -= old.(*cacheEntry).size
	}
}

// TokenCacheStats describes the verified-token cache.
type TokenCacheStats struct {
	Entries int // tokens held
	Bytes   int // token and claims bytes held
}

func (c *tokenCache) stats() TokenCacheStats {
	var st TokenCacheStats
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		st.Entries += s.count
		st.Bytes += s.bytes
		s.mu.Unlock()
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
