package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/token"
)

// reauthSession reads the principal's session from the store, never from a cache: another
// instance may have recorded the re-authentication.
func (s *Core) reauthSession(ctx context.Context, p *Principal) (*gatehouse.Session, error) {
	sess, err := s.store.SessionByID(ctx, p.SessionID)
	if gatehouse.IsCode(err, gatehouse.ENotFound) || (err == nil && (sess.UserID != p.User.ID || !sess.Active(s.clock.Now()))) {
		return nil, errUnauthorized
	}
	return sess, err
}

// RequireRecentAuth returns EReauthRequired unless the principal's session authenticated within
// gatehouse.ReauthWindow.
func (s *Core) RequireRecentAuth(ctx context.Context, p *Principal) error {
	sess, err := s.reauthSession(ctx, p)
	if err != nil {
		return err
	}
	if !s.clock.Now().Before(sess.RecentAuthUntil()) {
		return errReauthRequired
	}
	return nil
}

// startSession creates a session with its cookie, access and refresh tokens, after any
// successful authentication.
func (s *Core) startSession(ctx context.Context, u *gatehouse.User, method string, stay bool, meta ClientMeta) (*Tokens, error) {
	st := s.Settings()
	now := s.clock.Now()
	stay = stay && st.StaySignedInOffset > 0
	expires := now.Add(st.MaxLifetime)
	var cookieAge time.Duration
	if st.SessionDuration > 0 || stay {
		d := st.SessionDuration
		if stay {
			d += st.StaySignedInOffset
		}
		if e := now.Add(d); e.Before(expires) {
			expires = e
		}
		// Max-Age counts whole seconds: round up, so a sub-second duration still gives a
		// persistent cookie (the server-side expiry is what ends the session).
		cookieAge = (expires.Sub(now) + time.Second - 1).Truncate(time.Second)
	}
	cookieTok, cookieHash := token.Opaque()
	refreshTok, refreshHash := token.Opaque()
	accessExp := minTime(now.Add(st.AccessTokenTTL), expires)
	sess := &gatehouse.Session{
		ID: token.RandomID(), UserID: u.ID, TokenHash: cookieHash, AuthMethod: method,
		IP: meta.IP, UserAgent: truncate(meta.UserAgent, 512),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: expires, StaySignedIn: stay, AccessExpMax: accessExp,
		Binding: s.binding.recordBinding(meta.IP),
	}
	rt := &gatehouse.RefreshToken{Hash: refreshHash, SessionID: sess.ID, CreatedAt: now, ExpiresAt: minTime(now.Add(st.RefreshTokenTTL), expires)}
	if err := s.store.CreateSession(ctx, sess, rt); err != nil {
		if gatehouse.IsCode(err, gatehouse.EAccountDisabled) {
			return nil, gatehouse.Errorf(gatehouse.EAccountDisabled, "this account is disabled; ask an administrator")
		}
		return nil, err
	}
	s.primeBinding(sess)
	access, err := s.tokens.Issue(u.ID, sess.ID, sess.AuthMethod, accessExp)
	if err != nil {
		return nil, err
	}
	s.obs.SignIn("succeeded")
	s.event(ctx, gatehouse.EventLoginSucceeded, u.ID, sess.ID, meta, map[string]any{"method": method, "stay_signed_in": stay})
	if st.TerminateOthers {
		// A failure is queued; the new session itself is fine.
		_, _ = s.EndUserSessions(ctx, u.ID, sess.ID, gatehouse.ReasonTerminatedByNewLogin, meta, nil)
	}
	return &Tokens{User: u, Session: sess, CookieToken: cookieTok, AccessToken: access, RefreshToken: refreshTok,
		ExpiresIn: accessExp.Sub(now), CookieMaxAge: cookieAge, DeviceToken: s.devices.issue(u.ID)}, nil
}

