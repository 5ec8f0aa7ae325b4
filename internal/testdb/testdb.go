// Package testdb gives tests real databases: a fresh SQLite file, or a fresh schema in the
// PostgreSQL named by GATEHOUSE_TEST_POSTGRES_DSN. When GATEHOUSE_TEST_REQUIRE names a service
// ("postgres", "redis", "chromium" or "all") a missing service fails the test instead of skipping
// it, so CI cannot pass by skipping.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for schema setup

	"github.com/gatehouse/gatehouse/postgres"
)

// Required reports whether GATEHOUSE_TEST_REQUIRE names the service.
func Required(service string) bool {
	for _, s := range strings.Split(os.Getenv("GATEHOUSE_TEST_REQUIRE"), ",") {
		s = strings.TrimSpace(s)
		if s == service || s == "all" {
			return true
		}
	}
	return false
}

// Unavailable skips the test, or fails it when the service is required.
func Unavailable(t testing.TB, service, why string) {
	t.Helper()
	if Required(service) {
		t.Fatalf("%s is required (GATEHOUSE_TEST_REQUIRE=%s) but unavailable: %s", service, os.Getenv("GATEHOUSE_TEST_REQUIRE"), why)
	}
	t.Skipf("skipping: %s unavailable (%s); set it up to run this test", service, why)
}

// PostgresDSN returns a DSN for a new schema holding every migration, dropped when the test
// ends. The schema is built by one transaction that replays the migrations (one round trip, no
// migration lock, so parallel tests and other test processes on the same server do not queue
// behind each other); postgres.Open on it then finds nothing to do. Tests of migrating itself
// use PostgresEmptyDSN.
//
// A database per test cloned with CREATE DATABASE ... TEMPLATE was measured and rejected:
// PostgreSQL 15 forces a checkpoint on every DROP DATABASE, seconds each on a shared server.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	script, err := migratedScript()
	if err != nil {
		t.Fatalf("loading the PostgreSQL migrations: %v", err)
	}
	return newSchema(t, script)
}

// PostgresEmptyDSN returns a DSN for a new, empty schema that is dropped when the test ends.
func PostgresEmptyDSN(t testing.TB) string {
	t.Helper()
	return newSchema(t, "")
}

// migratedScript is every PostgreSQL migration with its schema_migrations row, as one script;
// built once per test binary.
var migratedScript = sync.OnceValues(func() (string, error) {
	ms, err := postgres.Migrations()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(postgres.MigrationsTable + ";\n")
	for _, m := range ms {
		b.WriteString(m.SQL + ";\n")
		fmt.Fprintf(&b, "INSERT INTO schema_migrations (version, applied_at) VALUES (%d, now());\n", m.Version)
	}
	return b.String(), nil
})

// newSchema creates a schema, runs script in it in one transaction, and returns a DSN whose
// search_path is that schema. Commits do not wait for the disk (synchronous_commit=off): a test
// database need not survive a crash, and fsyncs are most of a test's time on a busy server.
func newSchema(t testing.TB, script string) string {
	t.Helper()
	base := os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN")
	if base == "" {
		Unavailable(t, "postgres", "GATEHOUSE_TEST_POSTGRES_DSN is not set")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES_DSN must be a URL: %v", err)
	}
	q := u.Query()
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	admin := u.String()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("opening %s: %v", redact(base), err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		Unavailable(t, "postgres", "cannot connect: "+err.Error())
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "gh_test_" + hex.EncodeToString(b[:])
	// Without arguments the statements go as one simple-protocol batch: one implicit
	// transaction, one round trip.
	batch := "CREATE SCHEMA " + schema + "; SET LOCAL search_path = " + schema + ";\n" + script
	if _, err := db.ExecContext(ctx, "BEGIN; "+batch+"; COMMIT;"); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// SQLitePath returns a path for a new SQLite file in the test's temporary directory.
func SQLitePath(t testing.TB) string {
	return t.TempDir() + "/gatehouse.db"
}

// RedisURL returns GATEHOUSE_TEST_REDIS_URL, or skips/fails when it is not set.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("GATEHOUSE_TEST_REDIS_URL")
	if u == "" {
		Unavailable(t, "redis", "GATEHOUSE_TEST_REDIS_URL is not set")
	}
	return u
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "[dsn]"
	}
	return u.Redacted()
}

// WaitBound raises -test.parallel to four per CPU unless the command line sets it. Call it from
// TestMain before m.Run in packages whose parallel tests mostly wait (on PostgreSQL, Chromium,
// loopback HTTP) rather than compute: the default, one per CPU, leaves the CPUs idle.
func WaitBound() {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", strconv.Itoa(4*runtime.GOMAXPROCS(0)))
	}
}
