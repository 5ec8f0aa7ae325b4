package auth

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/passkey"
	"github.com/go-webauthn/webauthn/webauthn"
)

// BeginPasskeyLogin starts a passkey sign-in. No account is named: the browser offers the
// passkeys it holds for this site and the user handle in the answer says whose it is.
func (s *SignIn) BeginPasskeyLogin(ctx context.Context, meta ClientMeta) (*PasskeyChallenge, error) {
	if err := s.core.passkeys.requirePasskeys(); err != nil {
		return nil, err
	}
	// Anyone can start one (the login page does, for autofill, on every load): the per-address
	// expensive-request bucket bounds them.
	if err := s.core.limits.expensive(ctx, LimitPasskeyBegin, meta); err != nil {
		return nil, err
	}
	opts, data, err := s.core.passkeys.pk.rp.BeginLogin()
	if err != nil {
		return nil, err
	}
	return s.core.passkeys.newCeremony(ctx, gatehouse.CeremonyLogin, 0, opts, data)
}

// FinishPasskeyLogin verifies an assertion and starts a session. It does not enter the TOTP
// step: the assertion must carry user verification (PIN or biometric on the authenticator).
// The updated credential (sign count, backup state) is stored after every sign-in; a sign
// count that did not increase where the authenticator keeps one is refused and recorded.
func (s *SignIn) FinishPasskeyLogin(ctx context.Context, ceremony string, credential json.RawMessage, stay bool, meta ClientMeta) (*Tokens, error) {
	if err := s.core.passkeys.requirePasskeys(); err != nil {
		return nil, err
	}
	st := s.core.Settings()
	if err := s.core.limits.limit(ctx, "ip:"+ipBucket(meta.IP), st.LoginBurst, st.LoginRefill, meta, ""); err != nil {
		return nil, err
	}
	if len(credential) == 0 || string(credential) == "null" {
		return nil, gatehouse.FieldError("credential", "credential is required: the PublicKeyCredential from navigator.credentials.get()")
	}
	c, err := s.core.passkeys.consumeCeremony(ctx, ceremony, gatehouse.CeremonyLogin)
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
		pu, ps, err := s.core.passkeys.passkeyUser(ctx, u, false)
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
	_, cred, err := s.core.passkeys.pk.rp.FinishLogin(c.Data, credential, lookup)
	if err != nil {
		var uid int64
		if user != nil {
			uid = user.ID
		}
		s.core.obs.SignIn("invalid_credentials")
		s.core.event(ctx, gatehouse.EventLoginFailed, uid, "", meta, map[string]any{"method": gatehouse.AuthPasskey, "reason": "passkey_refused", "detail": passkey.Describe(err)})
		return nil, errPasskeyRefused
	}
	pk, err := s.matchPasskey(ctx, user, stored, cred, meta)
	if err != nil {
		return nil, err
	}
	if user.Disabled {
		s.core.obs.SignIn("account_disabled")
		s.core.event(ctx, gatehouse.EventLoginFailed, user.ID, "", meta, map[string]any{"method": gatehouse.AuthPasskey, "reason": "account_disabled"})
		return nil, gatehouse.Errorf(gatehouse.EAccountDisabled, "this account is disabled; ask an administrator")
	}
	if err := s.core.passkeys.savePasskeyUse(ctx, pk, cred); err != nil {
		if gatehouse.IsCode(err, gatehouse.EConflict) || gatehouse.IsCode(err, gatehouse.ENotFound) {
			// Another sign-in with the same counter won the race, or the passkey was deleted
			// meanwhile: either way this assertion must not count.
			s.core.event(ctx, gatehouse.EventLoginFailed, user.ID, "", meta, map[string]any{"method": gatehouse.AuthPasskey, "reason": "passkey_changed_concurrently", "passkey_id": pk.ID})
			return nil, errPasskeyRefused
		}
		return nil, err
	}
	return s.core.startSession(ctx, user, gatehouse.AuthPasskey, stay, meta)
}

// matchPasskey finds the stored passkey a verified assertion used, refusing one whose signature
// counter says it may have been cloned.
func (s *SignIn) matchPasskey(ctx context.Context, user *gatehouse.User, stored []*gatehouse.Passkey, cred *webauthn.Credential, meta ClientMeta) (pk *gatehouse.Passkey, err error) {
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
		s.core.obs.SignIn("invalid_credentials")
		data := map[string]any{"passkey_id": pk.ID, "name": pk.Name, "stored_sign_count": pk.SignCount}
		s.core.event(ctx, gatehouse.EventPasskeyCloneWarning, user.ID, "", meta, data)
		s.core.event(ctx, gatehouse.EventLoginFailed, user.ID, "", meta, map[string]any{"method": gatehouse.AuthPasskey, "reason": "sign_count_not_increased", "passkey_id": pk.ID})
		return nil, errPasskeyRefused
	}
	return pk, nil
}
