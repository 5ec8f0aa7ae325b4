package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeout bounds every Redis call of a Fallback. A sign-in makes a few limiter calls; with Redis
// hung each would otherwise wait for the client's read timeout (seconds), and the sign-in with it.
const Timeout = 100 * time.Millisecond

// RetryEvery is how often a Fallback in an outage tries Redis again. Between tries it does not
// touch Redis at all, so a hung Redis costs one timeout per interval, not one per request.
const RetryEvery = time.Second

// Fallback is the shared Redis limiter with this instance's in-memory limiter behind it. On any
// Redis error (down, hung past Timeout, refused) it answers from memory: limits still hold, only
// per instance instead of shared. It logs once when an outage starts and once when Redis is
// back; Redis is retried at most every RetryEvery, so recovery needs no restart.
type Fallback struct {
	shared *Redis
	local  *Memory
	now    func() time.Time
	log    *slog.Logger

	mu        sync.Mutex
	down      bool
	since     time.Time // start of the current outage
	nextTry   time.Time
	fallbacks atomic.Uint64
}

// NewFallback returns a limiter that prefers shared and falls back to local.
func NewFallback(shared *Redis, local *Memory, now func() time.Time, log *slog.Logger) *Fallback {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Fallback{shared: shared, local: local, now: now, log: log}
}

// Allow implements the limiter with Redis, or memory during an outage.
func (f *Fallback) Allow(ctx context.Context, key string, burst int, every time.Duration) (bool, time.Duration, error) {
	if f.useShared() {
		c, cancel := context.WithTimeout(ctx, Timeout)
		ok, retry, err := f.shared.Allow(c, key, burst, every)
		cancel()
		if f.result(ctx, err) {
			return ok, retry, nil
		}
	}
	return f.local.Allow(ctx, key, burst, every)
}

// Peek implements the limiter with Redis, or memory during an outage.
func (f *Fallback) Peek(ctx context.Context, key string, need, burst int, every time.Duration) (bool, time.Duration, error) {
	if f.useShared() {
		c, cancel := context.WithTimeout(ctx, Timeout)
		ok, retry, err := f.shared.Peek(c, key, need, burst, every)
		cancel()
		if f.result(ctx, err) {
			return ok, retry, nil
		}
	}
	return f.local.Peek(ctx, key, need, burst, every)
}

// Reset forgets key in both places: a bucket filled during an outage must not outlive it.
func (f *Fallback) Reset(ctx context.Context, key string) error {
	_ = f.local.Reset(ctx, key)
	if f.useShared() {
		c, cancel := context.WithTimeout(ctx, Timeout)
		err := f.shared.Reset(c, key)
		cancel()
		f.result(ctx, err)
	}
	return nil
}

// useShared reports whether to try Redis: always when it is up, once per RetryEvery when not.
func (f *Fallback) useShared() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down {
		return true
	}
	now := f.now()
	if now.Before(f.nextTry) {
		f.fallbacks.Add(1)
		return false
	}
	f.nextTry = now.Add(RetryEvery)
	return true
}

// result records what a Redis call did and reports whether its answer can be used. A call the
// caller itself cancelled (client gone) says nothing about Redis.
func (f *Fallback) result(ctx context.Context, err error) bool {
	if err != nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	switch {
	case err != nil && !f.down:
		f.down, f.since, f.nextTry = true, now, now.Add(RetryEvery)
		f.fallbacks.Add(1)
		// The error text is the client's (address and cause); the URL with its password is not in it.
		f.log.Warn("Redis unreachable: rate limits now count on this instance only until it is back", "err", err.Error())
	case err != nil:
		f.fallbacks.Add(1)
	case f.down:
		f.down = false
		f.log.Info("Redis answers again: rate limits are shared again", "outage", now.Sub(f.since).Round(time.Millisecond).String())
	}
	return err == nil
}

// Status reports whether the shared limiter is in use, and since when it is not; for /readyz.
func (f *Fallback) Status() (shared bool, downSince time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.down, f.since
}

// Fallbacks counts limiter calls answered from memory because Redis failed; for /metrics.
func (f *Fallback) Fallbacks() uint64 { return f.fallbacks.Load() }

// TuneClient sets a Redis client's timeouts for rate limiting: every wait is bounded by Timeout
// and honours the context, and a failed command is not retried (the fallback answers instead).
func TuneClient(o *redis.Options) {
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = Timeout, Timeout, Timeout, Timeout
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1
}