// RefreshAccess issues a new access token for the session of the access token p presented
// (seed 001, RustyFile's shape: POST /api/auth/refresh with the Bearer token and no body). The
// caller authenticated p from a Bearer token, which applied every session rule (revocation, idle
// timeout, binding, disabled user); the new token still ends when the session does, so a stolen
// access token is worth no more than the session it belongs to. No refresh token is issued.
func (s *Core) RefreshAccess(ctx context.Context, p *Principal, meta ClientMeta) (*Tokens, error) {
	invalid := gatehouse.Errorf(gatehouse.EUnauthorized, "the access token's session has ended; sign in again")
	if p == nil || p.ViaCookie || p.SessionID == "" {
		return nil, gatehouse.Errorf(gatehouse.EUnauthorized, "send a refresh_token, or an access token as \"Authorization: Bearer <access token>\"")
	}
	now := s.clock.Now()
	sess, err := s.store.SessionByID(ctx, p.SessionID)
	if err != nil {
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, invalid
		}
		return nil, err
	}
	if !sess.Active(now) {
		return nil, invalid
	}
	accessExp := minTime(now.Add(s.Settings().AccessTokenTTL), sess.ExpiresAt)
	if err := s.store.ExtendAccess(ctx, sess.ID, accessExp); err != nil {
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, invalid
		}
		return nil, err
	}
	access, err := s.tokens.Issue(p.User.ID, sess.ID, sess.AuthMethod, accessExp)
	if err != nil {
		return nil, err
	}
	s.event(ctx, gatehouse.EventTokenRefreshed, p.User.ID, sess.ID, meta, map[string]any{"via": "access_token"})
	return &Tokens{User: p.User, Session: sess, AccessToken: access, ExpiresIn: accessExp.Sub(now)}, nil
}

// Refresh exchanges a refresh token for a new access and refresh token. A token presented again
// after RefreshGrace is taken as stolen: the whole session is revoked.
func (s *Core) Refresh(ctx context.Context, refreshTok string, meta ClientMeta) (*Tokens, error) {
	invalid := gatehouse.Errorf(gatehouse.EUnauthorized, "refresh token is invalid or expired")
	if refreshTok == "" || len(refreshTok) > 128 {
		return nil, invalid
	}
	now := s.clock.Now()
	rt, err := s.store.ConsumeRefreshToken(ctx, token.Hash(refreshTok), now)
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	sess, err := s.store.SessionByID(ctx, rt.SessionID)
	if err != nil {
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, invalid
		}
		return nil, err
	}
	// Expiry is checked at use, not left to the cleanup job.
	if !now.Before(rt.ExpiresAt) {
		return nil, invalid
	}
	if rt.UsedAt != nil && s.reused(ctx, refreshTok, *rt.UsedAt, now) {
		s.event(ctx, gatehouse.EventTokenReuseDetected, sess.UserID, sess.ID, meta, map[string]any{"first_used_at": rt.UsedAt.UTC()})
		_, _ = s.endSession(ctx, sess.ID, sess.UserID, gatehouse.ReasonRefreshReuse, meta, nil) // a failed write is queued
		return nil, gatehouse.Errorf(gatehouse.ETokenReuse, "this refresh token was already used; the session has been ended")
	}
	if !sess.Active(now) || s.revoked.Revoked(sess.ID) {
		return nil, invalid
	}
	st := s.Settings()
	if now.Sub(sess.LastSeenAt) > st.IdleTimeout && now.Sub(s.lastSeenLocal(sess)) > st.IdleTimeout {
		_, _ = s.endSession(ctx, sess.ID, sess.UserID, gatehouse.ReasonIdleTimeout, meta, nil)
		return nil, invalid
	}
	if err := s.checkBinding(ctx, sess.ID, sess.UserID, func() ClientMeta { return meta }, func() (*gatehouse.Session, error) { return sess, nil }); err != nil {
		return nil, err
	}
	// Refresh re-checks the user (seed 001): deleted or disabled users get nothing.
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil || u.Disabled {
		if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, err
		}
		return nil, invalid
	}
	next, nextHash := s.tokens.NextRefresh(refreshTok)
	accessExp := minTime(now.Add(st.AccessTokenTTL), sess.ExpiresAt)
	nrt := &gatehouse.RefreshToken{Hash: nextHash, SessionID: sess.ID, CreatedAt: now, ExpiresAt: minTime(now.Add(st.RefreshTokenTTL), sess.ExpiresAt)}
	if err := s.store.AddRefreshToken(ctx, nrt, accessExp); err != nil {
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, invalid
		}
		return nil, err
	}
	access, err := s.tokens.Issue(u.ID, sess.ID, sess.AuthMethod, accessExp)
	if err != nil {
		return nil, err
	}
	s.replaceAccessTokens(ctx, sess.ID, now, accessExp)
	s.noteSeen(sess.ID, nil)
	s.event(ctx, gatehouse.EventTokenRefreshed, u.ID, sess.ID, meta, nil)
	return &Tokens{User: u, Session: sess, AccessToken: access, RefreshToken: next, ExpiresIn: accessExp.Sub(now)}, nil
}

