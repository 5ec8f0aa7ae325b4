package e2e

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/oidctest"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// axe-core, vendored (testdata/axe/README.md): injected into each page to find accessibility
// violations the way a screen-reader user would meet them.
//
//go:embed testdata/axe/axe.min.js
var axeSource string

type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var viewports = []viewport{{"phone", 390, 844, true}, {"desktop", 1280, 900, false}}

// emulate sets the window size and the colour scheme the pages are drawn for.
func emulate(vp viewport, scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: vp.width, Height: vp.height, DeviceScaleFactor: 1, Mobile: vp.mobile}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

// pageCheck is one page to look at, and the element that must be visible on it (an empty-state
// message, a table's first column) so a layout rule cannot hide it.
type pageCheck struct {
	path    string
	visible string
}

// checkPage fails when the page scrolls sideways, when want is not visible, or when axe finds a
// serious or critical violation.
func checkPage(t *testing.T, ctx context.Context, base string, p pageCheck, label string, withAxe bool) {
	t.Helper()
	run(t, ctx, chromedp.Navigate(base+p.path), chromedp.WaitReady(chromedp.CSS(`main`)))
	checkCurrent(t, ctx, p, label, withAxe)
}

// look is one way a page is drawn: a window and a colour scheme, and whether axe checks it.
type look struct {
	vp     viewport
	scheme string
	axe    bool
}

func (l look) String() string { return l.vp.name + "/" + l.scheme }

// allLooks are a phone and a desktop, light and dark. axe runs on the phone in light and on the
// desktop in dark: both schemes' colours and both layouts are checked, at half the cost of all
// four.
var allLooks = []look{
	{viewports[0], "light", true}, {viewports[0], "dark", false},
	{viewports[1], "light", false}, {viewports[1], "dark", true},
}

// checkLooks is checkPage in each of looks: the page is loaded once, and the window and colour
// scheme then change under it, as when a phone is turned or the system turns dark. The pages'
// layout is CSS only (media queries, which apply again on every change; app.js reads no window
// size), so each look is drawn as a fresh load in it would be. The first look is the one the
// tab is already in, so the page's own load is also checked in it: callers alternate the
// order (reverse every other page), and fresh loads are checked on both screens. suffix is added
// to each look's label.
func checkLooks(t *testing.T, ctx context.Context, base string, p pageCheck, looks []look, suffix string) {
	t.Helper()
	run(t, ctx, emulate(looks[0].vp, looks[0].scheme), chromedp.Navigate(base+p.path), chromedp.WaitReady(chromedp.CSS(`main`)))
	checkCurrentLooks(t, ctx, p, looks, suffix)
}

// checkCurrentLooks is checkLooks for the page the browser shows now (after a form was sent).
func checkCurrentLooks(t *testing.T, ctx context.Context, p pageCheck, looks []look, suffix string) {
	t.Helper()
	for _, l := range looks {
		run(t, ctx, emulate(l.vp, l.scheme))
		checkCurrent(t, ctx, p, l.String()+suffix, l.axe)
	}
}

// alternate is allLooks for the i-th page of a list: forwards, then backwards for the next, so
// each page loads in the look the one before it ended in.
func alternate(i int) []look {
	if i%2 == 1 {
		return reversed(allLooks)
	}
	return allLooks
}

// reversed is looks in the opposite order: the next page loads in the look the last one ended in.
func reversed(looks []look) []look {
	r := make([]look, len(looks))
	for i, l := range looks {
		r[len(looks)-1-i] = l
	}
	return r
}

