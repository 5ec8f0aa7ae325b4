package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/gatehouse/gatehouse"
)

const sessionCols = `id, user_id, token_hash, auth_method, ip, user_agent, created_at, last_seen_at, expires_at, stay_signed_in, binding, access_exp_max, revoked_at, revoke_reason, reauth_at, upgraded_at, first_auth_method`

func scanSession(r rowScanner) (*gatehouse.Session, error) {
	var x gatehouse.Session
	var binding sql.NullString
	if err := r.Scan(&x.ID, &x.UserID, &x.TokenHash, &x.AuthMethod, &x.IP, &x.UserAgent, timeDest{&x.CreatedAt},
		timeDest{&x.LastSeenAt}, timeDest{&x.ExpiresAt}, &x.StaySignedIn, &binding, timeDest{&x.AccessExpMax},
		nullTimeDest{&x.RevokedAt}, &x.RevokeReason, nullTimeDest{&x.ReauthAt}, nullTimeDest{&x.UpgradedAt}, &x.FirstAuthMethod); err != nil {
		return nil, err
	}
	if binding.Valid && binding.String != "" {
		x.Binding = []byte(binding.String)
	}
	return &x, nil
}

func bindingArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// CreateSession implements gatehouse.SessionStore.
func (s *Store) CreateSession(ctx context.Context, x *gatehouse.Session, rt *gatehouse.RefreshToken) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Lock the user row so a concurrent disable either happens before (and we refuse) or
		// after (and its session sweep sees this session).
		var disabled bool
		err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE id = $1`+s.d.ForUpdate, x.UserID).Scan(&disabled)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && disabled) {
			return gatehouse.Errorf(gatehouse.EAccountDisabled, "this account is disabled")
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			x.ID, x.UserID, x.TokenHash, x.AuthMethod, x.IP, x.UserAgent, s.d.TimeArg(x.CreatedAt), s.d.TimeArg(x.LastSeenAt),
			s.d.TimeArg(x.ExpiresAt), x.StaySignedIn, bindingArg(x.Binding), s.d.TimeArg(x.AccessExpMax),
			s.d.nullTimeArg(x.RevokedAt), x.RevokeReason, s.d.nullTimeArg(x.ReauthAt), s.d.nullTimeArg(x.UpgradedAt), x.FirstAuthMethod)
		if err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		if rt != nil {
			return s.insertRefresh(ctx, tx, rt)
		}
		return nil
	})
}

func (s *Store) insertRefresh(ctx context.Context, q querier, rt *gatehouse.RefreshToken) error {
	_, err := q.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5)`,
		rt.Hash, rt.SessionID, s.d.TimeArg(rt.CreatedAt), s.d.TimeArg(rt.ExpiresAt), s.d.nullTimeArg(rt.UsedAt))
	if err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

func (s *Store) sessionWhere(ctx context.Context, where string, arg any) (*gatehouse.Session, error) {
	x, err := scanSession(s.r.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("session")
	}
	return x, err
}

// SessionByID implements gatehouse.SessionStore.
func (s *Store) SessionByID(ctx context.Context, id string) (*gatehouse.Session, error) {
	return s.sessionWhere(ctx, `id = $1`, id)
}

// SessionByTokenHash implements gatehouse.SessionStore.
func (s *Store) SessionByTokenHash(ctx context.Context, hash []byte) (*gatehouse.Session, error) {
	return s.sessionWhere(ctx, `token_hash = $1`, hash)
}

// ListSessions implements gatehouse.SessionStore.
func (s *Store) ListSessions(ctx context.Context, userID int64, now time.Time) ([]*gatehouse.Session, error) {
	return all(ctx, s.r, scanSession, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id`, userID, s.d.TimeArg(now))
}

// CountActiveSessions counts sessions neither revoked nor expired, for the sessions gauge.
func (s *Store) CountActiveSessions(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > $1`, s.d.TimeArg(now)).Scan(&n)
	return n, err
}

