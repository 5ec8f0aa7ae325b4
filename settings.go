package gatehouse

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Setting groups, in the order the admin console shows them (seed 000's grouping).
const (
	GroupUsers    = "user_management"
	GroupSessions = "sessions"
	GroupTokens   = "tokens"
	GroupMail     = "mail"
	GroupSite     = "site"
	GroupAccess   = "access"
	// GroupBranding is set on its own page (/admin/branding), not the settings page.
	GroupBranding = "branding"
)

// Setting types.
const (
	TypeBool     = "bool"
	TypeInt      = "int"
	TypeString   = "string"
	TypeEnum     = "enum"
	TypeDuration = "duration"
	TypeSecret   = "secret" // write-only: never returned by the API
	TypeColor    = "color"  // "" or #rrggbb with enough contrast on every page background
	TypeLink     = "link"   // "" , an https:// address or a path on this site
)

// SettingDef describes one runtime setting.
type SettingDef struct {
	Key     string   `json:"key"`
	Type    string   `json:"type"`
	Default string   `json:"default"`
	Group   string   `json:"group"`
	Label   string   `json:"label"`
	Help    string   `json:"help"`
	Options []string `json:"options,omitempty"`
	Min     int64    `json:"min,omitempty"`
	Max     int64    `json:"max,omitempty"`
	// Internal settings are written by a use case of their own (site_logo by the logo upload),
	// never by a settings patch; they are left out of the API's settings and the settings page.
	Internal bool `json:"-"`
}

// SettingDefs lists every runtime setting with its default (CONTRACT.md). cookieSecure is the
// default of auth_cookie_secure, derived from [auth] bootstrap_insecure_cookies.
func SettingDefs(cookieSecure bool) []SettingDef {
	const day = 86400
	return []SettingDef{
		{Key: "auth_allow_user_registration", Type: TypeBool, Default: "false", Group: GroupUsers, Label: "Allow public user registration", Help: "Show a registration path on the login page. Configure mail delivery first: new accounts must activate by mail."},
		{Key: "auth_register_activation_enabled", Type: TypeBool, Default: "true", Group: GroupUsers, Label: "Require email activation", Help: "Publicly registered accounts stay pending until their activation link is clicked."},
		{Key: "auth_password_min_length", Type: TypeInt, Default: "8", Group: GroupUsers, Label: "Minimum password length", Help: "Characters. Applies to new passwords only.", Min: 8, Max: 128},
		{Key: "auth_password_max_length", Type: TypeInt, Default: "128", Group: GroupUsers, Label: "Maximum password length", Help: "Characters. Bounds the cost of hashing (Argon2 DoS protection).", Min: 8, Max: 1024},
		{Key: "auth_login_rate_limit_burst", Type: TypeInt, Default: "10", Group: GroupUsers, Label: "Failed sign-ins per client address", Help: "Failed password sign-ins a client address (an IPv6 client by its /64) may make at once before it is slowed down; each account allows ten times this across all addresses.", Min: 1, Max: 10000},
		{Key: "auth_login_rate_limit_refill_secs", Type: TypeInt, Default: "90", Group: GroupUsers, Label: "Seconds per regained attempt", Help: "One sign-in attempt comes back after this many seconds.", Min: 1, Max: day},
		{Key: "auth_expensive_rate_limit_per_min", Type: TypeInt, Default: "60", Group: GroupUsers, Label: "Expensive requests per client address per minute", Help: "Registration, recovery, mail resends, passkey and external sign-in starts: each endpoint allows a client address (an IPv6 client by its /64) this many requests per minute (seed 001). Mail-sending endpoints are also bound by the failed sign-in limits above.", Min: 1, Max: 100000},
		{Key: "auth_mfa_challenge_ttl_secs", Type: TypeInt, Default: "300", Group: GroupUsers, Label: "MFA challenge lifetime (seconds)", Help: "Time to enter the second factor after a correct password.", Min: 30, Max: 3600},
		{Key: "auth_mfa_max_attempts", Type: TypeInt, Default: "5", Group: GroupUsers, Label: "MFA attempts per challenge", Help: "Wrong codes allowed before the user must start over.", Min: 1, Max: 20},

		{Key: "auth_cookie_secure", Type: TypeBool, Default: strconv.FormatBool(cookieSecure), Group: GroupSessions, Label: "Secure cookies (HTTPS only)", Help: "Send the session cookie only over HTTPS. Turn off only for a plain-HTTP trial run."},
		{Key: "auth_session_idle_timeout_secs", Type: TypeInt, Default: "43200", Group: GroupSessions, Label: "Idle timeout (seconds)", Help: "A session unused this long ends. Precision is about a minute.", Min: 60, Max: 365 * day},
		{Key: "auth_session_max_lifetime_secs", Type: TypeInt, Default: "1209600", Group: GroupSessions, Label: "Maximum session lifetime (seconds)", Help: "No session lasts longer than this, whatever else is set.", Min: 60, Max: 365 * day},
		{Key: "auth_session_duration", Type: TypeDuration, Default: "seconds=0", Group: GroupSessions, Label: "Session duration", Help: "key=value pairs, keys microseconds, milliseconds, seconds, minutes, hours, days, weeks, decimals allowed (hours=1,minutes=2.5). seconds=0: the cookie ends when the browser closes. The idle timeout and maximum lifetime always apply."},
		{Key: "auth_stay_signed_in_offset", Type: TypeDuration, Default: "seconds=0", Group: GroupSessions, Label: "Stay signed in offset", Help: "Same syntax. Above zero, the login page offers \"stay signed in\"; choosing it makes the session last the duration plus this offset, with a persistent cookie."},
		{Key: "auth_terminate_other_sessions", Type: TypeBool, Default: "false", Group: GroupSessions, Label: "Terminate other sessions on sign-in", Help: "A new sign-in (password, passkey, MFA or external) ends the user's other sessions."},
		{Key: "auth_session_network_binding", Type: TypeEnum, Default: "none", Group: GroupSessions, Label: "Network binding", Help: "End a session used from another network than its sign-in's: asn = same autonomous system; asn_network = same AS and network block; asn_network_ip = same IP address. Needs an ASN database ([geoip] asn_db, GeoLite2-ASN or DB-IP ASN Lite); refused while none is configured.", Options: []string{"none", "asn", "asn_network", "asn_network_ip"}},
		{Key: "auth_session_geoip_binding", Type: TypeEnum, Default: "none", Group: GroupSessions, Label: "GeoIP binding", Help: "End a session used from another place than its sign-in's: same continent, same country, or same city. Needs a city database ([geoip] city_db, GeoLite2-City or DB-IP City Lite); refused while none is configured.", Options: []string{"none", "continent", "continent_country", "continent_country_city"}},

		{Key: "auth_access_token_ttl_secs", Type: TypeInt, Default: "900", Group: GroupTokens, Label: "Access token lifetime (seconds)", Help: "Bearer tokens for scripts and apps. At most 7 days (seed 002); a token stays valid until it expires unless its session is ended.", Min: 30, Max: 7 * day},
		{Key: "auth_refresh_token_ttl_secs", Type: TypeInt, Default: "1209600", Group: GroupTokens, Label: "Refresh token lifetime (seconds)", Help: "Each refresh token is single use and rotated.", Min: 60, Max: 365 * day},
		{Key: "auth_register_activation_ttl_secs", Type: TypeInt, Default: "86400", Group: GroupTokens, Label: "Activation link lifetime (seconds)", Min: 60, Max: 30 * day},
		{Key: "auth_contact_change_ttl_secs", Type: TypeInt, Default: "86400", Group: GroupTokens, Label: "Email change link lifetime (seconds)", Min: 60, Max: 30 * day},
		{Key: "auth_password_reset_ttl_secs", Type: TypeInt, Default: "3600", Group: GroupTokens, Label: "Password reset link lifetime (seconds)", Min: 60, Max: 7 * day},
		{Key: "auth_contact_verification_resend_cooldown_secs", Type: TypeInt, Default: "60", Group: GroupTokens, Label: "Verification mail resend cooldown (seconds)", Min: 0, Max: day},
		{Key: "auth_password_reset_request_cooldown_secs", Type: TypeInt, Default: "60", Group: GroupTokens, Label: "Password reset request cooldown (seconds)", Min: 0, Max: day},

		{Key: "mail_smtp_host", Type: TypeString, Default: "", Group: GroupMail, Label: "SMTP host", Help: "Empty: mail delivery is off."},
		{Key: "mail_smtp_port", Type: TypeInt, Default: "587", Group: GroupMail, Label: "SMTP port", Min: 1, Max: 65535},
		{Key: "mail_smtp_tls", Type: TypeEnum, Default: "starttls", Group: GroupMail, Label: "SMTP encryption", Options: []string{"none", "starttls", "tls"}},
		{Key: "mail_smtp_username", Type: TypeString, Default: "", Group: GroupMail, Label: "SMTP username"},
		{Key: "mail_smtp_password", Type: TypeSecret, Default: "", Group: GroupMail, Label: "SMTP password", Help: "Write-only: leave empty to keep the current password."},
		{Key: "mail_from", Type: TypeString, Default: "", Group: GroupMail, Label: "From address", Help: "For example \"Gatehouse <auth@example.com>\"."},

		{Key: "access_default_policy", Type: TypeEnum, Default: "one_factor", Group: GroupAccess, Label: "Default access policy", Help: "What forward auth answers for a request no access rule matches: one_factor = any signed-in user; two_factor = a signed-in user whose session has a second factor; deny = nobody; bypass = everyone, signed in or not.", Options: []string{"one_factor", "two_factor", "deny", "bypass"}},

		{Key: "site_name", Type: TypeString, Default: "gatehouse", Group: GroupSite, Label: "Site name", Help: "Shown on pages and in mail."},

		{Key: "site_accent_color", Type: TypeColor, Default: "", Group: GroupBranding, Label: "Accent colour", Help: "A hex colour (#2f6fdb) for buttons, focus rings and the mark on every page and in mail. Empty: the built-in blue. It must reach 3:1 contrast on the light and the dark background."},
		{Key: "site_footer_label", Type: TypeString, Default: "", Group: GroupBranding, Label: "Footer link text", Help: "Shown at the foot of every page and mail, for example \"Help\" or \"Imprint\"."},
		{Key: "site_footer_url", Type: TypeLink, Default: "", Group: GroupBranding, Label: "Footer link address", Help: "An https:// address or a path on this site (/help)."},
		{Key: "site_logo", Type: TypeString, Default: "", Group: GroupBranding, Label: "Logo", Internal: true},
	}
}

// Settings is the typed snapshot of every runtime setting. It is immutable once built; the
// service swaps a whole new snapshot on change.
type Settings struct {
	raw map[string]string

	CookieSecure         bool
	AccessTokenTTL       time.Duration
	RefreshTokenTTL      time.Duration
	IdleTimeout          time.Duration
	MaxLifetime          time.Duration
	SessionDuration      time.Duration
	StaySignedInOffset   time.Duration
	TerminateOthers      bool
	NetworkBinding       string
	GeoIPBinding         string
	ActivationTTL        time.Duration
	ContactChangeTTL     time.Duration
	PasswordResetTTL     time.Duration
	VerificationCooldown time.Duration
	ResetRequestCooldown time.Duration
	AllowRegistration    bool
	ActivationEnabled    bool
	PasswordMinLen       int
	PasswordMaxLen       int
	LoginBurst           int
	// ExpensivePerMinute bounds, per client address and endpoint, the requests that cost the
	// server work or mail (auth_expensive_rate_limit_per_min).
	ExpensivePerMinute  int
	LoginRefill         time.Duration
	MFAChallengeTTL     time.Duration
	MFAMaxAttempts      int
	SMTPHost            string
	SMTPPort            int
	SMTPTLS             string
	SMTPUsername        string
	SMTPPassword        string
	MailFrom            string
	SiteName            string
	AccessDefaultPolicy string
	// Branding: AccentColor "" for the built-in palette; the footer link is shown when both its
	// parts are set; Logo is the logo's version ("" when there is none).
	AccentColor string
	FooterLabel string
	FooterURL   string
	Logo        string
}

// Raw returns the stored text value of key.
func (s *Settings) Raw(key string) string { return s.raw[key] }

// SettingDefaults returns the default text value of every setting.
func SettingDefaults(cookieSecure bool) map[string]string {
	m := map[string]string{}
	for _, d := range SettingDefs(cookieSecure) {
		m[d.Key] = d.Default
	}
	return m
}

// NewSettings builds a typed snapshot from stored text values; missing keys take their defaults.
// A stored value that no longer validates (edited by hand) falls back to the default rather than
// keeping the server from starting; the returned warnings say which.
func NewSettings(raw map[string]string, cookieSecure bool) (*Settings, []string) {
	defs := SettingDefs(cookieSecure)
	vals := make(map[string]string, len(defs))
	var warnings []string
	for _, d := range defs {
		v, ok := raw[d.Key]
		if !ok {
			v = d.Default
		} else if _, err := d.normalize(v); err != nil {
			warnings = append(warnings, fmt.Sprintf("stored setting %s is invalid (%v); using the default %q", d.Key, err, d.Default))
			v = d.Default
		}
		vals[d.Key] = v
	}
	s := &Settings{raw: vals}
	b := func(k string) bool { return vals[k] == "true" }
	n := func(k string) int { i, _ := strconv.Atoi(vals[k]); return i }
	secs := func(k string) time.Duration { return time.Duration(n(k)) * time.Second }
	dur := func(k string) time.Duration { d, _ := ParseDuration(vals[k]); return d }
	s.CookieSecure = b("auth_cookie_secure")
	s.AccessTokenTTL = secs("auth_access_token_ttl_secs")
	s.RefreshTokenTTL = secs("auth_refresh_token_ttl_secs")
	s.IdleTimeout = secs("auth_session_idle_timeout_secs")
	s.MaxLifetime = secs("auth_session_max_lifetime_secs")
	s.SessionDuration = dur("auth_session_duration")
	s.StaySignedInOffset = dur("auth_stay_signed_in_offset")
	s.TerminateOthers = b("auth_terminate_other_sessions")
	s.NetworkBinding = vals["auth_session_network_binding"]
	s.GeoIPBinding = vals["auth_session_geoip_binding"]
	s.ActivationTTL = secs("auth_register_activation_ttl_secs")
	s.ContactChangeTTL = secs("auth_contact_change_ttl_secs")
	s.PasswordResetTTL = secs("auth_password_reset_ttl_secs")
	s.VerificationCooldown = secs("auth_contact_verification_resend_cooldown_secs")
	s.ResetRequestCooldown = secs("auth_password_reset_request_cooldown_secs")
	s.AllowRegistration = b("auth_allow_user_registration")
	s.ActivationEnabled = b("auth_register_activation_enabled")
	s.PasswordMinLen = n("auth_password_min_length")
	s.PasswordMaxLen = n("auth_password_max_length")
	s.LoginBurst = n("auth_login_rate_limit_burst")
	s.ExpensivePerMinute = n("auth_expensive_rate_limit_per_min")
	s.LoginRefill = secs("auth_login_rate_limit_refill_secs")
	s.MFAChallengeTTL = secs("auth_mfa_challenge_ttl_secs")
	s.MFAMaxAttempts = n("auth_mfa_max_attempts")
	s.SMTPHost = vals["mail_smtp_host"]
	s.SMTPPort = n("mail_smtp_port")
	s.SMTPTLS = vals["mail_smtp_tls"]
	s.SMTPUsername = vals["mail_smtp_username"]
	s.SMTPPassword = vals["mail_smtp_password"]
	s.MailFrom = vals["mail_from"]
	s.SiteName = vals["site_name"]
	s.AccessDefaultPolicy = vals["access_default_policy"]
	s.AccentColor = vals["site_accent_color"]
	s.FooterLabel = vals["site_footer_label"]
	s.FooterURL = vals["site_footer_url"]
	s.Logo = vals["site_logo"]
	return s, warnings
}

// Public returns every setting as typed JSON values, write-only ones left out.
func (s *Settings) Public(cookieSecure bool) map[string]any {
	out := map[string]any{}
	for _, d := range SettingDefs(cookieSecure) {
		v := s.raw[d.Key]
		if d.Internal {
			continue
		}
		switch d.Type {
		case TypeSecret:
			continue
		case TypeBool:
			out[d.Key] = v == "true"
		case TypeInt:
			i, _ := strconv.ParseInt(v, 10, 64)
			out[d.Key] = i
		default:
			out[d.Key] = v
		}
	}
	return out
}

// SettingsPatch is a change of runtime settings, each value typed like its setting: bool for
// TypeBool, int64 for TypeInt, string for every other type. A value of another Go type (a float,
// nil, a string for a number) is refused by ValidateSettingsPatch, naming the setting; so the
// transports pass on what they were given and never convert it to another type themselves.
type SettingsPatch map[string]any

// ValidateSettingsPatch checks every value of a patch against its definition and the current
// snapshot and returns the normalized text values to store. Any error names the key; on error
// nothing is to be saved.
func ValidateSettingsPatch(patch SettingsPatch, cur *Settings, cookieSecure bool) (map[string]string, error) {
	if len(patch) == 0 {
		return nil, Errorf(EInvalid, "no settings given")
	}
	defs := map[string]SettingDef{}
	for _, d := range SettingDefs(cookieSecure) {
		defs[d.Key] = d
	}
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic: the first bad key in name order is reported
	out := map[string]string{}
	for _, k := range keys {
		d, ok := defs[k]
		if !ok || d.Internal {
			return nil, &Error{Code: EInvalid, Field: k, Message: fmt.Sprintf("unknown setting %q", k)}
		}
		text, err := d.fromValue(patch[k])
		if err == nil {
			text, err = d.normalize(text)
		}
		if err != nil {
			return nil, &Error{Code: EInvalid, Field: k, Message: fmt.Sprintf("%s: %s", k, errMessage(err))}
		}
		if d.Type == TypeSecret && text == "" {
			continue // write-only values: empty means "keep the current one"
		}
		out[k] = text
	}
	// Cross-field rules, checked against the merged result.
	merged := func(k string) string {
		if v, ok := out[k]; ok {
			return v
		}
		return cur.raw[k]
	}
	minL, _ := strconv.Atoi(merged("auth_password_min_length"))
	maxL, _ := strconv.Atoi(merged("auth_password_max_length"))
	if minL > maxL {
		k := "auth_password_min_length"
		if _, ok := out[k]; !ok {
			k = "auth_password_max_length"
		}
		return nil, &Error{Code: EInvalid, Field: k, Message: fmt.Sprintf("%s: minimum password length (%d) is above the maximum (%d)", k, minL, maxL)}
	}
	// A footer link needs both its text and its address.
	if label, link := merged("site_footer_label"), merged("site_footer_url"); (label == "") != (link == "") {
		k, other := "site_footer_url", "text"
		if label == "" {
			k, other = "site_footer_label", "address"
		}
		return nil, &Error{Code: EInvalid, Field: k, Message: fmt.Sprintf("%s: a footer link needs both a text and an address; give this one as well as the %s, or clear both", k, other)}
	}
	return out, nil
}

func errMessage(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Message
	}
	return err.Error()
}

