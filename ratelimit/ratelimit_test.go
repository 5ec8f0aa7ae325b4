package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/internal/testdb"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestMemoryBucket(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	m := NewMemory(clk.Now)
	ctx := context.Background()
	for i := range 3 {
		if ok, _, _ := m.Allow(ctx, "k", 3, 10*time.Second); !ok {
			t.Fatalf("attempt %d refused within the burst", i+1)
		}
	}
	ok, retry, _ := m.Allow(ctx, "k", 3, 10*time.Second)
	if ok || retry <= 0 || retry > 10*time.Second {
		t.Fatalf("4th attempt: ok=%v retry=%v, want refused with 0 < retry <= 10s", ok, retry)
	}
	// Another key has its own budget.
	if ok, _, _ := m.Allow(ctx, "other", 3, 10*time.Second); !ok {
		t.Fatal("other key refused")
	}
	// Refused attempts do not consume tokens: after one period exactly one more is allowed.
	clk.Add(10 * time.Second)
	if ok, _, _ := m.Allow(ctx, "k", 3, 10*time.Second); !ok {
		t.Fatal("refused after refill")
	}
	if ok, _, _ := m.Allow(ctx, "k", 3, 10*time.Second); ok {
		t.Fatal("allowed twice after one token refilled")
	}
	// Reset gives the full burst back.
	_ = m.Reset(ctx, "k")
	for range 3 {
		if ok, _, _ := m.Allow(ctx, "k", 3, 10*time.Second); !ok {
			t.Fatal("refused after reset")
		}
	}
}

func TestMemorySweepsIdleBuckets(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	m := NewMemory(clk.Now)
	ctx := context.Background()
	for i := range 100 {
		_, _, _ = m.Allow(ctx, hex.EncodeToString([]byte{byte(i)}), 5, time.Second)
	}
	if m.Len() != 100 {
		t.Fatalf("Len = %d, want 100", m.Len())
	}
	clk.Add(2 * time.Minute)
	_, _, _ = m.Allow(ctx, "new", 5, time.Second)
	if m.Len() != 1 {
		t.Fatalf("after idle sweep Len = %d, want 1", m.Len())
	}
}

func TestRedisSharedBudget(t *testing.T) {
	opts, err := redis.ParseURL(testdb.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c1, c2 := redis.NewClient(opts), redis.NewClient(opts)
	defer c1.Close()
	defer c2.Close()
	if err := c1.Ping(ctx).Err(); err != nil {
		testdb.Unavailable(t, "redis", err.Error())
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	key := "test:" + hex.EncodeToString(b[:])
	a, bb := NewRedis(c1), NewRedis(c2)
	defer func() { _ = a.Reset(ctx, key) }()
	// Two instances share one budget of 4.
	allowed := 0
	for i := range 6 {
		l := a
		if i%2 == 1 {
			l = bb
		}
		ok, retry, err := l.Allow(ctx, key, 4, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			allowed++
		} else if retry <= 0 || retry > time.Minute {
			t.Fatalf("refused with retry %v", retry)
		}
	}
	if allowed != 4 {
		t.Fatalf("allowed %d of 6 across two instances, want 4", allowed)
	}
	if err := bb.Reset(ctx, key); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := a.Allow(ctx, key, 4, time.Minute); !ok {
		t.Fatal("refused after reset")
	}
	// Keys are namespaced (redis_rate adds its own "rate:" in front).
	if n, _ := c1.Exists(ctx, "rate:"+keyPrefix+key).Result(); n != 1 {
		t.Fatalf("key %q not found under the gatehouse prefix", "rate:"+keyPrefix+key)
	}
}

// An attacker rotating keys faster than buckets go idle cannot grow the map past its bound.
func TestMemoryBounded(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	m := NewMemory(clk.Now)
	m.max = 1000
	ctx := context.Background()
	for i := range 10_000 {
		_, _, _ = m.Allow(ctx, fmt.Sprintf("ip:%d", i), 10, 90*time.Second)
		if m.Len() > 1000 {
			t.Fatalf("after %d keys the limiter holds %d buckets, over its bound of 1000", i+1, m.Len())
		}
	}
	if m.Len() < 900 {
		t.Fatalf("the limiter dropped too much: %d buckets left", m.Len())
	}
}

type limiter interface {
	Allow(ctx context.Context, key string, burst int, every time.Duration) (bool, time.Duration, error)
	Peek(ctx context.Context, key string, need, burst int, every time.Duration) (bool, time.Duration, error)
}

// checkPeek: Peek never takes a token, and says no with a wait once the bucket is empty.
func checkPeek(t *testing.T, l limiter, key string) {
	t.Helper()
	ctx := context.Background()
	for i := range 3 {
		for range 5 {
			if ok, _, err := l.Peek(ctx, key, 1, 3, time.Minute); err != nil || !ok {
				t.Fatalf("peek with %d of 3 tokens taken: %v %v", i, ok, err)
			}
		}
		if ok, _, _ := l.Allow(ctx, key, 3, time.Minute); !ok {
			t.Fatalf("allow %d of 3 refused after peeks", i+1)
		}
	}
	ok, retry, err := l.Peek(ctx, key, 1, 3, time.Minute)
	if err != nil || ok || retry <= 0 || retry > time.Minute {
		t.Fatalf("peek at an empty bucket: ok=%v retry=%v err=%v", ok, retry, err)
	}
}

func TestMemoryPeek(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	checkPeek(t, NewMemory(clk.Now), "k")
}

func TestRedisPeek(t *testing.T) {
	opts, err := redis.ParseURL(testdb.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		testdb.Unavailable(t, "redis", err.Error())
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	checkPeek(t, NewRedis(c), "peek-test-"+hex.EncodeToString(b[:]))
}

// Making room never drops a bucket that is refusing: an attacker filling the map with fresh keys
// must not win back the budget of the key being limited.
func TestMemoryEvictionKeepsRefusingBuckets(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	m := NewMemory(clk.Now)
	m.max = 100
	ctx := context.Background()
	for range 3 {
		_, _, _ = m.Allow(ctx, "victim", 3, time.Hour)
	}
	if ok, _, _ := m.Allow(ctx, "victim", 3, time.Hour); ok {
		t.Fatal("the 4th attempt was allowed")
	}
	for i := range 5000 {
		_, _, _ = m.Allow(ctx, fmt.Sprintf("flood-%d", i), 3, time.Hour)
		if ok, _, _ := m.Peek(ctx, "victim", 1, 3, time.Hour); ok {
			t.Fatalf("after %d flood keys the refusing bucket was dropped", i+1)
		}
	}
	if m.Len() > 100 {
		t.Fatalf("%d buckets held; the bound is 100 while the flood's buckets can be dropped", m.Len())
	}
}
