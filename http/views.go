package http

import (
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// The JSON shapes of the API's answers. auth returns domain values; these views name the fields
// and format the times, so a change inside auth cannot change the API by accident (the names are
// in CONTRACT.md and docs/api.md).

// stamp is a time in the API's format: RFC 3339 in UTC, whole seconds.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func stampOrNil(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := stamp(*t)
	return &s
}

type sessionJSON struct {
	ID           string        `json:"id"`
	Current      bool          `json:"current"`
	AuthMethod   string        `json:"auth_method"`
	IP           string        `json:"ip"`
	UserAgent    string        `json:"user_agent"`
	CreatedAt    string        `json:"created_at"`
	LastSeenAt   string        `json:"last_seen_at"`
	ExpiresAt    string        `json:"expires_at"`
	StaySignedIn bool          `json:"stay_signed_in"`
	Location     *locationJSON `json:"location,omitempty"`
	Network      *networkJSON  `json:"network,omitempty"`
}

type locationJSON struct {
	City      string `json:"city,omitempty"`
	Country   string `json:"country,omitempty"`
	Continent string `json:"continent,omitempty"`
}

type networkJSON struct {
	ASN   uint   `json:"asn"`
	ASOrg string `json:"as_org,omitempty"`
}

func sessionsView(in []auth.SessionView) list[sessionJSON] {
	out := make([]sessionJSON, 0, len(in))
	for _, v := range in {
		j := sessionJSON{ID: v.ID, Current: v.Current, AuthMethod: v.AuthMethod, IP: v.IP, UserAgent: v.UserAgent,
			CreatedAt: stamp(v.CreatedAt), LastSeenAt: stamp(v.LastSeenAt), ExpiresAt: stamp(v.ExpiresAt), StaySignedIn: v.StaySignedIn}
		if l := v.Location; l != nil {
			j.Location = &locationJSON{City: l.City, Country: l.Country, Continent: l.Continent}
		}
		if n := v.Network; n != nil {
			j.Network = &networkJSON{ASN: n.ASN, ASOrg: n.ASOrg}
		}
		out = append(out, j)
	}
	return list[sessionJSON]{Items: out}
}

type passkeyJSON struct {
	ID             int64      `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	BackupEligible bool       `json:"backup_eligible"`
	BackupState    bool       `json:"backup_state"`
}

func passkeyView(v *auth.PasskeyView) passkeyJSON {
	return passkeyJSON{ID: v.ID, Name: v.Name, CreatedAt: v.CreatedAt, LastUsedAt: v.LastUsedAt, BackupEligible: v.BackupEligible, BackupState: v.BackupState}
}

func passkeysView(in []auth.PasskeyView) list[passkeyJSON] {
	out := make([]passkeyJSON, 0, len(in))
	for i := range in {
		out = append(out, passkeyView(&in[i]))
	}
	return list[passkeyJSON]{Items: out}
}

type challengeJSON struct {
	Ceremony  string          `json:"ceremony"`
	PublicKey json.RawMessage `json:"publicKey"`
}

func challengeView(c *auth.PasskeyChallenge) challengeJSON {
	return challengeJSON{Ceremony: c.Ceremony, PublicKey: c.PublicKey}
}

type reauthJSON struct {
	Recent  bool      `json:"recently_authenticated"`
	Until   time.Time `json:"until"`
	Methods []string  `json:"methods"`
}

func reauthView(st *auth.ReauthStatus) reauthJSON {
	return reauthJSON{Recent: st.Recent, Until: st.Until, Methods: st.Methods}
}

type stateJSON struct {
	SetupRequired       bool                `json:"setup_required"`
	RegistrationOpen    bool                `json:"registration_open"`
	PasskeyEnabled      bool                `json:"passkey_enabled"`
	Providers           []loginProviderJSON `json:"providers"`
	StaySignedInOffered bool                `json:"stay_signed_in_offered"`
}

type loginProviderJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func stateView(st *auth.State) stateJSON {
	j := stateJSON{SetupRequired: st.SetupRequired, RegistrationOpen: st.RegistrationOpen, PasskeyEnabled: st.PasskeyEnabled,
		StaySignedInOffered: st.StaySignedInOffered}
	if st.Providers != nil {
		j.Providers = make([]loginProviderJSON, 0, len(st.Providers))
		for _, p := range st.Providers {
			j.Providers = append(j.Providers, loginProviderJSON{ID: p.ID, Name: p.Name})
		}
	}
	return j
}

type totpSetupJSON struct {
	Secret string `json:"secret"`
	URL    string `json:"otpauth_url"`
}

type providerJSON struct {
	ID                    string   `json:"id"`
	Name                  string   `json:"name"`
	Issuer                string   `json:"issuer"`
	ClientID              string   `json:"client_id"`
	ClientSecretSet       bool     `json:"client_secret_set"`
	Scopes                []string `json:"scopes"`
	AutoBindVerifiedEmail bool     `json:"auto_bind_verified_email"`
	AutoCreateUsers       bool     `json:"auto_create_users"`
	AllowedEmailDomains   []string `json:"allowed_email_domains"`
	DefaultGroups         []string `json:"default_groups"`
	TokenAuthMethod       string   `json:"token_auth_method"`
	Enabled               bool     `json:"enabled"`
	RedirectURI           string   `json:"redirect_uri"`
	CreatedAt             string   `json:"created_at"`
	UpdatedAt             string   `json:"updated_at"`
}

func providerView(v *auth.ProviderView) providerJSON {
	return providerJSON{ID: v.ID, Name: v.Name, Issuer: v.Issuer, ClientID: v.ClientID, ClientSecretSet: v.ClientSecretSet,
		Scopes: v.Scopes, AutoBindVerifiedEmail: v.AutoBindVerifiedEmail, AutoCreateUsers: v.AutoCreateUsers, Enabled: v.Enabled,
		AllowedEmailDomains: v.AllowedEmailDomains, DefaultGroups: v.DefaultGroups, TokenAuthMethod: v.TokenAuthMethod, RedirectURI: v.RedirectURI, CreatedAt: stamp(v.CreatedAt), UpdatedAt: stamp(v.UpdatedAt)}
}

func providersView(in []*auth.ProviderView) list[providerJSON] {
	out := make([]providerJSON, 0, len(in))
	for _, v := range in {
		out = append(out, providerView(v))
	}
	return list[providerJSON]{Items: out}
}

type identityJSON struct {
	ID           int64   `json:"id"`
	Provider     string  `json:"provider"`
	ProviderName string  `json:"provider_name"`
	Subject      string  `json:"subject"`
	Email        string  `json:"email"`
	BoundAt      string  `json:"bound_at"`
	LastUsedAt   *string `json:"last_used_at"`
}

func identitiesView(in []auth.IdentityView) list[identityJSON] {
	out := make([]identityJSON, 0, len(in))
	for _, v := range in {
		out = append(out, identityJSON{ID: v.ID, Provider: v.Provider, ProviderName: v.ProviderName, Subject: v.Subject, Email: v.Email,
			BoundAt: stamp(v.BoundAt), LastUsedAt: stampOrNil(v.LastUsedAt)})
	}
	return list[identityJSON]{Items: out}
}
