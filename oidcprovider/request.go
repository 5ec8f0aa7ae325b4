package oidcprovider

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse/gatehouse"
)

// Authentication context class references the provider reports and accepts in acr_values.
const (
	ACROneFactor = "1fa" // password, external provider
	ACRTwoFactor = "2fa" // a second factor (TOTP, recovery code) or a passkey
)

// authRequest is an authorization request as stored (gatehouse.OPAuthRequest.Data) and as the
// op package sees it (op.AuthRequest).
type authRequest struct {
	ID        string    `json:"-"`
	CreatedAt time.Time `json:"-"`

	ClientID      string                   `json:"client_id"`
	RedirectURI   string                   `json:"redirect_uri"`
	Scopes        []string                 `json:"scopes"`
	State         string                   `json:"state"`
	Nonce         string                   `json:"nonce"`
	ResponseType  oidc.ResponseType        `json:"response_type"`
	ResponseMode  oidc.ResponseMode        `json:"response_mode,omitempty"`
	Challenge     string                   `json:"code_challenge,omitempty"`
	ChallengeMeth oidc.CodeChallengeMethod `json:"code_challenge_method,omitempty"`
	Prompt        []string                 `json:"prompt,omitempty"`
	MaxAge        *uint                    `json:"max_age,omitempty"`
	ACRValues     []string                 `json:"acr_values,omitempty"`
	HintSubject   string                   `json:"hint_subject,omitempty"`

	// Set when the sign-in completed (login.go).
	UserID    int64     `json:"user_id,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	AuthTime  time.Time `json:"auth_time,omitzero"`
	AMR       []string  `json:"amr,omitempty"`
	ACR       string    `json:"acr,omitempty"`
	IsDone    bool      `json:"done,omitempty"`
}

func newAuthRequest(id string, now time.Time, r *oidc.AuthRequest, hintSubject string) *authRequest {
	return &authRequest{
		ID: id, CreatedAt: now, ClientID: r.ClientID, RedirectURI: r.RedirectURI, Scopes: r.Scopes, State: r.State,
		Nonce: r.Nonce, ResponseType: r.ResponseType, ResponseMode: r.ResponseMode, Challenge: r.CodeChallenge,
		ChallengeMeth: r.CodeChallengeMethod, Prompt: r.Prompt, MaxAge: r.MaxAge, ACRValues: r.ACRValues, HintSubject: hintSubject,
	}
}

func decodeAuthRequest(row *gatehouse.OPAuthRequest) (*authRequest, error) {
	var a authRequest
	if err := json.Unmarshal(row.Data, &a); err != nil {
		return nil, err
	}
	a.ID, a.CreatedAt = row.ID, row.CreatedAt
	return &a, nil
}

func (a *authRequest) encode() []byte { b, _ := json.Marshal(a); return b }

func (a *authRequest) GetID() string          { return a.ID }
func (a *authRequest) GetACR() string         { return a.ACR }
func (a *authRequest) GetAMR() []string       { return a.AMR }
func (a *authRequest) GetAudience() []string  { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.AuthTime }
func (a *authRequest) GetClientID() string    { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.Challenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.Challenge, Method: a.ChallengeMeth}
}
func (a *authRequest) GetNonce() string                   { return a.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.Scopes }
func (a *authRequest) GetState() string                   { return a.State }
func (a *authRequest) GetSubject() string                 { return a.Subject }
func (a *authRequest) Done() bool                         { return a.IsDone }

func (a *authRequest) hasPrompt(p string) bool { return slices.Contains(a.Prompt, p) }

// wantsTwoFactor reports whether acr_values asks for a second factor.
func (a *authRequest) wantsTwoFactor() bool {
	return slices.Contains(a.ACRValues, ACRTwoFactor) && !slices.Contains(a.ACRValues, ACROneFactor)
}

// grant is what a grant row's Data holds, and the op package's view of a refresh request
// (op.RefreshTokenRequest) and ID token request.
type grant struct {
	ID        string    `json:"-"`
	SessionID string    `json:"-"`
	UserID    int64     `json:"-"`
	ExpiresAt time.Time `json:"-"`

	ClientID string    `json:"client_id"`
	Subject  string    `json:"subject"`
	Scopes   []string  `json:"scopes"`
	AuthTime time.Time `json:"auth_time"`
	AMR      []string  `json:"amr,omitempty"`
	ACR      string    `json:"acr,omitempty"`
}

func decodeGrant(row *gatehouse.OPGrant) (*grant, error) {
	var g grant
	if err := json.Unmarshal(row.Data, &g); err != nil {
		return nil, err
	}
	g.ID, g.SessionID, g.UserID, g.ExpiresAt = row.ID, row.SessionID, row.UserID, row.ExpiresAt
	return &g, nil
}

func (g *grant) encode() []byte { b, _ := json.Marshal(g); return b }

func (g *grant) GetAMR() []string                 { return g.AMR }
func (g *grant) GetAudience() []string            { return []string{g.ClientID} }
func (g *grant) GetAuthTime() time.Time           { return g.AuthTime }
func (g *grant) GetClientID() string              { return g.ClientID }
func (g *grant) GetScopes() []string              { return g.Scopes }
func (g *grant) GetSubject() string               { return g.Subject }
func (g *grant) SetCurrentScopes(scopes []string) { g.Scopes = scopes }

// amrOf maps how a gatehouse session signed in to RFC 8176 method references and an acr.
func amrOf(method string) ([]string, string) {
	switch method {
	case gatehouse.AuthTOTP:
		return []string{"pwd", "otp", "mfa"}, ACRTwoFactor
	case gatehouse.AuthRecoveryCode:
		return []string{"pwd", "mfa"}, ACRTwoFactor
	case gatehouse.AuthPasskey:
		return []string{"hwk", "user", "mfa"}, ACRTwoFactor
	case gatehouse.AuthExternal:
		return []string{"fed"}, ACROneFactor
	default:
		return []string{"pwd"}, ACROneFactor
	}
}

// factorAMR is what one factor alone contributes to amr. A recovery code has no RFC 8176 value
// of its own ("otp" is HOTP/TOTP); "fed" (an external provider) is gatehouse's own, unregistered.
func factorAMR(method string) []string {
	switch method {
	case gatehouse.AuthPassword:
		return []string{"pwd"}
	case gatehouse.AuthTOTP:
		return []string{"otp"}
	case gatehouse.AuthPasskey:
		return []string{"hwk", "user"}
	case gatehouse.AuthExternal:
		return []string{"fed"}
	}
	return nil
}

// sessionAMR is amrOf for a session, which a step-up may have given a second factor after a
// one-factor sign-in: amr then lists both, as RFC 8176 asks (["pwd", "otp", "mfa"] after a code,
// ["pwd", "hwk", "user", "mfa"] after a passkey, ["fed", "otp", "mfa"] after an external
// sign-in and a code), not only the factor that came last.
func sessionAMR(s *gatehouse.Session) ([]string, string) {
	if s.UpgradedAt == nil || s.FirstAuthMethod == "" {
		// Never stepped up, or stepped up before the first method was kept: what it signed in with.
		return amrOf(s.AuthMethod)
	}
	amr := factorAMR(s.FirstAuthMethod)
	for _, v := range factorAMR(s.AuthMethod) {
		if !slices.Contains(amr, v) {
			amr = append(amr, v)
		}
	}
	return append(amr, "mfa"), ACRTwoFactor
}
