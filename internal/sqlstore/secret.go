package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
)

const secretFingerprintKey = "jwt_secret_fingerprint"

// RotateSecret implements gatehouse.SecretStore. The row is created if missing (ON CONFLICT keeps
// two first starts from colliding) and then read under a row lock, so of several instances that
// start with the same new secret exactly one sees the old fingerprint and ends the sessions; the
// others wait for its commit and find theirs already recorded.
func (s *Store) RotateSecret(ctx context.Context, fingerprint, reason string, at time.Time) (*gatehouse.SecretRotation, error) {
	out := &gatehouse.SecretRotation{}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		*out = gatehouse.SecretRotation{}
		res, err := tx.ExecContext(ctx, `INSERT INTO server_state (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
			secretFingerprintKey, fingerprint, s.d.TimeArg(at))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			out.First = true
			return nil
		}
		var cur string
		if err := tx.QueryRowContext(ctx, `SELECT value FROM server_state WHERE key = $1`+s.d.ForUpdate, secretFingerprintKey).Scan(&cur); err != nil {
			return err
		}
		if cur == fingerprint {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE server_state SET value = $2, updated_at = $3 WHERE key = $1`, secretFingerprintKey, fingerprint, s.d.TimeArg(at)); err != nil {
			return err
		}
		out.Rotated = true
		if out.Sessions, err = s.revokeAll(ctx, tx, reason, at); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM one_time_tokens WHERE used_at IS NULL`)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		out.Links = int(n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// revokeAll revokes every session that is still active at `at`, deletes every refresh token, and
// appends one change row per revoked session (kept as long as RevokeSession keeps it), so
// instances that cached a session drop it.
func (s *Store) revokeAll(ctx context.Context, tx *sql.Tx, reason string, at time.Time) (int, error) {
	type row struct {
		id            string
		accessExpMax  time.Time
		sessionExpiry time.Time
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, access_exp_max, expires_at FROM sessions WHERE revoked_at IS NULL AND (expires_at > $1 OR access_exp_max > $1)`, s.d.TimeArg(at))
	if err != nil {
		return 0, err
	}
	var live []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, timeDest{&r.accessExpMax}, timeDest{&r.sessionExpiry}); err != nil {
			rows.Close()
			return 0, err
		}
		live = append(live, r)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE revoked_at IS NULL AND (expires_at > $1 OR access_exp_max > $1)`,
		s.d.TimeArg(at), reason); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens`); err != nil {
		return 0, err
	}
	for _, r := range live {
		exp := at
		for _, t := range []time.Time{r.accessExpMax, r.sessionExpiry} {
			if t.After(exp) {
				exp = t
			}
		}
		if err := s.addChange(ctx, tx, &gatehouse.Change{Kind: gatehouse.ChangeSessionRevoked, Subject: r.id, At: at, ExpiresAt: exp.Add(time.Minute)}); err != nil {
			return 0, err
		}
	}
	return len(live), nil
}

// WriteCheck implements gatehouse.Store: /readyz asks whether writes succeed, not only whether the
// database answers (issue #15: a full disk kept instances "ready" while every change failed).
func (s *Store) WriteCheck(ctx context.Context) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO server_state (key, value, updated_at) VALUES ('ready_probe', 'ok', $1)
		ON CONFLICT (key) DO UPDATE SET updated_at = excluded.updated_at`, s.d.TimeArg(s.now()))
	return err
}
