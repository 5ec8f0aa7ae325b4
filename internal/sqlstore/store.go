// Package sqlstore is the SQL shared by the sqlite and postgres backends. Both speak database/sql
// with $N placeholders (SQLite reads $N as the N-th argument), so only what genuinely differs
// between the two lives in Dialect: how times are stored, how a transaction locks, and how a
// unique violation is recognised.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Dialect is what differs between the backends.
type Dialect struct {
	// UnixMicroTimes stores times as INTEGER microseconds since the epoch (SQLite, which has no
	// time type); otherwise times are passed to the driver as time.Time (TIMESTAMPTZ).
	UnixMicroTimes bool
	// ForUpdate is appended to a SELECT that must keep the rows it read from changing until
	// commit. Empty where write transactions already exclude each other (SQLite's BEGIN
	// IMMEDIATE).
	ForUpdate string
	// LockUsers is run first in transactions whose checks span the whole users table (first
	// admin, last admin), so that two of them cannot both pass on the same snapshot. Empty where
	// write transactions are already serial.
	LockUsers string
	// UniqueField reports which users column ("username" or "email") a unique violation is
	// about, or "" when err is not such a violation.
	UniqueField func(err error) string
	// LockChanges is run before appending to the change feed. PostgreSQL hands out sequence
	// values before commit, so without it a follower could read ID 8 before ID 7 commits and
	// never see 7; holding a lock until commit makes IDs become visible in order.
	LockChanges string
	// NotifyChanges is run after appending to the change feed, in the same transaction, to wake
	// other instances at once (PostgreSQL NOTIFY). Empty: followers poll.
	NotifyChanges string
}

// TimeArg converts t into the value bound for a time column. Times are stored in UTC and
// truncated to microseconds, the precision of PostgreSQL, so both backends return exactly
// what they stored.
func (d Dialect) TimeArg(t time.Time) any {
	t = Norm(t)
	if d.UnixMicroTimes {
		return t.UnixMicro()
	}
	return t
}

func (d Dialect) nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.TimeArg(*t)
}

// Norm is the form in which a time is stored: UTC, truncated to microseconds.
func Norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Store implements gatehouse.Store except Ping and Close, which belong to the backends because
// they own the connections.
type Store struct {
	w   counted // writes and every transaction
	r   counted // plain reads; may share w's pool
	d   Dialect
	now func() time.Time

	reads, writes, txs atomic.Uint64
}

// New returns a Store writing through w and reading through r (which may be w).
func New(w, r *sql.DB, d Dialect) *Store {
	s := &Store{d: d, now: time.Now}
	s.w, s.r = counted{w, &s.writes}, counted{r, &s.reads}
	return s
}

// Counts are the statements the store has sent: Reads and Writes outside transactions (by the
// pool they went through, so a write that reads back with RETURNING is a write), and
// Transactions, each of which is several statements in one round of locking. They are how
// bench/README.md counts the database work of one sign-in and one request check.
type Counts struct{ Reads, Writes, Transactions uint64 }

// Counts reports the statements sent so far.
func (s *Store) Counts() Counts {
	return Counts{Reads: s.reads.Load(), Writes: s.writes.Load(), Transactions: s.txs.Load()}
}

// counted is a connection pool that counts the statements sent through it.
type counted struct {
	*sql.DB
	n *atomic.Uint64
}

func (c counted) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.n.Add(1)
	return c.DB.ExecContext(ctx, query, args...)
}

func (c counted) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.n.Add(1)
	return c.DB.QueryContext(ctx, query, args...)
}

func (c counted) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	c.n.Add(1)
	return c.DB.QueryRowContext(ctx, query, args...)
}

// SetClock replaces the clock that stamps created_at and updated_at (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// querier is what *sql.DB, *sql.Conn and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type rowScanner interface {
	Scan(dest ...any) error
}

// tx runs fn in a write transaction, committing when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.txs.Add(1)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (s *Store) lockUsers(ctx context.Context, tx *sql.Tx) error {
	if s.d.LockUsers == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.d.LockUsers); err != nil {
		return fmt.Errorf("lock users: %w", err)
	}
	return nil
}

// timeDest scans a time column stored by either dialect.
type timeDest struct{ p *time.Time }

func (t timeDest) Scan(v any) error {
	switch x := v.(type) {
	case int64:
		*t.p = time.UnixMicro(x).UTC()
	case time.Time:
		*t.p = x.UTC()
	default:
		return fmt.Errorf("unexpected %T in a time column", v)
	}
	return nil
}

// nullTimeDest scans a nullable time column.
type nullTimeDest struct{ p **time.Time }

func (t nullTimeDest) Scan(v any) error {
	if v == nil {
		*t.p = nil
		return nil
	}
	var x time.Time
	if err := (timeDest{&x}).Scan(v); err != nil {
		return err
	}
	*t.p = &x
	return nil
}

// Page limits shared by ListUsers and ListEvents.
const (
	defaultLimit = 50
	maxLimit     = 200
)

func pageBounds(offset, limit int) (int, int) {
	if offset < 0 {
		offset = 0
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	if limit > maxLimit {
		limit = maxLimit
	}
	return offset, limit
}

func notFound(what string) error { return gatehouse.Errorf(gatehouse.ENotFound, "%s not found", what) }

// all runs a query and scans every row with scan.
func all[T any](ctx context.Context, db querier, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// page runs a query that asks for limit+1 rows (a LIMIT of limit+1) and returns at most limit of
// them, scanned, with whether there were more: how every paged list here knows its next page.
func page[T any](ctx context.Context, db querier, limit int, scan func(rowScanner) (T, error), query string, args ...any) ([]T, bool, error) {
	out, err := all(ctx, db, scan, query, args...)
	if err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// execOne runs a write that must touch a row: ENotFound naming what when it touched none.
func (s *Store) execOne(ctx context.Context, what, query string, args ...any) error {
	return execOneOn(ctx, s.w, what, query, args...)
}

// execOneOn is execOne through q: the writer pool, or a transaction the change is part of.
func execOneOn(ctx context.Context, q querier, what, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return notFound(what)
	}
	return nil
}
