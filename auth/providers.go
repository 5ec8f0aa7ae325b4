package auth

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/oidc"
)

// ExternalFlowTTL is how long a started external sign-in may take to come back.
const ExternalFlowTTL = 10 * time.Minute

// DefaultScopes are asked for when a provider is saved without scopes.
var DefaultScopes = []string{"openid", "email", "profile"}

var providerIDPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ProviderView is a provider as the admin API shows it: never the client secret.
type ProviderView struct {
	ID                    string
	Name                  string
	Issuer                string
	ClientID              string
	ClientSecretSet       bool
	Scopes                []string
	AutoBindVerifiedEmail bool
	AutoCreateUsers       bool
	AllowedEmailDomains   []string
	// DefaultGroups are the names of the groups users created through this provider join.
	DefaultGroups   []string
	TokenAuthMethod string
	Enabled         bool
	RedirectURI     string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// ProviderInput creates (every field but ID required, nil booleans false except Enabled) or
// changes (nil = unchanged) a provider.
type ProviderInput struct {
	ID                    *string
	Name                  *string
	Issuer                *string
	ClientID              *string
	ClientSecret          *string
	Scopes                *[]string
	AutoBindVerifiedEmail *bool
	AutoCreateUsers       *bool
	AllowedEmailDomains   *[]string
	// DefaultGroups names existing groups (separated by spaces or commas within an entry too).
	DefaultGroups   *[]string
	TokenAuthMethod *string
	Enabled         *bool
}

// slugify turns a display name into a provider id candidate.
func slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
			dash = false
		} else if b.Len() > 0 && !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// applyProvider validates in and writes it onto p. It reports whether the issuer changed.
func applyProvider(p *gatehouse.OIDCProvider, in ProviderInput, create bool) (issuerChanged bool, err error) {
	if in.Name != nil {
		p.Name = strings.TrimSpace(*in.Name)
	}
	if p.Name == "" || len(p.Name) > 100 {
		return false, gatehouse.FieldError("name", "name is required (at most 100 characters)")
	}
	if create {
		id, err := newProviderID(in, p.Name)
		if err != nil {
			return false, err
		}
		p.ID = id
	}
	if in.Issuer != nil {
		// Kept exactly (a trailing slash too): discovery must announce this very issuer.
		iss := strings.TrimSpace(*in.Issuer)
		issuerChanged = iss != p.Issuer
		p.Issuer = iss
	}
	if err := validateIssuer(p.Issuer); err != nil {
		return false, err
	}
	if in.ClientID != nil {
		p.ClientID = strings.TrimSpace(*in.ClientID)
	}
	if p.ClientID == "" || len(p.ClientID) > 255 {
		return false, gatehouse.FieldError("client_id", "client_id is required (at most 255 characters)")
	}
	if err := applyScopes(p, in.Scopes); err != nil {
		return false, err
	}
	if in.AutoBindVerifiedEmail != nil {
		p.AutoBindVerifiedEmail = *in.AutoBindVerifiedEmail
	}
	if in.AutoCreateUsers != nil {
		p.AutoCreateUsers = *in.AutoCreateUsers
	}
	if in.TokenAuthMethod != nil {
		p.TokenAuthMethod = strings.TrimSpace(*in.TokenAuthMethod)
	}
	if p.TokenAuthMethod == "" {
		p.TokenAuthMethod = oidc.AuthBasic
	}
	if !contains(oidc.AuthMethods, p.TokenAuthMethod) {
		return false, gatehouse.FieldError("token_auth_method", "token_auth_method must be one of %s (as the client is registered at the provider)", strings.Join(oidc.AuthMethods, ", "))
	}
	if in.AllowedEmailDomains != nil {
		domains, err := emailDomains(*in.AllowedEmailDomains)
		if err != nil {
			return false, err
		}
		p.AllowedEmailDomains = domains
	}
	if in.Enabled != nil {
		p.Enabled = *in.Enabled
	}
	return issuerChanged || create, nil
}

// newProviderID is a new provider's id: the one asked for, or one made from its name.
func newProviderID(in ProviderInput, name string) (string, error) {
	id := slugify(name)
	if in.ID != nil {
		id = strings.TrimSpace(*in.ID)
	}
	if id == "" || len(id) > 40 || !providerIDPattern.MatchString(id) {
		return "", gatehouse.FieldError("id", "id must be 1 to 40 lowercase letters, digits and single dashes, e.g. \"google\" or \"company-sso\"")
	}
	return id, nil
}

