package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
)

// This file implements gatehouse.ExternalVerifyStore: external identities that matched no
// account, waiting for their browser to ask for the verification mail.

const pendingCols = `browser_hash, provider_id, subject, email, rd, created_at, expires_at`

// CreateExternalPending implements gatehouse.ExternalVerifyStore.
func (s *Store) CreateExternalPending(ctx context.Context, p *gatehouse.ExternalPending) error {
	p.CreatedAt, p.ExpiresAt = Norm(p.CreatedAt), Norm(p.ExpiresAt)
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Expired rows are swept here, so the table stays as small as the traffic of one TTL.
		if _, err := tx.ExecContext(ctx, `DELETE FROM oidc_pending WHERE expires_at < $1`, s.d.TimeArg(p.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_pending (`+pendingCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			p.BrowserHash, p.ProviderID, p.Subject, p.Email, p.RD, s.d.TimeArg(p.CreatedAt), s.d.TimeArg(p.ExpiresAt))
		return err
	})
}

// ExternalPendingByHash implements gatehouse.ExternalVerifyStore.
func (s *Store) ExternalPendingByHash(ctx context.Context, browserHash []byte, now time.Time) (*gatehouse.ExternalPending, error) {
	var p gatehouse.ExternalPending
	err := s.r.QueryRowContext(ctx, `SELECT `+pendingCols+` FROM oidc_pending WHERE browser_hash = $1 AND expires_at > $2`, browserHash, s.d.TimeArg(now)).Scan(
		&p.BrowserHash, &p.ProviderID, &p.Subject, &p.Email, &p.RD, timeDest{&p.CreatedAt}, timeDest{&p.ExpiresAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("pending external sign-in")
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}
