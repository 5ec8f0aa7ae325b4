// Package sqlite is the embedded default store: one SQLite file in WAL mode through the pure-Go
// modernc.org/sqlite driver, so the binary stays static (CGO_ENABLED=0).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the SQLite store.
type DB struct {
	*sqlstore.Store
	w, r *sql.DB
}

var _ gatehouse.Store = (*DB)(nil)

func dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		UnixMicroTimes: true,
		UniqueField: func(err error) string {
			// modernc reports "constraint failed: UNIQUE constraint failed: users.email (2067)".
			msg := err.Error()
			switch {
			case strings.Contains(msg, "UNIQUE constraint failed: users.username_skeleton"):
				return "username_skeleton"
			case strings.Contains(msg, "UNIQUE constraint failed: users.username"):
				return "username"
			case strings.Contains(msg, "UNIQUE constraint failed: users.email"):
				return "email"
			}
			return ""
		},
	}
}

func dsn(path string, txlock string, readOnly bool) string {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	if txlock != "" {
		q.Set("_txlock", txlock)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database file at path and applies pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("database.dsn: the SQLite file path is empty")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the database directory: %w", err)
		}
	}
	// The file holds password hashes and session keys: create it readable by its owner only
	// (SQLite would use 0644, and gives the -wal and -shm files the main file's mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		_ = f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("creating the database file: %w", err)
	}
	// One writer connection with BEGIN IMMEDIATE: SQLite allows one writer anyway, and taking
	// the write lock at BEGIN (not at the first write) is what makes read-then-write checks
	// such as "is this the first user" atomic and avoids SQLITE_BUSY upgrades mid-transaction.
	w, err := sql.Open("sqlite", dsn(path, "immediate", false))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	ms, err := sqlstore.LoadMigrations(migrations, "migrations")
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	d := dialect()
	if err := sqlstore.Migrate(ctx, w, ms, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`, "",
		func() any { return d.TimeArg(time.Now()) }); err != nil {
		_ = w.Close()
		return nil, err
	}
	// Readers run concurrently with the writer thanks to WAL.
	r, err := sql.Open("sqlite", dsn(path, "", true))
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	return &DB{Store: sqlstore.New(w, r, d), w: w, r: r}, nil
}

// Ping implements gatehouse.Store.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.r.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// Close implements gatehouse.Store.
func (db *DB) Close() error {
	err := db.r.Close()
	if werr := db.w.Close(); err == nil {
		err = werr
	}
	return err
}