// applyScopes sets the scopes asked for (each entry may hold several, space-separated), or the
// default ones, always with openid first when it was missing.
func applyScopes(p *gatehouse.OIDCProvider, in *[]string) error {
	if in != nil {
		var scopes []string
		for _, sc := range *in {
			for _, f := range strings.Fields(sc) {
				if len(f) > 100 || strings.ContainsAny(f, "\"\\") {
					return gatehouse.FieldError("scopes", "scope %q is not valid", f)
				}
				if !contains(scopes, f) {
					scopes = append(scopes, f)
				}
			}
		}
		if len(scopes) > 20 {
			return gatehouse.FieldError("scopes", "at most 20 scopes")
		}
		p.Scopes = scopes
	}
	if len(p.Scopes) == 0 {
		p.Scopes = append([]string(nil), DefaultScopes...)
	}
	if !contains(p.Scopes, "openid") {
		p.Scopes = append([]string{"openid"}, p.Scopes...)
	}
	return nil
}

// emailDomains validates and normalises a list of email domains (lowercase, no "@", no
// duplicates); entries may also be separated by spaces or commas within one string.
func emailDomains(in []string) ([]string, error) {
	var out []string
	for _, item := range in {
		for _, d := range strings.FieldsFunc(item, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			d = strings.ToLower(strings.TrimPrefix(d, "@"))
			if len(d) > 253 || !domainPattern.MatchString(d) {
				return nil, gatehouse.FieldError("allowed_email_domains", "%q is not a domain name (e.g. example.com)", d)
			}
			if !contains(out, d) {
				out = append(out, d)
			}
		}
	}
	if len(out) > 50 {
		return nil, gatehouse.FieldError("allowed_email_domains", "at most 50 allowed email domains")
	}
	return out, nil
}

var domainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

// emailDomainAllowed reports whether the provider lets identities with this address be bound or
// created automatically: every address when the provider has no list. With a list, the provider
// must also say the address is verified: an address a user merely typed in at the provider
// proves no membership of the domain.
func emailDomainAllowed(p *gatehouse.OIDCProvider, email string, verified bool) bool {
	if len(p.AllowedEmailDomains) == 0 {
		return true
	}
	if !verified {
		return false
	}
	at := strings.LastIndexByte(email, '@')
	return at >= 0 && contains(p.AllowedEmailDomains, strings.ToLower(email[at+1:]))
}

// authMethod is the provider's token endpoint auth method, client_secret_basic when unset.
func authMethod(m string) string {
	if m == "" {
		return oidc.AuthBasic
	}
	return m
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// validateIssuer wants an absolute https URL; plain http only on loopback (development, tests).
func validateIssuer(iss string) error {
	u, err := url.Parse(iss)
	if iss == "" || err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return gatehouse.FieldError("issuer", "issuer must be the provider's absolute issuer URL, e.g. https://accounts.google.com")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return gatehouse.FieldError("issuer", "issuer must use https (plain http is accepted only for localhost)")
	}
	return nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1" || strings.HasSuffix(host, ".localhost")
}

func changedFields(in ProviderInput) []string {
	var out []string
	add := func(ok bool, name string) {
		if ok {
			out = append(out, name)
		}
	}
	add(in.Name != nil, "name")
	add(in.Issuer != nil, "issuer")
	add(in.ClientID != nil, "client_id")
	add(in.ClientSecret != nil && *in.ClientSecret != "", "client_secret")
	add(in.Scopes != nil, "scopes")
	add(in.AutoBindVerifiedEmail != nil, "auto_bind_verified_email")
	add(in.AutoCreateUsers != nil, "auto_create_users")
	add(in.AllowedEmailDomains != nil, "allowed_email_domains")
	add(in.DefaultGroups != nil, "default_groups")
	add(in.TokenAuthMethod != nil, "token_auth_method")
	add(in.Enabled != nil, "enabled")
	return out
}

// ExternalStart is where to send the browser, and the browser-binding value to set in a cookie.
type ExternalStart struct {
	RedirectURL  string
	BrowserToken string
}

// CallbackRequest is what the provider sent back to the callback, with the browser's
// binding cookie and its session, if any.
type CallbackRequest struct {
	ProviderID       string
	State            string
	Code             string
	Error            string
	ErrorDescription string
	BrowserToken     string
	// Principal is the browser's gatehouse session, nil when it is not signed in.
	Principal *Principal
}

