package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Invitations (gatehouse.InvitationStore). A use is spent and the invitee's account made in one
// transaction, with the invitation's row locked: two invitees racing for the last use cannot
// both get an account.

const invitationCols = `id, token_hash, email, max_uses, uses, created_by, created_at, expires_at, revoked_at`

func scanInvitation(r rowScanner) (*gatehouse.Invitation, error) {
	var i gatehouse.Invitation
	var by sql.NullInt64
	if err := r.Scan(&i.ID, &i.TokenHash, &i.Email, &i.MaxUses, &i.Uses, &by, timeDest{&i.CreatedAt}, timeDest{&i.ExpiresAt}, nullTimeDest{&i.RevokedAt}); err != nil {
		return nil, err
	}
	if by.Valid {
		i.CreatedBy = &by.Int64
	}
	return &i, nil
}

func invitationGroups(ctx context.Context, q querier, id int64) ([]string, error) {
	out, err := all(ctx, q, func(r rowScanner) (string, error) {
		var n string
		return n, r.Scan(&n)
	}, `SELECT g.name FROM invitation_groups ig JOIN user_groups g ON g.id = ig.group_id WHERE ig.invitation_id = $1 ORDER BY g.name`, id)
	if out == nil && err == nil {
		out = []string{}
	}
	return out, err
}

// CreateInvitation implements gatehouse.InvitationStore.
func (s *Store) CreateInvitation(ctx context.Context, inv *gatehouse.Invitation) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		ids := make([]int64, len(inv.Groups))
		for i, name := range inv.Groups {
			err := tx.QueryRowContext(ctx, `SELECT id FROM user_groups WHERE name = $1`, name).Scan(&ids[i])
			if errors.Is(err, sql.ErrNoRows) {
				return &gatehouse.Error{Code: gatehouse.EInvalid, Field: fmt.Sprintf("groups[%d]", i), Message: fmt.Sprintf("no group %q", name)}
			}
			if err != nil {
				return err
			}
		}
		inv.CreatedAt, inv.ExpiresAt = Norm(inv.CreatedAt), Norm(inv.ExpiresAt)
		var by any
		if inv.CreatedBy != nil {
			by = *inv.CreatedBy
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO invitations (token_hash, email, max_uses, uses, created_by, created_at, expires_at)
			VALUES ($1, $2, $3, 0, $4, $5, $6) RETURNING id`, inv.TokenHash, inv.Email, inv.MaxUses, by,
			s.d.TimeArg(inv.CreatedAt), s.d.TimeArg(inv.ExpiresAt)).Scan(&inv.ID); err != nil {
			return err
		}
		for _, gid := range ids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO invitation_groups (invitation_id, group_id) VALUES ($1, $2)
				ON CONFLICT (invitation_id, group_id) DO NOTHING`, inv.ID, gid); err != nil {
				return err
			}
		}
		inv.Uses = 0
		return nil
	})
}

// ListInvitations implements gatehouse.InvitationStore.
func (s *Store) ListInvitations(ctx context.Context) ([]*gatehouse.Invitation, error) {
	out, err := all(ctx, s.r, scanInvitation, `SELECT `+invitationCols+` FROM invitations ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	for _, inv := range out {
		if inv.Groups, err = invitationGroups(ctx, s.r, inv.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RevokeInvitation implements gatehouse.InvitationStore.
func (s *Store) RevokeInvitation(ctx context.Context, id int64, at time.Time) error {
	return s.execOne(ctx, "invitation", `UPDATE invitations SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, s.d.TimeArg(at))
}

func usableInvitation(ctx context.Context, q querier, hash []byte, now time.Time, forUpdate string) (*gatehouse.Invitation, error) {
	inv, err := scanInvitation(q.QueryRowContext(ctx, `SELECT `+invitationCols+` FROM invitations WHERE token_hash = $1`+forUpdate, hash))
	if errors.Is(err, sql.ErrNoRows) || err == nil && inv.State(now) != gatehouse.InvitationActive {
		return nil, notFound("invitation")
	}
	if err != nil {
		return nil, err
	}
	if inv.Groups, err = invitationGroups(ctx, q, inv.ID); err != nil {
		return nil, err
	}
	return inv, nil
}

// InvitationByHash implements gatehouse.InvitationStore.
func (s *Store) InvitationByHash(ctx context.Context, hash []byte, now time.Time) (*gatehouse.Invitation, error) {
	return usableInvitation(ctx, s.r, hash, now, "")
}

// UseInvitation implements gatehouse.InvitationStore.
func (s *Store) UseInvitation(ctx context.Context, hash []byte, now time.Time, use gatehouse.InvitationUse) (*gatehouse.Invitation, error) {
	var inv *gatehouse.Invitation
	emailTaken := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if inv, err = usableInvitation(ctx, tx, hash, now, s.d.ForUpdate); err != nil {
			return err
		}
		u := use.User
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE username = $1`, u.Username).Scan(&n); err != nil {
			return err
		} else if n > 0 {
			return &gatehouse.Error{Code: gatehouse.EConflict, Field: "username", Message: "username is already taken"}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET uses = uses + 1 WHERE id = $1`, inv.ID); err != nil {
			return err
		}
		inv.Uses++
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE email = $1`, u.Email).Scan(&n); err != nil {
			return err
		} else if n > 0 {
			emailTaken = true // commit the spent use, make nothing
			return nil
		}
		return s.createInvitee(ctx, tx, inv, use, now)
	})
	if err != nil {
		return nil, err
	}
	if emailTaken {
		return inv, &gatehouse.Error{Code: gatehouse.EConflict, Field: "email", Message: "email is already taken"}
	}
	return inv, nil
}

// createInvitee inserts the invitee's account, its memberships and, when it must be activated,
// its activation link and mail.
func (s *Store) createInvitee(ctx context.Context, tx *sql.Tx, inv *gatehouse.Invitation, use gatehouse.InvitationUse, now time.Time) error {
	u := use.User
	u.Pending = use.Activation != nil
	if err := s.insertUser(ctx, tx, u, now); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id, added_at)
		SELECT group_id, $2, $3 FROM invitation_groups WHERE invitation_id = $1`, inv.ID, u.ID, s.d.TimeArg(now)); err != nil {
		return err
	}
	if use.Activation == nil {
		return nil
	}
	use.Activation.UserID = u.ID
	if err := s.insertToken(ctx, tx, use.Activation); err != nil {
		return err
	}
	return s.insertMails(ctx, tx, use.Mails)
}