// lastSeenLocal is the most recent use of the session this instance knows of and has not yet
// written to the store.
func (s *Core) lastSeenLocal(sess *gatehouse.Session) time.Time {
	if v, ok := s.bearerSeen.Load(sess.ID); ok {
		if t := time.Unix(0, v.(interface{ Load() int64 }).Load()); t.After(sess.LastSeenAt) {
			return t
		}
	}
	return sess.LastSeenAt
}

// SessionStands reports whether a session stands at this moment: not revoked on any instance,
// not past its absolute end, and not unused for longer than the idle timeout. A session found
// past a limit is ended here, as the request check would end it, so what hangs on the session
// (the OpenID Provider's grants) ends when the limit passes, not when the browser comes back.
// A store that cannot answer counts as "no": tokens are refused rather than trusted blind.
func (s *Core) SessionStands(ctx context.Context, sid string) bool {
	if s.revoked.Revoked(sid) {
		return false
	}
	sess, err := s.store.SessionByID(ctx, sid)
	if err != nil {
		return false
	}
	now := s.clock.Now()
	if sess.RevokedAt != nil {
		return false
	}
	if !now.Before(sess.ExpiresAt) {
		_, _ = s.endSession(ctx, sess.ID, sess.UserID, gatehouse.ReasonMaxLifetime, ClientMeta{}, nil) // a failed write is queued
		return false
	}
	last := s.lastSeenLocal(sess)
	if t := s.sessions.seen(sid); t.After(last) {
		last = t
	}
	if now.Sub(last) > s.Settings().IdleTimeout {
		_, _ = s.endSession(ctx, sess.ID, sess.UserID, gatehouse.ReasonIdleTimeout, ClientMeta{}, nil)
		return false
	}
	return true
}

// Logout ends the principal's session.
func (s *Core) Logout(ctx context.Context, p *Principal, meta ClientMeta) error {
	_, err := s.endSession(ctx, p.SessionID, p.User.ID, gatehouse.ReasonUser, meta, nil)
	return err
}

// endSession is the one place a session ends (DESIGN.md section 1): this instance refuses the
// session at once, whatever the store says; then the revocation is written (the store also
// appends it to the change feed, which carries it to other instances) and a logout event records
// the reason. ended is false when the session was already over. When the store does not take the
// write, the revocation is queued for RetryRevocations and the error is EStoreUnavailable: the
// caller must not report success.
func (s *Core) endSession(ctx context.Context, sid string, userID int64, reason string, meta ClientMeta, extra map[string]any) (ended bool, err error) {
	return s.revoke(ctx, pendingRevocation{sid: sid, userID: userID, reason: reason, meta: meta, extra: extra}, false)
}

