package testdb

import (
	"context"
	"database/sql"
	"net/url"
	"slices"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// schemaOf is the schema a DSN from PostgresDSN names.
func schemaOf(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("search_path")
}

func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func exec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

const addUser = `INSERT INTO users (username, email, role, created_at, updated_at) VALUES ('bob', 'bob@example.com', 'user', now(), now())`

func schemaExists(t *testing.T, admin *sql.DB, schema string) bool {
	t.Helper()
	var n int
	if err := admin.QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// A schema handed to the next test holds none of the last test's rows and its sequences start
// again. One its test altered, or left a connection open to, is dropped rather than handed on,
// and that connection is ended.
func TestSchemaReuse(t *testing.T) {
	var first, second string
	t.Run("writes", func(t *testing.T) {
		dsn := PostgresDSN(t)
		first = schemaOf(t, dsn)
		db := rawDB(t, dsn)
		exec(t, db, addUser)
		exec(t, db, `INSERT INTO sessions (id, user_id, token_hash, auth_method, created_at, last_seen_at, expires_at, access_exp_max)
			VALUES ('s1', 1, '\x01', 'password', now(), now(), now(), now())`)
	})
	t.Run("reuses", func(t *testing.T) {
		dsn := PostgresDSN(t)
		if got := schemaOf(t, dsn); got != first {
			t.Fatalf("got schema %s, want %s handed on", got, first)
		}
		db := rawDB(t, dsn)
		var users, sessions int
		if err := db.QueryRow(`SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM sessions)`).Scan(&users, &sessions); err != nil {
			t.Fatal(err)
		}
		if users != 0 || sessions != 0 {
			t.Fatalf("reused schema holds %d users and %d sessions of the last test", users, sessions)
		}
		var id int
		if err := db.QueryRow(addUser + ` RETURNING id`).Scan(&id); err != nil || id != 1 {
			t.Fatalf("first user id in a reused schema = %d, %v; want 1", id, err)
		}
		var migrations int
		if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&migrations); err != nil || migrations == 0 {
			t.Fatalf("schema_migrations rows = %d, %v; want them kept", migrations, err)
		}
		exec(t, db, `ALTER TABLE users ADD COLUMN extra TEXT`)
	})
	admin := rawDB(t, adminDSN(t))
	if schemaExists(t, admin, first) {
		t.Fatalf("schema %s, altered by its test, still exists", first)
	}
	var leftover *sql.Conn
	t.Run("leaves a connection", func(t *testing.T) {
		dsn := PostgresDSN(t)
		second = schemaOf(t, dsn)
		if second == first {
			t.Fatalf("the altered schema %s was handed on", second)
		}
		var n int
		if err := rawDB(t, dsn).QueryRow(`SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'extra'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the new schema has the altered column: %d, %v", n, err)
		}
		// A connection outside the test's cleanup, as a store a test forgot to close.
		other, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = other.Close() })
		if leftover, err = other.Conn(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := leftover.ExecContext(context.Background(), addUser); err == nil {
		t.Fatal("a connection the test left open could still write")
	}
	_ = leftover.Close()
	if schemaExists(t, admin, second) {
		t.Fatalf("schema %s, whose test left a connection open, still exists", second)
	}
}

// A failed test's schema is dropped, not handed on.
func TestSchemaOfFailedTestDropped(t *testing.T) {
	dsn := PostgresDSN(t)
	schema := schemaOf(t, dsn)
	pool := pools.get(adminDSN(t))
	pool.finished(schema, true)
	if schemaExists(t, rawDB(t, adminDSN(t)), schema) {
		t.Fatalf("schema %s of a failed test still exists", schema)
	}
	pool.mu.Lock()
	kept := slices.Contains(pool.free, schema)
	pool.mu.Unlock()
	if kept {
		t.Fatalf("schema %s of a failed test is kept for reuse", schema)
	}
}
