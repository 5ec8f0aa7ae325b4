package auth

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/token"
)

// Tokens is the result of a completed sign-in or refresh.
type Tokens struct {
	User    *gatehouse.User
	Session *gatehouse.Session
	// CookieToken is the gatehouse_session cookie value; empty on refresh (the cookie is unchanged).
	CookieToken  string
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
	// CookieMaxAge is zero for a browser-session cookie, else how long the cookie should live.
	CookieMaxAge time.Duration
	// MFA is set instead of a session when the account needs a second factor (auth/mfa.go).
	MFA *MFAPending
	// RecoveryCodesLeft is set after a second factor: how many unused recovery codes remain.
	RecoveryCodesLeft *int
}

// SetupRequest is the first administrator.
type SetupRequest struct {
	Username, Email, Password string
}

// LoginRequest is a password sign-in; Login is a username or an email.
type LoginRequest struct {
	Login        string
	Password     string
	StaySignedIn bool
}

// State is what the login page needs to choose its flow.
type State struct {
	SetupRequired       bool       `json:"setup_required"`
	RegistrationOpen    bool       `json:"registration_open"`
	PasskeyEnabled      bool       `json:"passkey_enabled"`
	Providers           []Provider `json:"providers"`
	StaySignedInOffered bool       `json:"stay_signed_in_offered"`
}

// Provider is an external sign-in entry on the login page.
type Provider struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// State reports setup, registration and sign-in options.
func (s *Service) State(ctx context.Context) (*State, error) {
	st := s.Settings()
	setup, err := s.SetupRequired(ctx)
	if err != nil {
		return nil, err
	}
	return &State{
		SetupRequired:       setup,
		PasskeyEnabled:      !setup && s.pk.rp != nil,
		RegistrationOpen:    !setup && st.AllowRegistration,
		Providers:           s.loginProviders(ctx),
		StaySignedInOffered: st.StaySignedInOffset > 0,
	}, nil
}

// SetupRequired reports whether no user exists yet. Once users exist the answer is cached.
func (s *Service) SetupRequired(ctx context.Context) (bool, error) {
	if s.hasUsers.Load() {
		return false, nil
	}
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return false, err
	}
	if n > 0 {
		s.hasUsers.Store(true)
	}
	return n == 0, nil
}

func (s *Service) policy() passwordPolicy {
	st := s.Settings()
	return passwordPolicy{min: st.PasswordMinLen, max: st.PasswordMaxLen}
}

// newAccount validates and normalizes a new account's fields and hashes its password.
func (s *Service) newAccount(ctx context.Context, username, email, pw string, role gatehouse.Role) (*gatehouse.User, error) {
	u := &gatehouse.User{
		Username: gatehouse.NormalizeLogin(username),
		Email:    gatehouse.NormalizeLogin(email),
		Role:     role,
	}
	if u.Username == "" && u.Email != "" {
		// An email alone is enough: the username defaults to its local part.
		u.Username = usernameFromEmail(u.Email)
	}
	if err := gatehouse.ValidateUsername(u.Username); err != nil {
		return nil, err
	}
	if err := gatehouse.ValidateEmail(u.Email); err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, gatehouse.FieldError("role", "role must be admin or user")
	}
	if err := s.policy().check(pw); err != nil {
		return nil, err
	}
	h, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return nil, err
	}
	u.PasswordHash = h
	return u, nil
}

// SetupAdmin creates the first administrator and signs them in. ESetupDone once any user exists,
// also when two setups race: the store lets exactly one win.
func (s *Service) SetupAdmin(ctx context.Context, req SetupRequest, meta ClientMeta) (*Tokens, error) {
	if setup, err := s.SetupRequired(ctx); err != nil {
		return nil, err
	} else if !setup {
		return nil, errSetupDone
	}
	u, err := s.newAccount(ctx, req.Username, req.Email, req.Password, gatehouse.RoleAdmin)
	if err != nil {
		return nil, err
	}
	// The first administrator's address is taken as verified: nobody else could have set it.
	u.EmailVerified = true
	if err := s.store.CreateFirstAdmin(ctx, u); err != nil {
		return nil, err
	}
	s.hasUsers.Store(true)
	s.event(ctx, gatehouse.EventSetupAdminCreated, u.ID, "", meta, map[string]any{"username": u.Username})
	return s.startSession(ctx, u, gatehouse.AuthPassword, false, meta)
}

