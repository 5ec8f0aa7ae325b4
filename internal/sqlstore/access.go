package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Groups, memberships and access rules. Rule edits and group renames or deletions check each
// other (a rule may only name existing groups; a named group may not be renamed or deleted), so
// they run under the users lock (PostgreSQL: an advisory lock; SQLite: writes are serial anyway):
// two such edits racing cannot both pass on the same snapshot. They are rare admin actions.

const groupCols = `g.id, g.name, g.description, g.created_at, (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id)`

func scanGroup(r rowScanner) (*gatehouse.Group, error) {
	var g gatehouse.Group
	if err := r.Scan(&g.ID, &g.Name, &g.Description, timeDest{&g.CreatedAt}, &g.Members); err != nil {
		return nil, err
	}
	return &g, nil
}

func groupNameTaken() error {
	return &gatehouse.Error{Code: gatehouse.EConflict, Field: "name", Message: "a group with this name already exists"}
}

// CreateGroup implements gatehouse.GroupStore.
func (s *Store) CreateGroup(ctx context.Context, g *gatehouse.Group) error {
	now := s.now()
	err := s.w.QueryRowContext(ctx, `INSERT INTO user_groups (name, description, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING RETURNING id`, g.Name, g.Description, s.d.TimeArg(now)).Scan(&g.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return groupNameTaken()
	}
	if err != nil {
		return err
	}
	g.CreatedAt, g.Members = Norm(now), 0
	return nil
}

// GroupByID implements gatehouse.GroupStore.
func (s *Store) GroupByID(ctx context.Context, id int64) (*gatehouse.Group, error) {
	g, err := scanGroup(s.r.QueryRowContext(ctx, `SELECT `+groupCols+` FROM user_groups g WHERE g.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("group")
	}
	return g, err
}

// ListGroups implements gatehouse.GroupStore.
func (s *Store) ListGroups(ctx context.Context) ([]*gatehouse.Group, error) {
	return all(ctx, s.r, scanGroup, `SELECT `+groupCols+` FROM user_groups g ORDER BY g.name`)
}

// ruleNaming returns the index of the first stored rule that names group, or -1.
func ruleNaming(ctx context.Context, tx *sql.Tx, group string) (int, error) {
	rules, err := readRules(ctx, tx)
	if err != nil {
		return 0, err
	}
	for i := range rules {
		if slices.Contains(rules[i].GroupNames(), group) {
			return i, nil
		}
	}
	return -1, nil
}

func groupInUse(i int, name string) error {
	return &gatehouse.Error{Code: gatehouse.EConflict, Field: "name",
		Message: fmt.Sprintf("access rule %d names group %q: change the rules first", i+1, name)}
}

// UpdateGroup implements gatehouse.GroupStore.
func (s *Store) UpdateGroup(ctx context.Context, g *gatehouse.Group, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockUsers(ctx, tx); err != nil {
			return err
		}
		var old string
		err := tx.QueryRowContext(ctx, `SELECT name FROM user_groups WHERE id = $1`, g.ID).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("group")
		}
		if err != nil {
			return err
		}
		if old != g.Name {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_groups WHERE name = $1`, g.Name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return groupNameTaken()
			}
			if i, err := ruleNaming(ctx, tx, old); err != nil {
				return err
			} else if i >= 0 {
				return groupInUse(i, old)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE user_groups SET name = $2, description = $3 WHERE id = $1`, g.ID, g.Name, g.Description); err != nil {
			return err
		}
		return s.addChange(ctx, tx, &gatehouse.Change{Kind: gatehouse.ChangeGroups, Subject: fmt.Sprint(g.ID), At: at, ExpiresAt: at.Add(feedTTL)})
	})
}

// DeleteGroup implements gatehouse.GroupStore.
func (s *Store) DeleteGroup(ctx context.Context, id int64, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockUsers(ctx, tx); err != nil {
			return err
		}
		var name string
		err := tx.QueryRowContext(ctx, `SELECT name FROM user_groups WHERE id = $1`, id).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("group")
		}
		if err != nil {
			return err
		}
		if i, err := ruleNaming(ctx, tx, name); err != nil {
			return err
		} else if i >= 0 {
			return groupInUse(i, name)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_groups WHERE id = $1`, id); err != nil {
			return err
		}
		return s.addChange(ctx, tx, &gatehouse.Change{Kind: gatehouse.ChangeGroups, Subject: fmt.Sprint(id), At: at, ExpiresAt: at.Add(feedTTL)})
	})
}

