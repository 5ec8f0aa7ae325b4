package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// schemaPool holds the migrated schemas that tests of this process have finished with, emptied
// for the next test. Creating a schema (the tables, indexes and constraints of every migration)
// and dropping it cost the PostgreSQL server about a quarter of a CPU second each, and the suite
// made hundreds; emptying one costs a few milliseconds. A schema is reused only when nothing of
// its test is still connected to it and its structure is as it was built; otherwise it is
// dropped, as every schema was before.
type schemaPool struct {
	admin string

	open sync.Once
	db   *sql.DB
	err  error

	sweep sync.Once

	mu    sync.Mutex
	free  []string
	built string // fingerprint of a schema just built; without its name, the same for all
	reuse bool   // false once emptying failed (no permission): drop instead
}

// poolSet is the pools of this process, one per server DSN.
type poolSet struct {
	mu sync.Mutex
	m  map[string]*schemaPool
}

var pools poolSet

func (ps *poolSet) get(admin string) *schemaPool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = map[string]*schemaPool{}
	}
	p := ps.m[admin]
	if p == nil {
		p = &schemaPool{admin: admin, reuse: true}
		ps.m[admin] = p
	}
	return p
}

// Drain drops the schemas kept for reuse and closes the connections. TestMains of packages that
// use PostgreSQL call it after the tests (Main does); schemas of a process that ended without it
// are dropped by the next test process on this host that makes a schema.
func Drain() {
	pools.mu.Lock()
	all := pools.m
	pools.m = nil
	pools.mu.Unlock()
	for _, p := range all {
		p.mu.Lock()
		free := p.free
		p.free = nil
		p.mu.Unlock()
		for _, s := range free {
			p.drop(s)
		}
		if p.db != nil {
			_ = p.db.Close()
		}
	}
}

func (p *schemaPool) ping() error {
	p.open.Do(func() {
		p.db, p.err = sql.Open("pgx", p.admin)
		if p.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p.err = p.db.PingContext(ctx)
	})
	return p.err
}

// hostTag names this host in schema names, so that the sweep of a dead process's schemas never
// touches those of another machine sharing the server.
// Containers may share a host name; their process ids are told apart by the pid namespace.
var hostTag = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	ns, _ := os.Readlink("/proc/self/ns/pid")
	sum := sha256.Sum256([]byte(h + "\x00" + ns))
	return hex.EncodeToString(sum[:4])
})

// name is a new schema name: gh_test_<host>_<pid>_<random>.
func (p *schemaPool) name() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("gh_test_%s_%d_%s", hostTag(), os.Getpid(), hex.EncodeToString(b[:]))
}

var schemaName = regexp.MustCompile(`^gh_test_([0-9a-f]{8})_(\d+)_[0-9a-f]{12}$`)

