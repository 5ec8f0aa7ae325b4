package gatehouse

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode"
)

// Role is what a user may do. Only two exist: administrators manage everything, users themselves.
type Role string

const (
	RoleAdmin Role = "admin"
	RoleUser  Role = "user"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleUser }

// User is an account. Usernames and emails are stored lower-cased and trimmed (NormalizeLogin), so
// uniqueness and sign-in are case-insensitive in both backends without collation tricks.
type User struct {
	ID            int64     `json:"id"`
	Username      string    `json:"username"`
	Email         string    `json:"email"`
	Name          string    `json:"name"`
	Role          Role      `json:"role"`
	Disabled      bool      `json:"disabled"`
	EmailVerified bool      `json:"email_verified"`
	MFAEnabled    bool      `json:"mfa_enabled"`
	PasswordHash  string    `json:"-"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`

	// Pending is true for a publicly registered account until its activation link is used.
	Pending bool `json:"pending"`
}

// DisplayName is Name, or the username when no name is set.
func (u *User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Username
}

// NormalizeLogin trims and lower-cases a username or email.
func NormalizeLogin(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateUsername checks a normalized username: 1..64 characters of letters, digits, '.', '_'
// or '-', not starting with punctuation. '@' is refused so a username never looks like an email
// and sign-in "by username or email" is never ambiguous.
func ValidateUsername(name string) error {
	if name == "" {
		return FieldError("username", "username is required")
	}
	if len(name) > 64 {
		return FieldError("username", "username must be at most 64 characters")
	}
	for i, r := range name {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || (i > 0 && (r == '.' || r == '_' || r == '-'))
		if !ok {
			return FieldError("username", "username may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit")
		}
	}
	return nil
}

// ValidateEmail checks a normalized email address.
func ValidateEmail(email string) error {
	if email == "" {
		return FieldError("email", "email is required")
	}
	if len(email) > 254 {
		return FieldError("email", "email must be at most 254 characters")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") && !strings.HasSuffix(email, "@localhost") {
		return FieldError("email", "email is not a valid address")
	}
	return nil
}

// UserUpdate lists the fields an update changes; nil means unchanged.
type UserUpdate struct {
	Username     *string
	Email        *string
	Name         *string
	Role         *Role
	Disabled     *bool
	PasswordHash *string
}

// UserFilter selects users for listing. Query matches username, email or name, case-insensitively.
type UserFilter struct {
	Query  string
	Offset int
	Limit  int
}

// UsernameCollision is an existing account whose username looks like another's (same TR39
// skeleton): reported at start, never changed automatically.
type UsernameCollision struct {
	ID            int64
	Username      string
	OtherID       int64
	OtherUsername string
}

// UserStore keeps accounts.
type UserStore interface {
	// FillUsernameSkeletons gives rows written before skeletons existed theirs and returns the
	// rows whose skeleton another row already holds (they are left as they are).
	FillUsernameSkeletons(ctx context.Context) ([]UsernameCollision, error)
	// CreateUser inserts u and sets its ID and times. EConflict (Field "username" or "email")
	// when either is taken.
	CreateUser(ctx context.Context, u *User) error
	// CreateFirstAdmin inserts u only if there is no user at all, atomically with respect to
	// concurrent callers: exactly one of two racing calls succeeds, the other gets ESetupDone.
	CreateFirstAdmin(ctx context.Context, u *User) error
	// UserByID and UserByLogin return ENotFound when there is no such user. UserByLogin matches
	// the normalized username or email.
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByLogin(ctx context.Context, login string) (*User, error)
	// ListUsers returns one page ordered by ID and whether more follow.
	ListUsers(ctx context.Context, f UserFilter) ([]*User, bool, error)
	// UpdateUser applies upd and returns the new user. ELastAdmin if it would leave no enabled
	// administrator; EConflict if the new username or email is taken; ENotFound.
	UpdateUser(ctx context.Context, id int64, upd UserUpdate) (*User, error)
	// DeleteUser removes the user, their sessions and refresh tokens; their events stay (the
	// audit trail outlives the account). ELastAdmin, ENotFound.
	DeleteUser(ctx context.Context, id int64) error
	// CountUsers counts all users; HasAdmin reports whether any administrator exists.
	CountUsers(ctx context.Context) (int, error)
	HasAdmin(ctx context.Context) (bool, error)
}