// checkCurrent is checkPage for the page the browser shows now (after a form was sent).
func checkCurrent(t *testing.T, ctx context.Context, p pageCheck, label string, withAxe bool) {
	t.Helper()
	over := get(t, ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
	if over[0] > over[1] {
		t.Errorf("%s %s scrolls sideways: %d px wide in a %d px window", label, p.path, over[0], over[1])
	}
	if p.visible != "" {
		vis := get(t, ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const el = document.querySelector(%q);
			if (!el) return false; const r = el.getBoundingClientRect();
			return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden"; })()`, p.visible)))
		if !vis {
			h1 := get(t, ctx, chromedp.Evaluate[string](`(document.querySelector("h1") || {}).textContent || ""`))
			t.Errorf("%s %s: %s is not visible (the page says %q)", label, p.path, p.visible, h1)
		}
	}
	if !withAxe {
		return
	}
	// axe is put into each document once: a page checked in two looks runs it twice.
	if !get(t, ctx, chromedp.Evaluate[bool](`typeof axe === "object" && typeof axe.run === "function"`)) {
		run(t, ctx, chromedp.Evaluate[chromedp.Void](axeSource))
	}
	violations := get(t, ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
			.filter(v => v.impact === "serious" || v.impact === "critical")
			.map(v => v.id + " (" + v.impact + "): " + v.help + " at " + v.nodes.map(n => n.target.join(" ")).slice(0, 3).join(", ") +
				" (" + ((v.nodes[0].any[0] || {}).message || "") + ")"))`,
		chromedp.EvalAwaitPromise))
	for _, v := range violations {
		t.Errorf("%s %s: %s", label, p.path, v)
	}
}

// TestBrowserPagesFitAndAreAccessible visits every page on a phone and a desktop, light and dark:
// no page scrolls sideways, empty states and first columns stay visible, and axe-core finds no
// serious or critical accessibility violation.
func TestBrowserPagesFitAndAreAccessible(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true, Provider: true})
	admin, _ := e.Setup("alice", "alice@example.com", pw)
	bob := e.CreateUser(admin, "bob", "bob@example.com", pw, "user")
	accessData(t, admin, bob)
	if r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_allow_user_registration": true}); r.Status != 200 {
		t.Fatalf("turning registration on: %d %s", r.Status, r.Body)
	}
	for range 3 { // refused attempts for the dashboard to show
		e.Client().Do("POST", "/api/auth/login", map[string]any{"login": "bob", "password": "not the password"})
	}
	ctx := browser(t)
	signIn(t, ctx, e.URL, "alice", pw)
	anon := another(t, ctx)
	// The providers page is checked empty first, then with a provider whose long issuer and
	// redirect URI once pushed it past a phone's width.
	withProvider := func() {
		op := oidctest.Start(t)
		r := admin.Do("POST", "/api/admin/providers", map[string]any{"id": "corporate-single-sign-on", "name": "Corporate single sign-on",
			"issuer": op.Issuer(), "client_id": op.ClientID(), "client_secret": op.ClientSecret(), "enabled": true})
		if r.Status != 201 && r.Status != 200 {
			t.Fatalf("adding a provider: %d %s", r.Status, r.Body)
		}
	}

	signedIn := []pageCheck{
		{"/settings/security", ".app-tile"},
		{"/admin", "svg.chart"},
		{"/admin/users", "table td:first-child"},
		{"/admin/users?query=nobody-matches-this", "td.empty"},
		{fmt.Sprintf("/admin/users/%d", bob), ".facts"},
		{fmt.Sprintf("/admin/users/%d/delete", bob), ""},
		{"/admin/settings", ""},
		{"/admin/branding", "#f-logo"},
		{"/admin/groups", "table td:first-child a"},
		{"/admin/groups/1", ""},
		{"/admin/groups/1/delete", ""},
		{"/admin/access", "table td:first-child"},
		{"/admin/access?edit=1#h-rule", "#f-url"},
		{"/admin/apps", "td.empty"},
		{"/admin/events", "table.events td:first-child"},
		{"/admin/events?kind=no.such.kind", "td.empty"},
		{"/admin/mail", "td.empty"},
		{"/admin/mail/templates/activation", "textarea"},
		{"/admin/providers", "td.empty"},
		{"/admin/providers/new", ""},
		{"/logout", ""},
	}
	signedOut := []pageCheck{
		{"/login", ""},
		{"/register", ""},
		{"/recover", ""},
	}
	// Each page is loaded once and checked in all four looks (checkLooks).
	for i, p := range signedIn {
		checkLooks(t, ctx, e.URL, p, alternate(i), "")
	}
	for i, p := range signedOut {
		checkLooks(t, anon, e.URL, p, alternate(i), "")
	}
	checkAccessForms(t, ctx, e.URL, allLooks)
	// German words are longer: every page again in German, chosen with the switch at the foot
	// of the page as a user would, on the phone in light and the desktop in dark, with axe.
	for _, b := range []context.Context{ctx, anon} {
		run(t, b, emulate(viewports[0], "light"), chromedp.Navigate(e.URL+"/login?rd=%2Fsettings%2Fsecurity"), chromedp.WaitReady(chromedp.CSS(`main`)),
			chromedp.Click(chromedp.CSS(`.lang-switch button[value="de"]`)), chromedp.WaitReady(chromedp.CSS(`html[lang="de"]`)))
	}
	deLooks := []look{{viewports[0], "light", true}, {viewports[1], "dark", true}}
	for i, p := range signedIn {
		looks := deLooks
		if i%2 == 1 {
			looks = reversed(deLooks)
		}
		checkLooks(t, ctx, e.URL, p, looks, "/de")
		if lang := get(t, ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); lang != "de" {
			t.Errorf("%s is in %q, not German", p.path, lang)
		}
	}
	for i, p := range signedOut {
		looks := deLooks
		if i%2 == 1 {
			looks = reversed(deLooks)
		}
		checkLooks(t, anon, e.URL, p, looks, "/de")
	}
	if h := text(t, ctx, "h1"); h == "" || strings.Contains(text(t, anon, "main"), "Forgot your password") {
		t.Errorf("the German pages still show English: %q", text(t, anon, "main"))
	}
	for _, b := range []context.Context{ctx, anon} {
		run(t, b, chromedp.Navigate(e.URL+"/login?rd=%2Fsettings%2Fsecurity"), chromedp.WaitReady(chromedp.CSS(`main`)),
			chromedp.Click(chromedp.CSS(`.lang-switch button[value="en"]`)), chromedp.WaitReady(chromedp.CSS(`html[lang="en"]`)))
	}
	withProvider()
	light := []look{{viewports[0], "light", true}, {viewports[1], "light", true}}
	checkLooks(t, ctx, e.URL, pageCheck{"/admin/providers", "table td:first-child a"}, light, "")
	checkLooks(t, ctx, e.URL, pageCheck{"/admin/providers/corporate-single-sign-on", "#redirect-uri"}, reversed(light), "")
	checkLooks(t, anon, e.URL, pageCheck{"/login", ".wide-button"}, light, "")
	if t.Failed() {
		return
	}
	layoutScreenshots(t, ctx, anon, e.URL)
	run(t, ctx, emulate(viewports[1], "light"), chromedp.Navigate(e.URL+"/admin"), chromedp.WaitVisible(chromedp.CSS(`svg.chart`)))
	screenshot(t, ctx, "admin-dashboard")
	run(t, ctx, emulate(viewports[0], "dark"), chromedp.Navigate(e.URL+"/admin"), chromedp.WaitVisible(chromedp.CSS(`svg.chart`)))
	screenshot(t, ctx, "admin-dashboard-phone-dark")
	// The header stays on one line on a phone: the navigation folds into a menu.
	run(t, ctx, emulate(viewports[0], "light"), chromedp.Navigate(e.URL+"/admin/users"), chromedp.WaitReady(chromedp.CSS(`main`)))
	h := get(t, ctx, chromedp.Evaluate[float64](`document.querySelector("header.top").getBoundingClientRect().height`))
	if h > 70 {
		t.Errorf("the phone header is %.0f px tall; it should fold its links into a menu", h)
	}
	if strings.TrimSpace(text(t, ctx, "header.top .menu summary")) == "" {
		t.Errorf("the phone header has no menu button")
	}
	// Lists of sessions end without a stray divider.
	run(t, ctx, emulate(viewports[1], "light"), chromedp.Navigate(e.URL+"/settings/security"), chromedp.WaitVisible(chromedp.CSS(`.sessions`)))
	if b := get(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".sessions li:last-child")).borderBottomStyle`)); b != "none" {
		t.Errorf("the last session has a divider under it (%s)", b)
	}
	// The signed-out notice is as wide as the sign-in card under it, on both screens.
	run(t, ctx, chromedp.Click(chromedp.CSS(`.signout.wide button`)), chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	for _, vp := range viewports {
		run(t, ctx, emulate(vp, "light"))
		w := get(t, ctx, chromedp.Evaluate[[]float64](`[document.querySelector(".notice").getBoundingClientRect().width, document.querySelector(".card.narrow").getBoundingClientRect().width]`))
		if w[0] > w[1]+1 {
			t.Errorf("%s: the signed-out notice is %.0f px wide, the card %.0f px", vp.name, w[0], w[1])
		}
	}
}

// TestBrowserProviderPagesFitAndAreAccessible does the same for the OpenID Provider's pages: the
// Apps page empty and with apps, the page that shows a new client secret once, and the pages an
// app's user meets (consent, "confirm it's you", "not allowed", an expired request).
func TestBrowserProviderPagesFitAndAreAccessible(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true, Provider: true})
	admin, _ := e.Setup("alice", "alice@example.com", pw)
	ctx := browser(t)
	signIn(t, ctx, e.URL, "alice", pw)
	const redirect = "https://grafana.monitoring.home.example.com/login/generic_oauth"
	authorize := func(client, extra string) string {
		return "/oauth2/authorize?client_id=" + client + "&redirect_uri=" + redirect +
			"&response_type=code&scope=openid+profile+email+groups+offline_access&state=s" + extra
	}
	register := func(id, name string) {
		run(t, ctx, chromedp.Navigate(e.URL+"/admin/apps"), chromedp.WaitReady(chromedp.CSS(`#f-name`)),
			chromedp.SendKeys(chromedp.CSS(`#f-name`), name),
			chromedp.SendKeys(chromedp.CSS(`#f-client-id`), id),
			chromedp.SendKeys(chromedp.CSS(`#f-redirect-uris`), redirect),
			chromedp.Click(chromedp.CSS(`form[action$="/admin/apps"] button.primary`)),
			chromedp.WaitVisible(chromedp.CSS(`#client-secret`)))
	}
	// An app is registered in each look, its new secret's page and its consent page checked
	// there; each other page is loaded once and checked in the four looks (checkLooks).
	checkLooks(t, ctx, e.URL, pageCheck{"/admin/apps", "td.empty"}, allLooks[:1], "")
	for _, l := range allLooks {
		run(t, ctx, emulate(l.vp, l.scheme))
		register("grafana-"+l.vp.name+"-"+l.scheme, "Grafana (monitoring dashboards for the whole household)")
		checkCurrent(t, ctx, pageCheck{"", "#client-secret"}, l.String()+" (new secret)", l.axe)
	}
	checkLooks(t, ctx, e.URL, pageCheck{"/admin/apps", "table td:first-child"}, reversed(allLooks), "")
	for _, l := range allLooks { // each app's consent page in the look it was registered in
		checkLooks(t, ctx, e.URL, pageCheck{authorize("grafana-"+l.vp.name+"-"+l.scheme, ""), `button[value="allow"]`}, []look{l}, " consent")
	}
	e.Clock.Advance(time.Minute) // prompt=login asks for a sign-in newer than the request
	checkLooks(t, ctx, e.URL, pageCheck{authorize("grafana-desktop-dark", "&prompt=login"), `#password`}, allLooks, " confirm")
	checkLooks(t, ctx, e.URL, pageCheck{"/oauth2/login?id=no-such-request", "h1"}, reversed(allLooks), " expired")
	r := admin.Do("POST", "/api/admin/oidc/clients", map[string]any{"client_id": "ops-only", "name": "Portainer", "redirect_uris": []string{redirect},
		"allowed_groups": []string{"ops"}})
	if r.Status != 201 {
		t.Fatalf("client: %d %s", r.Status, r.Body)
	}
	checkLooks(t, ctx, e.URL, pageCheck{authorize("ops-only", ""), "h1"}, []look{{viewports[0], "light", true}, {viewports[1], "light", true}}, " not allowed")
	if t.Failed() {
		return
	}
	// The pictures in docs/oidc-provider.md: two apps, one just registered.
	for _, vp := range viewports {
		for _, scheme := range []string{"light", "dark"} {
			admin.Do("DELETE", "/api/admin/oidc/clients/grafana-"+vp.name+"-"+scheme, nil)
		}
	}
	run(t, ctx, emulate(viewports[1], "light"))
	register("grafana", "Grafana")
	screenshot(t, ctx, "admin-apps")
	run(t, ctx, emulate(viewports[0], "light"), chromedp.Navigate(e.URL+authorize("grafana", "")),
		chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`)))
	screenshot(t, ctx, "oidc-consent-phone")
	run(t, ctx, emulate(viewports[1], "dark"), chromedp.Navigate(e.URL+authorize("grafana", "")),
		chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`)))
	screenshot(t, ctx, "oidc-consent-dark")
}

