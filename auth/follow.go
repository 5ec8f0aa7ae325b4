package auth

import (
	"context"
	"time"
)

// Background intervals. The feed poll interval is what "a logout on one instance is honoured by
// every other within about a second" rests on.
const (
	feedInterval    = time.Second
	flushInterval   = 30 * time.Second
	janitorInterval = 10 * time.Minute
	janitorBatch    = 1000
)

// PollChanges applies every change-feed row newer than the last one applied.
func (s *Core) PollChanges(ctx context.Context) error {
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	for {
		rows, err := s.store.ChangesSince(ctx, s.lastChange, s.clock.Now(), 1000)
		if err != nil {
			return err
		}
		for _, c := range rows {
			s.applyChange(ctx, c)
			s.lastChange = c.ID
		}
		if len(rows) < 1000 {
			return nil
		}
	}
}

// FlushLastSeen writes the last-seen times gathered since the previous flush in one batch.
func (s *Core) FlushLastSeen(ctx context.Context) error {
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

// Cleanup removes expired sessions, refresh tokens and feed rows in small batches, pausing
// between them so it never holds the database for long, and prunes in-memory state.
func (s *Core) Cleanup(ctx context.Context) error {
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

// Run follows the change feed, flushes last-seen times and cleans up until ctx ends; then it
// flushes once more. notify, when not nil, wakes the feed poll early (PostgreSQL NOTIFY).
func (s *Core) Run(ctx context.Context, notify <-chan struct{}) {
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
			s.RetryRevocations(fctx)
			if err := s.FlushLastSeen(fctx); err != nil {
				s.log.Error("flushing last-seen times failed", "err", err)
			}
			cancel()
			return
		case <-notify:
			s.pollLogged(ctx)
		case <-feed.C:
			s.pollLogged(ctx)
		case <-flush.C:
			if err := s.FlushLastSeen(ctx); err != nil {
				s.log.Error("flushing last-seen times failed", "err", err)
			}
		case <-retry.C:
			s.RetryRevocations(ctx)
		case <-janitor.C:
			if err := s.Cleanup(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("cleanup failed", "err", err)
			}
		}
	}
}

func (s *Core) pollLogged(ctx context.Context) {
	if err := s.PollChanges(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("following the change feed failed", "err", err)
	}
}
