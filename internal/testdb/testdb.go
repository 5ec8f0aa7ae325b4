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
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for schema setup
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

// PostgresDSN returns a DSN for a new, empty schema that is dropped when the test ends.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN")
	if base == "" {
		Unavailable(t, "postgres", "GATEHOUSE_TEST_POSTGRES_DSN is not set")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("opening %s: %v", redact(base), err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		Unavailable(t, "postgres", "cannot connect: "+err.Error())
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "gh_test_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES_DSN must be a URL: %v", err)
	}
	q := u.Query()
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