// accessData makes the access pages show something: a group with bob, rules (one an app on
// "My apps", one denying app.example.com).
func accessData(t *testing.T, admin *testserver.Client, bob int64) {
	t.Helper()
	if r := admin.Do("POST", "/api/admin/groups", map[string]string{"name": "operations-and-on-call", "description": "Everyone who carries the pager this week"}); r.Status != 201 {
		t.Fatalf("group: %d %s", r.Status, r.Body)
	}
	if r := admin.Do("PUT", fmt.Sprintf("/api/admin/groups/1/members/%d", bob), nil); r.Status != 200 {
		t.Fatalf("member: %d %s", r.Status, r.Body)
	}
	rules := []map[string]any{
		{"domains": []string{"app.example.com"}, "policy": "deny"},
		{"domains": []string{"wiki.example.com", "*.wiki.example.com"}, "paths": []string{"^/(admin|settings)(/.*)?$"}, "subjects": []string{"group:operations-and-on-call", "user:alice"},
			"policy": "two_factor", "name": "Team wiki", "url": "https://wiki.example.com/admin/"},
		{"domains": []string{"grafana.example.com"}, "policy": "one_factor", "name": "Grafana dashboards for the whole company", "url": "https://grafana.example.com/"},
	}
	if r := admin.Do("PUT", "/api/admin/access-rules", map[string]any{"rules": rules}); r.Status != 200 {
		t.Fatalf("rules: %d %s", r.Status, r.Body)
	}
}

