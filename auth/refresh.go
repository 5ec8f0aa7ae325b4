package auth

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/token"
)

// reused reports whether presenting a spent refresh token is reuse (theft): after RefreshGrace,
// or at any time once its successor has itself been used. The grace exists for a client whose
// two tabs refreshed at once, which never get past the successor; a thief replaying a spent
// token after the owner moved on does.
func (s *Core) reused(ctx context.Context, refreshTok string, usedAt, now time.Time) bool {
	if now.Sub(usedAt) > RefreshGrace {
		return true
	}
	_, nextHash := s.tokens.NextRefresh(refreshTok)
	used, err := s.store.RefreshTokenUsed(ctx, nextHash)
	if err != nil {
		// Unknown: the safe answer is reuse (the session ends; the owner signs in again).
		s.log.Error("checking a refresh token's successor failed; treating it as reuse", "err", err)
		return true
	}
	return used
}

// replaceAccessTokens makes the session's access tokens issued before now stop working (seed 001:
// refreshed tokens are blocklisted): here at once, elsewhere through the change feed.
func (s *Core) replaceAccessTokens(ctx context.Context, sid string, now, lastExp time.Time) {
	s.raiseNotBefore(sid, now.UnixMilli())
	err := s.store.AddChange(context.WithoutCancel(ctx), &gatehouse.Change{Kind: gatehouse.ChangeSessionRefreshed, Subject: sid, At: now, ExpiresAt: lastExp.Add(s.Settings().AccessTokenTTL)})
	if err != nil {
		// The old tokens still expire within the access-token lifetime.
		s.log.Error("recording a refresh for other instances failed", "session_id", sid, "err", err)
	}
}

func (s *Core) raiseNotBefore(sid string, ms int64) {
	for {
		v, loaded := s.notBefore.LoadOrStore(sid, ms)
		if !loaded || v.(int64) >= ms || s.notBefore.CompareAndSwap(sid, v, ms) {
			return
		}
	}
}

// replaced reports whether a refresh of the token's session has replaced it.
func (s *Core) replaced(c *token.Claims) bool {
	v, ok := s.notBefore.Load(c.SID)
	return ok && c.IssuedAtMs() < v.(int64)
}
