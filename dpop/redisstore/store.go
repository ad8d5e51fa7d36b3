// Package redisstore keeps DPoP replay state (RFC 9449 §11.1) in Redis, so
// that every replica of a service behind one load balancer refuses a proof
// any of them has accepted. It is a module of its own, so that users of
// bearerkit who do not need it do not pull in go-redis.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	v, err := dpop.NewVerifier(dpop.Config{Replay: redisstore.New(rdb, "orders-api:dpop:")})
//
// Each check is one round trip: SET key 1 NX PXAT expiry. Redis keeps the
// key until the proof could no longer be accepted and then deletes it, so
// memory follows the rate of accepted proofs, and Redis's maxmemory policy
// should be noeviction (or volatile-* with care): an evicted key is a
// replay window reopened. When Redis cannot answer, Remember returns the
// error and the verifier refuses the proof with dpop.ErrReplayStore: it
// fails closed. Bound each call with the request's context, or with the
// client's ReadTimeout and WriteTimeout.
//
// The expiry is an absolute time, so replicas' and Redis's clocks should
// be synchronised (NTP); a Redis clock running ahead shortens the window
// by the difference.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bearerkit/bearerkit/dpop"
)

// DefaultPrefix is the key prefix New uses when given "".
const DefaultPrefix = "bearerkit:dpop:"

// Store is a [dpop.ReplayStore] on Redis. It is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	prefix string
}

var _ dpop.ReplayStore = (*Store)(nil)

// New returns a store that keeps its keys under prefix ("" means
// [DefaultPrefix]). Give each service or realm its own prefix when they
// share a Redis; a jti is only spent for the service that saw it.
func New(client redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{client: client, prefix: prefix}
}

// Remember implements [dpop.ReplayStore] with one SET NX: it reports true
// when the key was not set, and stores it until expiry (rounded up to the
// millisecond, so that it is never forgotten early).
func (s *Store) Remember(ctx context.Context, key string, expiry time.Time) (bool, error) {
	if expiry.UnixMilli() <= 0 {
		// go-redis would send no expiry at all for a zero time: a key kept
		// forever.
		return false, errors.New("redisstore: expiry not after 1970")
	}
	if ms := expiry.Truncate(time.Millisecond); ms.Before(expiry) {
		expiry = ms.Add(time.Millisecond)
	}
	err := s.client.SetArgs(ctx, s.prefix+key, "1", redis.SetArgs{Mode: "NX", ExpireAt: expiry}).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil):
		return false, nil
	}
	return false, fmt.Errorf("redisstore: %w", err)
}
