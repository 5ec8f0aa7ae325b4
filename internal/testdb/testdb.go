// Package testdb gives tests real databases: a fresh SQLite file, or a fresh schema in the
// PostgreSQL named by GATEHOUSE_TEST_POSTGRES_DSN. When GATEHOUSE_TEST_REQUIRE names a service
// ("postgres", "redis", "chromium" or "all") a missing service fails the test instead of skipping
// it, so CI cannot pass by skipping.
package testdb

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

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

// PostgresDSN returns a DSN for a schema holding every migration and no rows, for this test
// alone. The schema is built by one transaction that replays the migrations (one round trip, no
// migration lock, so parallel tests and other test processes on the same server do not queue
// behind each other); postgres.Open on it then finds nothing to do. Tests of migrating itself
// use PostgresEmptyDSN.
//
// When the test ends, its schema is emptied and kept for the next test of this process (see
// schemaPool): building a schema and dropping it were most of the PostgreSQL server's CPU in the
// suite. A schema whose structure or migration rows the test changed, or whose test failed, is
// dropped instead.
//
// A database per test cloned with CREATE DATABASE ... TEMPLATE was measured and rejected:
// PostgreSQL 15 forces a checkpoint on every DROP DATABASE, seconds each on a shared server.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	script, err := migratedScript()
	if err != nil {
		t.Fatalf("loading the PostgreSQL migrations: %v", err)
	}
	pool := pools.get(adminDSN(t))
	schema, ok := pool.take()
	if !ok {
		schema = pool.build(t, script)
		if err := pool.remember(schema); err != nil {
			pool.drop(schema)
			t.Fatalf("reading the new schema: %v", err)
		}
	}
	t.Cleanup(func() { pool.finished(schema, t.Failed()) })
	return schemaDSN(pool.admin, schema)
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

// adminDSN is GATEHOUSE_TEST_POSTGRES_DSN with synchronous_commit=off. Commits do not wait for
// the disk: a test database need not survive a crash, and fsyncs are most of a test's time on a
// busy server. Without the variable, or without a server behind it, the test skips or fails.
func adminDSN(t testing.TB) string {
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
	if err := pools.get(admin).ping(); err != nil {
		Unavailable(t, "postgres", "cannot connect to "+redact(base)+": "+err.Error())
	}
	return admin
}

// schemaDSN is admin with schema as its search_path and as its application_name, by which the
// connections a test left open are found when the schema is reused.
func schemaDSN(admin, schema string) string {
	u, _ := url.Parse(admin) // parsed before, in adminDSN
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// newSchema creates a schema, runs script in it in one transaction, and returns a DSN whose
// search_path is that schema; the schema is dropped when the test ends.
func newSchema(t testing.TB, script string) string {
	t.Helper()
	pool := pools.get(adminDSN(t))
	schema := pool.build(t, script)
	t.Cleanup(func() { pool.drop(schema) })
	return schemaDSN(pool.admin, schema)
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

// Main is a TestMain for such packages: WaitBound, then the tests, then Drain.
func Main(m *testing.M) {
	WaitBound()
	code := m.Run()
	Drain()
	os.Exit(code)
}
