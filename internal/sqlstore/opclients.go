package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
)

// The OpenID Provider's clients, keys and subjects (gatehouse.OPStore); requests, grants,
// tokens and consents are in opgrants.go.

const opClientCols = `id, name, secret_hash, public, redirect_uris, post_logout_redirect_uris, allowed_groups, skip_consent,
	access_token_ttl_secs, refresh_token_ttl_secs, launch_url, created_at, updated_at`

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func scanOPClient(r rowScanner) (*gatehouse.OPClient, error) {
	var c gatehouse.OPClient
	var redirects, logouts, groups string
	var access, refresh int64
	if err := r.Scan(&c.ID, &c.Name, &c.SecretHash, &c.Public, &redirects, &logouts, &groups, &c.SkipConsent,
		&access, &refresh, &c.LaunchURL, timeDest{&c.CreatedAt}, timeDest{&c.UpdatedAt}); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		s string
		p *[]string
	}{{redirects, &c.RedirectURIs}, {logouts, &c.PostLogoutRedirectURIs}, {groups, &c.AllowedGroups}} {
		if err := json.Unmarshal([]byte(f.s), f.p); err != nil {
			return nil, err
		}
	}
	c.AccessTokenTTL, c.RefreshTokenTTL = time.Duration(access)*time.Second, time.Duration(refresh)*time.Second
	return &c, nil
}

func opClientArgs(c *gatehouse.OPClient) []any {
	return []any{c.ID, c.Name, c.SecretHash, c.Public, jsonList(c.RedirectURIs), jsonList(c.PostLogoutRedirectURIs),
		jsonList(c.AllowedGroups), c.SkipConsent, int64(c.AccessTokenTTL / time.Second), int64(c.RefreshTokenTTL / time.Second), c.LaunchURL}
}

// CreateOPClient implements gatehouse.OPStore.
func (s *Store) CreateOPClient(ctx context.Context, c *gatehouse.OPClient) error {
	now := s.now()
	args := append(opClientArgs(c), s.d.TimeArg(now), s.d.TimeArg(now))
	res, err := s.w.ExecContext(ctx, `INSERT INTO op_clients (`+opClientCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return &gatehouse.Error{Code: gatehouse.EConflict, Field: "client_id", Message: "a client with this id already exists"}
	}
	c.CreatedAt, c.UpdatedAt = Norm(now), Norm(now)
	return nil
}

// OPClientByID implements gatehouse.OPStore.
func (s *Store) OPClientByID(ctx context.Context, id string) (*gatehouse.OPClient, error) {
	c, err := scanOPClient(s.r.QueryRowContext(ctx, `SELECT `+opClientCols+` FROM op_clients WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("client")
	}
	return c, err
}

// ListOPClients implements gatehouse.OPStore.
func (s *Store) ListOPClients(ctx context.Context) ([]*gatehouse.OPClient, error) {
	return all(ctx, s.r, scanOPClient, `SELECT `+opClientCols+` FROM op_clients ORDER BY name, id`)
}

// UpdateOPClient implements gatehouse.OPStore.
func (s *Store) UpdateOPClient(ctx context.Context, c *gatehouse.OPClient) error {
	now := s.now()
	args := append(opClientArgs(c), s.d.TimeArg(now))
	if err := s.execOne(ctx, "client", `UPDATE op_clients SET name = $2, secret_hash = $3, public = $4, redirect_uris = $5,
		post_logout_redirect_uris = $6, allowed_groups = $7, skip_consent = $8, access_token_ttl_secs = $9,
		refresh_token_ttl_secs = $10, launch_url = $11, updated_at = $12 WHERE id = $1`, args...); err != nil {
		return err
	}
	c.UpdatedAt = Norm(now)
	return nil
}

// DeleteOPClient implements gatehouse.OPStore; requests, grants, tokens and consents go by
// ON DELETE CASCADE.
func (s *Store) DeleteOPClient(ctx context.Context, id string) error {
	return s.execOne(ctx, "client", `DELETE FROM op_clients WHERE id = $1`, id)
}

const opKeyCols = `id, alg, sealed, created_at, active_at, retire_at, expires_at`

func scanOPKey(r rowScanner) (*gatehouse.OPKey, error) {
	var k gatehouse.OPKey
	err := r.Scan(&k.ID, &k.Alg, &k.Sealed, timeDest{&k.CreatedAt}, timeDest{&k.ActiveAt}, nullTimeDest{&k.RetireAt}, nullTimeDest{&k.ExpiresAt})
	return &k, err
}

// OPKeys implements gatehouse.OPStore.
func (s *Store) OPKeys(ctx context.Context, now time.Time) ([]*gatehouse.OPKey, error) {
	return all(ctx, s.r, scanOPKey, `SELECT `+opKeyCols+` FROM op_keys WHERE expires_at IS NULL OR expires_at > $1
		ORDER BY created_at, id`, s.d.TimeArg(now))
}

// AddOPKey implements gatehouse.OPStore.
func (s *Store) AddOPKey(ctx context.Context, k *gatehouse.OPKey, retireOthers bool, expireOthers time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if retireOthers {
			if _, err := tx.ExecContext(ctx, `UPDATE op_keys SET retire_at = $1, expires_at = $2 WHERE alg = $3 AND retire_at IS NULL`,
				s.d.TimeArg(k.ActiveAt), s.d.TimeArg(expireOthers), k.Alg); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO op_keys (`+opKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			k.ID, k.Alg, k.Sealed, s.d.TimeArg(k.CreatedAt), s.d.TimeArg(k.ActiveAt), s.d.nullTimeArg(k.RetireAt), s.d.nullTimeArg(k.ExpiresAt))
		return err
	})
}

// OPSubject implements gatehouse.OPStore.
func (s *Store) OPSubject(ctx context.Context, userID int64, candidate string) (string, error) {
	var sub string
	err := s.r.QueryRowContext(ctx, `SELECT subject FROM op_subjects WHERE user_id = $1`, userID).Scan(&sub)
	if err == nil {
		return sub, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	// INSERT ... SELECT: no row when the user is gone; DO NOTHING keeps the first of two racing
	// first sign-ins.
	if _, err := s.w.ExecContext(ctx, `INSERT INTO op_subjects (user_id, subject) SELECT id, $2 FROM users WHERE id = $1
		ON CONFLICT (user_id) DO NOTHING`, userID, candidate); err != nil {
		return "", err
	}
	err = s.w.QueryRowContext(ctx, `SELECT subject FROM op_subjects WHERE user_id = $1`, userID).Scan(&sub)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("user")
	}
	return sub, err
}

// OPUserBySubject implements gatehouse.OPStore.
func (s *Store) OPUserBySubject(ctx context.Context, subject string) (int64, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, `SELECT user_id FROM op_subjects WHERE subject = $1`, subject).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("user")
	}
	return id, err
}
