package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/oidc"
	"github.com/gatehouse/gatehouse/redirect"
	"github.com/gatehouse/gatehouse/token"
)

// ExternalFlowTTL is how long a started external sign-in may take to come back.
const ExternalFlowTTL = 10 * time.Minute

// DefaultScopes are asked for when a provider is saved without scopes.
var DefaultScopes = []string{"openid", "email", "profile"}

var providerIDPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ProviderView is a provider as the admin API shows it: never the client secret.
type ProviderView struct {
	ID                    string   `json:"id"`
	Name                  string   `json:"name"`
	Issuer                string   `json:"issuer"`
	ClientID              string   `json:"client_id"`
	ClientSecretSet       bool     `json:"client_secret_set"`
	Scopes                []string `json:"scopes"`
	AutoBindVerifiedEmail bool     `json:"auto_bind_verified_email"`
	AutoCreateUsers       bool     `json:"auto_create_users"`
	AllowedEmailDomains   []string `json:"allowed_email_domains"`
	TokenAuthMethod       string   `json:"token_auth_method"`
	Enabled               bool     `json:"enabled"`
	RedirectURI           string   `json:"redirect_uri"`
	CreatedAt             string   `json:"created_at"`
	UpdatedAt             string   `json:"updated_at"`
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
	TokenAuthMethod       *string
	Enabled               *bool
}

const timeFormat = "2006-01-02T15:04:05Z07:00"

// RedirectURI is the callback address to register at the provider.
func (s *Service) RedirectURI(providerID string) string {
	if s.public == nil {
		return "/api/auth/oidc/" + providerID + "/callback"
	}
	return strings.TrimSuffix(s.public.String(), "/") + "/api/auth/oidc/" + url.PathEscape(providerID) + "/callback"
}

func (s *Service) providerView(p *gatehouse.OIDCProvider) *ProviderView {
	return &ProviderView{ID: p.ID, Name: p.Name, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecretSet: len(p.ClientSecretSealed) > 0,
		Scopes: p.Scopes, AutoBindVerifiedEmail: p.AutoBindVerifiedEmail, AutoCreateUsers: p.AutoCreateUsers, Enabled: p.Enabled,
		AllowedEmailDomains: nonNil(p.AllowedEmailDomains), TokenAuthMethod: authMethod(p.TokenAuthMethod), RedirectURI: s.RedirectURI(p.ID), CreatedAt: p.CreatedAt.UTC().Format(timeFormat), UpdatedAt: p.UpdatedAt.UTC().Format(timeFormat)}
}

func (s *Service) needRP() error {
	if s.rp == nil {
		return gatehouse.Errorf(gatehouse.EInternal, "external sign-in is not configured on this server")
	}
	return nil
}

// loginProviders are the enabled providers the login page offers.
func (s *Service) loginProviders(ctx context.Context) []Provider {
	out := []Provider{}
	if s.rp == nil {
		return out
	}
	ps, err := s.store.ListProviders(ctx)
	if err != nil {
		// The login page still works for passwords when the list cannot be read.
		s.log.Error("listing external providers failed", "err", err)
		return out
	}
	for _, p := range ps {
		if p.Enabled {
			out = append(out, Provider{ID: p.ID, Name: p.Name})
		}
	}
	return out
}

// ListProviders lists every provider for the admin.
func (s *Service) ListProviders(ctx context.Context) ([]*ProviderView, error) {
	ps, err := s.store.ListProviders(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*ProviderView, 0, len(ps))
	for _, p := range ps {
		out = append(out, s.providerView(p))
	}
	return out, nil
}