// TouchSessions implements gatehouse.SessionStore.
func (s *Store) TouchSessions(ctx context.Context, seen map[string]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	// A fixed order keeps two concurrent flushes from deadlocking on each other's rows.
	sort.Strings(ids)
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			t := s.d.TimeArg(seen[id])
			if _, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1`, t, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// ConsumeRefreshToken implements gatehouse.SessionStore.
// RefreshTokenUsed implements gatehouse.SessionStore.
func (s *Store) RefreshTokenUsed(ctx context.Context, hash []byte) (bool, error) {
	var used bool
	err := s.r.QueryRowContext(ctx, `SELECT used_at IS NOT NULL FROM refresh_tokens WHERE hash = $1`, hash).Scan(&used)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return used, err
}

func (s *Store) ConsumeRefreshToken(ctx context.Context, hash []byte, now time.Time) (*gatehouse.RefreshToken, error) {
	// An unknown token (anyone can send random ones) is answered from a plain read, without the
	// write transaction, which on SQLite would queue behind every other writer.
	var exists int
	if err := s.r.QueryRowContext(ctx, `SELECT 1 FROM refresh_tokens WHERE hash = $1`, hash).Scan(&exists); errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("refresh token")
	} else if err != nil {
		return nil, err
	}
	var out *gatehouse.RefreshToken
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var rt gatehouse.RefreshToken
		err := tx.QueryRowContext(ctx, `SELECT hash, session_id, created_at, expires_at, used_at FROM refresh_tokens WHERE hash = $1`+s.d.ForUpdate, hash).
			Scan(&rt.Hash, &rt.SessionID, timeDest{&rt.CreatedAt}, timeDest{&rt.ExpiresAt}, nullTimeDest{&rt.UsedAt})
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("refresh token")
		}
		if err != nil {
			return err
		}
		if rt.UsedAt == nil {
			if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2`, s.d.TimeArg(now), hash); err != nil {
				return err
			}
		}
		out = &rt
		return nil
	})
	return out, err
}

// AddRefreshToken implements gatehouse.SessionStore.
func (s *Store) AddRefreshToken(ctx context.Context, rt *gatehouse.RefreshToken, accessExp time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var cur time.Time
		err := tx.QueryRowContext(ctx, `SELECT access_exp_max FROM sessions WHERE id = $1 AND revoked_at IS NULL`+s.d.ForUpdate, rt.SessionID).Scan(timeDest{&cur})
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("session")
		}
		if err != nil {
			return err
		}
		if accessExp.After(cur) {
			if _, err := tx.ExecContext(ctx, `UPDATE sessions SET access_exp_max = $1 WHERE id = $2`, s.d.TimeArg(accessExp), rt.SessionID); err != nil {
				return err
			}
		}
		// The next token is derived from the one presented, so two concurrent refreshes with
		// the same token (within the grace period) store the same next token: the chain never
		// forks into two live branches.
		_, err = tx.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, NULL) ON CONFLICT (hash) DO NOTHING`,
			rt.Hash, rt.SessionID, s.d.TimeArg(rt.CreatedAt), s.d.TimeArg(rt.ExpiresAt))
		return err
	})
}

// ExtendAccess implements gatehouse.SessionStore. The revocation check and the raise are one
// statement, so a session revoked meanwhile is not extended (its revocation row was already
// sized by the old AccessExpMax).
func (s *Store) ExtendAccess(ctx context.Context, id string, accessExp time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var cur time.Time
		err := tx.QueryRowContext(ctx, `SELECT access_exp_max FROM sessions WHERE id = $1 AND revoked_at IS NULL`+s.d.ForUpdate, id).Scan(timeDest{&cur})
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("session")
		}
		if err != nil || !accessExp.After(cur) {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET access_exp_max = $1 WHERE id = $2`, s.d.TimeArg(accessExp), id)
		return err
	})
}

