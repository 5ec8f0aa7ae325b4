package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// feedTTL is how long user and settings changes stay in the feed. Followers poll every second, so
// a day only matters for an instance that was paused; on start an instance reads nothing stale
// because its caches start empty.
const feedTTL = 24 * time.Hour

const userCols = `id, username, email, name, role, disabled, email_verified, mfa_enabled, password_hash, created_at, updated_at, pending`

func scanUser(r rowScanner) (*gatehouse.User, error) {
	var u gatehouse.User
	var role string
	if err := r.Scan(&u.ID, &u.Username, &u.Email, &u.Name, &role, &u.Disabled, &u.EmailVerified, &u.MFAEnabled,
		&u.PasswordHash, timeDest{&u.CreatedAt}, timeDest{&u.UpdatedAt}, &u.Pending); err != nil {
		return nil, err
	}
	u.Role = gatehouse.Role(role)
	return &u, nil
}

func (s *Store) conflict(err error) error {
	if f := s.d.UniqueField(err); f == "username_skeleton" {
		return gatehouse.ErrConfusable()
	} else if f != "" {
		return &gatehouse.Error{Code: gatehouse.EConflict, Field: f, Message: f + " is already taken"}
	}
	return err
}

func (s *Store) insertUser(ctx context.Context, q querier, u *gatehouse.User, now time.Time) error {
	u.CreatedAt, u.UpdatedAt = Norm(now), Norm(now)
	// The exact name taken is "already taken", not "looks like": ask first, since which unique
	// index a backend checks first is its own business. The indexes still decide races.
	var one int
	switch err := q.QueryRowContext(ctx, `SELECT 1 FROM users WHERE username = $1`, u.Username).Scan(&one); {
	case err == nil:
		return &gatehouse.Error{Code: gatehouse.EConflict, Field: "username", Message: "username is already taken"}
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	err := q.QueryRowContext(ctx, `INSERT INTO users (username, email, name, role, disabled, email_verified, mfa_enabled, password_hash, created_at, updated_at, pending, username_skeleton)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		u.Username, u.Email, u.Name, string(u.Role), u.Disabled, u.EmailVerified, u.MFAEnabled, u.PasswordHash,
		s.d.TimeArg(now), s.d.TimeArg(now), u.Pending, gatehouse.UsernameSkeleton(u.Username)).Scan(&u.ID)
	if err != nil {
		return s.conflict(err)
	}
	return nil
}

// CreateUser implements gatehouse.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *gatehouse.User) error {
	return s.insertUser(ctx, s.w, u, s.now())
}

// CreateFirstAdmin implements gatehouse.UserStore.
func (s *Store) CreateFirstAdmin(ctx context.Context, u *gatehouse.User) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockUsers(ctx, tx); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return gatehouse.Errorf(gatehouse.ESetupDone, "setup is already complete: an account exists")
		}
		return s.insertUser(ctx, tx, u, s.now())
	})
}

// UserByID implements gatehouse.UserStore.
func (s *Store) UserByID(ctx context.Context, id int64) (*gatehouse.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user")
	}
	return u, err
}

// UserByLogin implements gatehouse.UserStore.
func (s *Store) UserByLogin(ctx context.Context, login string) (*gatehouse.User, error) {
	login = gatehouse.NormalizeLogin(login) // stored names are normalized; callers need not be
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE username = $1 OR email = $1 ORDER BY id LIMIT 1`, login))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user")
	}
	return u, err
}

// escapeLike escapes LIKE wildcards so a search for "a_b" matches only that text.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ListUsers implements gatehouse.UserStore.
func (s *Store) ListUsers(ctx context.Context, f gatehouse.UserFilter) ([]*gatehouse.User, bool, error) {
	offset, limit := pageBounds(f.Offset, f.Limit)
	q := `SELECT ` + userCols + ` FROM users`
	var args []any
	if f.Query != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(f.Query))+"%")
		q += ` WHERE username LIKE $1 ESCAPE '\' OR email LIKE $1 ESCAPE '\' OR LOWER(name) LIKE $1 ESCAPE '\'`
	}
	q += fmt.Sprintf(` ORDER BY id LIMIT %d OFFSET %d`, limit+1, offset)
	return page(ctx, s.r, limit, scanUser, q, args...)
}

// activeAdmins counts enabled administrators other than id.
func activeAdminsExcept(ctx context.Context, tx *sql.Tx, id int64) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin' AND NOT disabled AND id <> $1`, id).Scan(&n)
	return n, err
}

func lastAdminErr(action string) error {
	return gatehouse.Errorf(gatehouse.ELastAdmin, "cannot %s the last active administrator", action)
}

