// Package passkey adapts github.com/go-webauthn/webauthn to gatehouse: it derives the relying
// party from server.public_url, fixes the ceremony options gatehouse uses (discoverable
// credentials, user verification required, no attestation) and turns the library's session data
// and credential records into bytes the store keeps. It knows nothing of users, sessions or HTTP.
package passkey

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Timeout is how long the browser's dialog may stay open; the server-side ceremony lives as long.
const Timeout = 5 * time.Minute

// RP is the WebAuthn relying party of one public URL.
type RP struct {
	w      *webauthn.WebAuthn
	id     string
	origin string
}

// New returns the relying party of the public URL. The error says, in a sentence an operator
// can act on, why passkeys cannot work with this URL: an IP address is not a valid RP ID, and
// browsers offer WebAuthn only in secure contexts (HTTPS, or http://localhost).
func New(public *url.URL, displayName string) (*RP, error) {
	if public == nil || public.Host == "" {
		return nil, errors.New("server.public_url is not set, so passkeys are off")
	}
	host := strings.ToLower(public.Hostname())
	if net.ParseIP(host) != nil {
		return nil, fmt.Errorf("server.public_url uses the IP address %s; WebAuthn needs a domain name as relying party ID, so passkeys are off (use a host name, e.g. localhost or login.example.com)", host)
	}
	local := host == "localhost" || strings.HasSuffix(host, ".localhost")
	switch {
	case public.Scheme == "https":
	case public.Scheme == "http" && local:
	default:
		return nil, fmt.Errorf("server.public_url is %s://%s; browsers offer passkeys only over HTTPS (plain HTTP only on localhost), so passkeys are off", public.Scheme, public.Host)
	}
	if err := protocol.ValidateRPID(host); err != nil {
		return nil, fmt.Errorf("server.public_url host %q is not a valid WebAuthn relying party ID (%v), so passkeys are off", host, err)
	}
	origin := public.Scheme + "://" + strings.ToLower(public.Host)
	if displayName == "" {
		displayName = "gatehouse"
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID:          host,
		RPDisplayName: displayName,
		RPOrigins:     []string{origin},
		// Discoverable credentials (sign-in without a username) and user verification always:
		// a passkey sign-in skips the TOTP step, so the authenticator's PIN or biometric is the
		// second factor.
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		// Expiry is enforced by gatehouse with its own clock (the ceremony row), not by the
		// library's wall clock; the timeouts only tell the browser how long to wait.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: Timeout, TimeoutUVD: Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: Timeout, TimeoutUVD: Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("server.public_url cannot be used for passkeys: %w", err)
	}
	return &RP{w: w, id: host, origin: origin}, nil
}

// ID is the relying party ID (the public URL's host).
func (rp *RP) ID() string { return rp.id }

// Origin is the only origin accepted in client data.
func (rp *RP) Origin() string { return rp.origin }

// User is a gatehouse account as WebAuthn sees it. Handle is the random user handle stored for
// the account; discoverable sign-in matches it byte for byte.
type User struct {
	Handle      []byte
	Name        string
	DisplayName string
	Credentials []webauthn.Credential
}

// WebAuthnID implements webauthn.User.
func (u *User) WebAuthnID() []byte { return u.Handle }

// WebAuthnName implements webauthn.User.
func (u *User) WebAuthnName() string { return u.Name }

// WebAuthnDisplayName implements webauthn.User.
func (u *User) WebAuthnDisplayName() string { return u.DisplayName }

// WebAuthnCredentials implements webauthn.User.
func (u *User) WebAuthnCredentials() []webauthn.Credential { return u.Credentials }

// BeginRegistration returns the creation options (the publicKey member for
// navigator.credentials.create) and the session data to keep server-side. The user's existing
// credentials are excluded so one authenticator is not registered twice.
func (rp *RP) BeginRegistration(u *User) (options json.RawMessage, session []byte, err error) {
	creation, sd, err := rp.w.BeginRegistration(u,
		webauthn.WithExclusions(webauthn.Credentials(u.Credentials).CredentialDescriptors()))
	if err != nil {
		return nil, nil, err
	}
	return marshalPair(creation.Response, sd)
}

// FinishRegistration verifies a PublicKeyCredential (JSON, as the browser script sends it)
// against the session data and returns the new credential record.
func (rp *RP) FinishRegistration(u *User, session, credential []byte) (*webauthn.Credential, error) {
	var sd webauthn.SessionData
	if err := json.Unmarshal(session, &sd); err != nil {
		return nil, fmt.Errorf("reading the ceremony: %w", err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return nil, err
	}
	return rp.w.CreateCredential(u, sd, parsed)
}

// BeginLogin returns request options for a discoverable sign-in (no allowCredentials: the
// browser offers every passkey it has for this RP) and the session data.
func (rp *RP) BeginLogin() (options json.RawMessage, session []byte, err error) {
	assertion, sd, err := rp.w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, nil, err
	}
	return marshalPair(assertion.Response, sd)
}

// FinishLogin verifies an assertion. lookup finds the account of a user handle (ok false when
// there is none). The returned credential is the updated record (sign count, flags) that must be
// stored; CloneWarning set on it means the sign count did not increase.
func (rp *RP) FinishLogin(session, credential []byte, lookup func(handle []byte) (*User, error)) (*User, *webauthn.Credential, error) {
	var sd webauthn.SessionData
	if err := json.Unmarshal(session, &sd); err != nil {
		return nil, nil, fmt.Errorf("reading the ceremony: %w", err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, nil, err
	}
	var found *User
	_, cred, err := rp.w.ValidatePasskeyLogin(func(rawID, handle []byte) (webauthn.User, error) {
		u, err := lookup(handle)
		if err != nil {
			return nil, err
		}
		found = u
		return u, nil
	}, sd, parsed)
	if err != nil {
		return nil, nil, err
	}
	return found, cred, nil
}

// Describe turns a library error into a short sentence for a client: the library's public
// details, never its developer information.
func Describe(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return pe.Details
	}
	return "the passkey response could not be verified"
}

// record is how a credential is stored: the library's JSON plus the raw flags byte, which its
// JSON form does not carry.
type record struct {
	Credential webauthn.Credential `json:"credential"`
	Flags      byte                `json:"flags"`
}

// Encode serializes a credential record for the store.
func Encode(c *webauthn.Credential) ([]byte, error) {
	cc := *c
	// A clone warning belongs to one sign-in, not to the record.
	cc.Authenticator.CloneWarning = false
	return json.Marshal(record{Credential: cc, Flags: byte(c.Flags.ProtocolValue())})
}

// Decode reads a stored credential record.
func Decode(b []byte) (webauthn.Credential, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return webauthn.Credential{}, fmt.Errorf("reading a stored passkey: %w", err)
	}
	c := r.Credential
	c.Flags = webauthn.NewCredentialFlags(protocol.AuthenticatorFlags(r.Flags))
	c.Authenticator.CloneWarning = false
	return c, nil
}

func marshalPair(options any, sd *webauthn.SessionData) (json.RawMessage, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, err
	}
	s, err := json.Marshal(sd)
	if err != nil {
		return nil, nil, err
	}
	return o, s, nil
}
