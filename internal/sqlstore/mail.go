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

// This file implements gatehouse.MailStore: one-time links (activation, password reset, email
// change) and the mail outbox.

const tokenCols = `hash, kind, user_id, email, created_at, expires_at, data`

func scanToken(r rowScanner) (*gatehouse.OneTimeToken, error) {
	var t gatehouse.OneTimeToken
	if err := r.Scan(&t.Hash, &t.Kind, &t.UserID, &t.Email, timeDest{&t.CreatedAt}, timeDest{&t.ExpiresAt}, &t.Data); err != nil {
		return nil, err
	}
	return &t, nil
}

func (s *Store) insertToken(ctx context.Context, q querier, t *gatehouse.OneTimeToken) error {
	t.CreatedAt, t.ExpiresAt = Norm(t.CreatedAt), Norm(t.ExpiresAt)
	_, err := q.ExecContext(ctx, `INSERT INTO one_time_tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.Hash, t.Kind, t.UserID, t.Email, s.d.TimeArg(t.CreatedAt), s.d.TimeArg(t.ExpiresAt), t.Data)
	return err
}

const mailCols = `id, kind, to_addr, subject, text_body, html_body, status, attempts, last_error, created_at, next_attempt_at, sent_at`

func scanMail(r rowScanner) (*gatehouse.OutboxMail, error) {
	var m gatehouse.OutboxMail
	if err := r.Scan(&m.ID, &m.Kind, &m.To, &m.Subject, &m.Text, &m.HTML, &m.Status, &m.Attempts, &m.LastError,
		timeDest{&m.CreatedAt}, timeDest{&m.NextAttemptAt}, nullTimeDest{&m.SentAt}); err != nil {
		return nil, err
	}
	return &m, nil
}

func (s *Store) insertMails(ctx context.Context, q querier, mails []*gatehouse.OutboxMail) error {
	now := s.now()
	for _, m := range mails {
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		if m.NextAttemptAt.IsZero() {
			m.NextAttemptAt = m.CreatedAt
		}
		m.CreatedAt, m.NextAttemptAt = Norm(m.CreatedAt), Norm(m.NextAttemptAt)
		m.Status, m.Attempts, m.LastError, m.SentAt = gatehouse.MailQueued, 0, "", nil
		err := q.QueryRowContext(ctx, `INSERT INTO mail_outbox (kind, to_addr, subject, text_body, html_body, status, attempts, last_error, created_at, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6, 0, '', $7, $8) RETURNING id`,
			m.Kind, m.To, m.Subject, m.Text, m.HTML, m.Status, s.d.TimeArg(m.CreatedAt), s.d.TimeArg(m.NextAttemptAt)).Scan(&m.ID)
		if err != nil {
			return fmt.Errorf("queue mail: %w", err)
		}
	}
	return nil
}

// IssueToken implements gatehouse.MailStore.
func (s *Store) IssueToken(ctx context.Context, t *gatehouse.OneTimeToken, cooldown time.Duration, mails ...*gatehouse.OutboxMail) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Locking the user row serializes concurrent requests for the same user, so two of them
		// cannot both pass the cooldown check (PostgreSQL; SQLite write transactions are serial).
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE id = $1`+s.d.ForUpdate, t.UserID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("user")
		}
		if err != nil {
			return err
		}
		var last *time.Time
		if err := tx.QueryRowContext(ctx, `SELECT MAX(created_at) FROM one_time_tokens WHERE user_id = $1 AND kind = $2`, t.UserID, t.Kind).Scan(nullTimeDest{&last}); err != nil {
			return err
		}
		if last != nil && cooldown > 0 {
			if wait := last.Add(cooldown).Sub(Norm(t.CreatedAt)); wait > 0 {
				return &gatehouse.Error{Code: gatehouse.ERateLimited, Message: "a link was sent moments ago; wait before asking again", RetryAfter: wait}
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM one_time_tokens WHERE user_id = $1 AND kind = $2 AND used_at IS NULL`, t.UserID, t.Kind); err != nil {
			return err
		}
		if err := s.insertToken(ctx, tx, t); err != nil {
			return err
		}
		return s.insertMails(ctx, tx, mails)
	})
}

// PeekToken implements gatehouse.MailStore.
func (s *Store) PeekToken(ctx context.Context, hash []byte, kind string, now time.Time) (*gatehouse.OneTimeToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM one_time_tokens WHERE hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3`,
		hash, kind, s.d.TimeArg(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("link")
	}
	return t, err
}

// ConsumeToken implements gatehouse.MailStore.
func (s *Store) ConsumeToken(ctx context.Context, hash []byte, kind string, now time.Time, use gatehouse.TokenUse) (*gatehouse.OneTimeToken, *gatehouse.User, error) {
	var (
		tok *gatehouse.OneTimeToken
		u   *gatehouse.User
	)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		tok, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM one_time_tokens WHERE hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3`+s.d.ForUpdate,
			hash, kind, s.d.TimeArg(now)))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("link")
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE one_time_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL`, s.d.TimeArg(now), hash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return notFound("link")
		}
		if use.Claim != nil {
			u, err = s.claimPending(ctx, tx, tok, use.Claim)
		} else {
			u, err = s.applyTokenUse(ctx, tx, tok, hash, use)
		}
		if err != nil {
			return err
		}
		at := s.now()
		return s.addChange(ctx, tx, &gatehouse.Change{Kind: gatehouse.ChangeUser, Subject: fmt.Sprint(tok.UserID), At: at, ExpiresAt: at.Add(feedTTL)})
	})
	if err != nil {
		return nil, nil, err
	}
	return tok, u, nil
}

