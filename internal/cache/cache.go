// Package cache is the bounded, sharded map behind bearerkit's caches of
// verified tokens and introspection results. Each shard has its own
// read-write lock (hits take the read lock only) and its own bounds on
// entries and bytes; when a new entry does not fit, arbitrary entries are
// evicted — Go starts every map iteration at a random point, so eviction is
// random and constant-time, and a flood of distinct keys has no way to pin
// entries.
package cache

import (
	"sync"
)

const shards = 32

// Cache maps keys to values, bounded in entries and bytes. The caller
// gives each value's size and picks its shard.
type Cache[K comparable, V any] struct {
	// OnEvict, when set before use, is told how many entries a Put
	// dropped to stay within the bounds (not those replaced or removed).
	OnEvict func(n int)
	shardOf func(K) uint64
	shards  [shards]shard[K, V]
}

type shard[K comparable, V any] struct {
	mu       sync.RWMutex
	entries  map[K]item[V]
	bytes    int
	maxCount int
	maxBytes int
}

type item[V any] struct {
	v    V
	size int
}

// New returns a cache of at most entries values (rounded up to a multiple
// of 32) and bytes bytes; shardOf spreads keys over the shards, and need
// not be more than a cheap hash of part of the key.
func New[K comparable, V any](entries, bytes int, shardOf func(K) uint64) *Cache[K, V] {
	c := &Cache[K, V]{shardOf: shardOf}
	for i := range c.shards {
		c.shards[i].entries = make(map[K]item[V])
		c.shards[i].maxCount = max((entries+shards-1)/shards, 1)
		c.shards[i].maxBytes = bytes / shards
	}
	return c
}

func (c *Cache[K, V]) shard(k K) *shard[K, V] { return &c.shards[c.shardOf(k)%shards] }

// Get returns the value stored for k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	s := c.shard(k)
	s.mu.RLock()
	it, ok := s.entries[k]
	s.mu.RUnlock()
	return it.v, ok
}

// Put stores v, of the given size in bytes, for k, evicting arbitrary
// entries until it fits. A value larger than a shard's share of the bytes
// is not stored.
func (c *Cache[K, V]) Put(k K, v V, size int) {
	s := c.shard(k)
	if size > s.maxBytes {
		return
	}
	evicted := 0
	s.mu.Lock()
	s.deleteLocked(k)
	for len(s.entries) > 0 && (len(s.entries) >= s.maxCount || s.bytes+size > s.maxBytes) {
		for victim := range s.entries {
			s.deleteLocked(victim)
			evicted++
			break
		}
	}
	s.entries[k] = item[V]{v: v, size: size}
	s.bytes += size
	s.mu.Unlock()
	if evicted > 0 && c.OnEvict != nil {
		c.OnEvict(evicted)
	}
}

// Remove drops the entry for k, if any.
func (c *Cache[K, V]) Remove(k K) {
	s := c.shard(k)
	s.mu.Lock()
	s.deleteLocked(k)
	s.mu.Unlock()
}

func (s *shard[K, V]) deleteLocked(k K) {
	if old, ok := s.entries[k]; ok {
		s.bytes -= old.size
		delete(s.entries, k)
	}
}

// Stats returns the entries held and the bytes they were counted as.
func (c *Cache[K, V]) Stats() (entries, bytes int) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		entries += len(s.entries)
		bytes += s.bytes
		s.mu.RUnlock()
	}
	return entries, bytes
}

// Clear drops every entry.
func (c *Cache[K, V]) Clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.entries)
		s.bytes = 0
		s.mu.Unlock()
	}
}
