package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// Issue #15 item 6: the SMTP password is stored sealed; a value an earlier version stored in
// clear text is sealed at the next start and still works; the settings answer never holds it.
func TestSMTPPasswordIsSealedAtRest(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	admin := a.setup()
	const pw = "smtp-pass-Z9q7"
	if err := a.Admin.PatchSettings(ctx, admin, gatehouse.SettingsPatch{"mail_smtp_password": pw}, a.Meta); err != nil {
		t.Fatal(err)
	}
	raw, err := a.Store.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v := raw["mail_smtp_password"]; v == "" || strings.Contains(v, pw) {
		t.Fatalf("stored mail_smtp_password = %q, want it sealed", v)
	}
	if got := a.Core.Settings().SMTPPassword; got != pw {
		t.Fatalf("the password in use = %q, want %q", got, pw)
	}
	if _, ok := a.Core.Settings().Public(true)["mail_smtp_password"]; ok {
		t.Fatal("the password is in the public settings")
	}

	// A clear-text value from before sealing: read as it is, sealed at the next start.
	if err := a.Store.UpdateSettings(ctx, map[string]string{"mail_smtp_password": "old-clear-pw"}, a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	b := a.sibling()
	if got := b.Core.Settings().SMTPPassword; got != "old-clear-pw" {
		t.Fatalf("after a restart the password in use = %q", got)
	}
	raw, _ = a.Store.Settings(ctx)
	if v := raw["mail_smtp_password"]; strings.Contains(v, "old-clear-pw") {
		t.Fatalf("the clear-text value was not sealed at start: %q", v)
	}
	if err := a.Background.PollChanges(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.Core.Settings().SMTPPassword; got != "old-clear-pw" {
		t.Fatalf("the first instance after the sealing = %q", got)
	}
}
