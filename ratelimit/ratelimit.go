// Package ratelimit holds token-bucket limiters keyed by string: one in memory for a single
// instance, one in Redis so several instances share one budget per key.
package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// Memory is an in-process limiter. Idle buckets are swept so an attacker cycling through keys
// cannot grow it without bound for long.
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
	max       int
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
	full time.Duration // time to refill completely; idle longer than this, the bucket is dropped
}

// MaxBuckets bounds the memory of a Memory limiter (a bucket with its key is a few hundred
// bytes). An attacker rotating addresses and logins creates buckets faster than they go idle;
// past the bound, idle buckets are swept at once, and if that is not enough a random tenth is
// dropped: a dropped bucket starts full again, which forgives a few attempts, where refusing new
// keys would lock out every newcomer.
const MaxBuckets = 100_000

// NewMemory returns an in-memory limiter reading the time from now.
func NewMemory(now func() time.Time) *Memory {
	return &Memory{now: now, buckets: map[string]*bucket{}, lastSweep: now(), max: MaxBuckets}
}

// Allow takes one token from key's bucket, which holds burst tokens and regains one per every.
// When refused it returns how long until a token is back.
func (m *Memory) Allow(_ context.Context, key string, burst int, every time.Duration) (bool, time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	b := m.buckets[key]
	lim := rate.Every(every)
	if b == nil && len(m.buckets) >= m.max {
		m.makeRoom(now)
	}
	if b == nil || b.lim.Burst() != burst || b.lim.Limit() != lim {
		// A settings change starts a fresh bucket: simpler than converting tokens.
		b = &bucket{lim: rate.NewLimiter(lim, burst)}
		m.buckets[key] = b
	}
	b.seen = now
	b.full = time.Duration(burst) * every
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, every, nil
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d, nil
	}
	return true, 0, nil
}

// Peek reports whether key's bucket holds need tokens, without taking them, and if not how long
// until one more is back. Callers that charge only some outcomes (failed sign-ins) peek first,
// with need counting their own attempts in flight, and Allow afterwards.
func (m *Memory) Peek(_ context.Context, key string, need, burst int, every time.Duration) (bool, time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.buckets[key]
	tokens := float64(burst)
	if b != nil && b.lim.Burst() == burst && b.lim.Limit() == rate.Every(every) {
		tokens = b.lim.TokensAt(now)
	}
	if tokens >= float64(need) {
		return true, 0, nil
	}
	if tokens >= 1 {
		// Enough for one, but the others in flight may take them: back in at most one period.
		return false, every, nil
	}
	return false, time.Duration((1 - tokens) * float64(every)), nil
}

// Reset forgets key's bucket (after a successful sign-in, for example).
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.buckets, key)
	m.mu.Unlock()
	return nil
}

// Len reports how many buckets are held, for tests and metrics.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets)
}

// sweep drops buckets that have been idle long enough to be full again: dropping them changes
// nothing a client can observe. It runs at most once a minute.
func (m *Memory) sweep(now time.Time) {
	if now.Sub(m.lastSweep) < time.Minute {
		return
	}
	m.lastSweep = now
	for k, b := range m.buckets {
		if now.Sub(b.seen) > b.full {
			delete(m.buckets, k)
		}
	}
}

// makeRoom runs when the map is full: a sweep of idle buckets, then, if the map is still more
// than nine tenths full, dropping buckets at random (map order) down to nine tenths. A bucket
// that is refusing (less than one token) is never dropped: that would hand an attacker a fresh
// budget for the very key being limited. If every bucket is refusing, the map grows past the
// bound; each of those buckets cost an attacker a whole burst, and the sweep drops them once full.
func (m *Memory) makeRoom(now time.Time) {
	m.lastSweep = time.Time{}
	m.sweep(now)
	for k, b := range m.buckets {
		if len(m.buckets) <= m.max*9/10 {
			break
		}
		if b.lim.TokensAt(now) < 1 {
			continue
		}
		delete(m.buckets, k)
	}
}

// Redis is a limiter shared by every instance using the same Redis (GCRA, via redis_rate).
type Redis struct {
	lim *redis_rate.Limiter
}

// keyPrefix keeps gatehouse's keys apart from anything else in the same Redis database.
const keyPrefix = "gatehouse:rl:"

// NewRedis returns a limiter on c.
func NewRedis(c *redis.Client) *Redis {
	return &Redis{lim: redis_rate.NewLimiter(c)}
}

// Allow is Memory.Allow with the state in Redis.
func (r *Redis) Allow(ctx context.Context, key string, burst int, every time.Duration) (bool, time.Duration, error) {
	res, err := r.lim.Allow(ctx, keyPrefix+key, redis_rate.Limit{Rate: 1, Period: every, Burst: burst})
	if err != nil {
		return false, 0, err
	}
	if res.Allowed > 0 {
		return true, 0, nil
	}
	return false, res.RetryAfter, nil
}

// Peek is Memory.Peek with the state in Redis: a request of cost zero reads the bucket.
func (r *Redis) Peek(ctx context.Context, key string, need, burst int, every time.Duration) (bool, time.Duration, error) {
	res, err := r.lim.AllowN(ctx, keyPrefix+key, redis_rate.Limit{Rate: 1, Period: every, Burst: burst}, 0)
	if err != nil {
		return false, 0, err
	}
	if res.Remaining >= need {
		return true, 0, nil
	}
	// Remaining is whole tokens; the wait for the next one is at most one period.
	return false, every, nil
}

// Reset forgets key's bucket.
func (r *Redis) Reset(ctx context.Context, key string) error {
	return r.lim.Reset(ctx, keyPrefix+key)
}
