package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
)

const opRequestCols = `id, client_id, data, code_hash, grant_id, exchanged_at, created_at, expires_at`

func scanOPRequest(r rowScanner) (*gatehouse.OPAuthRequest, error) {
	var a gatehouse.OPAuthRequest
	var data string
	err := r.Scan(&a.ID, &a.ClientID, &data, &a.CodeHash, &a.GrantID, nullTimeDest{&a.ExchangedAt}, timeDest{&a.CreatedAt}, timeDest{&a.ExpiresAt})
	a.Data = []byte(data)
	return &a, err
}

// CreateOPAuthRequest implements gatehouse.OPStore.
func (s *Store) CreateOPAuthRequest(ctx context.Context, r *gatehouse.OPAuthRequest) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO op_auth_requests (id, client_id, data, created_at, expires_at)
		SELECT $1, id, $3, $4, $5 FROM op_clients WHERE id = $2`,
		r.ID, r.ClientID, string(r.Data), s.d.TimeArg(r.CreatedAt), s.d.TimeArg(r.ExpiresAt))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return notFound("client")
	}
	return nil
}

func (s *Store) opRequestWhere(ctx context.Context, where string, arg any, now time.Time) (*gatehouse.OPAuthRequest, error) {
	a, err := scanOPRequest(s.w.QueryRowContext(ctx, `SELECT `+opRequestCols+` FROM op_auth_requests WHERE `+where+` AND expires_at > $2`, arg, s.d.TimeArg(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("authorization request")
	}
	return a, err
}

// OPAuthRequestByID implements gatehouse.OPStore. It reads from the writer: the request was
// usually written a moment ago, possibly by this very flow.
func (s *Store) OPAuthRequestByID(ctx context.Context, id string, now time.Time) (*gatehouse.OPAuthRequest, error) {
	return s.opRequestWhere(ctx, `id = $1`, id, now)
}

// OPAuthRequestByCode implements gatehouse.OPStore.
func (s *Store) OPAuthRequestByCode(ctx context.Context, codeHash []byte, now time.Time) (*gatehouse.OPAuthRequest, error) {
	return s.opRequestWhere(ctx, `code_hash = $1`, codeHash, now)
}

// UpdateOPAuthRequest implements gatehouse.OPStore.
func (s *Store) UpdateOPAuthRequest(ctx context.Context, id string, data []byte) error {
	return s.execOne(ctx, "authorization request", `UPDATE op_auth_requests SET data = $2 WHERE id = $1 AND exchanged_at IS NULL`, id, string(data))
}

// SetOPAuthCode implements gatehouse.OPStore.
func (s *Store) SetOPAuthCode(ctx context.Context, id string, codeHash []byte, expiresAt time.Time) error {
	return s.execOne(ctx, "authorization request", `UPDATE op_auth_requests SET code_hash = $2, expires_at = $3 WHERE id = $1 AND code_hash IS NULL`,
		id, codeHash, s.d.TimeArg(expiresAt))
}

// CompleteOPAuthRequest implements gatehouse.OPStore.
func (s *Store) CompleteOPAuthRequest(ctx context.Context, id string, data, codeHash []byte, expiresAt time.Time, ev *gatehouse.Event) error {
	const q = `UPDATE op_auth_requests SET data = $2, code_hash = $3, expires_at = $4 WHERE id = $1 AND code_hash IS NULL AND exchanged_at IS NULL`
	if ev == nil {
		return s.execOne(ctx, "authorization request", q, id, string(data), codeHash, s.d.TimeArg(expiresAt))
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := execOneOn(ctx, tx, "authorization request", q, id, string(data), codeHash, s.d.TimeArg(expiresAt)); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, ev)
	})
}

func (s *Store) insertOPTokens(ctx context.Context, tx *sql.Tx, grantID string, tokens []*gatehouse.OPToken) error {
	for _, t := range tokens {
		if _, err := tx.ExecContext(ctx, `INSERT INTO op_tokens (token_key, grant_id, kind, expires_at) VALUES ($1, $2, $3, $4)`,
			t.Key, grantID, t.Kind, s.d.TimeArg(t.ExpiresAt)); err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		t.GrantID = grantID
	}
	return nil
}

// CreateOPGrant implements gatehouse.OPStore.
func (s *Store) CreateOPGrant(ctx context.Context, g *gatehouse.OPGrant, authRequestID string, tokens []*gatehouse.OPToken, ev *gatehouse.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// The session row is locked (PostgreSQL) so a concurrent RevokeSession either sees this
		// grant or makes this insert fail; SQLite's writer lock does the same.
		var revokedAt *time.Time
		var sessionEnd time.Time
		err := tx.QueryRowContext(ctx, `SELECT revoked_at, expires_at FROM sessions WHERE id = $1`+s.d.ForUpdate, g.SessionID).Scan(nullTimeDest{&revokedAt}, timeDest{&sessionEnd})
		if errors.Is(err, sql.ErrNoRows) || (err == nil && revokedAt != nil) {
			return notFound("session")
		}
		if err != nil {
			return err
		}
		if sessionEnd.Before(g.ExpiresAt) {
			g.ExpiresAt = sessionEnd
		}
		if authRequestID != "" {
			res, err := tx.ExecContext(ctx, `UPDATE op_auth_requests SET exchanged_at = $2, grant_id = $3 WHERE id = $1 AND exchanged_at IS NULL`,
				authRequestID, s.d.TimeArg(g.CreatedAt), g.ID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return gatehouse.Errorf(gatehouse.EConflict, "the authorization code was already used")
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO op_grants (id, client_id, user_id, session_id, data, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, g.ID, g.ClientID, g.UserID, g.SessionID, string(g.Data),
			s.d.TimeArg(g.CreatedAt), s.d.TimeArg(g.ExpiresAt)); err != nil {
			return fmt.Errorf("insert grant: %w", err)
		}
		return s.insertOPTokensEvent(ctx, tx, g.ID, tokens, ev)
	})
}

// insertOPTokensEvent inserts the tokens and, when ev is set, the event recording their issue.
func (s *Store) insertOPTokensEvent(ctx context.Context, tx *sql.Tx, grantID string, tokens []*gatehouse.OPToken, ev *gatehouse.Event) error {
	if err := s.insertOPTokens(ctx, tx, grantID, tokens); err != nil || ev == nil {
		return err
	}
	return s.insertEvent(ctx, tx, ev)
}

// AddOPTokens implements gatehouse.OPStore.
func (s *Store) AddOPTokens(ctx context.Context, grantID string, tokens []*gatehouse.OPToken, ev *gatehouse.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var revokedAt *time.Time
		err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM op_grants WHERE id = $1`+s.d.ForUpdate, grantID).Scan(nullTimeDest{&revokedAt})
		if errors.Is(err, sql.ErrNoRows) || (err == nil && revokedAt != nil) {
			return notFound("grant")
		}
		if err != nil {
			return err
		}
		return s.insertOPTokensEvent(ctx, tx, grantID, tokens, ev)
	})
}

