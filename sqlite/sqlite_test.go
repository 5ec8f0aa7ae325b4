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

// Rows from before migration 0023 have no skeleton: the start fills them and reports look-alike
// pairs without changing either row (issue #15 item 7).
func TestUsernameSkeletonBackfillReportsCollisions(t *testing.T) {
	t.Parallel()
	path := testdb.SQLitePath(t)
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, name := range []string{"alice", "\u0430lice", "bob"} {
		if _, err := raw.Exec(`INSERT INTO users (username, email, name, role, disabled, email_verified, mfa_enabled, password_hash, created_at, updated_at, pending)
			VALUES (?, ?, '', 'user', 0, 1, 0, '', 0, 0, 0)`, name, name+"@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := db.FillUsernameSkeletons(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Username != "\u0430lice" || cs[0].OtherUsername != "alice" {
		t.Fatalf("collisions = %+v, want аlice against alice", cs)
	}
	if n, _ := db.CountUsers(context.Background()); n != 3 {
		t.Fatalf("users after the check = %d, want all 3 kept", n)
	}
	var nulls int
	_ = raw.QueryRow(`SELECT COUNT(*) FROM users WHERE username_skeleton IS NULL`).Scan(&nulls)
	if nulls != 1 {
		t.Fatalf("rows without a skeleton = %d, want only the colliding one", nulls)
	}
	// The colliding row stays editable; a new look-alike is refused.
	u, _ := db.UserByLogin(context.Background(), "\u0430lice")
	name := "Still here"
	if _, err := db.UpdateUser(context.Background(), u.ID, gatehouse.UserUpdate{Name: &name}); err != nil {
		t.Fatalf("editing a colliding row: %v", err)
	}
	err = db.CreateUser(context.Background(), &gatehouse.User{Username: "b\u043eb", Email: "x@example.com", Role: gatehouse.RoleUser})
	if gatehouse.ErrorCode(err) != gatehouse.EConfusable {
		t.Fatalf("a look-alike of bob after the backfill: %v", err)
	}
}
