package auth

import (
	"context"
	"log/slog"

	"github.com/gatehouse/gatehouse"
)

// base is what every feature service holds: the Core, and its store, clock and logger for short.
type base struct {
	core  *Core
	store gatehouse.Store
	clock gatehouse.Clock
	log   *slog.Logger
}

func newBase(c *Core) base { return base{core: c, store: c.store, clock: c.clock, log: c.log} }

// SignIn is signing in: first-admin setup, password, the MFA step, passkeys, external providers
// (with the mail check before linking to an existing account).
type SignIn struct{ base }

// SignInDeps are what SignIn needs.
type SignInDeps struct{ Core *Core }

// NewSignIn builds the sign-in service.
func NewSignIn(d SignInDeps) *SignIn { return &SignIn{newBase(d.Core)} }

// Account is a signed-in user's self-service: sessions, password, TOTP, passkeys, linked
// identities, re-authentication.
type Account struct{ base }

// AccountDeps are what Account needs.
type AccountDeps struct{ Core *Core }

// NewAccount builds the account service.
func NewAccount(d AccountDeps) *Account { return &Account{newBase(d.Core)} }

// Admin is every use case of the administrators: users, their sessions and second factors,
// runtime settings, the event log, the mail console; and the CLI's bootstrap commands. Each use
// case with a principal checks it with requireAdmin (TestAdminUseCasesRefuseUsers).
type Admin struct {
	base
	activation activationSender
}

// activationSender mails a pending user a new activation link (Mail does).
type activationSender interface {
	sendActivation(ctx context.Context, u *gatehouse.User) error
}

// AdminDeps are what Admin needs.
type AdminDeps struct {
	Core       *Core
	Activation activationSender
}

// NewAdmin builds the admin service.
func NewAdmin(d AdminDeps) *Admin { return &Admin{base: newBase(d.Core), activation: d.Activation} }

// Mail is every flow that goes through a mailed link: registration and activation, password
// recovery, email change.
type Mail struct{ base }

// MailDeps are what Mail needs.
type MailDeps struct{ Core *Core }

// NewMail builds the mail-flow service.
func NewMail(d MailDeps) *Mail { return &Mail{newBase(d.Core)} }

// Providers is the administration of external OpenID Connect providers.
type Providers struct{ base }

// ProvidersDeps are what Providers needs.
type ProvidersDeps struct{ Core *Core }

// NewProviders builds the providers service.
func NewProviders(d ProvidersDeps) *Providers { return &Providers{newBase(d.Core)} }