const opTokenGrantCols = `t.token_key, t.grant_id, t.kind, t.expires_at, t.used_at,
	g.id, g.client_id, g.user_id, g.session_id, g.data, g.created_at, g.expires_at, g.revoked_at`

func scanOPTokenGrant(r rowScanner) (*gatehouse.OPToken, *gatehouse.OPGrant, error) {
	var t gatehouse.OPToken
	var g gatehouse.OPGrant
	var data string
	err := r.Scan(&t.Key, &t.GrantID, &t.Kind, timeDest{&t.ExpiresAt}, nullTimeDest{&t.UsedAt},
		&g.ID, &g.ClientID, &g.UserID, &g.SessionID, &data, timeDest{&g.CreatedAt}, timeDest{&g.ExpiresAt}, nullTimeDest{&g.RevokedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFound("token")
	}
	g.Data = []byte(data)
	return &t, &g, err
}

// OPToken implements gatehouse.OPStore.
func (s *Store) OPToken(ctx context.Context, key []byte) (*gatehouse.OPToken, *gatehouse.OPGrant, error) {
	return scanOPTokenGrant(s.r.QueryRowContext(ctx, `SELECT `+opTokenGrantCols+` FROM op_tokens t
		JOIN op_grants g ON g.id = t.grant_id WHERE t.token_key = $1 AND g.revoked_at IS NULL`, key))
}

// ConsumeOPToken implements gatehouse.OPStore.
func (s *Store) ConsumeOPToken(ctx context.Context, key []byte, now time.Time) (*gatehouse.OPToken, *gatehouse.OPGrant, error) {
	var t *gatehouse.OPToken
	var g *gatehouse.OPGrant
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		t, g, err = scanOPTokenGrant(tx.QueryRowContext(ctx, `SELECT `+opTokenGrantCols+` FROM op_tokens t
			JOIN op_grants g ON g.id = t.grant_id WHERE t.token_key = $1 AND g.revoked_at IS NULL`+s.d.ForUpdate, key))
		if err != nil || t.UsedAt != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE op_tokens SET used_at = $2 WHERE token_key = $1`, key, s.d.TimeArg(now))
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return t, g, nil
}

// DeleteOPToken implements gatehouse.OPStore.
func (s *Store) DeleteOPToken(ctx context.Context, key []byte) error {
	return s.execOne(ctx, "token", `DELETE FROM op_tokens WHERE token_key = $1`, key)
}

// RevokeOPGrant implements gatehouse.OPStore.
func (s *Store) RevokeOPGrant(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE op_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, s.d.TimeArg(at)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM op_tokens WHERE grant_id = $1`, id)
		return err
	})
}

