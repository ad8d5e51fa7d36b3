package core

import (
	"hash/maphash"

	"github.com/bearerkit/bearerkit/internal/cache"
)

// tokenCache remembers tokens that passed every check, so that a token
// presented again skips parsing and signature work. It never remembers
// failures, so a token refused before its key was published is verified
// afresh once the key appears.
//
// Entries are keyed by the complete token string: only the identical byte
// string can hit an entry. A hit still re-checks the time claims against
// the clock, the audience asked for, and that the signing key is still in
// the current key set. The bounds, sharding and random eviction are those
// of internal/cache.
type tokenCache struct {
	c *cache.Cache[string, *cacheEntry]
}

type cacheEntry struct {
	v      *Verifier // the verifier that verified the token (one of a MultiIssuer's)
	claims *tokenClaims
	header header           // alg and kid, to repeat the key lookup
	key    *verificationKey // the key that verified the signature
	gen    uint64           // generation of the set the key was found in
}

// observeEvictions reports the cache's evictions to h.
func (c *tokenCache) observeEvictions(h Hooks) {
	if hook := h.CacheEviction; hook != nil {
		c.c.OnEvict = func(n int) { hook(EvictionEvent{Cache: "token", Entries: n}) }
	}
}

func newTokenCache(entries, bytes int) *tokenCache {
	seed := maphash.MakeSeed()
	// The token's last bytes are signature bytes for a JWS: uniformly
	// spread, and cheap to hash however long the token is. The shard only
	// spreads lock contention; the map lookup inside compares the whole
	// token.
	shardOf := func(token string) uint64 { return maphash.String(seed, token[max(len(token)-16, 0):]) }
	return &tokenCache{c: cache.New[string, *cacheEntry](entries, bytes, shardOf)}
}

func (c *tokenCache) get(token string) *cacheEntry {
	e, _ := c.c.Get(token)
	return e
}

func (c *tokenCache) put(token string, e *cacheEntry) { c.c.Put(token, e, e.footprint(token)) }

func (c *tokenCache) remove(token string) { c.c.Remove(token) }

// TokenCacheStats describes the verified-token cache.
type TokenCacheStats struct {
	Entries int // tokens held
	Bytes   int // heap bytes the entries keep alive, as counted against Config.TokenCacheBytes
}

func (c *tokenCache) stats() TokenCacheStats {
	entries, bytes := c.c.Stats()
	return TokenCacheStats{Entries: entries, Bytes: bytes}
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
