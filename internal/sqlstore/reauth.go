package sqlstore

import (
	"context"
	"time"
)

// SetSessionReauth implements gatehouse.SessionStore. A later time never gives way to an earlier
// one, so two instances recording re-authentications out of order keep the newest.
func (s *Store) SetSessionReauth(ctx context.Context, id string, at time.Time) error {
	t := s.d.TimeArg(at)
	return s.execOne(ctx, "session", `UPDATE sessions SET reauth_at = CASE WHEN reauth_at IS NULL OR reauth_at < $1 THEN $1 ELSE reauth_at END
		WHERE id = $2 AND revoked_at IS NULL`, t, id)
}
