package auth

import (
	"context"
	"crypto/rand"
	"encoding/json"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/passkey"
	"github.com/gatehouse/gatehouse/token"
	"github.com/go-webauthn/webauthn/webauthn"
)

// PasskeyStatus reports whether passkeys can be used, and when not, why (for the admin console).
func (s *passkeyKit) PasskeyStatus() (enabled bool, reason string) {
	return s.pk.rp != nil, s.pk.off
}

func (s *passkeyKit) requirePasskeys() error {
	if s.pk.rp == nil {
		return gatehouse.Errorf(gatehouse.EForbidden, "passkeys are off on this server: %s", s.pk.off)
	}
	return nil
}

// passkeyUser is the WebAuthn view of u with its stored credentials. create makes the user
// handle when the user has none yet (registration); otherwise a missing handle is ENotFound.
func (s *passkeyKit) passkeyUser(ctx context.Context, u *gatehouse.User, create bool) (*passkey.User, []*gatehouse.Passkey, error) {
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
func (s *passkeyKit) newCeremony(ctx context.Context, kind string, userID int64, options json.RawMessage, data []byte) (*PasskeyChallenge, error) {
	id, h := token.Opaque()
	now := s.clock.Now()
	c := &gatehouse.Ceremony{IDHash: h, Kind: kind, UserID: userID, Data: data, CreatedAt: now, ExpiresAt: now.Add(passkey.Timeout)}
	if err := s.store.CreateCeremony(ctx, c); err != nil {
		return nil, err
	}
	return &PasskeyChallenge{Ceremony: id, PublicKey: options}, nil
}

// consumeCeremony spends a ceremony: whatever happens next, it cannot be used again.
func (s *passkeyKit) consumeCeremony(ctx context.Context, id, kind string) (*gatehouse.Ceremony, error) {
	if id == "" || len(id) > 128 {
		return nil, errCeremony
	}
	c, err := s.store.ConsumeCeremony(ctx, token.Hash(id), kind, s.clock.Now())
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, errCeremony
	}
	return c, err
}

// savePasskeyUse stores the library's updated copy of the credential.
func (s *passkeyKit) savePasskeyUse(ctx context.Context, pk *gatehouse.Passkey, cred *webauthn.Credential) error {
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

// list is a user's passkeys, for the owner and for administrators.
func (s *passkeyKit) list(ctx context.Context, userID int64) ([]PasskeyView, error) {
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
