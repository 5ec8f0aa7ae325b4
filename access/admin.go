package access

import (
	"context"
	"net/netip"
	"strings"

	"github.com/gatehouse/gatehouse"
)

var errAdminOnly = gatehouse.Errorf(gatehouse.EForbidden, "only administrators manage groups and access rules")

func (a Actor) check() error {
	if !a.Admin {
		return errAdminOnly
	}
	return nil
}

// ListGroups returns every group with its member count.
func (s *Service) ListGroups(ctx context.Context, a Actor) ([]*gatehouse.Group, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	return s.store.ListGroups(ctx)
}

// Group returns a group and its members' IDs. ENotFound.
func (s *Service) Group(ctx context.Context, a Actor, id int64) (*gatehouse.Group, []int64, error) {
	if err := a.check(); err != nil {
		return nil, nil, err
	}
	g, err := s.store.GroupByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	members, err := s.store.GroupMembers(ctx, id)
	return g, members, err
}

func checkDescription(d string) (string, error) {
	d = strings.TrimSpace(d)
	if len(d) > 500 || strings.ContainsAny(d, "\x00") {
		return "", gatehouse.FieldError("description", "description must be at most 500 characters")
	}
	return d, nil
}

// CreateGroup creates a group. EInvalid (Field name/description), EConflict (name taken).
func (s *Service) CreateGroup(ctx context.Context, a Actor, name, description string) (*gatehouse.Group, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	name = gatehouse.NormalizeGroupName(name)
	if err := gatehouse.ValidateGroupName(name); err != nil {
		return nil, err
	}
	description, err := checkDescription(description)
	if err != nil {
		return nil, err
	}
	g := &gatehouse.Group{Name: name, Description: description}
	if err := s.store.CreateGroup(ctx, g); err != nil {
		return nil, err
	}
	s.event(ctx, gatehouse.EventGroupChanged, a, map[string]any{"action": "created", "group": g.Name, "group_id": g.ID})
	return g, nil
}

// UpdateGroup renames or re-describes a group (nil: unchanged). A group an access rule names
// cannot be renamed (EConflict): a rename must not silently change who gets in.
func (s *Service) UpdateGroup(ctx context.Context, a Actor, id int64, name, description *string) (*gatehouse.Group, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	g, err := s.store.GroupByID(ctx, id)
	if err != nil {
		return nil, err
	}
	old := g.Name
	if name != nil {
		g.Name = gatehouse.NormalizeGroupName(*name)
		if err := gatehouse.ValidateGroupName(g.Name); err != nil {
			return nil, err
		}
	}
	if description != nil {
		if g.Description, err = checkDescription(*description); err != nil {
			return nil, err
		}
	}
	if err := s.store.UpdateGroup(ctx, g, s.clock.Now()); err != nil {
		return nil, err
	}
	s.groups.clear() // this instance at once; others through the feed
	data := map[string]any{"action": "updated", "group": g.Name, "group_id": g.ID}
	if old != g.Name {
		data["action"], data["previous_name"] = "renamed", old
	}
	s.event(ctx, gatehouse.EventGroupChanged, a, data)
	return g, nil
}

