package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// An administrator brands the site in Chromium: a refused colour is named by its field; the
// accent colour then paints the primary buttons and the focus ring; the logo uploaded through
// the page's file field loads in the header of every page, signed in or not; the footer link
// shows. axe finds nothing serious on the branded pages (the branding page on a phone,
// light; the login page on a desktop, dark).
func TestBrowserBranding(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	e.Setup("alice", "alice@example.com", pw)
	ctx := browser(t)
	signIn(t, ctx, e.URL, "alice", pw)

	run(t, ctx, emulate(viewports[1], "light"), chromedp.Navigate(e.URL+"/admin/branding"), chromedp.WaitVisible(chromedp.CSS(`#f-site-name`)),
		chromedp.SetValue(chromedp.CSS(`#f-site-name`), "Acme Login"),
		chromedp.SetValue(chromedp.CSS(`#f-site-accent-color`), "#ffff00"),
		chromedp.SetValue(chromedp.CSS(`#f-site-footer-label`), "Help"),
		chromedp.SetValue(chromedp.CSS(`#f-site-footer-url`), "https://help.example.com/"),
		chromedp.Click(chromedp.CSS(`form[action$="/admin/branding"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`#ef-site-accent-color`)))
	screenshot(t, ctx, "admin-branding-error")
	run(t, ctx, chromedp.SetValue(chromedp.CSS(`#f-site-accent-color`), "#cc4400"),
		chromedp.Click(chromedp.CSS(`form[action$="/admin/branding"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))

	logo := filepath.Join(t.TempDir(), "logo.svg")
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="28" viewBox="0 0 120 28"><rect width="28" height="28" rx="6" fill="#cc4400"/><text x="36" y="20" font-family="sans-serif" font-size="16" fill="#808080">Acme</text></svg>`
	if err := os.WriteFile(logo, []byte(svg), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.SetUploadFiles(chromedp.CSS(`#f-logo`), []string{logo}),
		chromedp.Click(chromedp.CSS(`form[action$="/admin/branding/logo"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`.logo-preview`)))
	if n := text(t, ctx, ".notice"); n != "The logo is saved." {
		t.Fatalf("after the upload: %q", n)
	}
	screenshot(t, ctx, "admin-branding")

	anon := another(t, ctx)
	for _, c := range []struct {
		ctx  context.Context
		path string
	}{{ctx, "/settings/security"}, {anon, "/login"}} {
		run(t, c.ctx, emulate(viewports[1], "light"), chromedp.Navigate(e.URL+c.path), chromedp.WaitVisible(chromedp.CSS(`header .logo`)))
		got := get(t, c.ctx, chromedp.Evaluate[[]string](`(() => { const img = document.querySelector("header img.logo");
			const b = document.querySelector("button.primary"); const f = document.querySelector("footer.site-foot a");
			return [String(img.complete && img.naturalWidth), img.alt, b ? getComputedStyle(b).backgroundColor : "", f ? f.textContent + " " + f.href : "", document.title]; })()`))
		if got[0] != "120" || got[1] != "Acme Login" {
			t.Errorf("%s: the header logo did not load: width %s, alt %q", c.path, got[0], got[1])
		}
		if got[2] != "rgb(204, 68, 0)" {
			t.Errorf("%s: the primary button is %s, not the accent colour", c.path, got[2])
		}
		if got[3] != "Help https://help.example.com/" || got[4] == "" {
			t.Errorf("%s: footer %q, title %q", c.path, got[3], got[4])
		}
	}
	// The focus ring is drawn in the accent colour.
	run(t, anon, chromedp.Focus(chromedp.CSS(`#f-login`)))
	run(t, anon, chromedp.KeyEvent("\t"))
	if ring := get(t, anon, chromedp.Evaluate[string](`getComputedStyle(document.activeElement).outlineColor`)); ring != "rgb(204, 68, 0)" {
		t.Errorf("the focus ring is %s, not the accent colour", ring)
	}
	// Two axe runs, not every page in every size and scheme (they timed out on a loaded
	// machine): the admin's branding page on a phone in light mode, the signed-out login page
	// on a desktop in dark mode, the pairs the layout test also checks (both schemes' colours).
	run(t, ctx, emulate(viewports[0], "light"))
	checkPage(t, ctx, e.URL, pageCheck{"/admin/branding", "header img.logo"}, viewports[0].name+"/light", true)
	run(t, anon, emulate(viewports[1], "dark"))
	checkPage(t, anon, e.URL, pageCheck{"/login", "header img.logo"}, viewports[1].name+"/dark", true)
	run(t, anon, emulate(viewports[0], "dark"), chromedp.Navigate(e.URL+"/login"), chromedp.WaitVisible(chromedp.CSS(`header .logo`)))
	screenshot(t, anon, "login-branded-phone-dark")
}