// revokeOPGrantsOfSession ends every grant of a session inside RevokeSession's transaction, so
// that nothing an app holds outlives the gatehouse session (DESIGN.md section 8).
func (s *Store) revokeOPGrantsOfSession(ctx context.Context, tx *sql.Tx, sid string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM op_tokens WHERE grant_id IN (SELECT id FROM op_grants WHERE session_id = $1)`, sid); err != nil {
		return fmt.Errorf("delete app tokens: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE op_grants SET revoked_at = $2 WHERE session_id = $1 AND revoked_at IS NULL`, sid, s.d.TimeArg(at)); err != nil {
		return fmt.Errorf("revoke app grants: %w", err)
	}
	return nil
}

func scanOPConsent(r rowScanner) (*gatehouse.OPConsent, error) {
	var c gatehouse.OPConsent
	var scopes string
	if err := r.Scan(&c.UserID, &c.ClientID, &scopes, timeDest{&c.GrantedAt}); err != nil {
		return nil, err
	}
	return &c, json.Unmarshal([]byte(scopes), &c.Scopes)
}

// OPConsent implements gatehouse.OPStore.
func (s *Store) OPConsent(ctx context.Context, userID int64, clientID string) (*gatehouse.OPConsent, error) {
	c, err := scanOPConsent(s.r.QueryRowContext(ctx, `SELECT user_id, client_id, scopes, granted_at FROM op_consents
		WHERE user_id = $1 AND client_id = $2`, userID, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("consent")
	}
	return c, err
}

// SaveOPConsent implements gatehouse.OPStore.
func (s *Store) SaveOPConsent(ctx context.Context, c *gatehouse.OPConsent) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO op_consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
		c.UserID, c.ClientID, jsonList(c.Scopes), s.d.TimeArg(c.GrantedAt))
	return err
}

// ListOPConsents implements gatehouse.OPStore.
func (s *Store) ListOPConsents(ctx context.Context, userID int64) ([]*gatehouse.OPConsent, error) {
	return all(ctx, s.r, scanOPConsent, `SELECT user_id, client_id, scopes, granted_at FROM op_consents
		WHERE user_id = $1 ORDER BY granted_at DESC, client_id`, userID)
}

// DeleteOPConsent implements gatehouse.OPStore.
func (s *Store) DeleteOPConsent(ctx context.Context, userID int64, clientID string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM op_consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
		if err != nil {
			return err
		}
		gone, _ := res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `DELETE FROM op_tokens WHERE grant_id IN
			(SELECT id FROM op_grants WHERE user_id = $1 AND client_id = $2)`, userID, clientID); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `UPDATE op_grants SET revoked_at = $3 WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL`,
			userID, clientID, s.d.TimeArg(at))
		if err != nil {
			return err
		}
		revoked, _ := res.RowsAffected()
		if gone+revoked == 0 {
			return notFound("consent")
		}
		return nil
	})
}

// DeleteExpiredOP implements gatehouse.OPStore.
func (s *Store) DeleteExpiredOP(ctx context.Context, before time.Time, limit int) (int, error) {
	b := s.d.TimeArg(before)
	lim := fmt.Sprint(limit)
	total := 0
	for _, q := range []string{
		`DELETE FROM op_auth_requests WHERE id IN (SELECT id FROM op_auth_requests WHERE expires_at < $1 LIMIT ` + lim + `)`,
		`DELETE FROM op_tokens WHERE token_key IN (SELECT token_key FROM op_tokens WHERE expires_at < $1 LIMIT ` + lim + `)`,
		`DELETE FROM op_grants WHERE id IN (SELECT id FROM op_grants WHERE expires_at < $1 LIMIT ` + lim + `)`,
		`DELETE FROM op_keys WHERE id IN (SELECT id FROM op_keys WHERE expires_at < $1 LIMIT ` + lim + `)`,
	} {
		res, err := s.w.ExecContext(ctx, q, b)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	return total, nil
}
