package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
)

// setMFAEnabled mirrors the authenticator state into users.mfa_enabled and tells every instance
// (through the feed) that cached copies of the user are stale.
func (s *Store) setMFAEnabled(ctx context.Context, tx *sql.Tx, userID int64, on bool, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE users SET mfa_enabled = $1, updated_at = $2 WHERE id = $3`, on, s.d.TimeArg(at), userID); err != nil {
		return err
	}
	return s.addChange(ctx, tx, &gatehouse.Change{Kind: gatehouse.ChangeUser, Subject: fmt.Sprint(userID), At: at, ExpiresAt: at.Add(feedTTL)})
}

func (s *Store) insertRecoveryCodes(ctx context.Context, tx *sql.Tx, userID int64, hashes [][]byte, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = $1`, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)`, userID, h, s.d.TimeArg(at)); err != nil {
			return err
		}
	}
	return nil
}

// PutPendingTOTP implements gatehouse.MFAStore.
func (s *Store) PutPendingTOTP(ctx context.Context, userID int64, secret []byte, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`+s.d.ForUpdate, userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("user")
		}
		if err != nil {
			return err
		}
		var confirmed bool
		err = tx.QueryRowContext(ctx, `SELECT confirmed FROM mfa_totp WHERE user_id = $1`, userID).Scan(&confirmed)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case confirmed:
			return gatehouse.Errorf(gatehouse.EConflict, "an authenticator is already set up; turn it off first")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_totp WHERE user_id = $1`, userID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO mfa_totp (user_id, secret, confirmed, last_step, created_at) VALUES ($1, $2, $3, 0, $4)`,
			userID, secret, false, s.d.TimeArg(at))
		return err
	})
}

// TOTPByUser implements gatehouse.MFAStore.
func (s *Store) TOTPByUser(ctx context.Context, userID int64) (*gatehouse.TOTP, error) {
	t := &gatehouse.TOTP{UserID: userID}
	err := s.r.QueryRowContext(ctx, `SELECT secret, confirmed, last_step, created_at, confirmed_at FROM mfa_totp WHERE user_id = $1`, userID).
		Scan(&t.Secret, &t.Confirmed, &t.LastStep, timeDest{&t.CreatedAt}, nullTimeDest{&t.ConfirmedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("authenticator")
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// ConfirmTOTP implements gatehouse.MFAStore.
func (s *Store) ConfirmTOTP(ctx context.Context, userID, step int64, codeHashes [][]byte, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var confirmed bool
		err := tx.QueryRowContext(ctx, `SELECT confirmed FROM mfa_totp WHERE user_id = $1`+s.d.ForUpdate, userID).Scan(&confirmed)
		if errors.Is(err, sql.ErrNoRows) {
			return gatehouse.Errorf(gatehouse.ENotFound, "no authenticator setup is in progress; start the setup again")
		}
		if err != nil {
			return err
		}
		if confirmed {
			return gatehouse.Errorf(gatehouse.EConflict, "the authenticator is already confirmed")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mfa_totp SET confirmed = $1, last_step = $2, confirmed_at = $3 WHERE user_id = $4`,
			true, step, s.d.TimeArg(at), userID); err != nil {
			return err
		}
		if err := s.insertRecoveryCodes(ctx, tx, userID, codeHashes, at); err != nil {
			return err
		}
		return s.setMFAEnabled(ctx, tx, userID, true, at)
	})
}

// UseTOTPStep implements gatehouse.MFAStore. The condition in the UPDATE is what makes it atomic:
// a second call with the same step matches no row.
func (s *Store) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE mfa_totp SET last_step = $1 WHERE user_id = $2 AND confirmed AND last_step < $1`, step, userID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteMFA implements gatehouse.MFAStore.
func (s *Store) DeleteMFA(ctx context.Context, userID int64, at time.Time) (bool, error) {
	var was bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT mfa_enabled FROM users WHERE id = $1`+s.d.ForUpdate, userID).Scan(&was)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("user")
		}
		if err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM mfa_totp WHERE user_id = $1`, `DELETE FROM mfa_recovery_codes WHERE user_id = $1`, `DELETE FROM mfa_challenges WHERE user_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, userID); err != nil {
				return err
			}
		}
		return s.setMFAEnabled(ctx, tx, userID, false, at)
	})
	return was, err
}

// ReplaceRecoveryCodes implements gatehouse.MFAStore.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID int64, codeHashes [][]byte, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var on bool
		err := tx.QueryRowContext(ctx, `SELECT mfa_enabled FROM users WHERE id = $1`+s.d.ForUpdate, userID).Scan(&on)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("user")
		}
		if err != nil {
			return err
		}
		if !on {
			return gatehouse.Errorf(gatehouse.EConflict, "multi-factor authentication is not enabled")
		}
		return s.insertRecoveryCodes(ctx, tx, userID, codeHashes, at)
	})
}

// UseRecoveryCode implements gatehouse.MFAStore.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, codeHash []byte, at time.Time) (int, error) {
	var left int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE mfa_recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`,
			s.d.TimeArg(at), userID, codeHash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return gatehouse.Errorf(gatehouse.ENotFound, "no such unused recovery code")
		}
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&left)
	})
	return left, err
}

// CountRecoveryCodes implements gatehouse.MFAStore.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	return n, err
}

// CreateMFAChallenge implements gatehouse.MFAStore. Expired challenges go here rather than in a
// janitor: the table only grows through this call, so it stays bounded.
func (s *Store) CreateMFAChallenge(ctx context.Context, c *gatehouse.MFAChallenge) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_challenges WHERE expires_at < $1`, s.d.TimeArg(c.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO mfa_challenges (token_hash, user_id, stay_signed_in, attempts, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			c.TokenHash, c.UserID, c.StaySignedIn, c.Attempts, s.d.TimeArg(c.CreatedAt), s.d.TimeArg(c.ExpiresAt))
		return err
	})
}

// AttemptMFAChallenge implements gatehouse.MFAStore: the attempt is counted by a conditional
// UPDATE, so concurrent attempts can never exceed max.
func (s *Store) AttemptMFAChallenge(ctx context.Context, tokenHash []byte, max int, now time.Time) (*gatehouse.MFAChallenge, error) {
	c := &gatehouse.MFAChallenge{TokenHash: tokenHash}
	err := s.w.QueryRowContext(ctx, `UPDATE mfa_challenges SET attempts = attempts + 1
		WHERE token_hash = $1 AND attempts < $2 AND expires_at > $3
		RETURNING user_id, stay_signed_in, attempts, created_at, expires_at`, tokenHash, max, s.d.TimeArg(now)).
		Scan(&c.UserID, &c.StaySignedIn, &c.Attempts, timeDest{&c.CreatedAt}, timeDest{&c.ExpiresAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("sign-in challenge")
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DeleteMFAChallenge implements gatehouse.MFAStore.
func (s *Store) DeleteMFAChallenge(ctx context.Context, tokenHash []byte) (bool, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM mfa_challenges WHERE token_hash = $1`, tokenHash)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