// RevokeSession implements gatehouse.SessionStore.
func (s *Store) RevokeSession(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	revoked := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var revokedAt *time.Time
		var accessExpMax, expiresAt time.Time
		err := tx.QueryRowContext(ctx, `SELECT revoked_at, access_exp_max, expires_at FROM sessions WHERE id = $1`+s.d.ForUpdate, id).
			Scan(nullTimeDest{&revokedAt}, timeDest{&accessExpMax}, timeDest{&expiresAt})
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("session")
		}
		if err != nil {
			return err
		}
		if revokedAt != nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE id = $3`, s.d.TimeArg(at), reason, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE session_id = $1`, id); err != nil {
			return err
		}
		if err := s.revokeOPGrantsOfSession(ctx, tx, id, at); err != nil {
			return err
		}
		// The revocation must outlive every access token issued for the session, and the
		// session itself: an instance that stalled (GC pause, paused container, lost database
		// connection) still finds the row when it catches up, and drops the cookie it cached.
		exp := accessExpMax
		if expiresAt.After(exp) {
			exp = expiresAt
		}
		if exp.Before(at) {
			exp = at
		}
		revoked = true
		return s.addChange(ctx, tx, &gatehouse.Change{Kind: gatehouse.ChangeSessionRevoked, Subject: id, At: at, ExpiresAt: exp.Add(time.Minute)})
	})
	return revoked, err
}

// DeleteExpired implements gatehouse.SessionStore. A session row is kept while any access token
// issued for it may still be presented, so an expired session is recognised as such, not as
// unknown.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time, limit int) (int, error) {
	b := s.d.TimeArg(before)
	total := 0
	del := func(q string, args ...any) error {
		res, err := s.w.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		total += int(n)
		return nil
	}
	lim := fmt.Sprint(limit)
	if err := del(`DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE
		(expires_at < $1 OR revoked_at IS NOT NULL) AND access_exp_max < $1 LIMIT `+lim+`)`, b); err != nil {
		return total, fmt.Errorf("delete expired sessions: %w", err)
	}
	if err := del(`DELETE FROM refresh_tokens WHERE hash IN (SELECT hash FROM refresh_tokens WHERE expires_at < $1 LIMIT `+lim+`)`, b); err != nil {
		return total, fmt.Errorf("delete expired refresh tokens: %w", err)
	}
	if err := del(`DELETE FROM changes WHERE id IN (SELECT id FROM changes WHERE expires_at < $1 LIMIT `+lim+`)`, b); err != nil {
		return total, fmt.Errorf("delete expired changes: %w", err)
	}
	return total, nil
}

// addChange appends a feed row inside tx.
func (s *Store) addChange(ctx context.Context, tx querier, c *gatehouse.Change) error {
	if s.d.LockChanges != "" {
		if _, err := tx.ExecContext(ctx, s.d.LockChanges); err != nil {
			return fmt.Errorf("lock change feed: %w", err)
		}
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO changes (kind, subject, at, expires_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		c.Kind, c.Subject, s.d.TimeArg(c.At), s.d.TimeArg(c.ExpiresAt)).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("append change: %w", err)
	}
	c.At, c.ExpiresAt = Norm(c.At), Norm(c.ExpiresAt)
	if s.d.NotifyChanges != "" {
		if _, err := tx.ExecContext(ctx, s.d.NotifyChanges); err != nil {
			return fmt.Errorf("notify change feed: %w", err)
		}
	}
	return nil
}

// AddChange implements gatehouse.ChangeStore.
func (s *Store) AddChange(ctx context.Context, c *gatehouse.Change) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.addChange(ctx, tx, c) })
}

// ChangesSince implements gatehouse.ChangeStore.
func (s *Store) ChangesSince(ctx context.Context, after int64, now time.Time, limit int) ([]gatehouse.Change, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, kind, subject, at, expires_at FROM changes WHERE id > $1 AND expires_at > $2 ORDER BY id LIMIT `+fmt.Sprint(limit),
		after, s.d.TimeArg(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gatehouse.Change
	for rows.Next() {
		var c gatehouse.Change
		if err := rows.Scan(&c.ID, &c.Kind, &c.Subject, timeDest{&c.At}, timeDest{&c.ExpiresAt}); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