var errSetupDone = gatehouse.Errorf(gatehouse.ESetupDone, "setup is already complete: an account exists")

var errInvalidCredentials = gatehouse.Errorf(gatehouse.EInvalidCredentials, "the username, email or password is wrong")

// Login signs in with a username or email and a password. Every wrong login or password gives the
// same EInvalidCredentials after the same amount of hashing work.
func (s *Service) Login(ctx context.Context, req LoginRequest, meta ClientMeta) (*Tokens, error) {
	st := s.Settings()
	// The address's budget is spent by failed attempts only (charged below), so an office behind
	// one NAT address can sign everyone in; it is checked before anything else.
	ipKey := "ip:" + ipBucket(meta.IP)
	if err := s.peekLimit(ctx, ipKey, st.LoginBurst, st.LoginRefill, meta); err != nil {
		return nil, err
	}
	login := gatehouse.NormalizeLogin(req.Login)
	if login == "" || len(login) > 254 || !printable(login) {
		return nil, gatehouse.FieldError("login", "enter a username or email")
	}
	if req.Password == "" {
		return nil, gatehouse.FieldError("password", "enter a password")
	}
	// Over-long passwords are refused before any hashing (Argon2 DoS); no stored password can be
	// that long, so this tells an attacker nothing about the account.
	if err := s.policy().checkMax(req.Password); err != nil {
		return nil, err
	}
	// A full hashing queue answers 503 now, for known and unknown logins alike, instead of
	// after a database lookup: under a flood every refused attempt stays as cheap as possible.
	if s.hasher.Saturated() {
		s.obs.SignIn("busy")
		return nil, password.Busy()
	}
	u, err := s.store.UserByLogin(ctx, login)
	if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, err
	}
	// Account buckets are keyed by user id, so the username and the email share one budget;
	// unknown logins get the same treatment under their own name, so timing tells nothing.
	acct := "acct:login:" + login
	if u != nil {
		acct = "acct:" + strconv.FormatInt(u.ID, 10)
	}
	if err := s.limitAccount(ctx, acct, st, meta, login); err != nil {
		return nil, err
	}
	if u == nil {
		if err := s.hasher.VerifyDummy(ctx, req.Password); err != nil {
			return nil, err
		}
		s.charge(ctx, ipKey, st.LoginBurst, st.LoginRefill)
		s.obs.SignIn("invalid_credentials")
		s.event(ctx, gatehouse.EventLoginFailed, 0, "", meta, map[string]any{"login": login, "reason": "invalid_credentials"})
		return nil, errInvalidCredentials
	}
	if u.PasswordHash == "" {
		// An account made by external sign-in has no password: the same answer, after the same
		// work, as a wrong password.
		if err := s.hasher.VerifyDummy(ctx, req.Password); err != nil {
			return nil, err
		}
		s.charge(ctx, ipKey, st.LoginBurst, st.LoginRefill)
		s.obs.SignIn("invalid_credentials")
		s.event(ctx, gatehouse.EventLoginFailed, u.ID, "", meta, map[string]any{"login": login, "reason": "no_password"})
		return nil, errInvalidCredentials
	}
	ok, rehash, err := s.hasher.Verify(ctx, req.Password, u.PasswordHash)
	if err != nil && !gatehouse.IsCode(err, gatehouse.EBusy) && ctx.Err() == nil {
		// A stored hash that cannot be read (an account without a password, a damaged row) is a
		// wrong password, after the same work, not a 500 that would single the account out.
		s.log.Warn("a stored password hash cannot be verified; treating the sign-in as failed", "user_id", u.ID, "err", err)
		if err := s.hasher.VerifyDummy(ctx, req.Password); err != nil {
			return nil, err
		}
		ok, err = false, nil
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		s.charge(ctx, ipKey, st.LoginBurst, st.LoginRefill)
		s.obs.SignIn("invalid_credentials")
		s.event(ctx, gatehouse.EventLoginFailed, u.ID, "", meta, map[string]any{"login": login, "reason": "invalid_credentials"})
		return nil, errInvalidCredentials
	}
	// Only now, after a correct password, may the answer say anything about the account.
	if u.Disabled {
		s.obs.SignIn("account_disabled")
		s.event(ctx, gatehouse.EventLoginFailed, u.ID, "", meta, map[string]any{"login": login, "reason": "account_disabled"})
		return nil, gatehouse.Errorf(gatehouse.EAccountDisabled, "this account is disabled; ask an administrator")
	}
	if u.Pending {
		return nil, s.pendingSignIn(ctx, u, login, meta)
	}
	if err := s.limiter.Reset(ctx, acct); err != nil {
		s.log.Warn("resetting the account rate limit failed", "err", err)
	}
	if rehash {
		s.rehash(ctx, u, req.Password)
	}
	return s.signInOrChallenge(ctx, u, gatehouse.AuthPassword, req.StaySignedIn, meta)
}