// applyTokenUse changes the token's user as use says and returns the updated user.
func (s *Store) applyTokenUse(ctx context.Context, tx *sql.Tx, tok *gatehouse.OneTimeToken, hash []byte, use gatehouse.TokenUse) (*gatehouse.User, error) {
	sets := []string{}
	args := []any{}
	add := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if use.Activate {
		add("pending", false)
		add("email_verified", true)
	}
	if use.PasswordHash != nil {
		add("password_hash", *use.PasswordHash)
	}
	if use.SetEmail {
		add("email", tok.Email)
		add("email_verified", true)
		// Every other link still out (a reset mailed to the old address) dies with the change.
		if _, err := tx.ExecContext(ctx, `DELETE FROM one_time_tokens WHERE user_id = $1 AND used_at IS NULL AND hash <> $2`, tok.UserID, hash); err != nil {
			return nil, err
		}
	}
	add("updated_at", s.d.TimeArg(s.now()))
	args = append(args, tok.UserID)
	if _, err := tx.ExecContext(ctx, `UPDATE users SET `+strings.Join(sets, ", ")+fmt.Sprintf(` WHERE id = $%d`, len(args)), args...); err != nil {
		return nil, s.conflict(err)
	}
	return scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, tok.UserID))
}

// claimPending deletes the token's pending user and inserts claim in its place (TokenUse.Claim).
// The row is locked first, so an activation or recovery racing with the claim either finds it
// gone or makes the claim fail.
func (s *Store) claimPending(ctx context.Context, tx *sql.Tx, tok *gatehouse.OneTimeToken, claim *gatehouse.User) (*gatehouse.User, error) {
	var pending bool
	err := tx.QueryRowContext(ctx, `SELECT pending FROM users WHERE id = $1`+s.d.ForUpdate, tok.UserID).Scan(&pending)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("link")
	}
	if err != nil {
		return nil, err
	}
	if !pending {
		return nil, &gatehouse.Error{Code: gatehouse.EConflict, Field: "email", Message: "this address belongs to an active account now"}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, tok.UserID); err != nil {
		return nil, err
	}
	claim.Email, claim.Pending, claim.EmailVerified = tok.Email, false, true
	if err := s.insertUser(ctx, tx, claim, s.now()); err != nil {
		return nil, err
	}
	return claim, nil
}

// CreatePendingUser implements gatehouse.MailStore.
func (s *Store) CreatePendingUser(ctx context.Context, u *gatehouse.User, t *gatehouse.OneTimeToken, mails ...*gatehouse.OutboxMail) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		u.Pending = true
		if err := s.insertUser(ctx, tx, u, s.now()); err != nil {
			return err
		}
		t.UserID = u.ID
		if err := s.insertToken(ctx, tx, t); err != nil {
			return err
		}
		return s.insertMails(ctx, tx, mails)
	})
}

// PendingUsers implements gatehouse.MailStore.
func (s *Store) PendingUsers(ctx context.Context, offset, limit int) ([]*gatehouse.User, bool, error) {
	offset, limit = pageBounds(offset, limit)
	return page(ctx, s.r, limit, scanUser, fmt.Sprintf(`SELECT `+userCols+` FROM users WHERE pending = $1 ORDER BY id LIMIT %d OFFSET %d`, limit+1, offset), true)
}

