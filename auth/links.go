package auth

// Links builds every address auth hands out: the links in mail, the callback registered at
// OpenID providers, and where a finished flow returns to. The routes belong to http/ and web/,
// and so does the one implementation (http.NewLinks); auth names what it needs, never a path.
type Links interface {
	// The mail links carry tok; they fail when the server has no public URL.
	Activation(tok string) (string, error)
	PasswordReset(tok string) (string, error)
	EmailChange(tok string) (string, error)
	ExternalVerify(tok string) (string, error)
	RegistrationNotice(tok string) (string, error)
	// Invitation is the sign-up page of an invitation (shown to the administrator, not mailed).
	Invitation(tok string) (string, error)
	// OIDCCallback is a provider's redirect URI.
	OIDCCallback(providerID string) string
	// IdentityLinked is where linking an identity from the account's settings returns to.
	IdentityLinked() string
}
