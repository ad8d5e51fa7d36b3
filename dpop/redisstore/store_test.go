package redisstore_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bearerkit/bearerkit/dpop"
	"github.com/bearerkit/bearerkit/dpop/redisstore"
)

// The tests run against the real Redis every machine of the project runs;
// they fail, never skip, when it is missing.
const (
	redisAddr = "127.0.0.1:6379"
	startHint = `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no`
)

// newClient connects to the local Redis; each call is one replica's client.
func newClient(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisAddr, DialTimeout: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		tb.Fatalf("Redis at %s is unreachable (%v). These tests need it; start it with:\n\t%s", redisAddr, err, startHint)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// testPrefix returns a key prefix of the test's own, and deletes every key
// under it when the test ends.
func testPrefix(tb testing.TB, c *redis.Client) string {
	prefix := "bearerkit-test:" + rand.Text() + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		keys, err := c.Keys(ctx, prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			err = c.Del(ctx, keys...).Err()
		}
		if err != nil {
			tb.Errorf("cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

// keysUnder lists the keys under prefix.
func keysUnder(tb testing.TB, c *redis.Client, prefix string) []string {
	tb.Helper()
	keys, err := c.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		tb.Fatal(err)
	}
	return keys
}

const testURL = "https://api.example.com/orders"

func testRequest() dpop.Request {
	u, _ := url.Parse(testURL)
	return dpop.Request{Method: "POST", URL: u}
}

func newSigner(tb testing.TB) *dpop.Signer {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := dpop.NewSigner(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func proof(tb testing.TB, s *dpop.Signer) string {
	p, err := s.Proof("POST", testURL, "", "")
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func newVerifier(tb testing.TB, store dpop.ReplayStore) *dpop.Verifier {
	v, err := dpop.NewVerifier(dpop.Config{Replay: store})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// TestL3ReplayAcrossReplicas: two replicas behind one load balancer, each
// with its own verifier and Redis client, share replay state: a proof one
// accepted is refused by the other.
func TestL3ReplayAcrossReplicas(t *testing.T) {
	a, b := newClient(t), newClient(t)
	prefix := testPrefix(t, a)
	replicaA := newVerifier(t, redisstore.New(a, prefix))
	replicaB := newVerifier(t, redisstore.New(b, prefix))
	s := newSigner(t)
	ctx := context.Background()

	for i, order := range [][2]*dpop.Verifier{{replicaA, replicaB}, {replicaB, replicaA}} {
		p := proof(t, s)
		if _, err := order[0].Verify(ctx, p, testRequest()); err != nil {
			t.Fatalf("round %d, first replica: %v", i, err)
		}
		_, err := order[1].Verify(ctx, p, testRequest())
		var de *dpop.Error
		if !errors.Is(err, dpop.ErrInvalidProof) || !errors.As(err, &de) || de.Reason != "jti_replayed" {
			t.Fatalf("round %d, second replica: err = %v, want jti_replayed", i, err)
		}
	}
	keys := keysUnder(t, a, prefix)
	if len(keys) != 2 {
		t.Fatalf("%d keys under the prefix, want 2", len(keys))
	}
	for _, k := range keys {
		if len(k) != len(prefix)+43 {
			t.Errorf("key %q is not the prefix and a 43-byte hash", k)
		}
	}
}

// TestExpirySet: keys carry the expiry they were given, to the millisecond,
// and an expiry already past leaves nothing behind.
func TestExpirySet(t *testing.T) {
	c := newClient(t)
	prefix := testPrefix(t, c)
	store := redisstore.New(c, prefix)
	ctx := context.Background()

	expiry := time.Now().Add(65 * time.Second)
	if fresh, err := store.Remember(ctx, "k", expiry); err != nil || !fresh {
		t.Fatalf("Remember: fresh %v, err %v", fresh, err)
	}
	want := expiry.Truncate(time.Millisecond).Add(time.Millisecond) // rounded up
	if got := expireTime(t, c, prefix+"k"); !got.Equal(want) {
		t.Fatalf("key expires at %v, want %v", got, want)
	}
	ttl, err := c.PTTL(ctx, prefix+"k").Result()
	if err != nil || ttl <= 60*time.Second {
		t.Fatalf("PTTL = %v (err %v), want about 65 s", ttl, err)
	}
	if fresh, err := store.Remember(ctx, "k", time.Now().Add(time.Hour)); err != nil || fresh {
		t.Fatalf("second Remember: fresh %v, err %v; want a replay", fresh, err)
	}
	if ttl2, _ := c.PTTL(ctx, prefix+"k").Result(); ttl2 > ttl {
		t.Fatalf("a replay extended the expiry from %v to %v", ttl, ttl2)
	}

	if fresh, err := store.Remember(ctx, "past", time.Now().Add(-time.Second)); err != nil || !fresh {
		t.Fatalf("past expiry: fresh %v, err %v", fresh, err)
	}
	if n, _ := c.Exists(ctx, prefix+"past").Result(); n != 0 {
		t.Fatal("a key with a past expiry was kept")
	}
	if _, err := store.Remember(ctx, "zero", time.Time{}); err == nil {
		t.Fatal("a zero expiry was accepted")
	}
	if n, _ := c.Exists(ctx, prefix+"zero").Result(); n != 0 {
		t.Fatal("a key without expiry was stored")
	}

	// Through a verifier: the key lives until iat + MaxAge + Leeway (65 s).
	v := newVerifier(t, redisstore.New(c, prefix+"v:"))
	p, err := v.Verify(ctx, proof(t, newSigner(t)), testRequest())
	if err != nil {
		t.Fatal(err)
	}
	keys := keysUnder(t, c, prefix+"v:")
	if len(keys) != 1 {
		t.Fatalf("%d keys after one proof, want 1", len(keys))
	}
	if got, want := expireTime(t, c, keys[0]), p.IssuedAt.Add(65*time.Second); !got.Equal(want) {
		t.Fatalf("key expires at %v, want %v", got, want)
	}
}

// expireTime reads a key's absolute expiry (PEXPIRETIME).
func expireTime(tb testing.TB, c *redis.Client, key string) time.Time {
	tb.Helper()
	at, err := c.PExpireTime(context.Background(), key).Result()
	if err != nil || at <= 0 {
		tb.Fatalf("PEXPIRETIME %s = %v, %v: no expiry", key, at, err)
	}
	return time.UnixMilli(at.Milliseconds())
}

// TestConcurrentRememberOneFresh: 50 goroutines remembering one key at once
// → exactly one fresh.
func TestConcurrentRememberOneFresh(t *testing.T) {
	c := newClient(t)
	store := redisstore.New(c, testPrefix(t, c))
	expiry := time.Now().Add(time.Minute)
	var fresh, replays atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			ok, err := store.Remember(context.Background(), "one", expiry)
			switch {
			case err != nil:
				t.Error(err)
			case ok:
				fresh.Add(1)
			default:
				replays.Add(1)
			}
		})
	}
	wg.Wait()
	if fresh.Load() != 1 || replays.Load() != 49 {
		t.Fatalf("fresh %d, replays %d; want 1 and 49", fresh.Load(), replays.Load())
	}
}

// TestUnreachableFailsClosed: with Redis unreachable, or the request's
// context ended, a valid proof is refused with ErrReplayStore (503), not
// ErrInvalidProof, and never accepted.
func TestUnreachableFailsClosed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()
	down := redis.NewClient(&redis.Options{Addr: closedAddr, MaxRetries: -1, DialTimeout: time.Second})
	defer down.Close()

	up := newClient(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		client *redis.Client
		ctx    context.Context
	}{
		{"closed port", down, context.Background()},
		{"cancelled context", up, cancelled},
	}
	s := newSigner(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, redisstore.New(tt.client, testPrefix(t, up)))
			p, err := v.Verify(tt.ctx, proof(t, s), testRequest())
			var de *dpop.Error
			if p != nil || !errors.Is(err, dpop.ErrReplayStore) || errors.Is(err, dpop.ErrInvalidProof) ||
				!errors.As(err, &de) || de.Reason != "replay_store" {
				t.Fatalf("Verify = %v, %v; want ErrReplayStore only", p, err)
			}
			if !strings.Contains(err.Error(), "redisstore") {
				t.Fatalf("error %q does not name the store", err)
			}
		})
	}
}

func TestDefaultPrefix(t *testing.T) {
	c := newClient(t)
	key := "test-" + rand.Text()
	t.Cleanup(func() { c.Del(context.Background(), redisstore.DefaultPrefix+key) })
	if _, err := redisstore.New(c, "").Remember(context.Background(), key, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Exists(context.Background(), redisstore.DefaultPrefix+key).Result(); n != 1 {
		t.Fatal("the key is not under DefaultPrefix")
	}
}