// checkAccessForms checks the pages that only a form leads to, in each of looks: the rules page
// with a refused rule's field error, the test box's answer, and forward auth's 403 page.
func checkAccessForms(t *testing.T, ctx context.Context, base string, looks []look) {
	t.Helper()
	run(t, ctx, chromedp.Navigate(base+"/admin/access"), chromedp.WaitVisible(chromedp.CSS(`#f-url`)),
		chromedp.SetValue(chromedp.CSS(`#f-name`), "Broken"), chromedp.SetValue(chromedp.CSS(`#f-url`), "ftp://files.example.com/"),
		chromedp.Click(chromedp.CSS(`#h-rule + form button.primary`)), chromedp.WaitVisible(chromedp.CSS(`#e-url`)))
	checkCurrentLooks(t, ctx, pageCheck{"/admin/access (refused rule)", "#e-url"}, looks, "")
	run(t, ctx, chromedp.SetValue(chromedp.CSS(`#f-test-url`), "https://wiki.example.com/admin/x"),
		chromedp.Click(chromedp.CSS(`#h-test + form button`)), chromedp.WaitVisible(chromedp.CSS(`#test-result`)))
	checkCurrentLooks(t, ctx, pageCheck{"/admin/access (test box)", "#test-result"}, reversed(looks), "")
	// The 403 page comes from forward auth, as a proxy would show it to the browser.
	run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"X-Original-URL": "https://app.example.com/reports"}})
		return err
	}))
	checkLooks(t, ctx, base, pageCheck{"/api/auth/verify", "main h1"}, looks, "")
	run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{}})
		return err
	}))
}

