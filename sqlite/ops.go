package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

// Status reads the schema version of the database at path without creating or migrating it.
func Status(ctx context.Context, path string) (sqlstore.SchemaStatus, error) {
	ms, err := sqlstore.LoadMigrations(migrations, "migrations")
	if err != nil {
		return sqlstore.SchemaStatus{}, err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		st := sqlstore.SchemaStatus{Latest: ms[len(ms)-1].Version}
		return st, checkDirWritable(filepath.Dir(path))
	} else if err != nil {
		return sqlstore.SchemaStatus{}, err
	}
	db, err := sql.Open("sqlite", dsn(path, "", true))
	if err != nil {
		return sqlstore.SchemaStatus{}, err
	}
	defer db.Close()
	return sqlstore.ReadSchemaStatus(ctx, db, ms, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`)
}

// checkDirWritable tells whether the first start could create the database in dir.
func checkDirWritable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if errors.Is(err, os.ErrNotExist) && filepath.Dir(d) != d {
			continue // created on first start, if its parent allows
		}
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", d)
		}
		f, err := os.CreateTemp(d, ".gatehouse-check-*")
		if err != nil {
			return fmt.Errorf("the database directory cannot be created or written: %w", err)
		}
		name := f.Name()
		_ = f.Close()
		return os.Remove(name)
	}
}

// BackupInfo describes a finished backup.
type BackupInfo struct {
	Path                    string
	Bytes                   int64
	Schema                  int
	Users, Sessions, Events int
}

// Backup writes a consistent copy of the live database at src to out with VACUUM INTO: one read
// transaction sees a single snapshot, so writers of a running server go on (WAL) and the copy is
// complete and compact. The copy is written beside out under a temporary name, checked, and only
// then moved into place; an existing out is replaced only when force is set.
func Backup(ctx context.Context, src, out string, force bool) (BackupInfo, error) {
	if _, err := os.Stat(src); err != nil {
		return BackupInfo{}, fmt.Errorf("database %s: %w", src, err)
	}
	if _, err := os.Stat(out); err == nil && !force {
		return BackupInfo{}, fmt.Errorf("%s exists; pass --force to replace it", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".partial-*")
	if err != nil {
		return BackupInfo{}, fmt.Errorf("creating the backup file: %w", err)
	}
	tmpName := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(tmpName)
	// VACUUM INTO wants a file that does not exist (or is empty); the private name stays ours
	// because the directory entry was created with O_EXCL a moment ago and only we know it.
	if err := os.Remove(tmpName); err != nil {
		return BackupInfo{}, err
	}
	db, err := sql.Open("sqlite", dsn(src, "", false))
	if err != nil {
		return BackupInfo{}, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmpName); err != nil {
		return BackupInfo{}, fmt.Errorf("copying the database: %w", err)
	}
	if err := os.Chmod(tmpName, 0o600); err != nil {
		return BackupInfo{}, err
	}
	info, err := inspect(ctx, tmpName)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("the copy failed its check, nothing written: %w", err)
	}
	if force {
		err = os.Rename(tmpName, out)
	} else if err = os.Link(tmpName, out); errors.Is(err, os.ErrExist) {
		return BackupInfo{}, fmt.Errorf("%s appeared meanwhile; pass --force to replace it", out)
	}
	if err != nil {
		return BackupInfo{}, fmt.Errorf("moving the backup into place: %w", err)
	}
	info.Path = out
	return info, nil
}

// inspect checks a backup's integrity and counts what it holds.
func inspect(ctx context.Context, path string) (BackupInfo, error) {
	db, err := sql.Open("sqlite", dsn(path, "", true))
	if err != nil {
		return BackupInfo{}, err
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&ok); err != nil {
		return BackupInfo{}, err
	}
	if ok != "ok" {
		return BackupInfo{}, fmt.Errorf("integrity check: %s", ok)
	}
	info := BackupInfo{}
	for _, q := range []struct {
		sql string
		dst *int
	}{
		{`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`, &info.Schema},
		{`SELECT COUNT(*) FROM users`, &info.Users},
		{`SELECT COUNT(*) FROM sessions`, &info.Sessions},
		{`SELECT COUNT(*) FROM events`, &info.Events},
	} {
		if err := db.QueryRowContext(ctx, q.sql).Scan(q.dst); err != nil {
			return BackupInfo{}, err
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return BackupInfo{}, err
	}
	info.Bytes = st.Size()
	return info, nil
}
