package postgres_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/postgres"
	"github.com/gatehouse/gatehouse/storetest"
)

func open(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) gatehouse.Store { return open(t, testdb.PostgresDSN(t)) })
}

// Two instances starting at once on an empty database must not both run the migrations.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	dsn := testdb.PostgresEmptyDSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	dsn := testdb.PostgresEmptyDSN(t)
	open(t, dsn)
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(context.Background(), dsn); err == nil || !strings.Contains(err.Error(), "upgrade gatehouse") {
		t.Fatalf("err = %v, want a refusal asking to upgrade", err)
	}
}

// A revocation on one instance wakes a listener on another at once.
func TestListenChanges(t *testing.T) {
	t.Parallel()
	dsn := testdb.PostgresDSN(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	woke := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() { done <- b.ListenChanges(ctx, func() { woke <- struct{}{} }) }()
	select {
	case <-woke: // the initial wake-up once listening
	case <-time.After(10 * time.Second):
		t.Fatal("listener never started")
	}
	if err := a.AddChange(context.Background(), &gatehouse.Change{Kind: gatehouse.ChangeSettings, At: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatal("no notification after a change was appended on another instance")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ListenChanges returned %v after its context ended, want nil", err)
	}
}

func TestBadDSN(t *testing.T) {
	t.Parallel()
	if _, err := postgres.Open(context.Background(), "postgres://%zz"); err == nil || !strings.Contains(err.Error(), "database.dsn") {
		t.Fatalf("err = %v, want one naming database.dsn", err)
	}
}
