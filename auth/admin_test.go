package auth_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/mail"
)

// adminUseCases calls every admin use case as p. The table is checked against the methods of
// auth.Admin and auth.Providers by reflection (TestAdminUseCaseTableIsComplete), so a new admin
// use case cannot be added without a row here, and the row proves its permission check.
func adminUseCases(victim int64, victimSID string) map[string]func(context.Context, *app, *auth.Principal) error {
	meta := auth.ClientMeta{IP: "192.0.2.9"}
	name := "renamed"
	yes := true
	return map[string]func(context.Context, *app, *auth.Principal) error{
		"Admin.CreateInvitation": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.CreateInvitation(ctx, p, auth.InvitationRequest{MaxUses: 5}, meta)
			return err
		},
		"Admin.ListInvitations": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.ListInvitations(ctx, p)
			return err
		},
		"Admin.RevokeInvitation": func(ctx context.Context, a *app, p *auth.Principal) error {
			return a.Admin.RevokeInvitation(ctx, p, 1, meta)
		},
		"Admin.ListUsers": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, _, err := a.Admin.ListUsers(ctx, p, "", 1, 50)
			return err
		},
		"Admin.UserByID": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.UserByID(ctx, p, victim)
			return err
		},
		"Admin.UserSessions": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.UserSessions(ctx, p, victim)
			return err
		},
		"Admin.CreateUser": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.CreateUser(ctx, p, auth.CreateUserRequest{Username: "eve", Email: "eve@example.com", Password: testPW, Role: gatehouse.RoleAdmin}, meta)
			return err
		},
		"Admin.UpdateUser": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.UpdateUser(ctx, p, victim, auth.UserPatch{Disabled: &yes}, meta)
			return err
		},
		"Admin.ResetPassword": func(ctx context.Context, a *app, p *auth.Principal) error {
			return a.Admin.ResetPassword(ctx, p, victim, "a brand new password", meta)
		},
		"Admin.AdminResetMFA": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.AdminResetMFA(ctx, p, victim, meta)
			return err
		},
		"Admin.AdminPasskeys": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.AdminPasskeys(ctx, p, victim)
			return err
		},
		"Admin.AdminDeletePasskey": func(ctx context.Context, a *app, p *auth.Principal) error {
			return a.Admin.AdminDeletePasskey(ctx, p, victim, 1, meta)
		},
		"Admin.AdminRevokeSession": func(ctx context.Context, a *app, p *auth.Principal) error {
			return a.Admin.AdminRevokeSession(ctx, p, victimSID, meta)
		},
		"Admin.Settings": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.Settings(p)
			return err
		},
		"Admin.PatchSettings": func(ctx context.Context, a *app, p *auth.Principal) error {
			return a.Admin.PatchSettings(ctx, p, gatehouse.SettingsPatch{"site_name": name}, meta)
		},
		"Admin.SetLogo": func(ctx context.Context, a *app, p *auth.Principal) error {
			return a.Admin.SetLogo(ctx, p, []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), meta)
		},
		"Admin.DeleteLogo": func(ctx context.Context, a *app, p *auth.Principal) error {
			return a.Admin.DeleteLogo(ctx, p, meta)
		},
		"Admin.Dashboard": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.Dashboard(ctx, p)
			return err
		},
		"Admin.Events": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, _, err := a.Admin.Events(ctx, p, gatehouse.EventFilter{Limit: 10})
			return err
		},
		"Admin.SendTestMail": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.SendTestMail(ctx, p, "someone@example.com", meta)
			return err
		},
		"Admin.MailTemplates": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.MailTemplates(ctx, p)
			return err
		},
		"Admin.MailTemplate": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.MailTemplate(ctx, p, "test")
			return err
		},
		"Admin.PreviewMailTemplate": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.PreviewMailTemplate(ctx, p, "test", mail.Template{Subject: "s", Text: "t", HTML: "<p>h</p>"})
			return err
		},
		"Admin.SaveMailTemplate": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.SaveMailTemplate(ctx, p, "test", mail.Template{Subject: "s", Text: "t", HTML: "<p>h</p>"}, meta)
			return err
		},
		"Admin.ResetMailTemplate": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Admin.ResetMailTemplate(ctx, p, "test", meta)
			return err
		},
		"Admin.Outbox": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, _, err := a.Admin.Outbox(ctx, p, "", 1, 50)
			return err
		},
		"Admin.RetryMail": func(ctx context.Context, a *app, p *auth.Principal) error {
			return a.Admin.RetryMail(ctx, p, 1, meta)
		},
		"Admin.PendingUsers": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, _, err := a.Admin.PendingUsers(ctx, p, 1, 50)
			return err
		},
		"Admin.AdminResendActivation": func(ctx context.Context, a *app, p *auth.Principal) error {
			return a.Admin.AdminResendActivation(ctx, p, victim, meta)
		},
		"Admin.DeleteUser": func(ctx context.Context, a *app, p *auth.Principal) error {
			return a.Admin.DeleteUser(ctx, p, victim, meta)
		},
		"Providers.ListProviders": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Providers.ListProviders(ctx, p)
			return err
		},
		"Providers.GetProvider": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Providers.GetProvider(ctx, p, "corp")
			return err
		},
		"Providers.CreateProvider": func(ctx context.Context, a *app, p *auth.Principal) error {
			issuer := "http://127.0.0.1:1/nowhere"
			_, err := a.Providers.CreateProvider(ctx, p, auth.ProviderInput{Name: &name, Issuer: &issuer}, meta)
			return err
		},
		"Providers.UpdateProvider": func(ctx context.Context, a *app, p *auth.Principal) error {
			_, err := a.Providers.UpdateProvider(ctx, p, "corp", auth.ProviderInput{Name: &name}, meta)
			return err
		},
		"Providers.DeleteProvider": func(ctx context.Context, a *app, p *auth.Principal) error {
			return a.Providers.DeleteProvider(ctx, p, "corp", meta)
		},
	}
}

