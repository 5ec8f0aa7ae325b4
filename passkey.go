package gatehouse

import (
	"context"
	"time"
)

// Kinds of WebAuthn ceremonies.
const (
	CeremonyRegister = "register"
	CeremonyLogin    = "login"
)

// Passkey is one WebAuthn credential of a user. Credential is the WebAuthn library's credential
// record, opaque to the store; the other fields are what lists, updates and look-ups need.
type Passkey struct {
	ID           int64
	UserID       int64
	CredentialID []byte
	Name         string
	Credential   []byte
	SignCount    uint32
	// BackupEligible and BackupState are the authenticator's BE and BS flags: whether the key may
	// be synced to other devices, and whether it is.
	BackupEligible bool
	BackupState    bool
	CreatedAt      time.Time
	LastUsedAt     *time.Time
}

// Ceremony is the server half of a started WebAuthn ceremony. IDHash is SHA-256 of the random id
// the client holds; Data is the library's session data (challenge, user verification, ...).
type Ceremony struct {
	IDHash    []byte
	Kind      string
	UserID    int64 // 0 for a sign-in, whose user is not known until it finishes
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// PasskeyStore keeps passkeys, the per-user WebAuthn user handles and pending ceremonies.
type PasskeyStore interface {
	// EnsurePasskeyHandle returns the user's WebAuthn user handle, storing handle as it when the
	// user has none yet; two racing calls return the same stored handle. ENotFound when the user
	// does not exist.
	EnsurePasskeyHandle(ctx context.Context, userID int64, handle []byte) ([]byte, error)
	// PasskeyHandle returns the user's handle; ENotFound when there is none.
	PasskeyHandle(ctx context.Context, userID int64) ([]byte, error)
	// UserIDByPasskeyHandle returns the owner of a handle; ENotFound when unknown.
	UserIDByPasskeyHandle(ctx context.Context, handle []byte) (int64, error)
	// CreatePasskey inserts p and sets its ID. EConflict (Field "credential") when the credential
	// ID is already registered, to anyone; ENotFound when the user does not exist.
	CreatePasskey(ctx context.Context, p *Passkey) error
	// ListPasskeys returns the user's passkeys, oldest first.
	ListPasskeys(ctx context.Context, userID int64) ([]*Passkey, error)
	// RenamePasskey renames the user's passkey; ENotFound when the user has no passkey id.
	RenamePasskey(ctx context.Context, userID, id int64, name string) (*Passkey, error)
	// DeletePasskey removes the user's passkey and returns it; ENotFound when the user has no
	// passkey id.
	DeletePasskey(ctx context.Context, userID, id int64) (*Passkey, error)
	// UpdatePasskeyUse stores the record after a sign-in (Credential, SignCount, flags,
	// LastUsedAt) only while the stored sign count is still prevSignCount, so two sign-ins racing
	// with the same counter cannot both succeed: EConflict for the loser, ENotFound when the
	// passkey is gone.
	UpdatePasskeyUse(ctx context.Context, p *Passkey, prevSignCount uint32) error
	// CreateCeremony stores c and removes ceremonies that expired before c.CreatedAt.
	CreateCeremony(ctx context.Context, c *Ceremony) error
	// ConsumeCeremony removes and returns the ceremony of that hash and kind when it has not
	// expired at now. A ceremony is returned at most once, also to racing callers; ENotFound
	// otherwise.
	ConsumeCeremony(ctx context.Context, idHash []byte, kind string, now time.Time) (*Ceremony, error)
}
