package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/passkey"
	"github.com/gatehouse/gatehouse/token"
)

// passkeys is the WebAuthn state of a Service: the relying party of server.public_url, or why
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

// PasskeyStatus reports whether passkeys can be used, and when not, why (for the admin console).
func (s *Service) PasskeyStatus() (enabled bool, reason string) {
	return s.pk.rp != nil, s.pk.off
}

// PasskeyView is a passkey as its owner and administrators see it.
type PasskeyView struct {
	ID             int64      `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	BackupEligible bool       `json:"backup_eligible"`
	BackupState    bool       `json:"backup_state"`
}

func passkeyView(p *gatehouse.Passkey) PasskeyView {
	return PasskeyView{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt,
		BackupEligible: p.BackupEligible, BackupState: p.BackupState}
}

// PasskeyChallenge starts a ceremony: Ceremony is the id to send back with the result,
// PublicKey the options for navigator.credentials.create() or get().
type PasskeyChallenge struct {
	Ceremony  string          `json:"ceremony"`
	PublicKey json.RawMessage `json:"publicKey"`
}

func (s *Service) requirePasskeys() error {
	if s.pk.rp == nil {
		return gatehouse.Errorf(gatehouse.EForbidden, "passkeys are off on this server: %s", s.pk.off)
	}
	return nil
}

var errCeremony = &gatehouse.Error{Code: gatehouse.EInvalid, Field: "ceremony",
	Message: "the passkey ceremony is unknown, expired or already used; start again"}

// Passkeys lists a user's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, userID int64) ([]PasskeyView, error) {
	ps, err := s.store.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]PasskeyView, 0, len(ps))
	for _, p := range ps {
		out = append(out, passkeyView(p))
	}
	return out, nil
}

// passkeyUser is the WebAuthn view of u with its stored credentials. create makes the user
// handle when the user has none yet (registration); otherwise a missing handle is ENotFound.
func (s *Service) passkeyUser(ctx context.Context, u *gatehouse.User, create bool) (*passkey.User, []*gatehouse.Passkey, error) {
	var handle []byte
	var err error
	if create {
		// A random handle, not the numeric id: it is what authenticators store and return, so
		// it must say nothing about the account and never be reused by a later account.
		fresh := make([]byte, 32)
		_, _ = rand.Read(fresh)
		handle, err = s.store.EnsurePasskeyHandle(ctx, u.ID, fresh)
	} else {
		handle, err = s.store.PasskeyHandle(ctx, u.ID)
	}
	if err != nil {
		return nil, nil, err
	}
	stored, err := s.store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	pu := &passkey.User{Handle: handle, Name: u.Username, DisplayName: u.DisplayName()}
	for _, p := range stored {
		c, err := passkey.Decode(p.Credential)
		if err != nil {
			return nil, nil, err
		}
		pu.Credentials = append(pu.Credentials, c)
	}
	return pu, stored, nil
}

// newCeremony stores the session data of a started ceremony and returns the id for the client.
func (s *Service) newCeremony(ctx context.Context, kind string, userID int64, options json.RawMessage, data []byte) (*PasskeyChallenge, error) {
	id, h := token.Opaque()
	now := s.clock.Now()
	c := &gatehouse.Ceremony{IDHash: h, Kind: kind, UserID: userID, Data: data, CreatedAt: now, ExpiresAt: now.Add(passkey.Timeout)}
	if err := s.store.CreateCeremony(ctx, c); err != nil {
		return nil, err
	}
	return &PasskeyChallenge{Ceremony: id, PublicKey: options}, nil
}

// consumeCeremony spends a ceremony: whatever happens next, it cannot be used again.
func (s *Service) consumeCeremony(ctx context.Context, id, kind string) (*gatehouse.Ceremony, error) {
	if id == "" || len(id) > 128 {
		return nil, errCeremony
	}
	c, err := s.store.ConsumeCeremony(ctx, token.Hash(id), kind, s.clock.Now())
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, errCeremony
	}
	return c, err
}

// BeginPasskeyRegistration starts adding a passkey to the principal's account.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, p *Principal) (*PasskeyChallenge, error) {
	if err := s.requirePasskeys(); err != nil {
		return nil, err
	}
	// A passkey signs in without the TOTP step and outlives a password reset (reauth.go).
	if err := s.RequireRecentAuth(ctx, p); err != nil {
		return nil, err
	}
	pu, stored, err := s.passkeyUser(ctx, p.User, true)
	if err != nil {
		return nil, err
	}
	if len(stored) >= maxPasskeys {
		return nil, gatehouse.Errorf(gatehouse.EConflict, "an account can have at most %d passkeys; delete one first", maxPasskeys)
	}
	opts, data, err := s.pk.rp.BeginRegistration(pu)
	if err != nil {
		return nil, err
	}
	return s.newCeremony(ctx, gatehouse.CeremonyRegister, p.User.ID, opts, data)
}

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

// FinishPasskeyRegistration verifies the browser's new credential and stores it as a passkey.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p *Principal, ceremony, name string, credential json.RawMessage, meta ClientMeta) (*PasskeyView, error) {
	if err := s.requirePasskeys(); err != nil {
		return nil, err
	}
	name, err := checkPasskeyName(name)
	if err != nil {
		return nil, err
	}
	if len(credential) == 0 || string(credential) == "null" {
		return nil, gatehouse.FieldError("credential", "credential is required: the PublicKeyCredential from navigator.credentials.create()")
	}
	c, err := s.consumeCeremony(ctx, ceremony, gatehouse.CeremonyRegister)
	if err != nil {
		return nil, err
	}
	// A ceremony belongs to the account that started it.
	if c.UserID != p.User.ID {
		return nil, errCeremony
	}
	pu, _, err := s.passkeyUser(ctx, p.User, false)
	if err != nil {
		return nil, err
	}
	cred, err := s.pk.rp.FinishRegistration(pu, c.Data, credential)
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
	s.event(ctx, gatehouse.EventPasskeyAdded, p.User.ID, p.SessionID, meta, map[string]any{
		"passkey_id": pk.ID, "name": pk.Name, "backup_eligible": pk.BackupEligible, "backup_state": pk.BackupState})
	v := passkeyView(pk)
	return &v, nil
}

// RenamePasskey renames one of the principal's passkeys.
func (s *Service) RenamePasskey(ctx context.Context, p *Principal, id int64, name string, meta ClientMeta) (*PasskeyView, error) {
	name, err := checkPasskeyName(name)
	if err != nil {
		return nil, err
	}
	pk, err := s.store.RenamePasskey(ctx, p.User.ID, id, name)
	if err != nil {
		return nil, err
	}
	s.event(ctx, gatehouse.EventPasskeyRenamed, p.User.ID, p.SessionID, meta, map[string]any{"passkey_id": pk.ID, "name": pk.Name})
	v := passkeyView(pk)
	return &v, nil
}

// DeletePasskey removes one of the principal's passkeys, after a recent authentication (a stolen
// session must not take the owner's way in away). The last way to sign in (no password, no other
// passkey and no external identity) is refused: the account would be locked for good.
func (s *Service) DeletePasskey(ctx context.Context, p *Principal, id int64, meta ClientMeta) error {
	if err := s.RequireRecentAuth(ctx, p); err != nil {
		return err
	}
	if err := s.keepsAWayIn(ctx, p.User.ID, id); err != nil {
		return err
	}
	pk, err := s.store.DeletePasskey(ctx, p.User.ID, id)
	if err != nil {
		return err
	}
	s.event(ctx, gatehouse.EventPasskeyRemoved, p.User.ID, p.SessionID, meta, map[string]any{"passkey_id": pk.ID, "name": pk.Name})
	return nil
}

// AdminPasskeys lists a user's passkeys for an administrator (ENotFound for an unknown user).
func (s *Service) AdminPasskeys(ctx context.Context, admin *Principal, userID int64) ([]PasskeyView, error) {
	if admin.User.Role != gatehouse.RoleAdmin {
		return nil, gatehouse.Errorf(gatehouse.EForbidden, "administrators only")
	}
	if _, err := s.store.UserByID(ctx, userID); err != nil {
		return nil, err
	}
	return s.Passkeys(ctx, userID)
}

// AdminDeletePasskey removes a user's passkey as an administrator.
func (s *Service) AdminDeletePasskey(ctx context.Context, admin *Principal, userID, id int64, meta ClientMeta) error {
	if admin.User.Role != gatehouse.RoleAdmin {
		return gatehouse.Errorf(gatehouse.EForbidden, "administrators only")
	}
	pk, err := s.store.DeletePasskey(ctx, userID, id)
	if err != nil {
		return err
	}
	s.userEvent(ctx, gatehouse.EventPasskeyRemoved, admin, userID, meta, map[string]any{"passkey_id": pk.ID, "name": pk.Name, "by": "admin"})
	return nil
}

// BeginPasskeyLogin starts a passkey sign-in. No account is named: the browser offers the
// passkeys it holds for this site and the user handle in the answer says whose it is.
func (s *Service) BeginPasskeyLogin(ctx context.Context, meta ClientMeta) (*PasskeyChallenge, error) {
	if err := s.requirePasskeys(); err != nil {
		return nil, err
	}
	if err := s.ExpensiveLimit(ctx, LimitPasskeyBegin, meta); err != nil {
		return nil, err
	}
	opts, data, err := s.pk.rp.BeginLogin()
	if err != nil {
		return nil, err
	}
	return s.newCeremony(ctx, gatehouse.CeremonyLogin, 0, opts, data)
}

var errPasskeyRefused = gatehouse.Errorf(gatehouse.EInvalidCredentials, "the passkey was not accepted")

// FinishPasskeyLogin verifies an assertion and starts a session. It does not enter the TOTP
// step: the assertion must carry user verification (PIN or biometric on the authenticator).
// The updated credential (sign count, backup state) is stored after every sign-in; a sign
// count that did not increase where the authenticator keeps one is refused and recorded.
func (s *Service) FinishPasskeyLogin(ctx context.Context, ceremony string, credential json.RawMessage, stay bool, meta ClientMeta) (*Tokens, error) {
	if err := s.requirePasskeys(); err != nil {
		return nil, err
	}
	st := s.Settings()
	if err := s.limit(ctx, "ip:"+ipBucket(meta.IP), st.LoginBurst, st.LoginRefill, meta, ""); err != nil {
		return nil, err
	}
	if len(credential) == 0 || string(credential) == "null" {
		return nil, gatehouse.FieldError("credential", "credential is required: the PublicKeyCredential from navigator.credentials.get()")
	}
	c, err := s.consumeCeremony(ctx, ceremony, gatehouse.CeremonyLogin)
	if err != nil {
		return nil, err
	}
	var (
		user   *gatehouse.User
		stored []*gatehouse.Passkey
	)
	lookup := func(handle []byte) (*passkey.User, error) {
		uid, err := s.store.UserIDByPasskeyHandle(ctx, handle)
		if err != nil {
			return nil, err
		}
		u, err := s.store.UserByID(ctx, uid)
		if err != nil {
			return nil, err
		}
		pu, ps, err := s.passkeyUser(ctx, u, false)
		if err != nil {
			return nil, err
		}
		// Byte-for-byte, as the library also checks: the handle is the account's identity.
		if !bytes.Equal(pu.Handle, handle) {
			return nil, errPasskeyRefused
		}
		user, stored = u, ps
		return pu, nil
	}
	_, cred, err := s.pk.rp.FinishLogin(c.Data, credential, lookup)
	if err != nil {
		var uid int64
		if user != nil {
			uid = user.ID
		}
		s.obs.SignIn("invalid_credentials")
		s.event(ctx, gatehouse.EventLoginFailed, uid, "", meta, map[string]any{"method": gatehouse.AuthPasskey, "reason": "passkey_refused", "detail": passkey.Describe(err)})
		return nil, errPasskeyRefused
	}
	var pk *gatehouse.Passkey
	for _, p := range stored {
		if bytes.Equal(p.CredentialID, cred.ID) {
			pk = p
		}
	}
	if pk == nil {
		return nil, errPasskeyRefused
	}
	if cred.Authenticator.CloneWarning {
		// go-webauthn only flags this; accepting it would let a cloned key sign in.
		s.obs.SignIn("invalid_credentials")
		data := map[string]any{"passkey_id": pk.ID, "name": pk.Name, "stored_sign_count": pk.SignCount}
		s.event(ctx, gatehouse.EventPasskeyCloneWarning, user.ID, "", meta, data)
		s.event(ctx, gatehouse.EventLoginFailed, user.ID, "", meta, map[string]any{"method": gatehouse.AuthPasskey, "reason": "sign_count_not_increased", "passkey_id": pk.ID})
		return nil, errPasskeyRefused
	}
	if user.Disabled {
		s.obs.SignIn("account_disabled")
		s.event(ctx, gatehouse.EventLoginFailed, user.ID, "", meta, map[string]any{"method": gatehouse.AuthPasskey, "reason": "account_disabled"})
		return nil, gatehouse.Errorf(gatehouse.EAccountDisabled, "this account is disabled; ask an administrator")
	}
	if err := s.savePasskeyUse(ctx, pk, cred); err != nil {
		if gatehouse.IsCode(err, gatehouse.EConflict) || gatehouse.IsCode(err, gatehouse.ENotFound) {
			// Another sign-in with the same counter won the race, or the passkey was deleted
			// meanwhile: either way this assertion must not count.
			s.event(ctx, gatehouse.EventLoginFailed, user.ID, "", meta, map[string]any{"method": gatehouse.AuthPasskey, "reason": "passkey_changed_concurrently", "passkey_id": pk.ID})
			return nil, errPasskeyRefused
		}
		return nil, err
	}
	return s.startSession(ctx, user, gatehouse.AuthPasskey, stay, meta)
}

// savePasskeyUse stores the library's updated copy of the credential.
func (s *Service) savePasskeyUse(ctx context.Context, pk *gatehouse.Passkey, cred *webauthn.Credential) error {
	enc, err := passkey.Encode(cred)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	upd := *pk
	upd.Credential, upd.SignCount = enc, cred.Authenticator.SignCount
	upd.BackupEligible, upd.BackupState, upd.LastUsedAt = cred.Flags.BackupEligible, cred.Flags.BackupState, &now
	return s.store.UpdatePasskeyUse(ctx, &upd, pk.SignCount)
}