// limitAccount applies the account bucket: ten times the per-address burst, the same refill,
// shared by every address. Per address, the address's own bucket is already the tighter limit;
// this one stops guesses spread over many addresses, and is loose enough that draining it to
// lock the owner out takes an attacker a hundred attempts first.
func (s *Service) limitAccount(ctx context.Context, acct string, st *gatehouse.Settings, meta ClientMeta, login string) error {
	return s.limit(ctx, acct, 10*st.LoginBurst, st.LoginRefill, meta, login)
}

// ipBucket is the rate-limit key of a client address: the address itself for IPv4, its /64 for
// IPv6, since one subscriber usually holds a whole /64 and could rotate through it.
func ipBucket(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// printable reports whether s is valid UTF-8 without control characters: anything else cannot
// be a username or email, and some databases refuse to store it in the audit trail.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// rehash upgrades a stored hash made with weaker parameters than today's defaults.
func (s *Service) rehash(ctx context.Context, u *gatehouse.User, pw string) {
	h, err := s.hasher.Hash(ctx, pw)
	if err == nil {
		_, err = s.store.UpdateUser(ctx, u.ID, gatehouse.UserUpdate{PasswordHash: &h})
	}
	if err != nil {
		s.log.Warn("upgrading a password hash failed", "user_id", u.ID, "err", err)
	}
}

func (s *Service) limit(ctx context.Context, key string, burst int, every time.Duration, meta ClientMeta, login string) error {
	ok, retry, err := s.limiter.Allow(ctx, key, burst, every)
	return s.refusal(ctx, key, every, ok, retry, err, meta, login)
}

// peekLimit is limit without taking a token: for budgets that only some outcomes spend (see
// charge).
func (s *Service) peekLimit(ctx context.Context, key string, burst int, every time.Duration, meta ClientMeta) error {
	ok, retry, err := s.limiter.Peek(ctx, key, burst, every)
	return s.refusal(ctx, key, every, ok, retry, err, meta, "")
}

// charge spends a token of key's bucket after an attempt that counts (a failed sign-in). A
// concurrent burst can overshoot by the attempts in flight, which the hashing pool bounds.
func (s *Service) charge(ctx context.Context, key string, burst int, every time.Duration) {
	if _, _, err := s.limiter.Allow(ctx, key, burst, every); err != nil {
		s.log.Error("rate limiter failed", "err", err)
	}
}

// refusal turns a limiter answer into nil or a rate_limited error, recording the event.
func (s *Service) refusal(ctx context.Context, key string, every time.Duration, ok bool, retry time.Duration, err error, meta ClientMeta, login string) error {
	if err != nil {
		// A broken shared limiter (Redis down) must not lock everybody out; the hashing pool
		// still bounds the cost of a flood.
		s.log.Error("rate limiter failed; allowing the attempt", "err", err)
		return nil
	}
	if ok {
		return nil
	}
	s.obs.SignIn("rate_limited")
	// One event per bucket and refill period, not one per refused attempt: refusals cost an
	// attacker nothing, so each must not cost a database write either.
	if first, _, err := s.limiter.Allow(ctx, "event|"+key, 1, every); err == nil && first {
		data := map[string]any{"bucket": strings.SplitN(key, ":", 2)[0]}
		if login != "" {
			data["login"] = login
		}
		s.event(ctx, gatehouse.EventLoginRateLimited, 0, "", meta, data)
	}
	if retry < time.Second {
		retry = time.Second
	}
	return &gatehouse.Error{Code: gatehouse.ERateLimited, Message: "too many sign-in attempts; try again later", RetryAfter: retry}
}

// startSession creates a session with its cookie, access and refresh tokens, after any
// successful authentication.
func (s *Service) startSession(ctx context.Context, u *gatehouse.User, method string, stay bool, meta ClientMeta) (*Tokens, error) {
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
		Binding: s.recordBinding(meta.IP),
	}
	rt := &gatehouse.RefreshToken{Hash: refreshHash, SessionID: sess.ID, CreatedAt: now, ExpiresAt: minTime(now.Add(st.RefreshTokenTTL), expires)}
	if err := s.store.CreateSession(ctx, sess, rt); err != nil {
		if gatehouse.IsCode(err, gatehouse.EAccountDisabled) {
			return nil, gatehouse.Errorf(gatehouse.EAccountDisabled, "this account is disabled; ask an administrator")
		}
		return nil, err
	}
	s.primeBinding(sess)
	access, err := s.tokens.Issue(u.ID, sess.ID, accessExp)
	if err != nil {
		return nil, err
	}
	s.obs.SignIn("succeeded")
	s.event(ctx, gatehouse.EventLoginSucceeded, u.ID, sess.ID, meta, map[string]any{"method": method, "stay_signed_in": stay})
	if st.TerminateOthers {
		s.EndUserSessions(ctx, u.ID, sess.ID, gatehouse.ReasonTerminatedByNewLogin, meta, nil)
	}
	return &Tokens{User: u, Session: sess, CookieToken: cookieTok, AccessToken: access, RefreshToken: refreshTok,
		ExpiresIn: accessExp.Sub(now), CookieMaxAge: cookieAge}, nil
}

