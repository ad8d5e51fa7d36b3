package dpop

import "sync"

// A client sends the same jwk with every proof. keyCache keeps the keys
// read from recent jwk members, by their exact bytes, so that a proof of a
// known key skips parsing, thumbprinting and the conversion the crypto
// package makes of a new key object. Only what parseJWK accepted is kept:
// a cached entry is what parsing the same bytes would give.
const (
	keyCacheEntries = 1024
	keyCacheMaxJWK  = 1 << 10 // larger jwk members are not kept
)

type cachedKey struct {
	key *proofKey
	jkt string
}

type keyCache struct {
	mu sync.RWMutex
	m  map[string]cachedKey
}

// key returns the key and thumbprint of a jwk member, and whether they
// came from the cache.
func (c *keyCache) key(jwk []byte) (*proofKey, string, bool, error) {
	c.mu.RLock()
	e, ok := c.m[string(jwk)]
	c.mu.RUnlock()
	if ok {
		return e.key, e.jkt, true, nil
	}
	key, err := parseJWK(jwk)
	if err != nil {
		return nil, "", false, err
	}
	canonical, err := canonicalJWK(key.pub)
	if err != nil {
		return nil, "", false, errKeyPoint
	}
	return key, thumbprintOf(canonical), false, nil
}

// keep remembers a key once a proof made with it has verified, so that
// forged proofs cannot push real clients' keys out.
func (c *keyCache) keep(jwk []byte, key *proofKey, jkt string) {
	if len(jwk) > keyCacheMaxJWK {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]cachedKey)
	}
	if len(c.m) >= keyCacheEntries {
		for k := range c.m { // map order is random: drop any one
			delete(c.m, k)
			break
		}
	}
	c.m[string(jwk)] = cachedKey{key, jkt}
}
