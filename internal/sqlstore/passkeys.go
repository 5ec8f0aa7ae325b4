package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
)

const passkeyCols = `id, user_id, credential_id, name, credential, sign_count, backup_eligible, backup_state, created_at, last_used_at`

func scanPasskey(r rowScanner) (*gatehouse.Passkey, error) {
	var p gatehouse.Passkey
	var count int64
	if err := r.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.Name, &p.Credential, &count, &p.BackupEligible, &p.BackupState,
		timeDest{&p.CreatedAt}, nullTimeDest{&p.LastUsedAt}); err != nil {
		return nil, err
	}
	p.SignCount = uint32(count)
	return &p, nil
}

func userExists(ctx context.Context, q querier, id int64) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("user")
	}
	return err
}

// EnsurePasskeyHandle implements gatehouse.PasskeyStore.
func (s *Store) EnsurePasskeyHandle(ctx context.Context, userID int64, handle []byte) ([]byte, error) {
	var out []byte
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := userExists(ctx, tx, userID); err != nil {
			return err
		}
		// ON CONFLICT DO NOTHING: a concurrent first registration keeps the handle that won.
		if _, err := tx.ExecContext(ctx, `INSERT INTO passkey_users (user_id, handle) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`, userID, handle); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT handle FROM passkey_users WHERE user_id = $1`, userID).Scan(&out)
	})
	return out, err
}

// PasskeyHandle implements gatehouse.PasskeyStore.
func (s *Store) PasskeyHandle(ctx context.Context, userID int64) ([]byte, error) {
	var h []byte
	err := s.r.QueryRowContext(ctx, `SELECT handle FROM passkey_users WHERE user_id = $1`, userID).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("passkey user handle")
	}
	return h, err
}

// UserIDByPasskeyHandle implements gatehouse.PasskeyStore.
func (s *Store) UserIDByPasskeyHandle(ctx context.Context, handle []byte) (int64, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, `SELECT user_id FROM passkey_users WHERE handle = $1`, handle).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("passkey user handle")
	}
	return id, err
}

// CreatePasskey implements gatehouse.PasskeyStore.
func (s *Store) CreatePasskey(ctx context.Context, p *gatehouse.Passkey) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := userExists(ctx, tx, p.UserID); err != nil {
			return err
		}
		p.CreatedAt = Norm(p.CreatedAt)
		err := tx.QueryRowContext(ctx, `INSERT INTO passkeys (user_id, credential_id, name, credential, sign_count, backup_eligible, backup_state, created_at, last_used_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (credential_id) DO NOTHING RETURNING id`,
			p.UserID, p.CredentialID, p.Name, p.Credential, int64(p.SignCount), p.BackupEligible, p.BackupState,
			s.d.TimeArg(p.CreatedAt), s.d.nullTimeArg(p.LastUsedAt)).Scan(&p.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return &gatehouse.Error{Code: gatehouse.EConflict, Field: "credential", Message: "this passkey is already registered"}
		}
		return err
	})
}

// ListPasskeys implements gatehouse.PasskeyStore.
func (s *Store) ListPasskeys(ctx context.Context, userID int64) ([]*gatehouse.Passkey, error) {
	return all(ctx, s.r, scanPasskey, `SELECT `+passkeyCols+` FROM passkeys WHERE user_id = $1 ORDER BY id`, userID)
}

// RenamePasskey implements gatehouse.PasskeyStore.
func (s *Store) RenamePasskey(ctx context.Context, userID, id int64, name string) (*gatehouse.Passkey, error) {
	p, err := scanPasskey(s.w.QueryRowContext(ctx, `UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3 RETURNING `+passkeyCols, name, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("passkey")
	}
	return p, err
}

// DeletePasskey implements gatehouse.PasskeyStore.
func (s *Store) DeletePasskey(ctx context.Context, userID, id int64) (*gatehouse.Passkey, error) {
	p, err := scanPasskey(s.w.QueryRowContext(ctx, `DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING `+passkeyCols, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("passkey")
	}
	return p, err
}

// UpdatePasskeyUse implements gatehouse.PasskeyStore.
func (s *Store) UpdatePasskeyUse(ctx context.Context, p *gatehouse.Passkey, prevSignCount uint32) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE passkeys SET credential = $1, sign_count = $2, backup_eligible = $3, backup_state = $4, last_used_at = $5
			WHERE id = $6 AND sign_count = $7`,
			p.Credential, int64(p.SignCount), p.BackupEligible, p.BackupState, s.d.nullTimeArg(p.LastUsedAt), p.ID, int64(prevSignCount))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM passkeys WHERE id = $1`, p.ID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("passkey")
		}
		if err != nil {
			return err
		}
		return gatehouse.Errorf(gatehouse.EConflict, "the passkey was used by another sign-in at the same time")
	})
}

// CreateCeremony implements gatehouse.PasskeyStore.
func (s *Store) CreateCeremony(ctx context.Context, c *gatehouse.Ceremony) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Sign-in ceremonies are started without an account; clearing expired ones on every
		// insert keeps the table as small as the number started in the last few minutes.
		if _, err := tx.ExecContext(ctx, `DELETE FROM passkey_ceremonies WHERE expires_at < $1`, s.d.TimeArg(c.CreatedAt)); err != nil {
			return err
		}
		var uid any
		if c.UserID != 0 {
			uid = c.UserID
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO passkey_ceremonies (id_hash, kind, user_id, data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			c.IDHash, c.Kind, uid, c.Data, s.d.TimeArg(c.CreatedAt), s.d.TimeArg(c.ExpiresAt))
		return err
	})
}

// ConsumeCeremony implements gatehouse.PasskeyStore.
func (s *Store) ConsumeCeremony(ctx context.Context, idHash []byte, kind string, now time.Time) (*gatehouse.Ceremony, error) {
	c := gatehouse.Ceremony{IDHash: idHash, Kind: kind}
	var uid sql.NullInt64
	// DELETE ... RETURNING is atomic: of two racing callers only one gets the row.
	err := s.w.QueryRowContext(ctx, `DELETE FROM passkey_ceremonies WHERE id_hash = $1 AND kind = $2 RETURNING user_id, data, created_at, expires_at`, idHash, kind).
		Scan(&uid, &c.Data, timeDest{&c.CreatedAt}, timeDest{&c.ExpiresAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("ceremony")
	}
	if err != nil {
		return nil, err
	}
	if !now.Before(c.ExpiresAt) {
		return nil, notFound("ceremony")
	}
	c.UserID = uid.Int64
	return &c, nil
}
