package auth_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
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
	Store gatehouse.Store
	Clock *testserver.Clock
	Meta  auth.ClientMeta
}

func newApp(t *testing.T) *app {
	t.Helper()
	store := testserver.OpenStore(t, "sqlite", testserver.NewDSN(t, "sqlite"))
	clock := testserver.NewClock()
	issuer, err := token.NewIssuer(testserver.Secret, clock)
	if err != nil {
		t.Fatal(err)
	}
	rp, err := oidc.New(testserver.MFASecretKey, nil, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	public, _ := url.Parse("https://gatehouse.example.com")
	a, err := auth.New(context.Background(), auth.Deps{Store: store, Hasher: password.NewHasher(testserver.FastParams(), 2, 8),
		Tokens: issuer, Limiter: ratelimit.NewMemory(clock.Now), Clock: clock, PublicURL: public,
		MFASecretKey: testserver.MFASecretKey, OIDC: rp})
	if err != nil {
		t.Fatal(err)
	}
	return &app{App: a, t: t, Store: store, Clock: clock, Meta: auth.ClientMeta{IP: "192.0.2.1", UserAgent: "test"}}
}

// setup creates the first administrator and returns a principal for them.
func (a *app) setup() *auth.Principal {
	a.t.Helper()
	tok, err := a.SignIn.SetupAdmin(context.Background(), auth.SetupRequest{Username: "alice", Email: "alice@example.com", Password: testPW}, a.Meta)
	if err != nil {
		a.t.Fatalf("setup: %v", err)
	}
	return a.bearer(tok)
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
	return a.bearer(tok)
}

func (a *app) bearer(tok *auth.Tokens) *auth.Principal {
	a.t.Helper()
	p, err := a.Core.AuthenticateBearer(context.Background(), tok.AccessToken, func() auth.ClientMeta { return a.Meta })
	if err != nil {
		a.t.Fatalf("bearer: %v", err)
	}
	return p
}

// code is the error code of err ("" for nil).
func code(err error) string {
	if err == nil {
		return ""
	}
	return gatehouse.ErrorCode(err)
}
