package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// SchemaStatus is how a database's schema compares with the migrations a binary carries.
type SchemaStatus struct {
	// Current is the highest applied migration, 0 for an empty database.
	Current int
	// Latest is the highest migration this binary knows.
	Latest int
}

// String says in one sentence what starting the server would do.
func (s SchemaStatus) String() string {
	switch {
	case s.Current == 0:
		return fmt.Sprintf("empty database; the first start creates the schema (version %d)", s.Latest)
	case s.Current < s.Latest:
		return fmt.Sprintf("schema version %d; the next start migrates it to %d (take a backup first)", s.Current, s.Latest)
	case s.Current > s.Latest:
		return fmt.Sprintf("schema version %d is newer than this gatehouse knows (%d); it will refuse to start: upgrade gatehouse", s.Current, s.Latest)
	}
	return fmt.Sprintf("schema version %d, up to date", s.Current)
}

// ReadSchemaStatus reads the applied version without changing anything: a missing
// schema_migrations table means an empty database.
func ReadSchemaStatus(ctx context.Context, db *sql.DB, ms []Migration, tableExists string) (SchemaStatus, error) {
	st := SchemaStatus{}
	if len(ms) > 0 {
		st.Latest = ms[len(ms)-1].Version
	}
	var n int
	if err := db.QueryRowContext(ctx, tableExists).Scan(&n); err != nil {
		return st, err
	}
	if n == 0 {
		return st, nil
	}
	var cur sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&cur); err != nil {
		return st, err
	}
	st.Current = int(cur.Int64)
	return st, nil
}
