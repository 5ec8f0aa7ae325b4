// Package postgres is the store for several gatehouse instances sharing one database, through
// pgx. Instances learn of each other's revocations through the change feed and LISTEN/NOTIFY.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Lock keys for pg_advisory_xact_lock. Arbitrary but fixed: "gh" + a number. Each lock is taken
// together with a hash of the current schema (the two-key form), because a schema is one
// gatehouse database: instances sharing a schema exclude each other, and several gatehouse
// databases in one PostgreSQL database (tests, tenants) do not wait for each other.
const (
	lockMigrations = 0x67680001
	lockChanges    = 0x67680002
	lockUsers      = 0x67680003
)

// MigrationsTable records the applied migrations.
const MigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)`

// notifyChannel is the LISTEN/NOTIFY channel that wakes followers of the change feed.
const notifyChannel = "gatehouse_changes"

// DB is the PostgreSQL store.
type DB struct {
	*sqlstore.Store
	db  *sql.DB
	dsn string
}

var _ gatehouse.Store = (*DB)(nil)

func dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		ForUpdate: " FOR UPDATE",
		// Checks over the whole users table (is there any user, is there another admin) cannot
		// be protected by row locks, so those transactions take one advisory lock.
		LockUsers:     fmt.Sprintf("SELECT pg_advisory_xact_lock(%d, hashtext(current_schema()))", lockUsers),
		LockChanges:   fmt.Sprintf("SELECT pg_advisory_xact_lock(%d, hashtext(current_schema()))", lockChanges),
		NotifyChanges: fmt.Sprintf("SELECT pg_notify('%s', '')", notifyChannel),
		UniqueField: func(err error) string {
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "23505" {
				return ""
			}
			switch {
			case strings.Contains(pe.ConstraintName, "username_skeleton"):
				return "username_skeleton"
			case strings.Contains(pe.ConstraintName, "username"):
				return "username"
			case strings.Contains(pe.ConstraintName, "email"):
				return "email"
			}
			return ""
		},
	}
}

// Open connects to dsn (a postgres:// URL or key=value string) and applies pending migrations.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database.dsn is not a valid PostgreSQL connection string: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	ms, err := Migrations()
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := sqlstore.Migrate(ctx, db, ms, MigrationsTable,
		fmt.Sprintf("SELECT pg_advisory_xact_lock(%d, hashtext(current_schema()))", lockMigrations), func() any { return time.Now().UTC() }); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &DB{Store: sqlstore.New(db, db, dialect()), db: db, dsn: dsn}, nil
}

// Migrations returns the schema steps Open applies, in order. Tests build each fresh schema from
// them in one transaction instead of migrating it step by step under the migration lock.
func Migrations() ([]sqlstore.Migration, error) {
	return sqlstore.LoadMigrations(migrations, "migrations")
}

// Ping implements gatehouse.Store.
func (db *DB) Ping(ctx context.Context) error { return db.db.PingContext(ctx) }

// Close implements gatehouse.Store.
func (db *DB) Close() error { return db.db.Close() }

// ListenChanges calls notify whenever another instance (or this one) appends to the change feed,
// until ctx ends or the connection fails. Followers keep polling regardless; this only makes them
// react at once.
func (db *DB) ListenChanges(ctx context.Context, notify func()) error {
	conn, err := pgx.Connect(ctx, db.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	// Anything appended while we were connecting is picked up by this first wake-up.
	notify()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		notify()
	}
}
