package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

const providerCols = `id, name, issuer, client_id, client_secret_sealed, scopes, auto_bind_verified_email, auto_create_users, enabled, created_at, updated_at,
	token_auth_method, allowed_email_domains, default_group_ids`

func scanProvider(r rowScanner) (*gatehouse.OIDCProvider, error) {
	var p gatehouse.OIDCProvider
	var scopes, domains, groups string
	if err := r.Scan(&p.ID, &p.Name, &p.Issuer, &p.ClientID, &p.ClientSecretSealed, &scopes, &p.AutoBindVerifiedEmail,
		&p.AutoCreateUsers, &p.Enabled, timeDest{&p.CreatedAt}, timeDest{&p.UpdatedAt}, &p.TokenAuthMethod, &domains, &groups); err != nil {
		return nil, err
	}
	p.Scopes = strings.Fields(scopes)
	p.AllowedEmailDomains = strings.Fields(domains)
	for _, f := range strings.Fields(groups) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("provider %s: default_group_ids %q: %w", p.ID, groups, err)
		}
		p.DefaultGroupIDs = append(p.DefaultGroupIDs, id)
	}
	return &p, nil
}

// groupIDs is the stored form of DefaultGroupIDs: decimal ids separated by spaces.
func groupIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, " ")
}

// CreateProvider implements gatehouse.ExternalStore. ON CONFLICT keeps the duplicate check
// free of dialect-specific error parsing.
func (s *Store) CreateProvider(ctx context.Context, p *gatehouse.OIDCProvider) error {
	now := s.now()
	res, err := s.w.ExecContext(ctx, `INSERT INTO oidc_providers (`+providerCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING`,
		p.ID, p.Name, p.Issuer, p.ClientID, p.ClientSecretSealed, strings.Join(p.Scopes, " "), p.AutoBindVerifiedEmail,
		p.AutoCreateUsers, p.Enabled, s.d.TimeArg(now), s.d.TimeArg(now), p.TokenAuthMethod, strings.Join(p.AllowedEmailDomains, " "), groupIDs(p.DefaultGroupIDs))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return &gatehouse.Error{Code: gatehouse.EConflict, Field: "id", Message: "a provider with this id already exists"}
	}
	p.CreatedAt, p.UpdatedAt = Norm(now), Norm(now)
	return nil
}

// ProviderByID implements gatehouse.ExternalStore.
func (s *Store) ProviderByID(ctx context.Context, id string) (*gatehouse.OIDCProvider, error) {
	p, err := scanProvider(s.r.QueryRowContext(ctx, `SELECT `+providerCols+` FROM oidc_providers WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("provider")
	}
	return p, err
}

// ListProviders implements gatehouse.ExternalStore.
func (s *Store) ListProviders(ctx context.Context) ([]*gatehouse.OIDCProvider, error) {
	return all(ctx, s.r, scanProvider, `SELECT `+providerCols+` FROM oidc_providers ORDER BY name, id`)
}

// UpdateProvider implements gatehouse.ExternalStore.
func (s *Store) UpdateProvider(ctx context.Context, p *gatehouse.OIDCProvider) error {
	now := s.now()
	if err := s.execOne(ctx, "provider", `UPDATE oidc_providers SET name = $2, issuer = $3, client_id = $4, client_secret_sealed = $5,
		scopes = $6, auto_bind_verified_email = $7, auto_create_users = $8, enabled = $9, updated_at = $10,
		token_auth_method = $11, allowed_email_domains = $12, default_group_ids = $13 WHERE id = $1`,
		p.ID, p.Name, p.Issuer, p.ClientID, p.ClientSecretSealed, strings.Join(p.Scopes, " "), p.AutoBindVerifiedEmail,
		p.AutoCreateUsers, p.Enabled, s.d.TimeArg(now), p.TokenAuthMethod, strings.Join(p.AllowedEmailDomains, " "), groupIDs(p.DefaultGroupIDs)); err != nil {
		return err
	}
	p.UpdatedAt = Norm(now)
	return nil
}

// DeleteProvider implements gatehouse.ExternalStore. Identities and flows go by ON DELETE CASCADE.
func (s *Store) DeleteProvider(ctx context.Context, id string) error {
	return s.execOne(ctx, "provider", `DELETE FROM oidc_providers WHERE id = $1`, id)
}

const identityCols = `id, user_id, provider_id, subject, email, bound_at, last_used_at`

func scanIdentity(r rowScanner) (*gatehouse.ExternalIdentity, error) {
	var i gatehouse.ExternalIdentity
	if err := r.Scan(&i.ID, &i.UserID, &i.ProviderID, &i.Subject, &i.Email, timeDest{&i.BoundAt}, nullTimeDest{&i.LastUsedAt}); err != nil {
		return nil, err
	}
	return &i, nil
}