// PurgePendingUsers implements gatehouse.MailStore.
func (s *Store) PurgePendingUsers(ctx context.Context, now time.Time, limit int) ([]*gatehouse.User, error) {
	// A pending user with a live link is kept: its owner may still use it.
	const dead = ` AND pending = $1 AND NOT EXISTS (SELECT 1 FROM one_time_tokens t
		WHERE t.user_id = users.id AND t.used_at IS NULL AND t.expires_at > $2)`
	at := s.d.TimeArg(now)
	users, err := all(ctx, s.w, scanUser, fmt.Sprintf(`SELECT `+userCols+` FROM users WHERE 1 = 1`+dead+` ORDER BY id LIMIT %d`, limit), true, at)
	if err != nil {
		return nil, err
	}
	var out []*gatehouse.User
	for _, u := range users {
		// The condition is checked again by the DELETE itself: a link mailed since, or another
		// instance purging the same row, leaves it alone.
		res, err := s.w.ExecContext(ctx, `DELETE FROM users WHERE id = $3`+dead, true, at, u.ID)
		if err != nil {
			return out, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return out, err
		} else if n == 1 {
			out = append(out, u)
		}
	}
	return out, nil
}

// QueueMail implements gatehouse.MailStore.
func (s *Store) QueueMail(ctx context.Context, mails ...*gatehouse.OutboxMail) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertMails(ctx, tx, mails) })
}

// ClaimMail implements gatehouse.MailStore. Each mail is claimed by a conditional UPDATE that
// only matches while it is still due: of two instances racing for it, the second finds the
// lease already moved into the future and gets no row.
func (s *Store) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*gatehouse.OutboxMail, error) {
	if limit <= 0 {
		limit = 10
	}
	rows, err := s.w.QueryContext(ctx, fmt.Sprintf(`SELECT id FROM mail_outbox WHERE status = $1 AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT %d`, limit),
		gatehouse.MailQueued, s.d.TimeArg(now))
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []*gatehouse.OutboxMail
	for _, id := range ids {
		m, err := scanMail(s.w.QueryRowContext(ctx, `UPDATE mail_outbox SET next_attempt_at = $1, attempts = attempts + 1
			WHERE id = $2 AND status = $3 AND next_attempt_at <= $4 RETURNING `+mailCols,
			s.d.TimeArg(leaseUntil), id, gatehouse.MailQueued, s.d.TimeArg(now)))
		if errors.Is(err, sql.ErrNoRows) {
			continue // another instance took it
		}
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
	return out, nil
}

// MailSent implements gatehouse.MailStore.
func (s *Store) MailSent(ctx context.Context, id int64, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE mail_outbox SET status = $1, sent_at = $2, last_error = '', text_body = '', html_body = '' WHERE id = $3`,
		gatehouse.MailSent, s.d.TimeArg(at), id)
	return err
}

// MailAttemptFailed implements gatehouse.MailStore.
func (s *Store) MailAttemptFailed(ctx context.Context, id int64, errText string, next time.Time, giveUp bool) error {
	status := gatehouse.MailQueued
	if giveUp {
		status = gatehouse.MailFailed
	}
	if len(errText) > 1000 {
		errText = errText[:1000]
	}
	_, err := s.w.ExecContext(ctx, `UPDATE mail_outbox SET status = $1, last_error = $2, next_attempt_at = $3 WHERE id = $4`,
		status, errText, s.d.TimeArg(next), id)
	return err
}

// RetryMail implements gatehouse.MailStore.
func (s *Store) RetryMail(ctx context.Context, id int64, now time.Time) error {
	return s.execOne(ctx, "queued mail", `UPDATE mail_outbox SET status = $1, next_attempt_at = $2 WHERE id = $3 AND status <> $4`,
		gatehouse.MailQueued, s.d.TimeArg(now), id, gatehouse.MailSent)
}

// ListMail implements gatehouse.MailStore.
func (s *Store) ListMail(ctx context.Context, status string, offset, limit int) ([]*gatehouse.OutboxMail, bool, error) {
	offset, limit = pageBounds(offset, limit)
	q := `SELECT ` + mailCols + ` FROM mail_outbox`
	var args []any
	if status != "" {
		q += ` WHERE status = $1`
		args = append(args, status)
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d OFFSET %d`, limit+1, offset)
	return page(ctx, s.r, limit, scanMail, q, args...)
}

// PurgeMail implements gatehouse.MailStore.
func (s *Store) PurgeMail(ctx context.Context, before time.Time) (int, error) {
	n := 0
	for _, q := range []string{
		`DELETE FROM mail_outbox WHERE status = 'sent' AND sent_at < $1`,
		`DELETE FROM one_time_tokens WHERE expires_at < $1`,
	} {
		res, err := s.w.ExecContext(ctx, q, s.d.TimeArg(before))
		if err != nil {
			return n, err
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	return n, nil
}
