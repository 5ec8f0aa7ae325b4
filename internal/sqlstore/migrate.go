package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads files named NNNN_name.sql from dir of fsys, in version order.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s: name must start with a positive number and '_'", name)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("two migrations numbered %d", out[i].Version)
		}
	}
	return out, nil
}

// Migrate applies, each in its own transaction, every migration newer than the database's
// version. lock runs first inside each transaction (PostgreSQL: an advisory lock, so two
// instances starting together do not both migrate). A database newer than this binary is
// refused: running old code on a new schema could corrupt it.
func Migrate(ctx context.Context, db *sql.DB, ms []Migration, createTable, lock string, timeArg func() any) error {
	// CREATE TABLE IF NOT EXISTS is not safe against a concurrent identical statement in
	// PostgreSQL (both may pass the existence check and collide in the catalog), so it too runs
	// under the migration lock.
	if err := func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		if lock != "" {
			if _, err := tx.ExecContext(ctx, lock); err != nil {
				return fmt.Errorf("lock migrations: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, createTable); err != nil {
			return err
		}
		return tx.Commit()
	}(); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].Version
	}
	for _, m := range ms {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		applied, err := func() (bool, error) {
			if lock != "" {
				if _, err := tx.ExecContext(ctx, lock); err != nil {
					return false, fmt.Errorf("lock migrations: %w", err)
				}
			}
			var cur sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&cur); err != nil {
				return false, err
			}
			if int(cur.Int64) > latest {
				return false, fmt.Errorf("the database schema is version %d but this gatehouse knows only up to %d: upgrade gatehouse", cur.Int64, latest)
			}
			if int(cur.Int64) >= m.Version {
				return false, nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return false, fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.Version, timeArg()); err != nil {
				return false, err
			}
			return true, nil
		}()
		if err != nil {
			_ = tx.Rollback()
			return err
		}
		if !applied {
			_ = tx.Rollback()
			continue
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit migration %s: %w", m.Name, err)
		}
	}
	if len(ms) == 0 {
		var cur sql.NullInt64
		if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&cur); err != nil {
			return err
		}
		if cur.Int64 > 0 {
			return fmt.Errorf("the database schema is version %d but this gatehouse knows only up to 0: upgrade gatehouse", cur.Int64)
		}
	}
	return nil
}
