package gatehouse

import (
	"context"
	"time"
)

// OIDCProvider is an external OpenID Connect provider. The client secret is stored only sealed
// (AES-GCM under a key derived from auth.mfa_secret_key) and never leaves the server.
type OIDCProvider struct {
	// ID is a slug (lowercase letters, digits, dashes) used in the redirect URI.
	ID                    string
	Name                  string
	Issuer                string
	ClientID              string
	ClientSecretSealed    []byte
	Scopes                []string
	AutoBindVerifiedEmail bool
	AutoCreateUsers       bool
	Enabled               bool
	// TokenAuthMethod is how the client secret reaches the token endpoint: client_secret_basic
	// (the default) or client_secret_post; it must match the client's registration.
	TokenAuthMethod string
	// AllowedEmailDomains, when not empty, limits auto-create and auto-bind to identities whose
	// email is at one of these domains (lowercase, exact match).
	AllowedEmailDomains []string
	// DefaultGroupIDs are the groups a user created through this provider joins (by id, so a
	// group's rename keeps them); a group deleted since is skipped.
	DefaultGroupIDs []int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// ExternalIdentity binds a provider's subject to a local user.
type ExternalIdentity struct {
	ID         int64
	UserID     int64
	ProviderID string
	Subject    string
	// Email is what the provider said when the identity was last used; informational only.
	Email      string
	BoundAt    time.Time
	LastUsedAt *time.Time
}

// OIDCFlow is a pending authorization request, kept server-side between the redirect to the
// provider and the callback. Only hashes of the state and of the browser-binding cookie are kept.
type OIDCFlow struct {
	StateHash   []byte
	BrowserHash []byte
	ProviderID  string
	Nonce       string
	Verifier    string // PKCE code verifier
	RD          string // a safe redirect target, or ""
	// LinkUserID is set when a signed-in user started the flow to link an identity.
	LinkUserID int64
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// ExternalStore keeps providers, identities and pending flows.
type ExternalStore interface {
	// CreateProvider inserts p; EConflict (Field "id") when the id is taken.
	CreateProvider(ctx context.Context, p *OIDCProvider) error
	// ProviderByID returns ENotFound when there is none.
	ProviderByID(ctx context.Context, id string) (*OIDCProvider, error)
	// ListProviders returns every provider ordered by name, then id.
	ListProviders(ctx context.Context) ([]*OIDCProvider, error)
	// UpdateProvider replaces every field of the provider except ID and CreatedAt; ENotFound.
	UpdateProvider(ctx context.Context, p *OIDCProvider) error
	// DeleteProvider removes the provider, its identities and its pending flows; ENotFound.
	DeleteProvider(ctx context.Context, id string) error

	// CreateIdentity inserts i and sets its ID; EConflict (Field "subject") when the provider's
	// subject is already bound; ENotFound when the user or provider is gone.
	CreateIdentity(ctx context.Context, i *ExternalIdentity) error
	// IdentityBySubject returns ENotFound when the subject is not bound.
	IdentityBySubject(ctx context.Context, providerID, subject string) (*ExternalIdentity, error)
	// ListIdentities returns the user's identities ordered by ID.
	ListIdentities(ctx context.Context, userID int64) ([]*ExternalIdentity, error)
	// TouchIdentity records a use and the email the provider gave; ENotFound.
	TouchIdentity(ctx context.Context, id int64, email string, at time.Time) error
	// DeleteIdentity removes the user's identity id; ENotFound when the user has no such identity.
	DeleteIdentity(ctx context.Context, userID, id int64) error
	// DeleteProviderIdentities unbinds every identity of a provider (its issuer changed: subjects
	// are unique only per issuer) and returns how many went.
	DeleteProviderIdentities(ctx context.Context, providerID string) (int, error)
	// UsersByEmail returns at most limit users whose normalized email is email.
	UsersByEmail(ctx context.Context, email string, limit int) ([]*User, error)

	// CreateOIDCFlow stores a pending flow and drops flows that expired before f.CreatedAt.
	CreateOIDCFlow(ctx context.Context, f *OIDCFlow) error
	// TakeOIDCFlow deletes and returns the flow with this state hash, so a state is used once;
	// ENotFound when there is none or it expired at now (an expired row is deleted too).
	TakeOIDCFlow(ctx context.Context, stateHash []byte, now time.Time) (*OIDCFlow, error)
}
