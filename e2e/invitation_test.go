package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// TestBrowserInvitation: an administrator invites ann@example.com into ops on the Invitations
// page, with public registration closed; ann opens the link in her own browser, chooses a
// username and password, and is signed in at once (no activation: the link proves the address)
// and in ops; the link then no longer works, and the list says so.
func TestBrowserInvitation(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", pw)
	if r := admin.Do("POST", "/api/admin/groups", map[string]any{"name": "ops"}); r.Status != 201 {
		t.Fatalf("group: %d %s", r.Status, r.Body)
	}
	ctx := browser(t)
	signIn(t, ctx, e.URL, "alice", pw)
	run(t, ctx,
		chromedp.Navigate(e.URL+"/admin/invitations"),
		chromedp.WaitVisible(chromedp.CSS(`#f-email`)),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "ann@example.com"),
		chromedp.Click(chromedp.CSS(`input[name="group"][value="ops"]`)),
		chromedp.Submit(chromedp.CSS(`#f-email`)),
		chromedp.WaitVisible(chromedp.CSS(`#invitation-url`)),
	)
	link := strings.TrimSpace(text(t, ctx, "#invitation-url"))
	if !strings.Contains(link, "/invite?token=") {
		t.Fatalf("the page shows %q as the link", link)
	}
	if copyShown := get(t, ctx, chromedp.Evaluate[bool](`!document.querySelector("button[data-copy=invitation-url]").hidden`)); !copyShown {
		t.Log("no clipboard in this browser: the copy button stays hidden")
	}

	ann := another(t, ctx)
	run(t, ann,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`#f-username`)),
	)
	if email := get(t, ann, chromedp.Evaluate[string](`document.querySelector("#f-email").value`)); email != "ann@example.com" {
		t.Fatalf("the fixed email shows as %q", email)
	}
	run(t, ann,
		chromedp.SendKeys(chromedp.CSS(`#f-username`), "ann"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		chromedp.SendKeys(chromedp.CSS(`#f-password-confirm`), pw),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
	)
	waitLocation(t, ann, "/settings/security")
	run(t, ann, chromedp.WaitVisible(chromedp.CSS(`.sessions`)))
	if body := text(t, ann, "main"); !strings.Contains(body, "ops") {
		t.Fatalf("ann's security page does not show her group: %q", body)
	}

	// Single use: the link is dead now, for anyone.
	other := another(t, ctx)
	run(t, other, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if h := text(t, other, "h1"); h != "Invitation not valid" {
		t.Fatalf("a used link shows %q", h)
	}
	run(t, ctx, chromedp.Navigate(e.URL+"/admin/invitations"), chromedp.WaitVisible(chromedp.CSS(`tbody`)))
	if row := text(t, ctx, "tbody tr:first-child"); !strings.Contains(row, "ann@example.com") || !strings.Contains(row, "1 of 1") || !strings.Contains(row, "used") {
		t.Fatalf("the list row: %q", row)
	}
}