// sweepStale drops the schemas of test processes of this host that are gone: a test binary
// killed, or one whose TestMain does not call Drain.
func (p *schemaPool) sweepStale(ctx context.Context) {
	rows, err := p.db.QueryContext(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'gh\_test\_%'`)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) != nil {
			continue
		}
		m := schemaName.FindStringSubmatch(n)
		if m == nil || m[1] != hostTag() {
			continue
		}
		// Only a process that is gone: ESRCH. EPERM means it runs under another user.
		pid, _ := strconv.Atoi(m[2])
		if pid == os.Getpid() || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		stale = append(stale, n)
	}
	_ = rows.Close()
	for _, n := range stale {
		p.drop(n)
	}
}

// take is a schema kept for reuse, if there is one.
func (p *schemaPool) take() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 {
		return "", false
	}
	s := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return s, true
}

// build makes a new schema and runs script in it, in one transaction: one round trip, and no
// migration lock, so parallel tests and other test processes do not queue behind each other.
// The first schema this process makes also sweeps those of dead test processes.
func (p *schemaPool) build(t testing.TB, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p.sweep.Do(func() { p.sweepStale(ctx) })
	schema := p.name()
	if err := p.inTx(ctx, "CREATE SCHEMA "+schema+"; SET LOCAL search_path = "+schema+";\n"+script); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	return schema
}

// remember takes the fingerprint of schema, just built with every migration, as what every
// schema must still look like to be handed on; once per process.
func (p *schemaPool) remember(schema string) error {
	p.mu.Lock()
	known := p.built != ""
	p.mu.Unlock()
	if known {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fp, err := p.fingerprint(ctx, schema)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.built = fp
	p.mu.Unlock()
	return nil
}

// fingerprint sums up what a test must not have changed for its schema to be reused: the tables,
// sequences, views and indexes with their columns, defaults, grants and row security, the
// constraints, indexes, sequence parameters, policies, functions and triggers, and the migration
// rows. The schema's name is taken out of every definition, so schemas built from the same
// migrations have the same fingerprint. Internal triggers (those of foreign keys, named by oid)
// are left out; their constraints are in.
func (p *schemaPool) fingerprint(ctx context.Context, schema string) (string, error) {
	var f string
	err := p.db.QueryRowContext(ctx, `
SELECT md5(coalesce(string_agg(d, E'\n' ORDER BY d), '')) FROM (SELECT replace(d, $1 || '.', '') AS d FROM (
  SELECT c.relname || ' ' || c.relkind::text || ' ' || c.relrowsecurity::text || ' ' || coalesce(c.relacl::text, '') || ' ' || coalesce((
    SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text, ',' ORDER BY a.attnum)
    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') AS d
  FROM pg_class c WHERE c.relnamespace = $1::regnamespace
  UNION ALL
  SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = $1::regnamespace
  UNION ALL
  SELECT 'default ' || d.adrelid::regclass::text || ' ' || d.adnum || ' ' || pg_get_expr(d.adbin, d.adrelid)
  FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid WHERE c.relnamespace = $1::regnamespace
  UNION ALL
  SELECT 'sequence ' || c.relname || ' ' || s.seqtypid::regtype::text || ' ' || s.seqstart || ' ' || s.seqincrement || ' ' || s.seqmin || ' ' || s.seqmax || ' ' || s.seqcycle::text
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = $1::regnamespace
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = $1::regnamespace
  UNION ALL
  SELECT 'policy ' || p.polname || ' ' || p.polrelid::regclass::text FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = $1::regnamespace
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = $1::regnamespace
  UNION ALL
  SELECT 'trigger ' || t.tgname || ' ' || t.tgenabled::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = $1::regnamespace AND NOT t.tgisinternal
  UNION ALL
  SELECT 'migrations ' || count(*) || ' ' || coalesce(max(version), 0) FROM `+schema+`.schema_migrations
) x) y`, schema).Scan(&f)
	return f, err
}

// finished is called when the test of schema has ended: the schema is emptied and kept, or
// dropped when the test failed (its rows may explain the failure in a rerun's logs, and a failing
// test is no time to save) or the schema cannot be reused safely.
func (p *schemaPool) finished(schema string, failed bool) {
	p.mu.Lock()
	reuse := p.reuse
	p.mu.Unlock()
	if failed || !reuse || p.empty(schema) != nil {
		p.drop(schema)
		return
	}
	// Renamed, the schema is out of reach of its last test: a DSN of it that outlived the test
	// (a pool never closed that connects again, a subtest's DSN used later) fails as it did when
	// schemas were dropped, instead of writing into the next test's data.
	renamed := p.name()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := p.db.ExecContext(ctx, "ALTER SCHEMA "+schema+" RENAME TO "+renamed); err != nil {
		p.drop(schema)
		return
	}
	p.mu.Lock()
	p.free = append(p.free, renamed)
	p.mu.Unlock()
}

// empty makes schema as it was built, or fails when the schema should not be handed on: a
// connection of its test is still open, or its structure changed. The rows go with DELETE under
// session_replication_role = replica, which skips foreign-key checks and needs a superuser;
// without one, reuse stops for the process.
func (p *schemaPool) empty(schema string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A connection still open after a moment belongs to something the test did not close; it
	// could reconnect and write later, so its schema is not handed on (drop ends it). The moment
	// is for connections just closed: the server lists a backend until it has exited.
	open, err := p.connections(ctx, schema, false, 25)
	if err != nil {
		return err
	}
	if open > 0 {
		return fmt.Errorf("%d connections of %s are still open", open, schema)
	}
	p.mu.Lock()
	want := p.built
	p.mu.Unlock()
	if got, err := p.fingerprint(ctx, schema); err != nil || got != want {
		return fmt.Errorf("schema %s changed during its test", schema)
	}
	err = p.inTx(ctx, `SET LOCAL session_replication_role = replica;
SET LOCAL lock_timeout = '5s';
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid::regclass AS t FROM pg_class c
           WHERE c.relnamespace = '`+schema+`'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname <> 'schema_migrations' LOOP
    EXECUTE 'DELETE FROM ' || r.t;
  END LOOP;
  FOR r IN SELECT s.seqrelid::regclass AS q, s.seqstart FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
           WHERE c.relnamespace = '`+schema+`'::regnamespace LOOP
    PERFORM setval(r.q, r.seqstart, false);
  END LOOP;
END $$;`)
	if err != nil {
		var pgErr interface{ SQLState() string }
		if errors.As(err, &pgErr) && pgErr.SQLState() == "42501" { // insufficient_privilege
			p.mu.Lock()
			p.reuse = false
			p.mu.Unlock()
		}
	}
	return err
}

// connections counts the connections whose application_name is schema, ending them when end is
// set, until there are none or tries more polls 20 ms apart have passed; it returns how many are
// left.
func (p *schemaPool) connections(ctx context.Context, schema string, end bool, tries int) (int, error) {
	q := `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`
	if end {
		q = `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`
	}
	for i := 0; ; i++ {
		var n int
		if err := p.db.QueryRowContext(ctx, q, schema).Scan(&n); err != nil {
			return 0, err
		}
		if n == 0 || i == tries {
			return n, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inTx runs script in one transaction. Without arguments the statements go as one
// simple-protocol batch: one round trip.
func (p *schemaPool) inTx(ctx context.Context, script string) error {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, script); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (p *schemaPool) drop(schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = p.connections(ctx, schema, true, 50)
	_, _ = p.db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
}
