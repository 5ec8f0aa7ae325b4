package auth

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/password"
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
	// DeviceToken marks this client as a known device of the account (see devices): set with
	// every new session, to be kept by the client (the gatehouse_device cookie) and sent with
	// later sign-ins.
	DeviceToken string
}

// SetupRequest is the first administrator.
type SetupRequest struct {
	Username, Email, Password string
	// Language is the request's language ("de"): the account's preference from the start.
	Language string
}

// LoginRequest is a password sign-in; Login is a username or an email.
type LoginRequest struct {
	Login        string
	Password     string
	StaySignedIn bool
	// Device is the device token the client holds from an earlier sign-in, if any.
	Device string
}

// State is what the login page needs to choose its flow.
type State struct {
	SetupRequired       bool
	RegistrationOpen    bool
	PasskeyEnabled      bool
	Providers           []Provider
	StaySignedInOffered bool
}

// Provider is an external sign-in entry on the login page.
type Provider struct {
	ID   string
	Name string
}

var errSetupDone = gatehouse.Errorf(gatehouse.ESetupDone, "setup is already complete: an account exists")

var errInvalidCredentials = gatehouse.Errorf(gatehouse.EInvalidCredentials, "the username, email or password is wrong")

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

// pendingSignIn answers a correct password for an account that is not activated yet.
func (s *SignIn) pendingSignIn(ctx context.Context, u *gatehouse.User, login string, meta ClientMeta) error {
	s.core.obs.SignIn("account_pending")
	s.core.event(ctx, gatehouse.EventLoginFailed, u.ID, "", meta, map[string]any{"login": login, "reason": "account_pending"})
	return errAccountPending
}

// State reports setup, registration and sign-in options.
func (s *SignIn) State(ctx context.Context) (*State, error) {
	st := s.core.Settings()
	setup, err := s.core.SetupRequired(ctx)
	if err != nil {
		return nil, err
	}
	return &State{
		SetupRequired:       setup,
		PasskeyEnabled:      !setup && s.core.passkeys.pk.rp != nil,
		RegistrationOpen:    !setup && st.AllowRegistration,
		Providers:           s.core.providers.loginProviders(ctx),
		StaySignedInOffered: st.StaySignedInOffset > 0,
	}, nil
}

// SetupAdmin creates the first administrator and signs them in. ESetupDone once any user exists,
// also when two setups race: the store lets exactly one win.
func (s *SignIn) SetupAdmin(ctx context.Context, req SetupRequest, meta ClientMeta) (*Tokens, error) {
	if setup, err := s.core.SetupRequired(ctx); err != nil {
		return nil, err
	} else if !setup {
		return nil, errSetupDone
	}
	u, err := s.core.accounts.newAccount(ctx, req.Username, req.Email, req.Password, gatehouse.RoleAdmin)
	if err != nil {
		return nil, err
	}
	// The first administrator's address is taken as verified: nobody else could have set it.
	u.EmailVerified = true
	u.Language = s.core.language(req.Language)
	if err := s.store.CreateFirstAdmin(ctx, u); err != nil {
		return nil, err
	}
	s.core.hasUsers.Store(true)
	s.core.event(ctx, gatehouse.EventSetupAdminCreated, u.ID, "", meta, map[string]any{"username": u.Username})
	return s.core.startSession(ctx, u, gatehouse.AuthPassword, false, meta)
}

// Prepare readies password hashing for a sign-in expected soon (the sign-in page was shown):
// the hashing worker process starts in the background if it is not running. It returns at once.
func (s *SignIn) Prepare() { s.core.hasher.Prepare() }

// Login signs in with a username or email and a password. Every wrong login or password gives the
// same EInvalidCredentials after the same amount of hashing work.
func (s *SignIn) Login(ctx context.Context, req LoginRequest, meta ClientMeta) (*Tokens, error) {
	t, err := s.login(ctx, req, meta)
	// Every 503 of a sign-in is "busy" in the metrics, wherever the pool refused it (before the
	// lookup, or at the hash itself when the queue filled in between).
	if gatehouse.IsCode(err, gatehouse.EBusy) {
		s.core.limits.obs.SignIn("busy")
	}
	return t, err
}