// fromValue turns a value of the setting's type into text.
func (d SettingDef) fromValue(v any) (string, error) {
	switch d.Type {
	case TypeBool:
		b, ok := v.(bool)
		if !ok {
			return "", Errorf(EInvalid, "must be true or false")
		}
		return strconv.FormatBool(b), nil
	case TypeInt:
		n, ok := v.(int64)
		if !ok {
			return "", Errorf(EInvalid, "must be a whole number")
		}
		return strconv.FormatInt(n, 10), nil
	default:
		s, ok := v.(string)
		if !ok {
			return "", Errorf(EInvalid, "must be a string")
		}
		return s, nil
	}
}

// normalize validates a text value and returns its canonical form.
func (d SettingDef) normalize(v string) (string, error) {
	switch d.Type {
	case TypeBool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "", Errorf(EInvalid, "must be true or false")
		}
		return strconv.FormatBool(b), nil
	case TypeInt:
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", Errorf(EInvalid, "must be a whole number")
		}
		if i < d.Min || (d.Max != 0 && i > d.Max) {
			return "", Errorf(EInvalid, "must be between %d and %d", d.Min, d.Max)
		}
		return strconv.FormatInt(i, 10), nil
	case TypeEnum:
		if !slices.Contains(d.Options, v) {
			return "", Errorf(EInvalid, "must be one of %s", strings.Join(d.Options, ", "))
		}
		return v, nil
	case TypeDuration:
		if _, err := ParseDuration(v); err != nil {
			return "", err
		}
		return strings.TrimSpace(v), nil
	case TypeColor:
		return normalizeColor(v)
	case TypeLink:
		return normalizeLink(v)
	default:
		if len(v) > 1024 || strings.ContainsAny(v, "\r\n\x00") {
			return "", Errorf(EInvalid, "must be one line of at most 1024 characters")
		}
		return strings.TrimSpace(v), nil
	}
}

// MailConfigured reports whether mail can be sent: an SMTP host and a From address.
func (s *Settings) MailConfigured() bool { return s.SMTPHost != "" && s.MailFrom != "" }

// Warnings name combinations of settings that are valid but will not work as intended. The API
// (the "warnings" of /api/admin/settings) and the settings page show these same sentences.
func (s *Settings) Warnings() []string {
	if s.AllowRegistration && s.ActivationEnabled && !s.MailConfigured() {
		return []string{"Public registration is on (auth_allow_user_registration) but mail delivery is not configured (mail_smtp_host, mail_from): registered accounts cannot receive their activation mail."}
	}
	return nil
}