// ExternalResult is a completed callback: either a sign-in (Tokens) or an identity linked to the
// signed-in account (Linked). RD is where the browser goes next ("" = the default page).
type ExternalResult struct {
	Tokens *Tokens
	Linked bool
	RD     string
}

var errFlowUnknown = gatehouse.Errorf(gatehouse.EInvalid, "this sign-in request is unknown, expired, already used or was started in another browser; start the sign-in again")

// usernameBase keeps what ValidateUsername allows, at most 40 characters, starting alphanumeric.
func usernameBase(s string) string {
	var b strings.Builder
	for _, r := range gatehouse.NormalizeLogin(s) {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || (b.Len() > 0 && (r == '.' || r == '_' || r == '-'))
		if ok {
			b.WriteRune(r)
		}
		if b.Len() >= 40 {
			break
		}
	}
	out, err := gatehouse.NormalizeUsername(strings.TrimRight(b.String(), "._-"))
	if err != nil {
		return ""
	}
	return out
}

// IdentityView is an external identity as its owner sees it.
type IdentityView struct {
	ID           int64
	Provider     string
	ProviderName string
	Subject      string
	Email        string
	BoundAt      time.Time
	LastUsedAt   *time.Time
}

// groupNames maps every group's id to its name, for the default groups' views.
func (s *Providers) groupNames(ctx context.Context) (map[int64]string, error) {
	gs, err := s.store.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(gs))
	for _, g := range gs {
		names[g.ID] = g.Name
	}
	return names, nil
}