// RefreshAccess issues a new access token for the session of the access token p presented
// (seed 001, RustyFile's shape: POST /api/auth/refresh with the Bearer token and no body). The
// caller authenticated p from a Bearer token, which applied every session rule (revocation, idle
// timeout, binding, disabled user); the new token still ends when the session does, so a stolen
// access token is worth no more than the session it belongs to. No refresh token is issued.
func (s *Service) RefreshAccess(ctx context.Context, p *Principal, meta ClientMeta) (*Tokens, error) {
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
	access, err := s.tokens.Issue(p.User.ID, sess.ID, accessExp)
	if err != nil {
		return nil, err
	}
	s.event(ctx, gatehouse.EventTokenRefreshed, p.User.ID, sess.ID, meta, map[string]any{"via": "access_token"})
	return &Tokens{User: p.User, Session: sess, AccessToken: access, ExpiresIn: accessExp.Sub(now)}, nil
}

// Refresh exchanges a refresh token for a new access and refresh token. A token presented again
// after RefreshGrace is taken as stolen: the whole session is revoked.
func (s *Service) Refresh(ctx context.Context, refreshTok string, meta ClientMeta) (*Tokens, error) {
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
	if rt.UsedAt != nil && now.Sub(*rt.UsedAt) > RefreshGrace {
		s.event(ctx, gatehouse.EventTokenReuseDetected, sess.UserID, sess.ID, meta, map[string]any{"first_used_at": rt.UsedAt.UTC()})
		s.endSession(ctx, sess.ID, sess.UserID, gatehouse.ReasonRefreshReuse, meta, nil)
		return nil, gatehouse.Errorf(gatehouse.ETokenReuse, "this refresh token was already used; the session has been ended")
	}
	if !sess.Active(now) || s.revoked.Revoked(sess.ID) {
		return nil, invalid
	}
	st := s.Settings()
	if now.Sub(sess.LastSeenAt) > st.IdleTimeout && now.Sub(s.lastSeenLocal(sess)) > st.IdleTimeout {
		s.endSession(ctx, sess.ID, sess.UserID, gatehouse.ReasonIdleTimeout, meta, nil)
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
	access, err := s.tokens.Issue(u.ID, sess.ID, accessExp)
	if err != nil {
		return nil, err
	}
	s.noteSeen(sess.ID, nil)
	s.event(ctx, gatehouse.EventTokenRefreshed, u.ID, sess.ID, meta, nil)
	return &Tokens{User: u, Session: sess, AccessToken: access, RefreshToken: next, ExpiresIn: accessExp.Sub(now)}, nil
}

// lastSeenLocal is the most recent use of the session this instance knows of and has not yet
// written to the store.
func (s *Service) lastSeenLocal(sess *gatehouse.Session) time.Time {
	if v, ok := s.bearerSeen.Load(sess.ID); ok {
		if t := time.Unix(0, v.(interface{ Load() int64 }).Load()); t.After(sess.LastSeenAt) {
			return t
		}
	}
	return sess.LastSeenAt
}

// Logout ends the principal's session.
func (s *Service) Logout(ctx context.Context, p *Principal, meta ClientMeta) error {
	s.endSession(ctx, p.SessionID, p.User.ID, gatehouse.ReasonUser, meta, nil)
	return nil
}

// endSession is the one place a session ends (DESIGN.md section 1): it writes the revocation
// (which the store also appends to the change feed), updates this instance's caches at once and
// records a logout event with the reason. by is the acting user when it is not the owner.
func (s *Service) endSession(ctx context.Context, sid string, userID int64, reason string, meta ClientMeta, extra map[string]any) bool {
	ctx = context.WithoutCancel(ctx)
	now := s.clock.Now()
	ok, err := s.store.RevokeSession(ctx, sid, reason, now)
	if err != nil {
		if !gatehouse.IsCode(err, gatehouse.ENotFound) {
			s.log.Error("revoking a session failed", "session_id", sid, "err", err)
		}
		return false
	}
	// Until the feed row comes back, this instance already refuses the session; the expiry is a
	// safe upper bound for any access token issued for it.
	s.revoked.Add(sid, now.Add(s.Settings().AccessTokenTTL+24*time.Hour))
	s.sessions.drop(sid)
	if !ok {
		return false
	}
	s.obs.Revoked(reason)
	data := map[string]any{"reason": reason}
	for k, v := range extra {
		data[k] = v
	}
	s.event(ctx, gatehouse.EventLogout, userID, sid, meta, data)
	return true
}

// EndUserSessions ends every active session of the user except `except`, returning how many ended.
func (s *Service) EndUserSessions(ctx context.Context, userID int64, except, reason string, meta ClientMeta, extra map[string]any) int {
	sessions, err := s.store.ListSessions(ctx, userID, s.clock.Now())
	if err != nil {
		s.log.Error("listing sessions to end failed", "user_id", userID, "err", err)
		return 0
	}
	n := 0
	for _, sess := range sessions {
		if sess.ID != except && s.endSession(ctx, sess.ID, userID, reason, meta, extra) {
			n++
		}
	}
	return n
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func usernameFromEmail(email string) string {
	for i := 0; i < len(email); i++ {
		if email[i] == '@' {
			return email[:i]
		}
	}
	return email
}

// IsAuthError reports whether err means "not signed in".
func IsAuthError(err error) bool {
	var e *gatehouse.Error
	return errors.As(err, &e) && e.Code == gatehouse.EUnauthorized
}