// AddGroupMember implements gatehouse.GroupStore.
func (s *Store) AddGroupMember(ctx context.Context, groupID, userID int64, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Checked first so a missing group or user is ENotFound, not a backend-specific
		// foreign-key error.
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM user_groups WHERE id = $1) + (SELECT COUNT(*) FROM users WHERE id = $2)`,
			groupID, userID).Scan(&n); err != nil {
			return err
		}
		if n != 2 {
			return notFound("group or user")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id, added_at) VALUES ($1, $2, $3)
			ON CONFLICT (group_id, user_id) DO NOTHING`, groupID, userID, s.d.TimeArg(at)); err != nil {
			return err
		}
		return s.addChange(ctx, tx, &gatehouse.Change{Kind: gatehouse.ChangeUser, Subject: fmt.Sprint(userID), At: at, ExpiresAt: at.Add(feedTTL)})
	})
}

// RemoveGroupMember implements gatehouse.GroupStore.
func (s *Store) RemoveGroupMember(ctx context.Context, groupID, userID int64, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := execOneOn(ctx, tx, "membership", `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, groupID, userID); err != nil {
			return err
		}
		return s.addChange(ctx, tx, &gatehouse.Change{Kind: gatehouse.ChangeUser, Subject: fmt.Sprint(userID), At: at, ExpiresAt: at.Add(feedTTL)})
	})
}

// UserGroups implements gatehouse.GroupStore.
func (s *Store) UserGroups(ctx context.Context, userID int64) ([]string, error) {
	out, err := all(ctx, s.r, func(r rowScanner) (string, error) {
		var n string
		return n, r.Scan(&n)
	}, `SELECT g.name FROM group_members m JOIN user_groups g ON g.id = m.group_id WHERE m.user_id = $1 ORDER BY g.name`, userID)
	if out == nil && err == nil {
		out = []string{}
	}
	return out, err
}

// GroupMembers implements gatehouse.GroupStore.
func (s *Store) GroupMembers(ctx context.Context, groupID int64) ([]int64, error) {
	if _, err := s.GroupByID(ctx, groupID); err != nil {
		return nil, err
	}
	return all(ctx, s.r, func(r rowScanner) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	}, `SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id`, groupID)
}

func readRules(ctx context.Context, q querier) ([]gatehouse.AccessRule, error) {
	rows, err := q.QueryContext(ctx, `SELECT rule FROM access_rules ORDER BY position`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []gatehouse.AccessRule{}
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			return nil, err
		}
		var r gatehouse.AccessRule
		if err := json.Unmarshal([]byte(text), &r); err != nil {
			return nil, fmt.Errorf("stored access rule %d: %w", len(out)+1, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AccessRules implements gatehouse.AccessRuleStore.
func (s *Store) AccessRules(ctx context.Context) ([]gatehouse.AccessRule, error) {
	return readRules(ctx, s.r)
}

// ReplaceAccessRules implements gatehouse.AccessRuleStore.
func (s *Store) ReplaceAccessRules(ctx context.Context, rules []gatehouse.AccessRule, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockUsers(ctx, tx); err != nil {
			return err
		}
		if err := checkRuleGroups(ctx, tx, rules); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM access_rules`); err != nil {
			return err
		}
		for i := range rules {
			b, err := json.Marshal(&rules[i])
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO access_rules (position, rule) VALUES ($1, $2)`, i, string(b)); err != nil {
				return err
			}
		}
		return s.addChange(ctx, tx, &gatehouse.Change{Kind: gatehouse.ChangeAccessRules, At: at, ExpiresAt: at.Add(feedTTL)})
	})
}

func checkRuleGroups(ctx context.Context, tx *sql.Tx, rules []gatehouse.AccessRule) error {
	known := map[string]bool{}
	for i := range rules {
		for j, sub := range rules[i].Subjects {
			g, ok := cutGroup(sub)
			if !ok {
				continue
			}
			if _, seen := known[g]; !seen {
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_groups WHERE name = $1`, g).Scan(&n); err != nil {
					return err
				}
				known[g] = n > 0
			}
			if !known[g] {
				return &gatehouse.Error{Code: gatehouse.EInvalid, Field: fmt.Sprintf("rules[%d].subjects[%d]", i, j),
					Message: fmt.Sprintf("rule %d: unknown group %q", i+1, g)}
			}
		}
	}
	return nil
}

func cutGroup(subject string) (string, bool) {
	const p = "group:"
	if len(subject) > len(p) && subject[:len(p)] == p {
		return subject[len(p):], true
	}
	return "", false
}
