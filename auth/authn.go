package auth

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/token"
)

// Principal is who a request is from: the user and the session behind the credential.
type Principal struct {
	User      *gatehouse.User
	SessionID string
	// ViaCookie is true when the credential was the session cookie (CSRF rules apply).
	ViaCookie bool
	// AuthMethod is how the session was authenticated (gatehouse.Auth*): for cookies the
	// session's current method (a step-up changes it), for Bearer tokens the method the token
	// was minted with (its auth_method claim; a refresh after a step-up carries the new one).
	AuthMethod string
}

// SecondFactor reports whether the session's sign-in included a second factor (TOTP, a
// recovery code or a passkey): what an access rule with policy two_factor asks for.
func (p *Principal) SecondFactor() bool {
	switch p.AuthMethod {
	case gatehouse.AuthTOTP, gatehouse.AuthRecoveryCode, gatehouse.AuthPasskey:
		return true
	}
	return false
}

// touchEvery bounds how often one session's last-seen time is recorded; idle timeouts are at
// least a minute, so this precision is enough and the hot path rarely takes a lock.
const touchEvery = 30 * time.Second

// cachedSession is what the request check needs of a session row.
type cachedSession struct {
	id        string
	userID    int64
	method    string // AuthMethod
	expiresAt time.Time
	lastSeen  atomic.Int64 // unix nanoseconds
}

// sessionCache maps cookie token hashes to live sessions, and session ids to the same entries
// so a revocation can drop them. It is bounded: when full it is cleared (entries refill from
// the database on the next miss), which keeps memory flat under any number of sessions.
type sessionCache struct {
	mu     sync.RWMutex
	byHash map[[32]byte]*cachedSession
	byID   map[string][32]byte // session id -> token hash
	max    int

	dirtyMu sync.Mutex
	dirty   map[string]time.Time // last-seen times not yet written

	bound *boundCache // session binding data by session id (binding.go)
}

func newSessionCache() *sessionCache {
	return &sessionCache{byHash: map[[32]byte]*cachedSession{}, byID: map[string][32]byte{}, dirty: map[string]time.Time{}, max: 200_000, bound: newBoundCache()}
}

func (c *sessionCache) get(hash [32]byte) *cachedSession {
	c.mu.RLock()
	e := c.byHash[hash]
	c.mu.RUnlock()
	return e
}

func (c *sessionCache) put(hash [32]byte, e *cachedSession) {
	c.mu.Lock()
	if len(c.byHash) >= c.max {
		c.byHash = map[[32]byte]*cachedSession{}
		c.byID = map[string][32]byte{}
	}
	c.byHash[hash] = e
	c.byID[e.id] = hash
	c.mu.Unlock()
}

func (c *sessionCache) drop(sid string) {
	c.mu.Lock()
	if h, ok := c.byID[sid]; ok {
		delete(c.byHash, h)
		delete(c.byID, sid)
	}
	c.mu.Unlock()
	c.bound.drop(sid)
}

// dropUser drops every cached session of userID but except, calling revoke for each first.
func (c *sessionCache) dropUser(userID int64, except string, revoke func(sid string, exp time.Time)) {
	c.mu.Lock()
	var sids []string
	for h, e := range c.byHash {
		if e.userID == userID && e.id != except {
			revoke(e.id, e.expiresAt)
			delete(c.byHash, h)
			delete(c.byID, e.id)
			sids = append(sids, e.id)
		}
	}
	c.mu.Unlock()
	for _, sid := range sids {
		c.bound.drop(sid)
	}
}

func (c *sessionCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byHash)
}

func (c *sessionCache) markSeen(sid string, now time.Time) {
	c.dirtyMu.Lock()
	c.dirty[sid] = now
	c.dirtyMu.Unlock()
}

// seen is the last use of sid recorded here and not yet written to the store (zero if none).
func (c *sessionCache) seen(sid string) time.Time {
	c.dirtyMu.Lock()
	defer c.dirtyMu.Unlock()
	return c.dirty[sid]
}

