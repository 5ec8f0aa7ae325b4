package testserver

import (
	"encoding/json"
	"time"
)

// The API's JSON answers as types, written from the documented contract (docs/api.md), not taken
// from the server's own types: a renamed or retyped field fails the tests instead of following
// the server. Fields the tests do not read are left out; unknown fields are ignored, since the
// API may add fields freely.

// User is a user as the API shows it.
type User struct {
	ID            int64     `json:"id"`
	Username      string    `json:"username"`
	Email         string    `json:"email"`
	Name          string    `json:"name"`
	Role          string    `json:"role"`
	Disabled      bool      `json:"disabled"`
	EmailVerified bool      `json:"email_verified"`
	MFAEnabled    bool      `json:"mfa_enabled"`
	Pending       bool      `json:"pending"`
	Groups        []string  `json:"groups"`
	CreatedAt     time.Time `json:"created_at"`
}

// Session is one of a user's sessions.
type Session struct {
	ID           string    `json:"id"`
	Current      bool      `json:"current"`
	AuthMethod   string    `json:"auth_method"`
	IP           string    `json:"ip"`
	UserAgent    string    `json:"user_agent"`
	StaySignedIn bool      `json:"stay_signed_in"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// Event is one audit event.
type Event struct {
	ID     int64          `json:"id"`
	Kind   string         `json:"kind"`
	UserID *int64         `json:"user_id"`
	Data   map[string]any `json:"data"`
}

// UID is the event's user id, 0 for an event without a user.
func (e Event) UID() int64 {
	if e.UserID == nil {
		return 0
	}
	return *e.UserID
}

// Identity is an external identity bound to an account.
type Identity struct {
	ID         int64      `json:"id"`
	Provider   string     `json:"provider"`
	Subject    string     `json:"subject"`
	Email      string     `json:"email"`
	BoundAt    *time.Time `json:"bound_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// Me is the answer of GET /api/auth/me: the user and the session the request came with.
type Me struct {
	User    User `json:"user"`
	Session struct {
		ID  string `json:"id"`
		Via string `json:"via"`
	} `json:"session"`
}

// Passkey is one of a user's passkeys.
type Passkey struct {
	ID             int64      `json:"id"`
	Name           string     `json:"name"`
	BackupEligible bool       `json:"backup_eligible"`
	BackupState    bool       `json:"backup_state"`
	LastUsedAt     *time.Time `json:"last_used_at"`
}

// Invitation is an invitation as the administrator's list shows it.
type Invitation struct {
	ID    int64  `json:"id"`
	State string `json:"state"`
}

// Provider is an external sign-in provider, as the administrator's list or the public state
// shows it.
type Provider struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	RedirectURI     string `json:"redirect_uri"`
	Enabled         bool   `json:"enabled"`
	ClientSecretSet bool   `json:"client_secret_set"`
}

// Outbox is the administrator's view of the mail outbox.
type Outbox struct {
	Items []struct {
		Status    string `json:"status"`
		Attempts  int    `json:"attempts"`
		LastError string `json:"last_error"`
		To        string `json:"to"`
	} `json:"items"`
	MailConfigured bool `json:"mail_configured"`
}

// RecoveryCodes is the answer that shows new MFA recovery codes once.
type RecoveryCodes struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// Page is a page of a list; NextPage is nil on the last.
type Page[T any] struct {
	Items    []T  `json:"items"`
	NextPage *int `json:"next_page"`
}

// SignIn is the answer to a sign-in, a setup or a refresh: tokens and the user, or the MFA step.
type SignIn struct {
	User         *User    `json:"user"`
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int64    `json:"expires_in"`
	MFARequired  bool     `json:"mfa_required"`
	MFAToken     string   `json:"mfa_token"`
	Methods      []string `json:"methods"`
}

// Settings is the answer of GET and PATCH /api/admin/settings. Values keep their JSON types
// (numbers are float64), as a client sees them.
type Settings struct {
	Settings map[string]any  `json:"settings"`
	Secrets  map[string]bool `json:"secrets_set"`
	Warnings []string        `json:"warnings"`
}

// Decode decodes the answer's body into a T, failing the test when it does not fit.
func Decode[T any](r *Response) T {
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		r.t.Helper()
		r.t.Fatalf("answer %d is not a %T: %v\n%s", r.Status, v, err, r.Body)
	}
	return v
}

// SignIn decodes a sign-in answer.
func (r *Response) SignIn() SignIn { r.t.Helper(); return Decode[SignIn](r) }

// Users decodes a page of users.
func (r *Response) Users() Page[User] { r.t.Helper(); return Decode[Page[User]](r) }

// Sessions decodes a page of sessions.
func (r *Response) Sessions() Page[Session] { r.t.Helper(); return Decode[Page[Session]](r) }

// Events decodes a page of events.
func (r *Response) Events() Page[Event] { r.t.Helper(); return Decode[Page[Event]](r) }

// Identities decodes a list of external identities.
func (r *Response) Identities() Page[Identity] { r.t.Helper(); return Decode[Page[Identity]](r) }

// User decodes the "user" of a sign-in or /api/auth/me answer, failing the test without one.
func (r *Response) User() User {
	r.t.Helper()
	u := Decode[SignIn](r).User
	if u == nil {
		r.t.Fatalf("answer %d has no user: %s", r.Status, r.Body)
	}
	return *u
}

// Me decodes the answer of GET /api/auth/me, failing the test without a user or a session.
func (r *Response) Me() Me {
	r.t.Helper()
	m := Decode[Me](r)
	if m.User.ID == 0 || m.Session.ID == "" {
		r.t.Fatalf("answer %d is not a signed-in /api/auth/me: %s", r.Status, r.Body)
	}
	return m
}

// ID returns the "id" of an answer that created something, failing the test without one.
func (r *Response) ID() int64 {
	r.t.Helper()
	v := Decode[struct {
		ID int64 `json:"id"`
	}](r)
	if v.ID == 0 {
		r.t.Fatalf("answer %d has no id: %s", r.Status, r.Body)
	}
	return v.ID
}

// Items decodes a list answer ({"items": [...]}) whose items are T.
func Items[T any](r *Response) []T { r.t.Helper(); return Decode[Page[T]](r).Items }

// Settings decodes a settings answer.
func (r *Response) Settings() Settings { r.t.Helper(); return Decode[Settings](r) }