// CreateIdentity implements gatehouse.ExternalStore.
func (s *Store) CreateIdentity(ctx context.Context, i *gatehouse.ExternalIdentity) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Checked inside the transaction so a missing user or provider is ENotFound, not a
		// foreign-key error whose text differs per backend.
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM users WHERE id = $1) + (SELECT COUNT(*) FROM oidc_providers WHERE id = $2)`,
			i.UserID, i.ProviderID).Scan(&n); err != nil {
			return err
		}
		if n != 2 {
			return notFound("user or provider")
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO external_identities (user_id, provider_id, subject, email, bound_at, last_used_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider_id, subject) DO NOTHING RETURNING id`,
			i.UserID, i.ProviderID, i.Subject, i.Email, s.d.TimeArg(i.BoundAt), s.d.nullTimeArg(i.LastUsedAt)).Scan(&i.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return &gatehouse.Error{Code: gatehouse.EConflict, Field: "subject", Message: "this external identity is already linked to an account"}
		}
		if err != nil {
			return err
		}
		i.BoundAt = Norm(i.BoundAt)
		if i.LastUsedAt != nil {
			t := Norm(*i.LastUsedAt)
			i.LastUsedAt = &t
		}
		return nil
	})
}

// IdentityBySubject implements gatehouse.ExternalStore.
func (s *Store) IdentityBySubject(ctx context.Context, providerID, subject string) (*gatehouse.ExternalIdentity, error) {
	i, err := scanIdentity(s.r.QueryRowContext(ctx, `SELECT `+identityCols+` FROM external_identities WHERE provider_id = $1 AND subject = $2`, providerID, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("identity")
	}
	return i, err
}

// ListIdentities implements gatehouse.ExternalStore.
func (s *Store) ListIdentities(ctx context.Context, userID int64) ([]*gatehouse.ExternalIdentity, error) {
	return all(ctx, s.r, scanIdentity, `SELECT `+identityCols+` FROM external_identities WHERE user_id = $1 ORDER BY id`, userID)
}

// TouchIdentity implements gatehouse.ExternalStore.
func (s *Store) TouchIdentity(ctx context.Context, id int64, email string, at time.Time) error {
	return s.execOne(ctx, "identity", `UPDATE external_identities SET email = $2, last_used_at = $3 WHERE id = $1`, id, email, s.d.TimeArg(at))
}

// DeleteIdentity implements gatehouse.ExternalStore.
func (s *Store) DeleteIdentity(ctx context.Context, userID, id int64) error {
	return s.execOne(ctx, "identity", `DELETE FROM external_identities WHERE id = $1 AND user_id = $2`, id, userID)
}

// DeleteProviderIdentities implements gatehouse.ExternalStore.
func (s *Store) DeleteProviderIdentities(ctx context.Context, providerID string) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM external_identities WHERE provider_id = $1`, providerID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// UsersByEmail implements gatehouse.ExternalStore.
func (s *Store) UsersByEmail(ctx context.Context, email string, limit int) ([]*gatehouse.User, error) {
	if limit <= 0 {
		limit = 2
	}
	return all(ctx, s.r, scanUser, `SELECT `+userCols+` FROM users WHERE email = $1 ORDER BY id LIMIT $2`, gatehouse.NormalizeLogin(email), limit)
}

const flowCols = `state_hash, browser_hash, provider_id, nonce, verifier, rd, link_user_id, created_at, expires_at`

// CreateOIDCFlow implements gatehouse.ExternalStore.
func (s *Store) CreateOIDCFlow(ctx context.Context, f *gatehouse.OIDCFlow) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Abandoned flows are swept here, so the table stays as small as the traffic of one TTL.
		if _, err := tx.ExecContext(ctx, `DELETE FROM oidc_flows WHERE expires_at < $1`, s.d.TimeArg(f.CreatedAt)); err != nil {
			return err
		}
		var link any
		if f.LinkUserID != 0 {
			link = f.LinkUserID
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_flows (`+flowCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			f.StateHash, f.BrowserHash, f.ProviderID, f.Nonce, f.Verifier, f.RD, link, s.d.TimeArg(f.CreatedAt), s.d.TimeArg(f.ExpiresAt))
		return err
	})
}

// TakeOIDCFlow implements gatehouse.ExternalStore. DELETE ... RETURNING makes taking atomic: of
// two callbacks racing with one state, exactly one gets the row.
func (s *Store) TakeOIDCFlow(ctx context.Context, stateHash []byte, now time.Time) (*gatehouse.OIDCFlow, error) {
	var f gatehouse.OIDCFlow
	var link sql.NullInt64
	err := s.w.QueryRowContext(ctx, `DELETE FROM oidc_flows WHERE state_hash = $1 RETURNING `+flowCols, stateHash).Scan(
		&f.StateHash, &f.BrowserHash, &f.ProviderID, &f.Nonce, &f.Verifier, &f.RD, &link, timeDest{&f.CreatedAt}, timeDest{&f.ExpiresAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("sign-in request")
	}
	if err != nil {
		return nil, err
	}
	if !now.Before(f.ExpiresAt) {
		return nil, notFound("sign-in request")
	}
	f.LinkUserID = link.Int64
	return &f, nil
}
