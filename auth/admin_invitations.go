package auth

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Invitations: sign-up links an administrator makes (docs/access-control.md, Invitations). The
// link's token is shown once, when the invitation is made; only its hash is stored.

// Bounds of an invitation's lifetime and number of uses.
const (
	InvitationDefaultTTL = 7 * 24 * time.Hour
	InvitationMaxTTL     = 90 * 24 * time.Hour
	InvitationMinTTL     = time.Minute
	InvitationMaxUses    = 1000
)

// InvitationRequest is a new invitation. Zero ExpiresIn means InvitationDefaultTTL and zero
// MaxUses one use.
type InvitationRequest struct {
	Email     string
	Groups    []string
	ExpiresIn time.Duration
	MaxUses   int
}

// NewInvitation is a made invitation with its link (shown this once).
type NewInvitation struct {
	Invitation *gatehouse.Invitation
	URL        string
}

func checkInvitationRequest(req *InvitationRequest) error {
	req.Email = gatehouse.NormalizeLogin(req.Email)
	if req.Email != "" {
		if err := gatehouse.ValidateEmail(req.Email); err != nil {
			return err
		}
	}
	if req.ExpiresIn == 0 {
		req.ExpiresIn = InvitationDefaultTTL
	}
	if req.ExpiresIn < InvitationMinTTL || req.ExpiresIn > InvitationMaxTTL {
		return gatehouse.FieldError("expires_in", "expires_in must be between 60 seconds and 90 days")
	}
	if req.MaxUses == 0 {
		req.MaxUses = 1
	}
	if req.MaxUses < 1 || req.MaxUses > InvitationMaxUses {
		return gatehouse.FieldError("max_uses", "max_uses must be between 1 and 1000")
	}
	if req.Email != "" && req.MaxUses != 1 {
		return gatehouse.FieldError("max_uses", "an invitation with a fixed email makes one account: max_uses must be 1")
	}
	seen := map[string]bool{}
	groups := make([]string, 0, len(req.Groups))
	for _, g := range req.Groups {
		g = gatehouse.NormalizeGroupName(g)
		if g == "" || seen[g] {
			continue
		}
		seen[g] = true
		groups = append(groups, g)
	}
	if len(groups) > 100 {
		return gatehouse.FieldError("groups", "at most 100 groups")
	}
	req.Groups = groups
	return nil
}

// CreateInvitation makes an invitation. EInvalid (Field email, expires_in, max_uses or
// groups[i] for an unknown group); EConflict (Field email) when the fixed address already has
// an account: the administrator may know that, and the link could never be used.
func (s *Admin) CreateInvitation(ctx context.Context, admin *Principal, req InvitationRequest, meta ClientMeta) (*NewInvitation, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	if err := checkInvitationRequest(&req); err != nil {
		return nil, err
	}
	if req.Email != "" {
		if _, err := s.store.UserByLogin(ctx, req.Email); err == nil {
			return nil, &gatehouse.Error{Code: gatehouse.EConflict, Field: "email", Message: "an account with this email already exists"}
		} else if !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, err
		}
	}
	tok, h := opaque()
	link, err := s.core.links.Invitation(tok)
	if err != nil {
		return nil, gatehouse.Errorf(gatehouse.EInvalid, "invitation links need server.public_url: set it first")
	}
	now := s.clock.Now()
	by := admin.User.ID
	inv := &gatehouse.Invitation{TokenHash: h, Email: req.Email, Groups: req.Groups, MaxUses: req.MaxUses,
		CreatedBy: &by, CreatedAt: now, ExpiresAt: now.Add(req.ExpiresIn)}
	if err := s.store.CreateInvitation(ctx, inv); err != nil {
		return nil, err
	}
	s.core.event(ctx, gatehouse.EventInvitationCreated, admin.User.ID, admin.SessionID, meta, map[string]any{
		"invitation_id": inv.ID, "email": inv.Email, "groups": inv.Groups, "max_uses": inv.MaxUses, "expires_at": inv.ExpiresAt.UTC()})
	return &NewInvitation{Invitation: inv, URL: link}, nil
}

// InvitationView is an invitation with its state now (gatehouse.Invitation*).
type InvitationView struct {
	*gatehouse.Invitation
	State string
}

// ListInvitations returns every invitation, newest first (without links: they were shown once).
func (s *Admin) ListInvitations(ctx context.Context, admin *Principal) ([]InvitationView, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	invs, err := s.store.ListInvitations(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	out := make([]InvitationView, len(invs))
	for i, inv := range invs {
		out[i] = InvitationView{Invitation: inv, State: inv.State(now)}
	}
	return out, nil
}

// RevokeInvitation stops an invitation's link from working. ENotFound.
func (s *Admin) RevokeInvitation(ctx context.Context, admin *Principal, id int64, meta ClientMeta) error {
	if err := requireAdmin(admin); err != nil {
		return err
	}
	if err := s.store.RevokeInvitation(ctx, id, s.clock.Now()); err != nil {
		return err
	}
	s.core.event(ctx, gatehouse.EventInvitationRevoked, admin.User.ID, admin.SessionID, meta, map[string]any{"invitation_id": id})
	return nil
}