// GetProvider returns one provider for the admin; ENotFound.
func (s *Service) GetProvider(ctx context.Context, id string) (*ProviderView, error) {
	p, err := s.store.ProviderByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.providerView(p), nil
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
		id := ""
		if in.ID != nil {
			id = strings.TrimSpace(*in.ID)
		} else {
			id = slugify(p.Name)
		}
		if id == "" || len(id) > 40 || !providerIDPattern.MatchString(id) {
			return false, gatehouse.FieldError("id", "id must be 1 to 40 lowercase letters, digits and single dashes, e.g. \"google\" or \"company-sso\"")
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
	if in.Scopes != nil {
		var scopes []string
		for _, sc := range *in.Scopes {
			for _, f := range strings.Fields(sc) {
				if len(f) > 100 || strings.ContainsAny(f, "\"\\") {
					return false, gatehouse.FieldError("scopes", "scope %q is not valid", f)
				}
				if !contains(scopes, f) {
					scopes = append(scopes, f)
				}
			}
		}
		if len(scopes) > 20 {
			return false, gatehouse.FieldError("scopes", "at most 20 scopes")
		}
		p.Scopes = scopes
	}
	if len(p.Scopes) == 0 {
		p.Scopes = append([]string(nil), DefaultScopes...)
	}
	if !contains(p.Scopes, "openid") {
		p.Scopes = append([]string{"openid"}, p.Scopes...)
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

// checkIssuer runs discovery so that a mistyped issuer is refused when saved, not at sign-in.
func (s *Service) checkIssuer(ctx context.Context, issuer string) error {
	if err := s.rp.Check(ctx, issuer); err != nil {
		return gatehouse.FieldError("issuer", "OpenID discovery failed for issuer %s (%s/.well-known/openid-configuration): %v",
			issuer, strings.TrimSuffix(issuer, "/"), errors.Unwrap(err))
	}
	return nil
}

// CreateProvider adds a provider after checking its issuer by discovery.
func (s *Service) CreateProvider(ctx context.Context, admin *Principal, in ProviderInput, meta ClientMeta) (*ProviderView, error) {
	if err := s.needRP(); err != nil {
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
	if len(*in.ClientSecret) > 1024 {
		return nil, gatehouse.FieldError("client_secret", "client_secret is too long")
	}
	if _, err := s.store.ProviderByID(ctx, p.ID); err == nil {
		return nil, &gatehouse.Error{Code: gatehouse.EConflict, Field: "id", Message: "a provider with this id already exists"}
	}
	if err := s.checkIssuer(ctx, p.Issuer); err != nil {
		return nil, err
	}
	sealed, err := s.rp.Seal(p.ID, *in.ClientSecret)
	if err != nil {
		return nil, err
	}
	p.ClientSecretSealed = sealed
	if err := s.store.CreateProvider(ctx, p); err != nil {
		return nil, err
	}
	s.event(ctx, gatehouse.EventProviderCreated, admin.User.ID, admin.SessionID, meta, map[string]any{"provider": p.ID, "issuer": p.Issuer, "enabled": p.Enabled})
	return s.providerView(p), nil
}

// UpdateProvider changes a provider; a new issuer is checked by discovery; an absent or empty
// client_secret keeps the stored one.
func (s *Service) UpdateProvider(ctx context.Context, admin *Principal, id string, in ProviderInput, meta ClientMeta) (*ProviderView, error) {
	if err := s.needRP(); err != nil {
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
	if in.ClientSecret != nil && *in.ClientSecret != "" {
		if len(*in.ClientSecret) > 1024 {
			return nil, gatehouse.FieldError("client_secret", "client_secret is too long")
		}
		if p.ClientSecretSealed, err = s.rp.Seal(p.ID, *in.ClientSecret); err != nil {
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
	s.event(ctx, gatehouse.EventProviderUpdated, admin.User.ID, admin.SessionID, meta, data)
	return s.providerView(p), nil
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
	add(in.TokenAuthMethod != nil, "token_auth_method")
	add(in.Enabled != nil, "enabled")
	return out
}

// DeleteProvider removes a provider with every identity bound through it.
func (s *Service) DeleteProvider(ctx context.Context, admin *Principal, id string, meta ClientMeta) error {
	if err := s.store.DeleteProvider(ctx, id); err != nil {
		return err
	}
	s.event(ctx, gatehouse.EventProviderDeleted, admin.User.ID, admin.SessionID, meta, map[string]any{"provider": id})
	return nil
}

// ExternalStart is where to send the browser, and the browser-binding value to set in a cookie.
type ExternalStart struct {
	RedirectURL  string
	BrowserToken string
}

// StartExternal begins the authorization code flow with PKCE at an enabled provider. rd is kept
// only when it is safe. linkUser, when not nil, is the signed-in user linking an identity; the
// caller must have checked that the request is same-origin (it changes the account).
func (s *Service) StartExternal(ctx context.Context, providerID, rd string, linkUser *Principal, meta ClientMeta) (*ExternalStart, error) {
	if err := s.needRP(); err != nil {
		return nil, err
	}
	if len(providerID) > 40 || !providerIDPattern.MatchString(providerID) {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "there is no such sign-in provider")
	}
	p, err := s.store.ProviderByID(ctx, providerID)
	if err != nil || !p.Enabled {
		if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, err
		}
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "there is no enabled sign-in provider %q", providerID)
	}
	// Each start writes a row and asks the provider for its discovery document; the per-address
	// bucket keeps a flood from filling the table or turning gatehouse against the provider. It
	// is generous (a whole office behind one address signs in at nine) and separate from the
	// password buckets.
	if err := s.ExpensiveLimit(ctx, LimitExternalStart, meta); err != nil {
		return nil, err
	}
	cfg, err := s.rpConfig(ctx, p, meta)
	if err != nil {
		return nil, err
	}
	state, stateHash := token.Opaque()
	browser, browserHash := token.Opaque()
	nonce, _ := token.Opaque()
	verifier := oidc.NewVerifier()
	now := s.clock.Now()
	f := &gatehouse.OIDCFlow{StateHash: stateHash, BrowserHash: browserHash, ProviderID: p.ID, Nonce: nonce, Verifier: verifier,
		CreatedAt: now, ExpiresAt: now.Add(ExternalFlowTTL)}
	if s.public != nil {
		if safe, ok := redirect.Safe(s.public, rd); ok {
			f.RD = safe
		}
	}
	if linkUser != nil {
		// A linked identity signs in without password or TOTP (reauth.go).
		if err := s.RequireRecentAuth(ctx, linkUser); err != nil {
			return nil, err
		}
		f.LinkUserID = linkUser.User.ID
	}
	to, err := s.rp.AuthCodeURL(ctx, cfg, state, nonce, verifier)
	if err != nil {
		return nil, s.externalFailed(ctx, p, f.LinkUserID, meta, err)
	}
	if err := s.store.CreateOIDCFlow(ctx, f); err != nil {
		return nil, err
	}
	return &ExternalStart{RedirectURL: to, BrowserToken: browser}, nil
}

// rpConfig opens the sealed client secret. A secret sealed under another mfa_secret_key is a
// configuration problem the admin must fix: logged, and said plainly.
func (s *Service) rpConfig(ctx context.Context, p *gatehouse.OIDCProvider, meta ClientMeta) (oidc.Config, error) {
	secret, err := s.rp.Open(p.ID, p.ClientSecretSealed)
	if err != nil {
		s.log.Error("the client secret of an external provider cannot be decrypted: auth.mfa_secret_key changed since it was saved; an administrator must enter the client secret again",
			"provider", p.ID)
		s.event(ctx, gatehouse.EventLoginExternalFailed, 0, "", meta, map[string]any{"provider": p.ID, "reason": "client_secret_undecryptable"})
		return oidc.Config{}, gatehouse.Errorf(gatehouse.EProvider,
			"sign-in with %s is misconfigured on this server (its client secret cannot be decrypted); an administrator must enter the client secret again", p.Name)
	}
	return oidc.Config{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: secret, RedirectURL: s.RedirectURI(p.ID), Scopes: p.Scopes,
		AuthMethod: authMethod(p.TokenAuthMethod)}, nil
}

// externalFailed records a provider failure and turns it into a clear EProvider error.
func (s *Service) externalFailed(ctx context.Context, p *gatehouse.OIDCProvider, userID int64, meta ClientMeta, err error) error {
	var oe *oidc.Error
	data := map[string]any{"provider": p.ID}
	msg := fmt.Sprintf("sign-in with %s failed", p.Name)
	if errors.As(err, &oe) {
		data["reason"] = oe.Reason
		data["detail"] = truncate(oe.Err.Error(), 500)
		if oe.ProviderError != "" {
			data["provider_error"] = oe.ProviderError
		}
		switch oe.Reason {
		case "discovery_failed":
			msg = fmt.Sprintf("%s cannot be reached or did not answer as an OpenID provider with issuer %s; try again later or tell an administrator", p.Name, p.Issuer)
		case "token_exchange_failed":
			msg = fmt.Sprintf("%s refused to complete the sign-in", p.Name)
			if oe.ProviderError != "" {
				msg += " (" + oe.ProviderError + ")"
			}
			if strings.HasPrefix(oe.ProviderError, "invalid_client") {
				// Nearly always a wrong secret or an auth method other than the client's.
				msg += fmt.Sprintf("; an administrator should check the client secret and that the token auth method (%s) is the one the client is registered with", authMethod(p.TokenAuthMethod))
			}
		case "nonce_mismatch":
			msg = fmt.Sprintf("the answer from %s does not belong to this sign-in (nonce mismatch); start again", p.Name)
		default:
			msg = fmt.Sprintf("the answer from %s could not be verified (%s); start again or tell an administrator", p.Name, oe.Reason)
		}
	} else {
		data["reason"] = "error"
		s.log.Error("external sign-in failed", "provider", p.ID, "err", err)
	}
	s.log.Warn("external sign-in failed", "provider", p.ID, "reason", data["reason"], "err", err)
	s.event(ctx, gatehouse.EventLoginExternalFailed, userID, "", meta, data)
	return gatehouse.Errorf(gatehouse.EProvider, "%s", msg)
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

// FinishExternal completes the callback: the flow must exist, be fresh, unused and belong to this
// browser; the code is exchanged and the ID token verified; then the identity is matched (bound,
// auto-bind by verified email, auto-create, or linking by a signed-in user).
func (s *Service) FinishExternal(ctx context.Context, req CallbackRequest, meta ClientMeta) (*ExternalResult, error) {
	if err := s.needRP(); err != nil {
		return nil, err
	}
	// The provider id comes from the address: anything that is not a valid id is not recorded.
	if len(req.ProviderID) > 40 || !providerIDPattern.MatchString(req.ProviderID) {
		return nil, errFlowUnknown
	}
	if req.State == "" || len(req.State) > 128 {
		s.throttledEvent(ctx, gatehouse.EventLoginExternalFailed, meta, map[string]any{"provider": req.ProviderID, "reason": "state_missing"})
		return nil, errFlowUnknown
	}
	f, err := s.store.TakeOIDCFlow(ctx, token.Hash(req.State), s.clock.Now())
	if err != nil {
		if !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, err
		}
		s.throttledEvent(ctx, gatehouse.EventLoginExternalFailed, meta, map[string]any{"provider": req.ProviderID, "reason": "state_unknown"})
		return nil, errFlowUnknown
	}
	// The flow is taken (used up) before these checks, so a stolen state is worth one try at most.
	if f.ProviderID != req.ProviderID || req.BrowserToken == "" || subtle.ConstantTimeCompare(token.Hash(req.BrowserToken), f.BrowserHash) != 1 {
		s.event(ctx, gatehouse.EventLoginExternalFailed, 0, "", meta, map[string]any{"provider": req.ProviderID, "reason": "browser_mismatch"})
		return nil, errFlowUnknown
	}
	p, err := s.store.ProviderByID(ctx, f.ProviderID)
	if err != nil || !p.Enabled {
		if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, err
		}
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "there is no enabled sign-in provider %q", req.ProviderID)
	}
	if req.Error != "" {
		pe := truncate(req.Error, 100)
		if req.ErrorDescription != "" {
			pe += ": " + truncate(req.ErrorDescription, 300)
		}
		s.event(ctx, gatehouse.EventLoginExternalFailed, f.LinkUserID, "", meta, map[string]any{"provider": p.ID, "reason": "provider_error", "provider_error": pe})
		return nil, gatehouse.Errorf(gatehouse.EProvider, "%s did not sign you in: %s", p.Name, pe)
	}
	if req.Code == "" || len(req.Code) > 4096 {
		s.event(ctx, gatehouse.EventLoginExternalFailed, f.LinkUserID, "", meta, map[string]any{"provider": p.ID, "reason": "code_missing"})
		return nil, gatehouse.Errorf(gatehouse.EProvider, "%s sent no authorization code; start the sign-in again", p.Name)
	}
	cfg, err := s.rpConfig(ctx, p, meta)
	if err != nil {
		return nil, err
	}
	claims, err := s.rp.Exchange(ctx, cfg, req.Code, f.Verifier, f.Nonce)
	if err != nil {
		return nil, s.externalFailed(ctx, p, f.LinkUserID, meta, err)
	}
	claims.Email = gatehouse.NormalizeLogin(claims.Email)
	if f.LinkUserID != 0 {
		return s.linkIdentity(ctx, p, f, claims, req.Principal, meta)
	}
	return s.signInExternal(ctx, p, f, claims, meta)
}

func (s *Service) linkIdentity(ctx context.Context, p *gatehouse.OIDCProvider, f *gatehouse.OIDCFlow, c *oidc.Claims, pr *Principal, meta ClientMeta) (*ExternalResult, error) {
	// The browser must still be signed in to the account that asked for the link.
	if pr == nil || pr.User.ID != f.LinkUserID {
		s.event(ctx, gatehouse.EventLoginExternalFailed, f.LinkUserID, "", meta, map[string]any{"provider": p.ID, "reason": "link_session_changed"})
		return nil, gatehouse.Errorf(gatehouse.EUnauthorized, "you are no longer signed in as the account that started linking; sign in and start again from Settings → Security")
	}
	done := &ExternalResult{Linked: true, RD: "/settings/security?done=linked"}
	id, err := s.store.IdentityBySubject(ctx, p.ID, c.Subject)
	switch {
	case err == nil && id.UserID == pr.User.ID:
		s.touchIdentity(ctx, id, c.Email)
		return done, nil
	case err == nil:
		s.event(ctx, gatehouse.EventLoginExternalFailed, pr.User.ID, pr.SessionID, meta, map[string]any{"provider": p.ID, "reason": "identity_bound_elsewhere"})
		return nil, gatehouse.Errorf(gatehouse.EConflict, "this %s account is already linked to another gatehouse account; unlink it there first", p.Name)
	case !gatehouse.IsCode(err, gatehouse.ENotFound):
		return nil, err
	}
	if err := s.bind(ctx, pr.User, p, c, "link", pr.SessionID, meta); err != nil {
		return nil, err
	}
	return done, nil
}

func (s *Service) bind(ctx context.Context, u *gatehouse.User, p *gatehouse.OIDCProvider, c *oidc.Claims, how, sid string, meta ClientMeta) error {
	now := s.clock.Now()
	i := &gatehouse.ExternalIdentity{UserID: u.ID, ProviderID: p.ID, Subject: c.Subject, Email: c.Email, BoundAt: now, LastUsedAt: &now}
	if err := s.store.CreateIdentity(ctx, i); err != nil {
		if gatehouse.IsCode(err, gatehouse.EConflict) {
			return gatehouse.Errorf(gatehouse.EConflict, "this %s account was linked to an account a moment ago; start the sign-in again", p.Name)
		}
		return err
	}
	s.event(ctx, gatehouse.EventIdentityBound, u.ID, sid, meta, map[string]any{"provider": p.ID, "subject": c.Subject, "email": c.Email, "how": how})
	return nil
}

func (s *Service) touchIdentity(ctx context.Context, i *gatehouse.ExternalIdentity, email string) {
	if err := s.store.TouchIdentity(ctx, i.ID, email, s.clock.Now()); err != nil {
		s.log.Warn("recording an identity's use failed", "identity_id", i.ID, "err", err)
	}
}

func (s *Service) signInExternal(ctx context.Context, p *gatehouse.OIDCProvider, f *gatehouse.OIDCFlow, c *oidc.Claims, meta ClientMeta) (*ExternalResult, error) {
	refuseDisabled := func(u *gatehouse.User) error {
		s.obs.SignIn("account_disabled")
		s.event(ctx, gatehouse.EventLoginExternalFailed, u.ID, "", meta, map[string]any{"provider": p.ID, "reason": "account_disabled"})
		return gatehouse.Errorf(gatehouse.EAccountDisabled, "this account is disabled; ask an administrator")
	}
	// 1. An identity already bound signs in to its user.
	id, err := s.store.IdentityBySubject(ctx, p.ID, c.Subject)
	if err == nil {
		u, err := s.store.UserByID(ctx, id.UserID)
		if err != nil {
			return nil, err
		}
		if u.Disabled {
			return nil, refuseDisabled(u)
		}
		s.touchIdentity(ctx, id, c.Email)
		return s.finishExternal(ctx, u, p, c, f, "bound", meta)
	}
	if !gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, err
	}
	var owners []*gatehouse.User
	if c.Email != "" {
		if owners, err = s.store.UsersByEmail(ctx, c.Email, 2); err != nil {
			return nil, err
		}
	}
	// 2. Auto-bind: the provider vouches for the address, and exactly one local account holds it
	// and has proved it too. The second condition stops account pre-hijacking: someone who
	// registered the victim's address without proving it must not receive the victim's identity.
	// Administrators are never bound automatically: a provider that vouches for any address
	// (a multi-tenant or compromised one) must not be able to hand out the console; they link
	// from Settings or by the verification mail.
	// Both automatic paths honour the provider's allowed email domains: a provider that serves
	// more than one organisation (Google, Entra multi-tenant) vouches for addresses anywhere.
	allowed := emailDomainAllowed(p, c.Email, c.EmailVerified)
	if p.AutoBindVerifiedEmail && allowed && c.EmailVerified && len(owners) == 1 && owners[0].EmailVerified && owners[0].Role != gatehouse.RoleAdmin {
		u := owners[0]
		if u.Disabled {
			return nil, refuseDisabled(u)
		}
		if err := s.bind(ctx, u, p, c, "auto_bind", "", meta); err != nil {
			return nil, err
		}
		return s.finishExternal(ctx, u, p, c, f, "auto_bind", meta)
	}
	// 3. Auto-create: the provider's switch alone decides (seed 000), independent of public
	// registration, so "only our identity provider's people may join" is possible; the address
	// must be at an allowed domain and not be someone's already.
	if p.AutoCreateUsers && len(owners) == 0 {
		if err := gatehouse.ValidateEmail(c.Email); err != nil {
			s.event(ctx, gatehouse.EventLoginExternalFailed, 0, "", meta, map[string]any{"provider": p.ID, "reason": "no_email", "subject": c.Subject})
			return nil, gatehouse.Errorf(gatehouse.ENotLinked, "%s did not share a usable email address, so no account can be created; ask an administrator to add the \"email\" scope", p.Name)
		}
		if !allowed {
			s.event(ctx, gatehouse.EventLoginExternalFailed, 0, "", meta, map[string]any{"provider": p.ID, "reason": "email_domain_not_allowed", "subject": c.Subject, "email": c.Email})
			return nil, gatehouse.Errorf(gatehouse.ENotLinked, "%s accounts at this email domain cannot create an account here; ask an administrator", p.Name)
		}
		u, err := s.createExternalUser(ctx, p, c, meta)
		if err != nil {
			return nil, err
		}
		if err := s.bind(ctx, u, p, c, "auto_create", "", meta); err != nil {
			return nil, err
		}
		return s.finishExternal(ctx, u, p, c, f, "auto_create", meta)
	}
	// 4. Nothing matched: the user links from a signed-in account, or proves the address by the
	// verification mail (auth/extverify.go).
	s.event(ctx, gatehouse.EventLoginExternalFailed, 0, "", meta, map[string]any{"provider": p.ID, "reason": "not_linked", "subject": c.Subject, "email": c.Email})
	return nil, s.notLinked(ctx, p, f, c)
}

// createExternalUser creates a normal user for an external identity: no password, a username
// from preferred_username or the email, made unique.
func (s *Service) createExternalUser(ctx context.Context, p *gatehouse.OIDCProvider, c *oidc.Claims, meta ClientMeta) (*gatehouse.User, error) {
	base := usernameBase(c.PreferredUsername)
	if base == "" {
		base = usernameBase(usernameFromEmail(c.Email))
	}
	if base == "" {
		base = "user"
	}
	for n := 1; n <= 50; n++ {
		name := base
		if n > 1 {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		if n == 50 {
			id, _ := token.Opaque()
			name = base + "-" + strings.ToLower(id[:8])
		}
		u := &gatehouse.User{Username: name, Email: c.Email, Name: truncate(c.Name, 200), Role: gatehouse.RoleUser, EmailVerified: c.EmailVerified}
		err := s.store.CreateUser(ctx, u)
		if err == nil {
			s.hasUsers.Store(true)
			// HOOK(default group): once groups exist, a provider's default group is granted to
			// the created user here, before the user.created_external event.
			s.event(ctx, gatehouse.EventUserCreatedExternal, u.ID, "", meta, map[string]any{"provider": p.ID, "subject": c.Subject, "username": u.Username, "email": u.Email})
			return u, nil
		}
		var e *gatehouse.Error
		if errors.As(err, &e) && e.Code == gatehouse.EConflict && e.Field == "username" {
			continue
		}
		if errors.As(err, &e) && e.Code == gatehouse.EConflict && e.Field == "email" {
			return nil, gatehouse.Errorf(gatehouse.ENotLinked, "this %s account is not linked to a gatehouse account. Sign in with your password, then link it under Settings → Security → External identities.", p.Name)
		}
		return nil, err
	}
	return nil, gatehouse.Errorf(gatehouse.EConflict, "no free username could be found; ask an administrator to create your account")
}

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
	out := strings.TrimRight(b.String(), "._-")
	if gatehouse.ValidateUsername(out) != nil {
		return ""
	}
	return out
}

// finishExternal completes an external sign-in.
//
// finishExternal turns a verified external identity into a session, or into the TOTP step for an
// account with MFA: the same finish as the password login (seed 000: external sign-ins enter the
// second-factor step too).
func (s *Service) finishExternal(ctx context.Context, u *gatehouse.User, p *gatehouse.OIDCProvider, c *oidc.Claims, f *gatehouse.OIDCFlow, how string, meta ClientMeta) (*ExternalResult, error) {
	t, err := s.signInOrChallenge(ctx, u, gatehouse.AuthExternal, false, meta)
	if err != nil {
		if gatehouse.IsCode(err, gatehouse.EAccountDisabled) {
			s.event(ctx, gatehouse.EventLoginExternalFailed, u.ID, "", meta, map[string]any{"provider": p.ID, "reason": "account_disabled"})
		}
		return nil, err
	}
	sid := ""
	if t.Session != nil {
		sid = t.Session.ID
	}
	s.event(ctx, gatehouse.EventLoginExternal, u.ID, sid, meta, map[string]any{"provider": p.ID, "subject": c.Subject, "match": how, "mfa_required": t.MFA != nil})
	return &ExternalResult{Tokens: t, RD: f.RD}, nil
}

// IdentityView is an external identity as its owner sees it.
type IdentityView struct {
	ID           int64   `json:"id"`
	Provider     string  `json:"provider"`
	ProviderName string  `json:"provider_name"`
	Subject      string  `json:"subject"`
	Email        string  `json:"email"`
	BoundAt      string  `json:"bound_at"`
	LastUsedAt   *string `json:"last_used_at"`
}

// LastUsed is LastUsedAt or "" (for pages).
func (v IdentityView) LastUsed() string {
	if v.LastUsedAt == nil {
		return ""
	}
	return *v.LastUsedAt
}

// Identities lists the user's external identities.
func (s *Service) Identities(ctx context.Context, userID int64) ([]IdentityView, error) {
	ids, err := s.store.ListIdentities(ctx, userID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	if ps, err := s.store.ListProviders(ctx); err == nil {
		for _, p := range ps {
			names[p.ID] = p.Name
		}
	}
	out := make([]IdentityView, 0, len(ids))
	for _, i := range ids {
		v := IdentityView{ID: i.ID, Provider: i.ProviderID, ProviderName: names[i.ProviderID], Subject: i.Subject, Email: i.Email,
			BoundAt: i.BoundAt.UTC().Format(timeFormat)}
		if v.ProviderName == "" {
			v.ProviderName = i.ProviderID
		}
		if i.LastUsedAt != nil {
			t := i.LastUsedAt.UTC().Format(timeFormat)
			v.LastUsedAt = &t
		}
		out = append(out, v)
	}
	return out, nil
}

// UnlinkIdentity removes one of the principal's identities. The last way to sign in (no
// password, no passkey and no other identity) is refused: the account would be locked for good.
func (s *Service) UnlinkIdentity(ctx context.Context, pr *Principal, id int64, meta ClientMeta) error {
	ids, err := s.store.ListIdentities(ctx, pr.User.ID)
	if err != nil {
		return err
	}
	var target *gatehouse.ExternalIdentity
	for _, i := range ids {
		if i.ID == id {
			target = i
		}
	}
	if target == nil {
		return gatehouse.Errorf(gatehouse.ENotFound, "no such external identity")
	}
	u, err := s.store.UserByID(ctx, pr.User.ID)
	if err != nil {
		return err
	}
	if u.PasswordHash == "" && len(ids) == 1 {
		// A passkey is a way in too.
		pks, err := s.store.ListPasskeys(ctx, u.ID)
		if err != nil {
			return err
		}
		if len(pks) == 0 {
			return gatehouse.Errorf(gatehouse.EConflict, "this identity is your only way to sign in: your account has no password and no passkey. Link another provider or add a passkey first (or ask an administrator to set a password), then unlink this one")
		}
	}
	if err := s.store.DeleteIdentity(ctx, pr.User.ID, id); err != nil {
		return err
	}
	s.event(ctx, gatehouse.EventIdentityUnbound, pr.User.ID, pr.SessionID, meta, map[string]any{"provider": target.ProviderID, "subject": target.Subject})
	return nil
}