func (s *SignIn) login(ctx context.Context, req LoginRequest, meta ClientMeta) (*Tokens, error) {
	st := s.core.Settings()
	login, err := s.loginInput(req)
	if err != nil {
		return nil, err
	}
	a, err := s.admit(ctx, req.Device, st, meta)
	if err != nil {
		return nil, err
	}
	defer func() { a.done() }() // a may be replaced below
	u, err := s.store.UserByLogin(ctx, login)
	if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, err
	}
	if a.trusted && !a.device.of(u) {
		// A device token of another account (or of a deleted one, or issued before the
		// password was changed) earns nothing here: the attempt is an ordinary one.
		a.done()
		if a, err = s.admitUntrusted(ctx, st, meta); err != nil {
			return nil, err
		}
	}
	// Account buckets are keyed by user id, so the username and the email share one budget;
	// unknown logins get the same treatment under their own name, so timing tells nothing. A
	// known device is not held back by the account's budget: that budget is what an attacker
	// drains to lock the owner out.
	acct := "acct:login:" + login
	if u != nil {
		acct = "acct:" + strconv.FormatInt(u.ID, 10)
	}
	if !a.trusted {
		if err := s.limitAccount(ctx, acct, st, meta, login); err != nil {
			return nil, err
		}
	}
	ok, rehash, reason, err := s.checkPassword(ctx, u, req.Password, a.trusted)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.failed(ctx, u, a, st, login, reason, meta)
	}
	// Only now, after a correct password, may the answer say anything about the account.
	if u.Disabled {
		s.core.obs.SignIn("account_disabled")
		s.core.event(ctx, gatehouse.EventLoginFailed, u.ID, "", meta, map[string]any{"login": login, "reason": "account_disabled"})
		return nil, gatehouse.Errorf(gatehouse.EAccountDisabled, "this account is disabled; ask an administrator")
	}
	if u.Pending {
		return nil, s.pendingSignIn(ctx, u, login, meta)
	}
	if !a.trusted {
		if err := s.core.limiter.Reset(ctx, acct); err != nil {
			s.log.Warn("resetting the account rate limit failed", "err", err)
		}
	}
	if rehash {
		s.rehash(ctx, u, req.Password)
	}
	return s.signInOrChallenge(ctx, u, gatehouse.AuthPassword, req.StaySignedIn, meta)
}

// loginInput checks the form of a sign-in before any limit or lookup, returning the login
// normalised.
func (s *SignIn) loginInput(req LoginRequest) (string, error) {
	login := gatehouse.NormalizeSignInLogin(req.Login)
	if login == "" || len(login) > 254 || !printable(login) {
		return "", gatehouse.FieldError("login", "enter a username or email")
	}
	if req.Password == "" {
		return "", gatehouse.FieldError("password", "enter a password")
	}
	// Over-long passwords are refused before any hashing (Argon2 DoS); no stored password can be
	// that long, so this tells an attacker nothing about the account.
	if err := s.core.accounts.policy().checkMax(req.Password); err != nil {
		return "", err
	}
	return login, nil
}

// attempt is an admitted sign-in attempt: the budget its failure is charged to, and whether it
// comes from a known device of the account it claims.
type attempt struct {
	key     string
	trusted bool
	device  device // the device token's content, when trusted
	release func()
}

// done gives back the attempt's hold on its budget; it may be called more than once, and on nil.
func (a *attempt) done() {
	if a != nil && a.release != nil {
		a.release()
		a.release = nil
	}
}

// admit decides whose budget a sign-in attempt spends. A valid device token with budget left
// spends the device's own (and is confirmed against the account once it is looked up); anything
// else spends the client address's.
func (s *SignIn) admit(ctx context.Context, tok string, st *gatehouse.Settings, meta ClientMeta) (*attempt, error) {
	if d, ok := s.core.devices.parse(tok); ok {
		// One known-device attempt per account at a time: the reserved hashing places are for
		// owners getting through a flood, and someone holding many device tokens of their own
		// account must not be able to fill them with sign-ins of that one account.
		single, alone := s.core.limits.alone("device-account:" + strconv.FormatInt(d.userID, 10))
		key := "device:" + d.id
		release, ok, _, err := s.core.limits.hold(ctx, key, st.LoginBurst, st.LoginRefill)
		if alone && err == nil && ok {
			return &attempt{key: key, trusted: true, device: d, release: func() { release(); single() }}, nil
		}
		// A device that used up its budget is locked out, not the account, and a second
		// known-device attempt of an account already under way gets no priority: either signs
		// in like any other client.
		release()
		single()
	}
	return s.admitUntrusted(ctx, st, meta)
}

