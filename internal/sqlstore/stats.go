package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// hourOf is the SQL expression for the UTC hour (since the epoch) of a time column.
func (d Dialect) hourOf(col string) string {
	if d.UnixMicroTimes {
		return "(" + col + " / 3600000000)"
	}
	return "CAST(FLOOR(EXTRACT(EPOCH FROM " + col + ") / 3600) AS BIGINT)"
}

// EventsPerHour implements gatehouse.StatsStore.
func (s *Store) EventsPerHour(ctx context.Context, kinds []string, since time.Time) ([]gatehouse.HourCount, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	in, args := kindsIn(kinds, s.d.TimeArg(since))
	h := s.d.hourOf("time")
	q := `SELECT ` + h + `, kind, COUNT(*) FROM events WHERE kind IN (` + in + `) AND time >= $1 GROUP BY ` + h + `, kind ORDER BY 1, 2`
	return all(ctx, s.r, func(r rowScanner) (gatehouse.HourCount, error) {
		var c gatehouse.HourCount
		var hour int64
		err := r.Scan(&hour, &c.Kind, &c.Count)
		c.Hour = time.Unix(hour*3600, 0).UTC()
		return c, err
	}, q, args...)
}

// TopAddresses implements gatehouse.StatsStore.
func (s *Store) TopAddresses(ctx context.Context, kinds []string, since time.Time, n int) ([]gatehouse.AddressCount, error) {
	if n <= 0 || len(kinds) == 0 {
		return nil, nil
	}
	in, args := kindsIn(kinds, s.d.TimeArg(since))
	q := fmt.Sprintf(`SELECT ip, COUNT(*) FROM events WHERE kind IN (`+in+`) AND time >= $1 AND ip <> '' GROUP BY ip ORDER BY 2 DESC, 1 LIMIT %d`, n)
	return all(ctx, s.r, func(r rowScanner) (gatehouse.AddressCount, error) {
		var c gatehouse.AddressCount
		return c, r.Scan(&c.IP, &c.Count)
	}, q, args...)
}

// kindsIn returns the placeholders $2... for kinds, and the arguments: first, then the kinds.
func kindsIn(kinds []string, first any) (string, []any) {
	args := []any{first}
	marks := make([]string, len(kinds))
	for i, k := range kinds {
		args = append(args, k)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	return strings.Join(marks, ", "), args
}

// SignInMethods implements gatehouse.StatsStore.
func (s *Store) SignInMethods(ctx context.Context) (gatehouse.MethodCounts, error) {
	var c gatehouse.MethodCounts
	err := s.r.QueryRowContext(ctx, `SELECT
		COUNT(*),
		COALESCE(SUM(CASE WHEN u.password_hash <> '' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM mfa_totp t WHERE t.user_id = u.id AND t.confirmed = $2) THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id) THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM external_identities x WHERE x.user_id = u.id) THEN 1 ELSE 0 END), 0)
		FROM users u WHERE u.disabled = $1 AND u.pending = $1`, false, true).Scan(&c.Users, &c.Password, &c.TOTP, &c.Passkey, &c.External)
	return c, err
}