func (c *sessionCache) takeDirty() map[string]time.Time {
	c.dirtyMu.Lock()
	defer c.dirtyMu.Unlock()
	d := c.dirty
	c.dirty = map[string]time.Time{}
	return d
}

// userCache keeps users by id for the request check; entries are dropped when the change feed
// says the user changed, on this instance or another.
type userCache struct {
	mu sync.RWMutex
	m  map[int64]*gatehouse.User
}

func newUserCache() *userCache { return &userCache{m: map[int64]*gatehouse.User{}} }

func (c *userCache) get(id int64) *gatehouse.User {
	c.mu.RLock()
	u := c.m[id]
	c.mu.RUnlock()
	return u
}

func (c *userCache) put(u *gatehouse.User) {
	c.mu.Lock()
	if len(c.m) >= 200_000 {
		c.m = map[int64]*gatehouse.User{}
	}
	c.m[u.ID] = u
	c.mu.Unlock()
}

func (c *userCache) drop(id int64) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

var errUnauthorized = gatehouse.Errorf(gatehouse.EUnauthorized, "not signed in, or the session has ended")

// user returns the user from the cache, or from the store on a miss. Disabled or deleted users
// give EUnauthorized.
func (s *Core) user(ctx context.Context, id int64) (*gatehouse.User, error) {
	u := s.users.get(id)
	if u == nil {
		var err error
		u, err = s.store.UserByID(ctx, id)
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, errUnauthorized
		}
		if err != nil {
			return nil, err
		}
		s.users.put(u)
	}
	if u.Disabled {
		return nil, errUnauthorized
	}
	return u, nil
}

// AuthenticateBearer checks an access token: HMAC and expiry, then two in-memory lookups
// (session revoked? user disabled?). No database access unless the user is not cached.
// client describes the request's client; it is called only while a session binding is on, so the
// common path pays nothing for working out the client address.
func (s *Core) AuthenticateBearer(ctx context.Context, tok string, client func() ClientMeta) (*Principal, error) {
	p := new(Principal)
	if err := s.AuthenticateBearerTo(ctx, tok, client, p); err != nil {
		return nil, err
	}
	return p, nil
}

// AuthenticateBearerTo is AuthenticateBearer filling *p, which the caller may keep on its stack:
// the request check answers every request of the protected apps and needs no Principal on the
// heap.
func (s *Core) AuthenticateBearerTo(ctx context.Context, tok string, client func() ClientMeta, p *Principal) error {
	c, err := s.tokens.Parse(tok)
	if err != nil {
		return err
	}
	if s.revoked.Revoked(c.SID) {
		return errUnauthorized
	}
	uid, err := c.UserID()
	if err != nil {
		return errUnauthorized
	}
	if err := s.checkOwner(ctx, c.SID, uid); err != nil {
		return err
	}
	if s.replaced(c) {
		return errUnauthorized
	}
	if err := s.checkBinding(ctx, c.SID, uid, client, func() (*gatehouse.Session, error) { return s.store.SessionByID(ctx, c.SID) }); err != nil {
		return err
	}
	u, err := s.user(ctx, uid)
	if err != nil {
		return err
	}
	s.noteSeen(c.SID, nil)
	*p = Principal{User: u, SessionID: c.SID, AuthMethod: c.AuthMethod}
	return nil
}

// checkOwner refuses an access token whose session belongs to another user than its subject.
// Only a leaked signing key could make one, but then it would let a token for one account ride on
// any live session id. The owner is read from the store once per session and instance, then
// remembered (sessions never change owner), so the common path stays a map lookup.
func (s *Core) checkOwner(ctx context.Context, sid string, uid int64) error {
	if v, ok := s.sidOwner.Load(sid); ok {
		if v.(int64) != uid {
			return errUnauthorized
		}
		return nil
	}
	sess, err := s.store.SessionByID(ctx, sid)
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return errUnauthorized
	}
	if err != nil {
		return err
	}
	s.sidOwner.Store(sid, sess.UserID)
	if sess.UserID != uid {
		s.log.Warn("an access token names a session of another user; is auth.jwt_secret leaked?", "session_id", sid, "token_user_id", uid)
		return errUnauthorized
	}
	return nil
}

