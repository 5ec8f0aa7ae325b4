package gatehouse

import (
	"context"
	"strings"
	"time"
	"unicode"
)

// Change kinds of the access feature (DESIGN.md section 8): every instance recompiles its rule
// matcher on ChangeAccessRules and drops every cached group list on ChangeGroups. Membership
// changes append ChangeUser for the member, which drops that user's cached groups.
const (
	ChangeAccessRules = "access_rules"
	ChangeGroups      = "groups" // Subject: group ID
)

// Event kinds of the access feature.
const (
	EventGroupChanged      = "group.changed"
	EventAccessDenied      = "access.denied"
	EventAccessRules       = "access.rules_changed"
	EventInvitationCreated = "invitation.created"
	EventInvitationUsed    = "invitation.used"
	EventInvitationRevoked = "invitation.revoked"
	EventSessionStepUp     = "session.step_up"
)

// Access policies (CONTRACT.md).
const (
	PolicyDeny      = "deny"
	PolicyBypass    = "bypass"
	PolicyOneFactor = "one_factor"
	PolicyTwoFactor = "two_factor"
)

// Group is a named set of users. Name is what Remote-Groups and the OIDC `groups` claim carry.
type Group struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Members     int       `json:"members"`
	CreatedAt   time.Time `json:"created_at"`
}

// ValidateGroupName checks a group name: 1..64 characters of letters, digits, '.', '_' or '-',
// starting with a letter or digit. No commas or spaces, since Remote-Groups is a comma list.
func ValidateGroupName(name string) error {
	if name == "" {
		return FieldError("name", "group name is required")
	}
	if len(name) > 64 {
		return FieldError("name", "group name must be at most 64 characters")
	}
	for i, r := range name {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || (i > 0 && (r == '.' || r == '_' || r == '-'))
		if !ok {
			return FieldError("name", "group name may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit")
		}
	}
	return nil
}

// NormalizeGroupName trims and lower-cases a group name: group names compare case-insensitively.
func NormalizeGroupName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// AccessRule is one forward-auth rule (CONTRACT.md). Empty lists match everything. Subjects are
// "user:NAME" or "group:NAME"; a rule with subjects matches only a signed-in user who is one of
// them.
type AccessRule struct {
	Domains  []string `json:"domains" toml:"domains,omitempty"`
	Paths    []string `json:"paths" toml:"paths,omitempty"`
	Methods  []string `json:"methods" toml:"methods,omitempty"`
	Networks []string `json:"networks" toml:"networks,omitempty"`
	Subjects []string `json:"subjects" toml:"subjects,omitempty"`
	Policy   string   `json:"policy" toml:"policy"`
	// Name and URL make the rule an app on its users' "My apps" list (docs/access-control.md):
	// the display name and the address it opens at. Name alone only labels the rule.
	Name string `json:"name,omitempty" toml:"name,omitempty"`
	URL  string `json:"url,omitempty" toml:"url,omitempty"`
}

// GroupNames returns the group names the rule's subjects name.
func (r *AccessRule) GroupNames() []string {
	var out []string
	for _, s := range r.Subjects {
		if g, ok := strings.CutPrefix(s, "group:"); ok {
			out = append(out, g)
		}
	}
	return out
}

// UserGroupLister answers which groups a user is in: the group names, sorted. The store
// answers from the database; access.Service from a cache that follows the change feed, so a
// membership change applies to the next request on every instance. The OpenID Provider's
// `groups` claim and `allowed_groups` use it.
type UserGroupLister interface {
	UserGroups(ctx context.Context, userID int64) ([]string, error)
}

// GroupStore keeps groups and their members.
type GroupStore interface {
	// CreateGroup inserts g (Name normalized and valid) and sets its ID and CreatedAt. EConflict
	// (Field "name") when the name is taken.
	CreateGroup(ctx context.Context, g *Group) error
	// GroupByID returns the group with its member count. ENotFound.
	GroupByID(ctx context.Context, id int64) (*Group, error)
	// ListGroups returns every group with member counts, by name.
	ListGroups(ctx context.Context) ([]*Group, error)
	// UpdateGroup renames and re-describes a group and appends a ChangeGroups row. ENotFound;
	// EConflict (Field "name") when the new name is taken, or when the name changes while an
	// access rule names the group (edit the rules first: a rename must not change who gets in).
	UpdateGroup(ctx context.Context, g *Group, at time.Time) error
	// DeleteGroup removes the group and its memberships and appends a ChangeGroups row. ENotFound;
	// EConflict when an access rule names the group.
	DeleteGroup(ctx context.Context, id int64, at time.Time) error
	// AddGroupMember and RemoveGroupMember change one membership and append a ChangeUser row for
	// the user. ENotFound when the group or user does not exist (or, for removal, the user is
	// not a member). Adding a member twice is not an error.
	AddGroupMember(ctx context.Context, groupID, userID int64, at time.Time) error
	RemoveGroupMember(ctx context.Context, groupID, userID int64, at time.Time) error
	// UserGroups returns the names of the user's groups, sorted; none for an unknown user.
	UserGroups(ctx context.Context, userID int64) ([]string, error)
	// GroupMembers returns the IDs of the group's members in ascending order. ENotFound.
	GroupMembers(ctx context.Context, groupID int64) ([]int64, error)
}

// AccessRuleStore keeps the forward-auth rules as one ordered list.
type AccessRuleStore interface {
	// AccessRules returns the list in order (none stored: an empty list).
	AccessRules(ctx context.Context) ([]AccessRule, error)
	// ReplaceAccessRules replaces the whole list and appends a ChangeAccessRules row, in one
	// transaction. Every group a rule names must exist: EInvalid with Field
	// "rules[i].subjects[j]" otherwise, and nothing is saved. Other validation is the caller's.
	ReplaceAccessRules(ctx context.Context, rules []AccessRule, at time.Time) error
}