// admitUntrusted charges the attempt to the client address. The address's budget is spent by
// failed attempts only (charged in failed), so an office behind one NAT address can sign
// everyone in.
func (s *SignIn) admitUntrusted(ctx context.Context, st *gatehouse.Settings, meta ClientMeta) (*attempt, error) {
	key := "ip:" + ipBucket(meta.IP)
	release, err := s.core.limits.reserve(ctx, key, st.LoginBurst, st.LoginRefill, meta)
	if err != nil {
		return nil, err
	}
	// A full hashing queue answers 503 now, for known and unknown logins alike, instead of
	// after a database lookup: under a flood every refused attempt stays as cheap as possible.
	if s.core.hasher.Saturated() {
		release()
		return nil, password.Busy()
	}
	return &attempt{key: key, release: release}, nil
}

// failed records a wrong password against the attempt's budget.
func (s *SignIn) failed(ctx context.Context, u *gatehouse.User, a *attempt, st *gatehouse.Settings, login, reason string, meta ClientMeta) error {
	var id int64
	if u != nil {
		id = u.ID
	}
	s.core.limits.charge(ctx, a.key, st.LoginBurst, st.LoginRefill)
	s.core.obs.SignIn("invalid_credentials")
	s.core.event(ctx, gatehouse.EventLoginFailed, id, "", meta, map[string]any{"login": login, "reason": reason, "known_device": a.trusted})
	return errInvalidCredentials
}

// checkPassword verifies pw for u (nil: an unknown login) with the same hashing work in every
// case, so timing tells nothing; reason names the failure for the event only.
func (s *SignIn) checkPassword(ctx context.Context, u *gatehouse.User, pw string, trusted bool) (ok, rehash bool, reason string, err error) {
	if u == nil || u.PasswordHash == "" {
		// An account made by external sign-in has no password: the same answer, after the same
		// work, as a wrong password.
		reason = "invalid_credentials"
		if u != nil {
			reason = "no_password"
		}
		return false, false, reason, s.core.hasher.VerifyDummy(ctx, pw)
	}
	verify := s.core.hasher.Verify
	if trusted {
		verify = s.core.hasher.VerifyTrusted
	}
	ok, rehash, err = verify(ctx, pw, u.PasswordHash)
	if err != nil && !gatehouse.IsCode(err, gatehouse.EBusy) && ctx.Err() == nil {
		// A stored hash that cannot be read (an account without a password, a damaged row) is a
		// wrong password, after the same work, not a 500 that would single the account out.
		s.log.Warn("a stored password hash cannot be verified; treating the sign-in as failed", "user_id", u.ID, "err", err)
		return false, false, "invalid_credentials", s.core.hasher.VerifyDummy(ctx, pw)
	}
	return ok, rehash, "invalid_credentials", err
}

// limitAccount applies the account bucket: ten times the per-address burst, the same refill,
// shared by every address. Per address, the address's own bucket is already the tighter limit;
// this one stops guesses spread over many addresses, and is loose enough that draining it to
// lock the owner out takes an attacker a hundred attempts first.
func (s *SignIn) limitAccount(ctx context.Context, acct string, st *gatehouse.Settings, meta ClientMeta, login string) error {
	return s.core.limits.limit(ctx, acct, 10*st.LoginBurst, st.LoginRefill, meta, login)
}

// rehash upgrades a stored hash made with weaker parameters than today's defaults.
func (s *SignIn) rehash(ctx context.Context, u *gatehouse.User, pw string) {
	h, err := s.core.hasher.Hash(ctx, pw)
	if err == nil {
		_, err = s.store.UpdateUser(ctx, u.ID, gatehouse.UserUpdate{PasswordHash: &h})
	}
	if err == nil {
		// The device token this sign-in hands out is bound to the stored hash (devices).
		u.PasswordHash = h
	}
	if err != nil {
		s.log.Warn("upgrading a password hash failed", "user_id", u.ID, "err", err)
	}
}
