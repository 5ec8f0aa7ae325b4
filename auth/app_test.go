package auth_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	ghttp "github.com/gatehouse/gatehouse/http"
	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/oidc"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/ratelimit"
	"github.com/gatehouse/gatehouse/token"
)

const testPW = "correct horse battery"

// app is the auth use cases over a real SQLite file and a fake clock, without HTTP: what the
// use-case tests of this package drive.
type app struct {
	*auth.App
	t     *testing.T
	dsn   string
	Store gatehouse.Store
	Clock *testserver.Clock
	Meta  auth.ClientMeta
	// tokens are the sign-in answers of setup and user, by username; admin is setup's principal.
	tokens map[string]*auth.Tokens
	admin  *auth.Principal
}

func newApp(t *testing.T) *app {
	t.Helper()
	dsn := testserver.NewDSN(t, "sqlite")
	a := &app{t: t, dsn: dsn, Store: testserver.OpenStore(t, "sqlite", dsn), Clock: testserver.NewClock(),
		Meta: auth.ClientMeta{IP: "192.0.2.1", UserAgent: "test"}, tokens: map[string]*auth.Tokens{}}
	a.App = a.build(a.Store)
	return a
}

// sibling is a second instance on the same database and clock, as behind a load balancer.
func (a *app) sibling() *app {
	a.t.Helper()
	b := *a
	b.Store = testserver.OpenStore(a.t, "sqlite", a.dsn)
	b.App = a.build(b.Store)
	return &b
}

func (a *app) build(store gatehouse.Store) *auth.App {
	a.t.Helper()
	issuer, err := token.NewIssuer(testserver.Secret, a.Clock)
	if err != nil {
		a.t.Fatal(err)
	}
	rp, err := oidc.New(testserver.MFASecretKey, nil, a.Clock.Now)
	if err != nil {
		a.t.Fatal(err)
	}
	public, _ := url.Parse("https://gatehouse.example.com")
	app, err := auth.New(context.Background(), auth.Deps{Store: store, Hasher: password.NewHasher(testserver.FastParams(), 2, 8),
		Tokens: issuer, Limiter: ratelimit.NewMemory(a.Clock.Now), Clock: a.Clock, PublicURL: public,
		MFASecretKey: testserver.MFASecretKey, OIDC: rp, Links: ghttp.NewLinks(public)})
	if err != nil {
		a.t.Fatal(err)
	}
	return app
}

// client is the request's client for the request check.
func (a *app) client() auth.ClientMeta { return a.Meta }

// setup creates the first administrator, alice, and returns a principal for her.
func (a *app) setup() *auth.Principal {
	a.t.Helper()
	tok, err := a.SignIn.SetupAdmin(context.Background(), auth.SetupRequest{Username: "alice", Email: "alice@example.com", Password: testPW}, a.Meta)
	if err != nil {
		a.t.Fatalf("setup: %v", err)
	}
	a.tokens["alice"] = tok
	a.admin = a.bearer(tok)
	return a.admin
}

// user creates a normal account (through the admin use case) and signs it in.
func (a *app) user(admin *auth.Principal, name string) *auth.Principal {
	a.t.Helper()
	ctx := context.Background()
	if _, err := a.Admin.CreateUser(ctx, admin, auth.CreateUserRequest{Username: name, Email: name + "@example.com", Password: testPW}, a.Meta); err != nil {
		a.t.Fatalf("create %s: %v", name, err)
	}
	tok, err := a.SignIn.Login(ctx, auth.LoginRequest{Login: name, Password: testPW}, a.Meta)
	if err != nil {
		a.t.Fatalf("login %s: %v", name, err)
	}
	a.tokens[name] = tok
	return a.bearer(tok)
}

func (a *app) bearer(tok *auth.Tokens) *auth.Principal {
	a.t.Helper()
	p, err := a.Core.AuthenticateBearer(context.Background(), tok.AccessToken, a.client)
	if err != nil {
		a.t.Fatalf("bearer: %v", err)
	}
	return p
}

// configureMail turns mail delivery on (nothing is delivered: no outbox loop runs).
func (a *app) configureMail() {
	a.t.Helper()
	patch := gatehouse.SettingsPatch{"mail_smtp_host": "127.0.0.1", "mail_from": "Gate <gate@example.com>"}
	if err := a.Admin.PatchSettings(context.Background(), a.admin, patch, a.Meta); err != nil {
		a.t.Fatalf("mail settings: %v", err)
	}
}

// events counts the recorded events of a kind.
func (a *app) events(kind string) int {
	a.t.Helper()
	es, _, err := a.Store.ListEvents(context.Background(), gatehouse.EventFilter{Kind: kind, Limit: 100})
	if err != nil {
		a.t.Fatal(err)
	}
	return len(es)
}

// code is the error code of err ("" for nil).
func code(err error) string {
	if err == nil {
		return ""
	}
	return gatehouse.ErrorCode(err)
}

func asError(err error, target **gatehouse.Error) bool { return errors.As(err, target) }
