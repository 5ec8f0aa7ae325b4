package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse/gatehouse"
)

// SetSessionReauth implements gatehouse.SessionStore. A later time never gives way to an earlier
// one, so two instances recording re-authentications out of order keep the newest.
func (s *Store) SetSessionReauth(ctx context.Context, id string, at time.Time) error {
	t := s.d.TimeArg(at)
	return s.execOne(ctx, "session", `UPDATE sessions SET reauth_at = CASE WHEN reauth_at IS NULL OR reauth_at < $1 THEN $1 ELSE reauth_at END
		WHERE id = $2 AND revoked_at IS NULL`, t, id)
}

// UpgradeSession implements gatehouse.SessionStore.
func (s *Store) UpgradeSession(ctx context.Context, id, method string, at time.Time) error {
	t := s.d.TimeArg(at)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := execOneOn(ctx, tx, "session", `UPDATE sessions SET
			first_auth_method = CASE WHEN upgraded_at IS NULL THEN auth_method ELSE first_auth_method END,
			auth_method = $1, upgraded_at = $2, reauth_at = $2 WHERE id = $3 AND revoked_at IS NULL`, method, t, id); err != nil {
			return err
		}
		return s.addChange(ctx, tx, &gatehouse.Change{Kind: gatehouse.ChangeSessionUpgraded, Subject: id, At: at, ExpiresAt: at.Add(feedTTL)})
	})
}