func (s *Core) revoke(ctx context.Context, p pendingRevocation, retry bool) (bool, error) {
	ctx = context.WithoutCancel(ctx)
	now := s.clock.Now()
	// The expiry is a safe upper bound for any access token issued for the session.
	s.revoked.Add(p.sid, now.Add(s.Settings().AccessTokenTTL+24*time.Hour))
	s.sessions.drop(p.sid)
	ok, err := s.store.RevokeSession(ctx, p.sid, p.reason, now)
	if err != nil {
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return false, nil
		}
		if !retry {
			s.log.Error("writing a revocation failed; the session is refused here and the revocation is queued", "session_id", p.sid, "err", err)
		}
		s.pending.add(p)
		return false, errRevocationPending()
	}
	if !ok {
		return false, nil
	}
	s.obs.Revoked(p.reason)
	data := map[string]any{"reason": p.reason}
	for k, v := range p.extra {
		data[k] = v
	}
	s.event(ctx, gatehouse.EventLogout, p.userID, p.sid, p.meta, data)
	return true, nil
}

// EndUserSessions ends every active session of the user except `except`, returning how many
// ended. EStoreUnavailable when a revocation (or the list) could not be written or read: the
// sessions this instance knows of are refused here and the rest is queued.
func (s *Core) EndUserSessions(ctx context.Context, userID int64, except, reason string, meta ClientMeta, extra map[string]any) (int, error) {
	return s.endUserSessions(ctx, pendingRevocation{userID: userID, except: except, reason: reason, meta: meta, extra: extra}, false)
}

func (s *Core) endUserSessions(ctx context.Context, p pendingRevocation, retry bool) (int, error) {
	sessions, err := s.store.ListSessions(ctx, p.userID, s.clock.Now())
	if err != nil {
		if !retry {
			s.log.Error("listing sessions to end failed; queued", "user_id", p.userID, "err", err)
		}
		s.sessions.dropUser(p.userID, p.except, func(sid string, exp time.Time) { s.revoked.Add(sid, exp) })
		s.pending.add(p)
		return 0, errRevocationPending()
	}
	n := 0
	var failed error
	for _, sess := range sessions {
		if sess.ID == p.except {
			continue
		}
		one := p
		one.sid = sess.ID
		ended, err := s.revoke(ctx, one, retry)
		if err != nil {
			failed = err
		} else if ended {
			n++
		}
	}
	return n, failed
}

func sessionView(sess *gatehouse.Session, current string, last time.Time) SessionView {
	loc, nw := sessionPlace(sess.Binding)
	return SessionView{Location: loc, Network: nw,
		ID: sess.ID, Current: sess.ID == current, AuthMethod: sess.AuthMethod, IP: sess.IP, UserAgent: sess.UserAgent,
		CreatedAt: sess.CreatedAt, LastSeenAt: last, ExpiresAt: sess.ExpiresAt, StaySignedIn: sess.StaySignedIn,
	}
}

// checkSecret signs everyone out when auth.jwt_secret changed since the last start (seed 000:
// "all current login sessions become invalid… everyone must log in again"; seed 002: "all active
// tokens previously issued can be invalidated by changing this JWT Secret"). Access tokens die
// with the old key anyway; this ends every session (reason secret_rotated, so cookies and refresh
// tokens stop working too) and deletes every unused mailed link, in one transaction, and records
// one event. It runs before the first change-feed poll, so this instance starts with the
// revocations applied; others pick them up from the feed. Of several instances that start with
// the same new secret only the first does it.
func (s *Core) checkSecret(ctx context.Context) error {
	now := s.clock.Now()
	r, err := s.store.RotateSecret(ctx, s.tokens.Fingerprint(), gatehouse.ReasonSecretRotated, now)
	if err != nil {
		return fmt.Errorf("checking the auth.jwt_secret fingerprint: %w", err)
	}
	if !r.Rotated {
		return nil
	}
	s.log.Warn("auth.jwt_secret changed since the last start: every session was ended and every mailed link revoked; everyone signs in again",
		"sessions_ended", r.Sessions, "links_revoked", r.Links)
	s.event(ctx, gatehouse.EventSecretRotated, 0, "", ClientMeta{}, map[string]any{"sessions_ended": r.Sessions, "links_revoked": r.Links})
	return nil
}