// operatorUseCases are the Admin methods the CLI calls on the host: they take no principal.
var operatorUseCases = map[string]bool{"Admin.BootstrapAdmin": true, "Admin.ResetPasswordCLI": true, "Admin.SeedDevAdmin": true}

func TestAdminUseCaseTableIsComplete(t *testing.T) {
	table := adminUseCases(0, "")
	principal := reflect.TypeFor[*auth.Principal]()
	for _, typ := range []reflect.Type{reflect.TypeFor[*auth.Admin](), reflect.TypeFor[*auth.Providers]()} {
		for m := range typ.Methods() {
			key := typ.Elem().Name() + "." + m.Name
			takes := false
			for in := range m.Type.Ins() {
				takes = takes || in == principal
			}
			_, inTable := table[key]
			switch {
			case operatorUseCases[key] && takes:
				t.Errorf("%s takes a principal: check it and add it to adminUseCases", key)
			case operatorUseCases[key]:
			case !inTable:
				t.Errorf("%s is not in adminUseCases: add a row, so its permission check is tested", key)
			case !takes:
				t.Errorf("%s takes no principal, so it cannot check one", key)
			}
		}
	}
}

// TestAdminUseCasesRefuseUsers calls every admin use case directly, as a signed-in user who is
// not an administrator: each answers forbidden and changes nothing. The same calls as an
// administrator get past the check, so the refusal is the permission check and not bad input.
func TestAdminUseCasesRefuseUsers(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	admin := a.setup()
	mallory := a.user(admin, "mallory")
	bob := a.user(admin, "bob")
	before := a.Core.Settings().SiteName
	for _, forged := range []*auth.Principal{mallory, nil, {}} {
		for key, call := range adminUseCases(bob.User.ID, bob.SessionID) {
			if err := call(ctx, a, forged); code(err) != gatehouse.EForbidden {
				t.Errorf("%s as %v: %v, want forbidden", key, forged, err)
			}
		}
	}
	u, err := a.Store.UserByID(ctx, bob.User.ID)
	if err != nil || u.Disabled || u.Role != gatehouse.RoleUser {
		t.Fatalf("bob after refused admin calls: %+v, %v", u, err)
	}
	if s, err := a.Store.SessionByID(ctx, bob.SessionID); err != nil || !s.Active(a.Clock.Now()) {
		t.Fatalf("bob's session after refused admin calls: %v", err)
	}
	if _, err := a.Store.UserByLogin(ctx, "eve"); !gatehouse.IsCode(err, gatehouse.ENotFound) {
		t.Fatalf("a refused CreateUser created eve: %v", err)
	}
	if got := a.Core.Settings().SiteName; got != before {
		t.Fatalf("a refused PatchSettings changed site_name to %q", got)
	}
	for key, call := range adminUseCases(bob.User.ID, bob.SessionID) {
		if err := call(ctx, a, admin); code(err) == gatehouse.EForbidden {
			t.Errorf("%s as the administrator: %v", key, err)
		}
	}
}
