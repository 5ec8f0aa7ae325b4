package auth

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Background is the Core's work outside requests: following the change feed (so a sign-out or a
// settings change on one instance reaches every other), writing last-seen times in batches,
// retrying revocations the store did not take, and the janitor. It keeps the Core's caches, so
// it lives beside them in package auth; App.Background is the one handle, and Run its loop.
type Background struct {
	c *Core

	feedMu     sync.Mutex // one feed poll at a time
	lastChange int64
	// followers are features that keep caches of their own (access rules, groups); each gets
	// every feed row after the core has applied it.
	followers []func(context.Context, gatehouse.Change)
}

// Follow registers f for every change-feed row applied from now on. Call it before Run.
func (b *Background) Follow(f func(context.Context, gatehouse.Change)) {
	b.feedMu.Lock()
	b.followers = append(b.followers, f)
	b.feedMu.Unlock()
}

// Background intervals. The feed poll interval is what "a logout on one instance is honoured by
// every other within about a second" rests on.
const (
	feedInterval    = time.Second
	flushInterval   = 30 * time.Second
	janitorInterval = 10 * time.Minute
	janitorBatch    = 1000
)

// PollChanges applies every change-feed row newer than the last one applied.
func (b *Background) PollChanges(ctx context.Context) error {
	s := b.c
	b.feedMu.Lock()
	defer b.feedMu.Unlock()
	for {
		rows, err := s.store.ChangesSince(ctx, b.lastChange, s.clock.Now(), 1000)
		if err != nil {
			return err
		}
		for _, c := range rows {
			b.applyChange(ctx, c)
			b.lastChange = c.ID
		}
		if len(rows) < 1000 {
			return nil
		}
	}
}

// FlushLastSeen writes the last-seen times gathered since the previous flush in one batch.
func (b *Background) FlushLastSeen(ctx context.Context) error {
	s := b.c
	d := s.sessions.takeDirty()
	if len(d) == 0 {
		return nil
	}
	if err := s.store.TouchSessions(ctx, d); err != nil {
		// Put them back so the next flush retries; newer times win.
		for id, t := range d {
			s.sessions.dirtyMu.Lock()
			if cur, ok := s.sessions.dirty[id]; !ok || t.After(cur) {
				s.sessions.dirty[id] = t
			}
			s.sessions.dirtyMu.Unlock()
		}
		return err
	}
	return nil
}

// Cleanup removes expired sessions, refresh tokens, feed rows and unactivated accounts in small batches, pausing
// between them so it never holds the database for long, and prunes in-memory state.
func (b *Background) Cleanup(ctx context.Context) error {
	s := b.c
	now := s.clock.Now()
	for {
		n, err := s.store.DeleteExpired(ctx, now, janitorBatch)
		if err != nil {
			return err
		}
		if n < janitorBatch {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := b.purgePending(ctx, now); err != nil {
		return err
	}
	s.revoked.Prune(now)
	s.bearerSeen.Range(func(k, v any) bool {
		if now.Sub(time.Unix(0, v.(interface{ Load() int64 }).Load())) > 24*time.Hour {
			s.bearerSeen.Delete(k)
		}
		return true
	})
	ttl := s.Settings().AccessTokenTTL
	s.notBefore.Range(func(k, v any) bool {
		// Every token issued before it has expired by now.
		if now.Sub(time.UnixMilli(v.(int64))) > ttl+time.Minute {
			s.notBefore.Delete(k)
		}
		return true
	})
	s.sidOwner.Range(func(k, _ any) bool {
		if _, ok := s.bearerSeen.Load(k); !ok {
			s.sidOwner.Delete(k)
		}
		return true
	})
	return nil
}

// purgePending deletes pending accounts whose activation expired unused, so that an address
// someone registered without proving it is not held forever. An account whose activation link
// (or a reset link, which would activate it) is still valid stays.
func (b *Background) purgePending(ctx context.Context, now time.Time) error {
	s := b.c
	for {
		gone, err := s.store.PurgePendingUsers(ctx, now, janitorBatch)
		for _, u := range gone {
			s.users.drop(u.ID)
			s.event(ctx, gatehouse.EventPendingPurged, u.ID, "", ClientMeta{}, map[string]any{"username": u.Username})
		}
		if err != nil || len(gone) < janitorBatch {
			return err
		}
	}
}

// Run follows the change feed, flushes last-seen times and cleans up until ctx ends; then it
// flushes once more. notify, when not nil, wakes the feed poll early (PostgreSQL NOTIFY).
func (b *Background) Run(ctx context.Context, notify <-chan struct{}) {
	s := b.c
	feed := time.NewTicker(feedInterval)
	flush := time.NewTicker(flushInterval)
	janitor := time.NewTicker(janitorInterval)
	retry := time.NewTicker(revokeRetryInterval)
	defer retry.Stop()
	defer feed.Stop()
	defer flush.Stop()
	defer janitor.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			b.RetryRevocations(fctx)
			if err := b.FlushLastSeen(fctx); err != nil {
				s.log.Error("flushing last-seen times failed", "err", err)
			}
			cancel()
			return
		case <-notify:
			b.pollLogged(ctx)
		case <-feed.C:
			b.pollLogged(ctx)
		case <-flush.C:
			if err := b.FlushLastSeen(ctx); err != nil {
				s.log.Error("flushing last-seen times failed", "err", err)
			}
		case <-retry.C:
			b.RetryRevocations(ctx)
		case <-janitor.C:
			if err := b.Cleanup(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("cleanup failed", "err", err)
			}
		}
	}
}

func (b *Background) pollLogged(ctx context.Context) {
	s := b.c
	if err := b.PollChanges(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("following the change feed failed", "err", err)
	}
}

// applyChange updates caches for one change-feed row.
func (b *Background) applyChange(ctx context.Context, c gatehouse.Change) {
	s := b.c
	switch c.Kind {
	case gatehouse.ChangeSessionRevoked:
		s.revoked.Add(c.Subject, c.ExpiresAt)
		s.sessions.drop(c.Subject)
	case gatehouse.ChangeSessionUpgraded:
		// Re-read on the next request: its AuthMethod changed (step-up).
		s.sessions.drop(c.Subject)
	case gatehouse.ChangeSessionRefreshed:
		s.raiseNotBefore(c.Subject, c.At.UnixMilli())
	case gatehouse.ChangeUser:
		if id, err := strconv.ParseInt(c.Subject, 10, 64); err == nil {
			s.users.drop(id)
		}
	case gatehouse.ChangeSettings:
		if err := s.reloadSettings(ctx); err != nil {
			s.log.Error("reloading settings failed", "err", err)
		}
	}
	for _, f := range b.followers {
		f(ctx, c)
	}
}
