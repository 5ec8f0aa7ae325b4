package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/sqlite"
	"github.com/gatehouse/gatehouse/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) gatehouse.Store {
		db, err := sqlite.Open(context.Background(), testdb.SQLitePath(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	})
}

func TestOpenCreatesDirectoryAndPrivateFile(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/nested/dir/gatehouse.db"
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("database file not created: %v", err)
	}
	// It holds password hashes: owner only.
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("database file mode %v, want 0600", fi.Mode().Perm())
	}
	// Reopening an up-to-date database applies nothing and keeps the data.
	u := &gatehouse.User{Username: "a", Email: "a@example.com", Role: gatehouse.RoleAdmin}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer db2.Close()
	if n, _ := db2.CountUsers(context.Background()); n != 1 {
		t.Fatalf("users after reopen = %d, want 1", n)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	path := testdb.SQLitePath(t)
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = sqlite.Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "upgrade gatehouse") {
		t.Fatalf("opening a newer schema: err = %v, want a refusal asking to upgrade", err)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	t.Parallel()
	if _, err := sqlite.Open(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "database.dsn") {
		t.Fatalf("err = %v, want one naming database.dsn", err)
	}
}
