package auth

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/passkey"
)

// ceremonyReauth is the kind of a passkey assertion that confirms it is the user in a session,
// kept apart from sign-in ceremonies so neither can finish the other.
const ceremonyReauth = "reauth"

// BeginPasskeyReauth starts a passkey assertion that renews the principal's recent
// authentication. The ceremony belongs to the principal; only their passkeys can finish it.
func (s *Account) BeginPasskeyReauth(ctx context.Context, p *Principal) (*PasskeyChallenge, error) {
	if err := s.core.passkeys.requirePasskeys(); err != nil {
		return nil, err
	}
	if _, err := s.core.reauthSession(ctx, p); err != nil {
		return nil, err
	}
	opts, data, err := s.core.passkeys.pk.rp.BeginLogin()
	if err != nil {
		return nil, err
	}
	return s.core.passkeys.newCeremony(ctx, ceremonyReauth, p.User.ID, opts, data)
}

// FinishPasskeyReauth verifies the assertion (user verification required, as for sign-in) with
// one of the principal's own passkeys and records the re-authentication on the session. Attempts
// spend from reauthLimit like passwords.
func (s *Account) FinishPasskeyReauth(ctx context.Context, p *Principal, ceremony string, credential json.RawMessage, meta ClientMeta) (*ReauthStatus, error) {
	if err := s.core.passkeys.requirePasskeys(); err != nil {
		return nil, err
	}
	if len(credential) == 0 || string(credential) == "null" {
		return nil, gatehouse.FieldError("credential", "credential is required: the PublicKeyCredential from navigator.credentials.get()")
	}
	if _, err := s.core.reauthSession(ctx, p); err != nil {
		return nil, err
	}
	if err := s.core.limits.reauthLimit(ctx, p.User.ID, meta); err != nil {
		return nil, err
	}
	c, err := s.core.passkeys.consumeCeremony(ctx, ceremony, ceremonyReauth)
	if err != nil {
		return nil, err
	}
	if c.UserID != p.User.ID {
		return nil, errCeremony
	}
	var stored []*gatehouse.Passkey
	lookup := func(handle []byte) (*passkey.User, error) {
		pu, ps, err := s.core.passkeys.passkeyUser(ctx, p.User, false)
		if err != nil {
			return nil, err
		}
		// Someone else's passkey, even a valid one, does not prove it is this user.
		if !bytes.Equal(pu.Handle, handle) {
			return nil, errPasskeyRefused
		}
		stored = ps
		return pu, nil
	}
	refused := func(reason string, data map[string]any) error {
		if data == nil {
			data = map[string]any{}
		}
		data["method"], data["reason"], data["during"] = gatehouse.AuthPasskey, reason, "reauth"
		s.core.event(ctx, gatehouse.EventLoginFailed, p.User.ID, p.SessionID, meta, data)
		return &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: "credential", Message: "the passkey was not accepted"}
	}
	_, cred, err := s.core.passkeys.pk.rp.FinishLogin(c.Data, credential, lookup)
	if err != nil {
		return nil, refused("passkey_refused", map[string]any{"detail": passkey.Describe(err)})
	}
	var pk *gatehouse.Passkey
	for _, x := range stored {
		if bytes.Equal(x.CredentialID, cred.ID) {
			pk = x
		}
	}
	if pk == nil {
		return nil, refused("passkey_refused", nil)
	}
	if cred.Authenticator.CloneWarning {
		s.core.event(ctx, gatehouse.EventPasskeyCloneWarning, p.User.ID, p.SessionID, meta, map[string]any{"passkey_id": pk.ID, "name": pk.Name, "stored_sign_count": pk.SignCount})
		return nil, refused("sign_count_not_increased", map[string]any{"passkey_id": pk.ID})
	}
	if err := s.core.passkeys.savePasskeyUse(ctx, pk, cred); err != nil {
		if gatehouse.IsCode(err, gatehouse.EConflict) || gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, refused("passkey_changed_concurrently", map[string]any{"passkey_id": pk.ID})
		}
		return nil, err
	}
	return s.markReauth(ctx, p, gatehouse.AuthPasskey, meta)
}
