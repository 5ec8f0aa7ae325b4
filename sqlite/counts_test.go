package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"

	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/sqlite"
)

// The statement counters are what bench/README.md's sizing is computed from: a read, a write
// and a transaction must each move their own counter by one.
func TestStatementCounts(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, testdb.SQLitePath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	step := func(what string, fn func() error, want sqlstore.Counts) {
		t.Helper()
		before := db.Counts()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		after := db.Counts()
		got := sqlstore.Counts{Reads: after.Reads - before.Reads, Writes: after.Writes - before.Writes, Transactions: after.Transactions - before.Transactions}
		if got != want {
			t.Errorf("%s counted %+v, want %+v", what, got, want)
		}
	}
	step("a user lookup", func() error { _, err := db.UserByID(ctx, 12345); _ = err; return nil }, sqlstore.Counts{Reads: 1})
	step("reading the settings", func() error { _, err := db.Settings(ctx); return err }, sqlstore.Counts{Reads: 1})
	step("an event", func() error { return db.AddEvent(ctx, &gatehouse.Event{Time: time.Now(), Kind: "login_failed"}) }, sqlstore.Counts{Writes: 1})
	step("changing the settings", func() error { return db.InitSettings(ctx, map[string]string{"x": "1"}) }, sqlstore.Counts{Transactions: 1})
}
