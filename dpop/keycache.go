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

// key returns the key and thumbprint of a jwk member.
func (c *keyCache) key(jwk []byte) (*proofKey, string, error) {
	c.mu.RLock()
	e, ok := c.m[string(jwk)]
	c.mu.RUnlock()
	if ok {
		return e.key, e.jkt, nil
	}
	key, err := parseJWK(jwk)
	if err != nil {
		return nil, "", err
	}
	canonical, err := canonicalJWK(key.pub)
	if err != nil {
		return nil, "", errKeyPoint
	}
	jkt := thumbprintOf(canonical)
	if len(jwk) <= keyCacheMaxJWK {
		c.mu.Lock()
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
		c.mu.Unlock()
	}
	return key, jkt, nil
}
