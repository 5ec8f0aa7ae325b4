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

// namespaceExists reports whether a schema with the column (nspname or oid) equal to v exists.
func namespaceExists(t *testing.T, admin *sql.DB, column string, v any) bool {
	t.Helper()
	var n int
	if err := admin.QueryRow(`SELECT count(*) FROM pg_namespace WHERE `+column+` = $1`, v).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// schemaID is the oid of the DSN's schema, which stays when the schema is renamed.
func schemaID(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var id int64
	if err := db.QueryRow(`SELECT oid FROM pg_namespace WHERE nspname = current_schema()`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// A schema handed to the next test holds none of the last test's rows, its sequences start
// again, and the last test's DSN no longer reaches it. One its test altered, or left a
// connection open to, is dropped rather than handed on, and that connection is ended.
func TestSchemaReuse(t *testing.T) {
	admin := rawDB(t, adminDSN(t))
	var firstDSN string
	var first, second int64
	t.Run("writes", func(t *testing.T) {
		firstDSN = PostgresDSN(t)
		db := rawDB(t, firstDSN)
		first = schemaID(t, db)
		exec(t, db, addUser)
		exec(t, db, `INSERT INTO sessions (id, user_id, token_hash, auth_method, created_at, last_seen_at, expires_at, access_exp_max)
			VALUES ('s1', 1, '\x01', 'password', now(), now(), now(), now())`)
	})
	t.Run("reuses", func(t *testing.T) {
		dsn := PostgresDSN(t)
		db := rawDB(t, dsn)
		if got := schemaID(t, db); got != first {
			t.Fatalf("got schema %d, want %d handed on", got, first)
		}
		if _, err := rawDB(t, firstDSN).Exec(addUser); err == nil {
			t.Fatal("the last test's DSN still writes into the schema handed on")
		}
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
	})
	// Handed on a second time, under the name given the first time: the fingerprint it is
	// checked against was taken under another name.
	t.Run("reuses again", func(t *testing.T) {
		db := rawDB(t, PostgresDSN(t))
		if got := schemaID(t, db); got != first {
			t.Fatalf("got schema %d, want %d handed on again", got, first)
		}
		exec(t, db, `ALTER SEQUENCE users_id_seq INCREMENT BY 10`)
	})
	if namespaceExists(t, admin, "oid", first) {
		t.Fatalf("schema %d, altered by its test, still exists", first)
	}
	var leftover *sql.Conn
	t.Run("leaves a connection", func(t *testing.T) {
		dsn := PostgresDSN(t)
		db := rawDB(t, dsn)
		if second = schemaID(t, db); second == first {
			t.Fatalf("the altered schema %d was handed on", second)
		}
		var id int
		if err := db.QueryRow(addUser + ` RETURNING id`).Scan(&id); err != nil || id != 1 {
			t.Fatalf("first user id in a new schema = %d, %v; want 1", id, err)
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
	if namespaceExists(t, admin, "oid", second) {
		t.Fatalf("schema %d, whose test left a connection open, still exists", second)
	}
}

// A failed test's schema is dropped, not handed on.
func TestSchemaOfFailedTestDropped(t *testing.T) {
	dsn := PostgresDSN(t)
	schema := schemaOf(t, dsn)
	pool := pools.get(adminDSN(t))
	pool.finished(schema, true)
	if namespaceExists(t, rawDB(t, adminDSN(t)), "nspname", schema) {
		t.Fatalf("schema %s of a failed test still exists", schema)
	}
	pool.mu.Lock()
	kept := slices.Contains(pool.free, schema)
	pool.mu.Unlock()
	if kept {
		t.Fatalf("schema %s of a failed test is kept for reuse", schema)
	}
}