// resolveDefaultGroups turns the names an administrator gave into group ids: each must name an
// existing group, so a typo is refused when saved rather than silently granting nothing.
func (s *Providers) resolveDefaultGroups(ctx context.Context, p *gatehouse.OIDCProvider, in ProviderInput) error {
	if in.DefaultGroups == nil {
		return nil
	}
	names, err := s.groupNames(ctx)
	if err != nil {
		return err
	}
	byName := make(map[string]int64, len(names))
	for id, n := range names {
		byName[n] = id
	}
	var ids []int64
	for _, item := range *in.DefaultGroups {
		for _, n := range strings.FieldsFunc(item, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			id, ok := byName[gatehouse.NormalizeGroupName(n)]
			if !ok {
				return gatehouse.FieldError("default_groups", "there is no group %q (create it under Groups first)", n)
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) > 20 {
		return gatehouse.FieldError("default_groups", "at most 20 default groups")
	}
	p.DefaultGroupIDs = ids
	return nil
}

func (s *Providers) providerView(p *gatehouse.OIDCProvider, names map[int64]string) *ProviderView {
	groups := []string{}
	for _, id := range p.DefaultGroupIDs {
		if n, ok := names[id]; ok {
			groups = append(groups, n)
		}
	}
	return &ProviderView{DefaultGroups: groups, ID: p.ID, Name: p.Name, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecretSet: len(p.ClientSecretSealed) > 0,
		Scopes: p.Scopes, AutoBindVerifiedEmail: p.AutoBindVerifiedEmail, AutoCreateUsers: p.AutoCreateUsers, Enabled: p.Enabled,
		AllowedEmailDomains: nonNil(p.AllowedEmailDomains), TokenAuthMethod: authMethod(p.TokenAuthMethod),
		RedirectURI: s.core.providers.RedirectURI(p.ID), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// ListProviders lists every provider for the admin.
func (s *Providers) ListProviders(ctx context.Context, admin *Principal) ([]*ProviderView, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	ps, err := s.store.ListProviders(ctx)
	if err != nil {
		return nil, err
	}
	names, err := s.groupNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*ProviderView, 0, len(ps))
	for _, p := range ps {
		out = append(out, s.providerView(p, names))
	}
	return out, nil
}

// GetProvider returns one provider for the admin; ENotFound.
func (s *Providers) GetProvider(ctx context.Context, admin *Principal, id string) (*ProviderView, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	p, err := s.store.ProviderByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, p)
}

// view is p as the admin API shows it, with its default groups' current names.
func (s *Providers) view(ctx context.Context, p *gatehouse.OIDCProvider) (*ProviderView, error) {
	names, err := s.groupNames(ctx)
	if err != nil {
		return nil, err
	}
	return s.providerView(p, names), nil
}

// checkIssuer runs discovery so that a mistyped issuer is refused when saved, not at sign-in.
func (s *Providers) checkIssuer(ctx context.Context, issuer string) error {
	if err := s.core.providers.rp.Check(ctx, issuer); err != nil {
		return gatehouse.FieldError("issuer", "OpenID discovery failed for issuer %s (%s/.well-known/openid-configuration): %v",
			issuer, strings.TrimSuffix(issuer, "/"), errors.Unwrap(err))
	}
	return nil
}

// CreateProvider adds a provider after checking its issuer by discovery.
func (s *Providers) CreateProvider(ctx context.Context, admin *Principal, in ProviderInput, meta ClientMeta) (*ProviderView, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	if err := s.core.providers.needRP(); err != nil {
		return nil, err
	}
	p := &gatehouse.OIDCProvider{Enabled: true}
	if in.ClientSecret == nil || *in.ClientSecret == "" {
		// Validate the other fields first so the answer names the first problem in form order.
		if _, err := applyProvider(p, in, true); err != nil {
			return nil, err
		}
		return nil, gatehouse.FieldError("client_secret", "client_secret is required")
	}
	if _, err := applyProvider(p, in, true); err != nil {
		return nil, err
	}
	if err := s.resolveDefaultGroups(ctx, p, in); err != nil {
		return nil, err
	}
	if len(*in.ClientSecret) > 1024 {
		return nil, gatehouse.FieldError("client_secret", "client_secret is too long")
	}
	if _, err := s.store.ProviderByID(ctx, p.ID); err == nil {
		return nil, &gatehouse.Error{Code: gatehouse.EConflict, Field: "id", Message: "a provider with this id already exists"}
	}
	if err := s.checkIssuer(ctx, p.Issuer); err != nil {
		return nil, err
	}
	sealed, err := s.core.providers.rp.Seal(p.ID, *in.ClientSecret)
	if err != nil {
		return nil, err
	}
	p.ClientSecretSealed = sealed
	if err := s.store.CreateProvider(ctx, p); err != nil {
		return nil, err
	}
	s.core.event(ctx, gatehouse.EventProviderCreated, admin.User.ID, admin.SessionID, meta, map[string]any{"provider": p.ID, "issuer": p.Issuer, "enabled": p.Enabled})
	return s.view(ctx, p)
}

// UpdateProvider changes a provider; a new issuer is checked by discovery; an absent or empty
// client_secret keeps the stored one.
func (s *Providers) UpdateProvider(ctx context.Context, admin *Principal, id string, in ProviderInput, meta ClientMeta) (*ProviderView, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	if err := s.core.providers.needRP(); err != nil {
		return nil, err
	}
	if in.ID != nil && *in.ID != id {
		return nil, gatehouse.FieldError("id", "the id of a provider cannot change (it is part of the redirect URI); create a new provider instead")
	}
	p, err := s.store.ProviderByID(ctx, id)
	if err != nil {
		return nil, err
	}
	changed := changedFields(in)
	issuerChanged, err := applyProvider(p, in, false)
	if err != nil {
		return nil, err
	}
	if err := s.resolveDefaultGroups(ctx, p, in); err != nil {
		return nil, err
	}
	if in.ClientSecret != nil && *in.ClientSecret != "" {
		if len(*in.ClientSecret) > 1024 {
			return nil, gatehouse.FieldError("client_secret", "client_secret is too long")
		}
		if p.ClientSecretSealed, err = s.core.providers.rp.Seal(p.ID, *in.ClientSecret); err != nil {
			return nil, err
		}
	}
	if issuerChanged {
		if err := s.checkIssuer(ctx, p.Issuer); err != nil {
			return nil, err
		}
	}
	if err := s.store.UpdateProvider(ctx, p); err != nil {
		return nil, err
	}
	data := map[string]any{"provider": p.ID, "changed": changed, "enabled": p.Enabled}
	if issuerChanged {
		// Subjects are unique only per issuer: at a new issuer, the same subject may be somebody
		// else, so the old bindings go (each user links again).
		n, err := s.store.DeleteProviderIdentities(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		data["identities_unlinked"] = n
	}
	s.core.event(ctx, gatehouse.EventProviderUpdated, admin.User.ID, admin.SessionID, meta, data)
	return s.view(ctx, p)
}

// DeleteProvider removes a provider with every identity bound through it.
func (s *Providers) DeleteProvider(ctx context.Context, admin *Principal, id string, meta ClientMeta) error {
	if err := requireAdmin(admin); err != nil {
		return err
	}
	if err := s.store.DeleteProvider(ctx, id); err != nil {
		return err
	}
	s.core.event(ctx, gatehouse.EventProviderDeleted, admin.User.ID, admin.SessionID, meta, map[string]any{"provider": id})
	return nil
}
