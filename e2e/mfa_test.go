package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// TestBrowserMFA enables MFA on the security page (reading the key from the page and computing
// codes as an authenticator app would), signs out, signs in with a code, then with a recovery
// code.
func TestBrowserMFA(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	e.Setup("alice", "alice@example.com", pw)
	ctx := browser(t)
	signIn := func() {
		run(t, ctx,
			chromedp.Navigate(e.URL+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
			chromedp.SendKeys(chromedp.CSS(`#f-login`), "alice"),
			chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
			chromedp.Submit(chromedp.CSS(`#f-password`)),
			chromedp.WaitVisible(chromedp.CSS(`#f-code`)),
		)
	}
	run(t, ctx,
		chromedp.Navigate(e.URL+"/login?rd="+e.URL+"/settings/security"),
		chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`#h-mfa`)),
	)

	// Set up: the QR code loads as an image under the page's CSP, the key is shown for manual entry.
	run(t, ctx, chromedp.Click(chromedp.CSS(`#mfa button.primary`)), chromedp.WaitVisible(chromedp.CSS(`#f-mfa-code`)))
	get(t, ctx, chromedp.Poll[bool](`document.querySelector("img.qr").complete && document.querySelector("img.qr").naturalWidth > 0`))
	if w := get(t, ctx, chromedp.Evaluate[int](`document.querySelector("img.qr").naturalWidth`)); w != 240 {
		t.Fatalf("QR code image width %d, want 240", w)
	}
	if a := get(t, ctx, chromedp.Evaluate[string](`document.querySelector("#f-mfa-code").getAttribute("autocomplete")`)); a != "one-time-code" {
		t.Fatalf("code field autocomplete %q", a)
	}
	screenshot(t, ctx, "mfa-setup")
	secret := strings.TrimSpace(text(t, ctx, "#mfa-secret"))
	first, err := totp.GenerateCode(secret, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-mfa-code`), first),
		chromedp.Submit(chromedp.CSS(`#f-mfa-code`)),
		chromedp.WaitVisible(chromedp.CSS(`#recovery-codes`)),
	)
	codes := strings.Fields(text(t, ctx, "#recovery-codes"))
	if len(codes) != 10 {
		t.Fatalf("recovery codes on the page: %v", codes)
	}
	// The copy button is shown by the script (CSP allows it) and copies the codes to the
	// clipboard; the download link is there.
	grantClipboard(t, ctx, e.URL)
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`button[data-copy]`)), chromedp.Click(chromedp.CSS(`button[data-copy]`)))
	get(t, ctx, chromedp.Poll[bool](`document.querySelector("button[data-copy]").textContent !== "Copy codes"`))
	if b := text(t, ctx, "button[data-copy]"); b != "Copied" {
		t.Fatalf("copy button says %q", b)
	}
	if c := strings.Fields(get(t, ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))); strings.Join(c, " ") != strings.Join(codes, " ") {
		t.Fatalf("clipboard holds %q, want the codes %q", c, codes)
	}
	if d := get(t, ctx, chromedp.Evaluate[string](`document.querySelector("a[download]").getAttribute("download")`)); d != "gatehouse-recovery-codes.txt" {
		t.Fatalf("download link %q", d)
	}
	screenshot(t, ctx, "mfa-recovery-codes")

	// Sign out; sign in again: after the password, the code step.
	signOut(t, ctx)
	signIn()
	if h := text(t, ctx, "h1"); h != "Two-step verification" {
		t.Fatalf("second step heading %q", h)
	}
	// The confirmation code is spent: refused, with attempts left said next to the field.
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-code`), first),
		chromedp.Submit(chromedp.CSS(`#f-code`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-code`)),
	)
	if m := text(t, ctx, "#e-code"); !strings.Contains(m, "attempts left") {
		t.Fatalf("replayed code message %q", m)
	}
	if id := activeID(t, ctx); id != "f-code" {
		t.Fatalf("focus after a wrong code: %q", id)
	}
	screenshot(t, ctx, "login-mfa")
	e.Clock.Advance(30 * time.Second)
	next, _ := totp.GenerateCode(secret, e.Clock.Now())
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-code`), next),
		chromedp.Submit(chromedp.CSS(`#f-code`)),
		chromedp.WaitVisible(chromedp.CSS(`#mfa-recovery-left`)),
	)
	if u := location(t, ctx); !strings.HasSuffix(u, "/settings/security") {
		t.Fatalf("after the code: %s", u)
	}
	if s := text(t, ctx, "#mfa-recovery-left"); !strings.HasPrefix(s, "10 recovery codes left.") {
		t.Fatalf("recovery codes left: %q", s)
	}

	// Sign out; sign in with a recovery code.
	signOut(t, ctx)
	signIn()
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`#use-recovery summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-recovery-code`)),
		chromedp.SendKeys(chromedp.CSS(`#f-recovery-code`), codes[0]),
		chromedp.Submit(chromedp.CSS(`#f-recovery-code`)),
	)
	waitLocation(t, ctx, "done=recovery")
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#mfa-recovery-left`)))
	if s := text(t, ctx, "#mfa-recovery-left"); !strings.HasPrefix(s, "9 recovery codes left.") {
		t.Fatalf("recovery codes left: %q", s)
	}
	if n := text(t, ctx, ".notice"); !strings.Contains(n, "recovery code") {
		t.Fatalf("notice %q", n)
	}
	// The same recovery code does not work twice.
	signOut(t, ctx)
	signIn()
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`#use-recovery summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-recovery-code`)),
		chromedp.SendKeys(chromedp.CSS(`#f-recovery-code`), codes[0]),
		chromedp.Submit(chromedp.CSS(`#f-recovery-code`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-recovery-code`)),
	)
	if m := text(t, ctx, "#e-recovery-code"); !strings.Contains(m, "already used") {
		t.Fatalf("reused recovery code message %q", m)
	}
}

// signOut uses the header's button and waits for the signed-out page (other pages show notices too).
func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx, chromedp.Click(chromedp.CSS(`.signout button`)))
	waitLocation(t, ctx, "signed_out=1")
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.notice`)))
}