// UpdateUser implements gatehouse.UserStore.
func (s *Store) UpdateUser(ctx context.Context, id int64, upd gatehouse.UserUpdate) (*gatehouse.User, error) {
	var out *gatehouse.User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		losesAdmin := (upd.Role != nil && *upd.Role != gatehouse.RoleAdmin) || (upd.Disabled != nil && *upd.Disabled)
		if losesAdmin {
			if err := s.lockUsers(ctx, tx); err != nil {
				return err
			}
		}
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`+s.d.ForUpdate, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("user")
		}
		if err != nil {
			return err
		}
		if losesAdmin && u.Role == gatehouse.RoleAdmin && !u.Disabled {
			n, err := activeAdminsExcept(ctx, tx, id)
			if err != nil {
				return err
			}
			if n == 0 {
				if upd.Disabled != nil && *upd.Disabled {
					return lastAdminErr("disable")
				}
				return lastAdminErr("demote")
			}
		}
		renamed := upd.Username != nil && *upd.Username != u.Username
		if upd.Username != nil {
			u.Username = *upd.Username
		}
		if upd.Email != nil && *upd.Email != u.Email {
			u.Email = *upd.Email
			// Links mailed to the old address (password reset, activation, a pending change) must
			// not outlive the change: the old mailbox is exactly what is no longer trusted.
			if _, err := tx.ExecContext(ctx, `DELETE FROM one_time_tokens WHERE user_id = $1 AND used_at IS NULL`, id); err != nil {
				return err
			}
		}
		if upd.Name != nil {
			u.Name = *upd.Name
		}
		if upd.Role != nil {
			u.Role = *upd.Role
		}
		if upd.Disabled != nil {
			u.Disabled = *upd.Disabled
		}
		if upd.PasswordHash != nil {
			u.PasswordHash = *upd.PasswordHash
		}
		now := s.now()
		u.UpdatedAt = Norm(now)
		_, err = tx.ExecContext(ctx, `UPDATE users SET username = $1, email = $2, name = $3, role = $4, disabled = $5, password_hash = $6, updated_at = $7 WHERE id = $8`,
			u.Username, u.Email, u.Name, string(u.Role), u.Disabled, u.PasswordHash, s.d.TimeArg(now), id)
		if err != nil {
			return s.conflict(err)
		}
		if renamed {
			// Only a rename writes the skeleton: a row whose old skeleton collides (NULL, see
			// FillUsernameSkeletons) stays editable in every other field.
			if _, err := tx.ExecContext(ctx, `UPDATE users SET username_skeleton = $1 WHERE id = $2`, gatehouse.UsernameSkeleton(u.Username), id); err != nil {
				return s.conflict(err)
			}
		}
		if err := s.addChange(ctx, tx, &gatehouse.Change{Kind: gatehouse.ChangeUser, Subject: fmt.Sprint(id), At: now, ExpiresAt: now.Add(feedTTL)}); err != nil {
			return err
		}
		out = u
		return nil
	})
	return out, err
}

// DeleteUser implements gatehouse.UserStore. Sessions and refresh tokens go with the user through
// ON DELETE CASCADE; events stay, they are the audit trail.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockUsers(ctx, tx); err != nil {
			return err
		}
		var role string
		var disabled bool
		err := tx.QueryRowContext(ctx, `SELECT role, disabled FROM users WHERE id = $1`+s.d.ForUpdate, id).Scan(&role, &disabled)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("user")
		}
		if err != nil {
			return err
		}
		if role == string(gatehouse.RoleAdmin) && !disabled {
			n, err := activeAdminsExcept(ctx, tx, id)
			if err != nil {
				return err
			}
			if n == 0 {
				return lastAdminErr("delete")
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id); err != nil {
			return err
		}
		now := s.now()
		return s.addChange(ctx, tx, &gatehouse.Change{Kind: gatehouse.ChangeUser, Subject: fmt.Sprint(id), At: now, ExpiresAt: now.Add(feedTTL)})
	})
}

// CountUsers implements gatehouse.UserStore.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// HasAdmin implements gatehouse.UserStore.
func (s *Store) HasAdmin(ctx context.Context) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin'`).Scan(&n)
	return n > 0, err
}

// FillUsernameSkeletons implements gatehouse.UserStore: rows written before usernames had
// skeletons get theirs; a row whose skeleton another row holds keeps NULL and is reported.
func (s *Store) FillUsernameSkeletons(ctx context.Context) ([]gatehouse.UsernameCollision, error) {
	type row struct {
		id   int64
		name string
	}
	rows, err := all(ctx, s.r, func(r rowScanner) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.name)
	}, `SELECT id, username FROM users WHERE username_skeleton IS NULL ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var out []gatehouse.UsernameCollision
	for _, x := range rows {
		sk := gatehouse.UsernameSkeleton(x.name)
		_, err := s.w.ExecContext(ctx, `UPDATE users SET username_skeleton = $1 WHERE id = $2 AND username_skeleton IS NULL`, sk, x.id)
		if err == nil {
			continue
		}
		if s.d.UniqueField(err) != "username_skeleton" {
			return out, err
		}
		c := gatehouse.UsernameCollision{ID: x.id, Username: x.name}
		if err := s.r.QueryRowContext(ctx, `SELECT id, username FROM users WHERE username_skeleton = $1`, sk).Scan(&c.OtherID, &c.OtherUsername); err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}
