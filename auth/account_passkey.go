package auth

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/passkey"
)

// passkeys is the WebAuthn state of this instance: the relying party of server.public_url, or why
// there is none.
type passkeys struct {
	rp  *passkey.RP
	off string
}

func newPasskeys(public *url.URL) passkeys {
	rp, err := passkey.New(public, "gatehouse")
	if err != nil {
		return passkeys{off: err.Error()}
	}
	return passkeys{rp: rp}
}

// Limits of the passkey API.
const (
	maxPasskeyName = 64
	maxPasskeys    = 50
)

// PasskeyView is a passkey as its owner and administrators see it.
type PasskeyView struct {
	ID             int64
	Name           string
	CreatedAt      time.Time
	LastUsedAt     *time.Time
	BackupEligible bool
	BackupState    bool
}

func passkeyView(p *gatehouse.Passkey) PasskeyView {
	return PasskeyView{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt,
		BackupEligible: p.BackupEligible, BackupState: p.BackupState}
}

// PasskeyChallenge starts a ceremony: Ceremony is the id to send back with the result,
// PublicKey the options for navigator.credentials.create() or get().
type PasskeyChallenge struct {
	Ceremony  string
	PublicKey json.RawMessage
}

var errCeremony = &gatehouse.Error{Code: gatehouse.EInvalid, Field: "ceremony",
	Message: "the passkey ceremony is unknown, expired or already used; start again"}

func checkPasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", gatehouse.FieldError("name", "give the passkey a name, e.g. MacBook or YubiKey")
	}
	if utf8.RuneCountInString(name) > maxPasskeyName || !utf8.ValidString(name) {
		return "", gatehouse.FieldError("name", "the name must be at most %d characters", maxPasskeyName)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", gatehouse.FieldError("name", "the name must not contain control characters")
		}
	}
	return name, nil
}

var errPasskeyRefused = gatehouse.Errorf(gatehouse.EInvalidCredentials, "the passkey was not accepted")

// Passkeys lists the principal's own passkeys, oldest first.
func (s *Account) Passkeys(ctx context.Context, p *Principal) ([]PasskeyView, error) {
	return s.core.passkeys.list(ctx, p.User.ID)
}

// BeginPasskeyRegistration starts adding a passkey to the principal's account.
func (s *Account) BeginPasskeyRegistration(ctx context.Context, p *Principal) (*PasskeyChallenge, error) {
	if err := s.core.passkeys.requirePasskeys(); err != nil {
		return nil, err
	}
	// A passkey signs in without the TOTP step and outlives a password reset (reauth.go).
	if err := s.core.RequireRecentAuth(ctx, p); err != nil {
		return nil, err
	}
	pu, stored, err := s.core.passkeys.passkeyUser(ctx, p.User, true)
	if err != nil {
		return nil, err
	}
	if len(stored) >= maxPasskeys {
		return nil, gatehouse.Errorf(gatehouse.EConflict, "an account can have at most %d passkeys; delete one first", maxPasskeys)
	}
	opts, data, err := s.core.passkeys.pk.rp.BeginRegistration(pu)
	if err != nil {
		return nil, err
	}
	return s.core.passkeys.newCeremony(ctx, gatehouse.CeremonyRegister, p.User.ID, opts, data)
}

// FinishPasskeyRegistration verifies the browser's new credential and stores it as a passkey.
func (s *Account) FinishPasskeyRegistration(ctx context.Context, p *Principal, ceremony, name string, credential json.RawMessage, meta ClientMeta) (*PasskeyView, error) {
	if err := s.core.passkeys.requirePasskeys(); err != nil {
		return nil, err
	}
	name, err := checkPasskeyName(name)
	if err != nil {
		return nil, err
	}
	if len(credential) == 0 || string(credential) == "null" {
		return nil, gatehouse.FieldError("credential", "credential is required: the PublicKeyCredential from navigator.credentials.create()")
	}
	c, err := s.core.passkeys.consumeCeremony(ctx, ceremony, gatehouse.CeremonyRegister)
	if err != nil {
		return nil, err
	}
	// A ceremony belongs to the account that started it.
	if c.UserID != p.User.ID {
		return nil, errCeremony
	}
	pu, _, err := s.core.passkeys.passkeyUser(ctx, p.User, false)
	if err != nil {
		return nil, err
	}
	cred, err := s.core.passkeys.pk.rp.FinishRegistration(pu, c.Data, credential)
	if err != nil {
		return nil, gatehouse.FieldError("credential", "the passkey was not accepted: %s", passkey.Describe(err))
	}
	enc, err := passkey.Encode(cred)
	if err != nil {
		return nil, err
	}
	pk := &gatehouse.Passkey{UserID: p.User.ID, CredentialID: cred.ID, Name: name, Credential: enc,
		SignCount: cred.Authenticator.SignCount, BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		CreatedAt: s.clock.Now()}
	if err := s.store.CreatePasskey(ctx, pk); err != nil {
		return nil, err
	}
	s.core.event(ctx, gatehouse.EventPasskeyAdded, p.User.ID, p.SessionID, meta, map[string]any{
		"passkey_id": pk.ID, "name": pk.Name, "backup_eligible": pk.BackupEligible, "backup_state": pk.BackupState})
	v := passkeyView(pk)
	return &v, nil
}

// RenamePasskey renames one of the principal's passkeys.
func (s *Account) RenamePasskey(ctx context.Context, p *Principal, id int64, name string, meta ClientMeta) (*PasskeyView, error) {
	name, err := checkPasskeyName(name)
	if err != nil {
		return nil, err
	}
	pk, err := s.store.RenamePasskey(ctx, p.User.ID, id, name)
	if err != nil {
		return nil, err
	}
	s.core.event(ctx, gatehouse.EventPasskeyRenamed, p.User.ID, p.SessionID, meta, map[string]any{"passkey_id": pk.ID, "name": pk.Name})
	v := passkeyView(pk)
	return &v, nil
}

// DeletePasskey removes one of the principal's passkeys, after a recent authentication (a stolen
// session must not take the owner's way in away). The last way to sign in (no password, no other
// passkey and no external identity) is refused: the account would be locked for good.
func (s *Account) DeletePasskey(ctx context.Context, p *Principal, id int64, meta ClientMeta) error {
	if err := s.core.RequireRecentAuth(ctx, p); err != nil {
		return err
	}
	if err := s.keepsAWayIn(ctx, p.User.ID, id); err != nil {
		return err
	}
	pk, err := s.store.DeletePasskey(ctx, p.User.ID, id)
	if err != nil {
		return err
	}
	s.core.event(ctx, gatehouse.EventPasskeyRemoved, p.User.ID, p.SessionID, meta, map[string]any{"passkey_id": pk.ID, "name": pk.Name})
	return nil
}