// noteSeen records activity at most every touchEvery per session.
func (s *Core) noteSeen(sid string, e *cachedSession) {
	now := s.clock.Now()
	var last *atomic.Int64
	if e != nil {
		last = &e.lastSeen
	} else {
		// Bearer requests carry no cache entry; keep a per-session clock so only one request
		// in touchEvery takes the dirty-map lock.
		v, ok := s.bearerSeen.Load(sid)
		if !ok {
			v, _ = s.bearerSeen.LoadOrStore(sid, new(atomic.Int64))
		}
		last = v.(*atomic.Int64)
	}
	if prev := last.Load(); now.UnixNano()-prev < int64(touchEvery) || !last.CompareAndSwap(prev, now.UnixNano()) {
		return
	}
	s.sessions.markSeen(sid, now)
}

// AuthenticateCookie checks a session cookie token against the session cache, filling it from
// the store on a miss, and enforces absolute expiry and the idle timeout.
// client is as for AuthenticateBearer.
func (s *Core) AuthenticateCookie(ctx context.Context, tok string, client func() ClientMeta) (*Principal, error) {
	p := new(Principal)
	if err := s.AuthenticateCookieTo(ctx, tok, client, p); err != nil {
		return nil, err
	}
	return p, nil
}

// AuthenticateCookieTo is AuthenticateCookie filling *p (see AuthenticateBearerTo).
func (s *Core) AuthenticateCookieTo(ctx context.Context, tok string, client func() ClientMeta, p *Principal) error {
	if tok == "" || len(tok) > 128 {
		return errUnauthorized
	}
	key := token.HashKey(tok)
	e := s.sessions.get(key)
	if e == nil {
		sess, err := s.store.SessionByTokenHash(ctx, key[:])
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return errUnauthorized
		}
		if err != nil {
			return err
		}
		if !sess.Active(s.clock.Now()) || s.revoked.Revoked(sess.ID) {
			return errUnauthorized
		}
		e = &cachedSession{id: sess.ID, userID: sess.UserID, method: sess.AuthMethod, expiresAt: sess.ExpiresAt}
		e.lastSeen.Store(sess.LastSeenAt.UnixNano())
		s.sessions.put(key, e)
		s.primeBinding(sess)
	}
	now := s.clock.Now()
	if s.revoked.Revoked(e.id) {
		s.sessions.drop(e.id)
		return errUnauthorized
	}
	if !now.Before(e.expiresAt) {
		s.sessions.drop(e.id)
		_, _ = s.endSession(ctx, e.id, e.userID, gatehouse.ReasonMaxLifetime, ClientMeta{}, nil) // a failed write is queued
		return errUnauthorized
	}
	if idle := s.Settings().IdleTimeout; now.Sub(time.Unix(0, e.lastSeen.Load())) > idle {
		// Another instance may have seen this session more recently: ask the store before
		// ending it.
		sess, err := s.store.SessionByID(ctx, e.id)
		if err != nil || !sess.Active(now) || now.Sub(sess.LastSeenAt) > idle {
			s.sessions.drop(e.id)
			_, _ = s.endSession(ctx, e.id, e.userID, gatehouse.ReasonIdleTimeout, ClientMeta{}, nil)
			return errUnauthorized
		}
		e.lastSeen.Store(sess.LastSeenAt.UnixNano())
	}
	if err := s.checkBinding(ctx, e.id, e.userID, client, func() (*gatehouse.Session, error) { return s.store.SessionByID(ctx, e.id) }); err != nil {
		return err
	}
	u, err := s.user(ctx, e.userID)
	if err != nil {
		return err
	}
	s.noteSeen(e.id, e)
	*p = Principal{User: u, SessionID: e.id, ViaCookie: true, AuthMethod: e.method}
	return nil
}