// DeleteGroup deletes a group and its memberships. EConflict while an access rule names it.
func (s *Service) DeleteGroup(ctx context.Context, a Actor, id int64) error {
	if err := a.check(); err != nil {
		return err
	}
	g, err := s.store.GroupByID(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteGroup(ctx, id, s.clock.Now()); err != nil {
		return err
	}
	s.groups.clear()
	s.event(ctx, gatehouse.EventGroupChanged, a, map[string]any{"action": "deleted", "group": g.Name, "group_id": g.ID, "members": g.Members})
	return nil
}

// AddMember adds a user to a group and returns the user's groups. ENotFound.
func (s *Service) AddMember(ctx context.Context, a Actor, groupID, userID int64) ([]string, error) {
	return s.changeMember(ctx, a, groupID, userID, true)
}

// RemoveMember removes a user from a group and returns the user's groups. ENotFound when the
// user is not a member.
func (s *Service) RemoveMember(ctx context.Context, a Actor, groupID, userID int64) ([]string, error) {
	return s.changeMember(ctx, a, groupID, userID, false)
}

func (s *Service) changeMember(ctx context.Context, a Actor, groupID, userID int64, add bool) ([]string, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	g, err := s.store.GroupByID(ctx, groupID)
	if err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	action := "member_added"
	if add {
		err = s.store.AddGroupMember(ctx, groupID, userID, s.clock.Now())
	} else {
		action = "member_removed"
		err = s.store.RemoveGroupMember(ctx, groupID, userID, s.clock.Now())
	}
	if err != nil {
		return nil, err
	}
	s.groups.drop(userID)
	s.event(ctx, gatehouse.EventGroupChanged, a, map[string]any{"action": action, "group": g.Name, "group_id": g.ID, "member": u.Username, "member_id": u.ID})
	return s.UserGroups(ctx, userID)
}

// Rules returns the stored rule list.
func (s *Service) Rules(ctx context.Context, a Actor) ([]gatehouse.AccessRule, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	return s.store.AccessRules(ctx)
}

// ReplaceRules validates the whole list, saves it atomically and puts it in force on this
// instance at once (others follow the change feed). On any error nothing is saved; the error
// names the rule and field ("rules[2].paths[0]").
func (s *Service) ReplaceRules(ctx context.Context, a Actor, rules []gatehouse.AccessRule) ([]gatehouse.AccessRule, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	norm, err := Normalize(rules)
	if err != nil {
		return nil, err
	}
	if err := s.store.ReplaceAccessRules(ctx, norm, s.clock.Now()); err != nil {
		return nil, err
	}
	if err := s.Reload(ctx); err != nil {
		s.log.Error("reloading access rules failed", "err", err)
	}
	s.event(ctx, gatehouse.EventAccessRules, a, map[string]any{"rules": len(norm)})
	return norm, nil
}

// Explain answers the console's test box: which rule decides a request for rawURL with method
// from ip (may be empty) by the user named login (empty: not signed in), and the user found.
func (s *Service) Explain(ctx context.Context, a Actor, rawURL, method, login, ip string) (Decision, *gatehouse.User, error) {
	if err := a.check(); err != nil {
		return Decision{}, nil, err
	}
	host, uri, ok := SplitURL(strings.TrimSpace(rawURL))
	if !ok {
		return Decision{}, nil, gatehouse.FieldError("url", "url must be an absolute http:// or https:// address")
	}
	path, ok := CleanPath(uri)
	if !ok {
		return Decision{}, nil, gatehouse.FieldError("url", "the url's path does not decode")
	}
	if method == "" {
		method = "GET"
	}
	req := &Request{Host: host, Path: path, Method: strings.ToUpper(method)}
	if ip != "" {
		addr, err := netip.ParseAddr(strings.TrimSpace(ip))
		if err != nil {
			return Decision{}, nil, gatehouse.FieldError("ip", "ip must be an IP address")
		}
		req.IP = addr
	}
	if login == "" {
		return s.Decide(req, nil), nil, nil
	}
	u, err := s.store.UserByLogin(ctx, gatehouse.NormalizeLogin(login))
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return Decision{}, nil, gatehouse.FieldError("user", "no user %q", login)
	}
	if err != nil {
		return Decision{}, nil, err
	}
	groups, err := s.UserGroups(ctx, u.ID)
	if err != nil {
		return Decision{}, nil, err
	}
	return s.Decide(req, &Subject{Username: u.Username, Groups: groups}), u, nil
}

// AddMemberByLogin adds the user with this username or email to a group (the console's form).
// EInvalid (Field "user") when there is no such user.
func (s *Service) AddMemberByLogin(ctx context.Context, a Actor, groupID int64, login string) ([]string, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	u, err := s.store.UserByLogin(ctx, gatehouse.NormalizeLogin(login))
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, gatehouse.FieldError("user", "no user %q", strings.TrimSpace(login))
	}
	if err != nil {
		return nil, err
	}
	return s.AddMember(ctx, a, groupID, u.ID)
}

// MembersByName returns the members of the group called name, by ID (the user list's group
// filter). EInvalid (Field "group") when there is no such group.
func (s *Service) MembersByName(ctx context.Context, a Actor, name string) ([]*gatehouse.User, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	name = gatehouse.NormalizeGroupName(name)
	gs, err := s.store.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		if g.Name != name {
			continue
		}
		ids, err := s.store.GroupMembers(ctx, g.ID)
		if err != nil {
			return nil, err
		}
		out := make([]*gatehouse.User, 0, len(ids))
		for _, id := range ids {
			u, err := s.store.UserByID(ctx, id)
			if gatehouse.IsCode(err, gatehouse.ENotFound) {
				continue // deleted meanwhile
			}
			if err != nil {
				return nil, err
			}
			out = append(out, u)
		}
		return out, nil
	}
	return nil, gatehouse.FieldError("group", "no group %q", name)
}
