package web_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// addPasskey stores a passkey directly: the WebAuthn ceremony itself is tested in http/ (software
// authenticator) and e2e/ (Chromium); these tests are about the forms.
func addPasskey(t *testing.T, e *testserver.Env, uid int64, name string) *gatehouse.Passkey {
	t.Helper()
	p := &gatehouse.Passkey{UserID: uid, CredentialID: []byte(name), Name: name, Credential: []byte(`{}`), BackupEligible: true, CreatedAt: e.Clock.Now()}
	if err := e.Store.CreatePasskey(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPasskeyForms(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true, Localhost: true})
	admin, setup := e.Setup("alice", "alice@example.com", adminPW)
	aliceID := setup.User().ID
	bobID := e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	mine := addPasskey(t, e, aliceID, "MacBook")
	bobs := addPasskey(t, e, bobID, "Bob's YubiKey")
	used := e.Clock.Now().Add(time.Hour)
	upd := *mine
	upd.LastUsedAt = &used
	if err := e.Store.UpdatePasskeyUse(context.Background(), &upd, 0); err != nil {
		t.Fatal(err)
	}

	page := string(admin.Do("GET", "/settings/security", nil).Body)
	for _, want := range []string{"MacBook", "added 2026-11-22 12:00 UTC", "last used 2026-11-22 13:00 UTC", `id="passkey-add"`, `data-begin="/api/account/passkeys/begin"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("security page lacks %q", want)
		}
	}
	if strings.Contains(page, "Bob&#39;s YubiKey") {
		t.Fatal("another user's passkey is listed")
	}
	login := string(e.Client().Do("GET", "/login?rd=/admin", nil).Body)
	if !strings.Contains(login, `autocomplete="username webauthn"`) || !strings.Contains(login, `id="passkey-signin"`) {
		t.Fatal("login page lacks the passkey entry")
	}

	// Rename without JavaScript; a bad name is refused and nothing changes.
	r := admin.Form("/settings/security/passkeys/"+id(mine.ID)+"/rename", url.Values{"name": {""}})
	if r.Status != 400 || !strings.Contains(string(r.Body), "The passkey was not renamed") {
		t.Fatalf("empty name: %d", r.Status)
	}
	r = admin.Form("/settings/security/passkeys/"+id(mine.ID)+"/rename", url.Values{"name": {"Work laptop"}})
	if r.Status != 303 || !strings.Contains(r.Header.Get("Location"), "done=passkey_renamed") {
		t.Fatalf("rename: %d %v", r.Status, r.Header)
	}
	// Another user's passkey cannot be renamed or deleted through one's own page.
	if r := admin.Form("/settings/security/passkeys/"+id(bobs.ID)+"/rename", url.Values{"name": {"x"}}); r.Status != 404 {
		t.Fatalf("rename bob's: %d", r.Status)
	}
	if r := admin.Form("/settings/security/passkeys/"+id(bobs.ID)+"/delete", nil); r.Status != 404 {
		t.Fatalf("delete bob's: %d", r.Status)
	}
	// Cross-site form posts are refused.
	if r := admin.Form("/settings/security/passkeys/"+id(mine.ID)+"/delete", nil, "Sec-Fetch-Site", "cross-site"); r.Status != 403 {
		t.Fatalf("cross-site delete: %d", r.Status)
	}
	if r := admin.Form("/settings/security/passkeys/"+id(mine.ID)+"/delete", nil); r.Status != 303 {
		t.Fatalf("delete: %d", r.Status)
	}
	if ps, _ := e.Store.ListPasskeys(context.Background(), aliceID); len(ps) != 0 {
		t.Fatalf("after delete: %+v", ps)
	}

	// The admin's user page lists Bob's passkeys with a remove button that works.
	up := string(admin.Do("GET", "/admin/users/"+id(bobID), nil).Body)
	if !strings.Contains(up, "Bob&#39;s YubiKey") || !strings.Contains(up, "/admin/users/"+id(bobID)+"/passkeys/"+id(bobs.ID)+"/delete") {
		t.Fatal("admin user page lacks the passkey and its remove button")
	}
	bob, _ := e.Login("bob", "bob password 1")
	if r := bob.Form("/admin/users/"+id(bobID)+"/passkeys/"+id(bobs.ID)+"/delete", nil); r.Status != 403 {
		t.Fatalf("non-admin removal: %d", r.Status)
	}
	r = admin.Form("/admin/users/"+id(bobID)+"/passkeys/"+id(bobs.ID)+"/delete", nil)
	if r.Status != 303 || !strings.Contains(r.Header.Get("Location"), "done=passkey_deleted") {
		t.Fatalf("admin removal: %d %v", r.Status, r.Header)
	}
	if ps, _ := e.Store.ListPasskeys(context.Background(), bobID); len(ps) != 0 {
		t.Fatalf("bob's passkeys after removal: %+v", ps)
	}
	if up := string(admin.Do("GET", r.Header.Get("Location"), nil).Body); !strings.Contains(up, "The passkey is deleted") {
		t.Fatal("no notice after removal")
	}
	st := string(admin.Do("GET", "/admin/settings", nil).Body)
	if !strings.Contains(st, "Passkeys are <strong>on</strong>") {
		t.Fatal("admin settings page does not say passkeys are on")
	}
	if ev := string(admin.Do("GET", "/admin/events?kind=passkey.removed", nil).Body); !strings.Contains(ev, `value="passkey.clone_warning"`) || !strings.Contains(ev, "passkey.removed") {
		t.Fatal("events page lacks the passkey kinds")
	}
}

func id(n int64) string { return strconv.FormatInt(n, 10) }
