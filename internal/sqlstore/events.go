package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// AddEvent implements gatehouse.EventStore.
func (s *Store) AddEvent(ctx context.Context, e *gatehouse.Event) error {
	return s.insertEvent(ctx, s.w, e)
}

// insertEvent appends e through q: the writer pool, or a transaction whose change the event
// records, so that both are written in one commit.
func (s *Store) insertEvent(ctx context.Context, q querier, e *gatehouse.Event) error {
	data := []byte("{}")
	if len(e.Data) > 0 {
		var err error
		if data, err = json.Marshal(e.Data); err != nil {
			return fmt.Errorf("encode event data: %w", err)
		}
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	e.Time = Norm(e.Time)
	var uid any
	if e.UserID != nil {
		uid = *e.UserID
	}
	return q.QueryRowContext(ctx, `INSERT INTO events (time, kind, user_id, session_id, ip, user_agent, data) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		s.d.TimeArg(e.Time), e.Kind, uid, e.SessionID, e.IP, e.UserAgent, string(data)).Scan(&e.ID)
}

// ListEvents implements gatehouse.EventStore.
func (s *Store) ListEvents(ctx context.Context, f gatehouse.EventFilter) ([]*gatehouse.Event, bool, error) {
	offset, limit := pageBounds(f.Offset, f.Limit)
	var where []string
	var args []any
	if f.UserID != nil {
		args = append(args, *f.UserID)
		where = append(where, fmt.Sprintf("user_id = $%d", len(args)))
	}
	if f.Kind != "" {
		args = append(args, f.Kind)
		where = append(where, fmt.Sprintf("kind = $%d", len(args)))
	}
	if len(f.Kinds) > 0 {
		marks := make([]string, len(f.Kinds))
		for i, k := range f.Kinds {
			args = append(args, k)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		where = append(where, "kind IN ("+strings.Join(marks, ", ")+")")
	}
	q := `SELECT id, time, kind, user_id, session_id, ip, user_agent, data FROM events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d OFFSET %d", limit+1, offset)
	return page(ctx, s.r, limit, scanEvent, q, args...)
}

func scanEvent(r rowScanner) (*gatehouse.Event, error) {
	var e gatehouse.Event
	var uid sql.NullInt64
	var data string
	if err := r.Scan(&e.ID, timeDest{&e.Time}, &e.Kind, &uid, &e.SessionID, &e.IP, &e.UserAgent, &data); err != nil {
		return nil, err
	}
	if uid.Valid {
		v := uid.Int64
		e.UserID = &v
	}
	if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
		return nil, fmt.Errorf("decode event %d data: %w", e.ID, err)
	}
	if e.Data == nil {
		e.Data = map[string]any{}
	}
	return &e, nil
}

// Settings implements gatehouse.SettingStore.
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, value FROM settings`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// InitSettings implements gatehouse.SettingStore.
func (s *Store) InitSettings(ctx context.Context, defaults map[string]string) error {
	now := s.d.TimeArg(s.now())
	return s.tx(ctx, func(tx *sql.Tx) error {
		// In key order: two instances starting together insert the same rows, and in map order
		// (random) each could wait on a row the other holds: a deadlock on PostgreSQL.
		for _, k := range slices.Sorted(maps.Keys(defaults)) {
			v := defaults[k]
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`, k, v, now); err != nil {
				return fmt.Errorf("initialise setting %s: %w", k, err)
			}
		}
		return nil
	})
}

// UpdateSettings implements gatehouse.SettingStore.
func (s *Store) UpdateSettings(ctx context.Context, values map[string]string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, k := range slices.Sorted(maps.Keys(values)) { // key order: see InitSettings
			v := values[k]
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, v, s.d.TimeArg(at)); err != nil {
				return fmt.Errorf("update setting %s: %w", k, err)
			}
		}
		return s.addChange(ctx, tx, &gatehouse.Change{Kind: gatehouse.ChangeSettings, At: at, ExpiresAt: at.Add(feedTTL)})
	})
}