// layoutScreenshots takes docs/screenshots of the pages this test fills (GATEHOUSE_SCREENSHOTS=1):
// My apps, groups and rules, on a desktop and a phone.
func layoutScreenshots(t *testing.T, ctx, anon context.Context, base string) {
	t.Helper()
	for _, s := range []struct {
		vp     viewport
		scheme string
		ctx    context.Context
		path   string
		wait   string
		name   string
	}{
		{viewports[1], "light", ctx, "/settings/security", ".app-tile", "security-my-apps"},
		{viewports[0], "light", ctx, "/settings/security", ".app-tile", "security-my-apps-phone"},
		{viewports[1], "light", ctx, "/admin/access", "table", "admin-access"},
		{viewports[0], "dark", ctx, "/admin/access", "table", "admin-access-phone-dark"},
		{viewports[1], "light", ctx, "/admin/groups/1", "main h1", "admin-group"},
		{viewports[0], "light", anon, "/login", "#f-login", "login-phone"},
		{viewports[0], "light", ctx, "/admin/users", "table", "admin-users-phone"},
	} {
		run(t, s.ctx, emulate(s.vp, s.scheme), chromedp.Navigate(base+s.path), chromedp.WaitVisible(chromedp.CSS(s.wait)))
		screenshot(t, s.ctx, s.name)
	}
}
