package gatehouse

import (
	"context"
	"time"
)

// Proving an email address to link an external identity (docs/external-login.md, "Linking by
// email"): an external sign-in that matched no account may ask for a verification mail to the
// local account with the provider's address; the link in it binds the identity.

// TokenExternalVerify is the one-time link kind of the external-authentication verification mail.
// Its OneTimeToken.Data holds the identity to bind (JSON, written and read by auth).
const TokenExternalVerify = "external_verify"

// ExternalPending is an external identity that matched no account, kept server-side for a short
// while so that the browser that brought it can ask for the verification mail. Only the hash of
// the browser's cookie is stored.
type ExternalPending struct {
	BrowserHash []byte
	ProviderID  string
	Subject     string
	Email       string // as the provider gave it, normalized
	RD          string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// ExternalVerifyStore keeps pending external identities.
type ExternalVerifyStore interface {
	// CreateExternalPending stores p and drops pending identities that expired before p.CreatedAt.
	CreateExternalPending(ctx context.Context, p *ExternalPending) error
	// ExternalPendingByHash returns the pending identity of this browser hash if it has not
	// expired at now; ENotFound otherwise. It is not used up: the browser may ask again after the
	// resend cooldown.
	ExternalPendingByHash(ctx context.Context, browserHash []byte, now time.Time) (*ExternalPending, error)
}
