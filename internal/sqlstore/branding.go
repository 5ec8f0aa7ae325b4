package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse/gatehouse"
)

// Logo implements gatehouse.BrandingStore.
func (s *Store) Logo(ctx context.Context) (*gatehouse.Logo, error) {
	var l gatehouse.Logo
	err := s.r.QueryRowContext(ctx, `SELECT content_type, data, updated_at FROM site_logo WHERE id = 1`).
		Scan(&l.ContentType, &l.Data, timeDest{&l.UpdatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("logo")
	}
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// SaveLogo implements gatehouse.BrandingStore.
func (s *Store) SaveLogo(ctx context.Context, l *gatehouse.Logo) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO site_logo (id, content_type, data, updated_at) VALUES (1, $1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data, updated_at = excluded.updated_at`,
		l.ContentType, l.Data, s.d.TimeArg(l.UpdatedAt))
	return err
}

// DeleteLogo implements gatehouse.BrandingStore.
func (s *Store) DeleteLogo(ctx context.Context) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM site_logo WHERE id = 1`)
	return err
}
