package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto"
	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

const pw = "correct horse battery"

// chromiumPaths are where Debian installs Chromium, in the order tried. The headless shell
// (package chromium-headless-shell) comes first: it is Chromium's own build for automation, the
// same Blink and V8 without the desktop browser around them, and the one Puppeteer and
// Playwright run headless. The full browser drew more than twice its CPU for the same tests,
// and these tests are bound by the browser's CPU.
var chromiumPaths = []string{"/usr/bin/chromium-headless-shell", "/usr/bin/chromium"}

// chromiumPath finds Debian's Chromium; GATEHOUSE_TEST_CHROMIUM overrides it. Nothing is ever
// downloaded: without a browser the test skips, or fails when GATEHOUSE_TEST_REQUIRE says so.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_TEST_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			testdb.Unavailable(t, "chromium", "GATEHOUSE_TEST_CHROMIUM="+p+" not found")
		}
		return p
	}
	for _, p := range chromiumPaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testdb.Unavailable(t, "chromium", strings.Join(chromiumPaths, " and ")+" not found (apt-get install -y chromium-headless-shell)")
	return ""
}

// chrome is the one headless Chromium of this test binary, started by the first test that needs
// it. Starting a browser costs about a second; each test instead opens its own browser context
// in it (a fresh profile: own cookies, storage and authenticators), so tests run in parallel.
type chrome struct {
	once   sync.Once
	dir    string
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

func (c *chrome) start(path, dir string) (context.Context, error) {
	c.once.Do(func() {
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-quic", true),
			// Tabs of parallel tests must not be throttled for being in the background.
			chromedp.Flag("disable-background-timer-throttling", true),
			chromedp.Flag("disable-renderer-backgrounding", true),
			chromedp.Flag("disable-backgrounding-occluded-windows", true),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 900),
		}
		actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelC := chromedp.NewContext(actx)
		c.ctx, c.cancel = ctx, func() { cancelC(); cancelA() }
		// The first call starts the browser; it must not carry a timeout, or the timeout would
		// stop the whole browser (chromedp's rule).
		c.err = chromedp.Do(ctx)
	})
	return c.ctx, c.err
}

var shared chrome

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-e2e-chromium-")
	if err != nil {
		panic(err)
	}
	shared.dir = dir
	// -test.parallel stays at its default, one per CPU: pages are CPU work for Chromium, and
	// more tabs at once only make each slower on a busy machine.
	code := m.Run()
	testdb.Drain()
	if shared.cancel != nil {
		shared.cancel()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// browser opens a fresh browser profile (a new browser context) in the shared Chromium; it
// closes when the test ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	root, err := shared.start(chromiumPath(t), shared.dir)
	if err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return another(t, root)
}

// run runs steps with a timeout, failing the test on the first error.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// get runs one action that returns a value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	return get(t, ctx, chromedp.Location())
}

// waitLocation waits until the page's address contains part and that page has loaded: the way
// to know a form submission has landed when the next page shows the same elements as the last.
// The address alone is not enough: it changes when the new document starts loading, and a query
// made then can find a node of the old document that is gone by the time it is read ("No node
// with given id found"). Both are read in one evaluation, so they belong to the same document.
func waitLocation(t *testing.T, ctx context.Context, part string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](`[location.href, document.readyState]`))
		cancel()
		if err == nil && len(st) == 2 && strings.Contains(st[0], part) && st[1] == "complete" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never finished loading an address with %q (last %q, %v)", part, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text is the visible text of the first element matching sel. A node found just before its
// document was replaced (a navigation the caller did not wait for, or that chromedp had not yet
// taken in) cannot be read; the query is then made again on the new document rather than
// failing the test.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		v, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
		if err == nil {
			return v
		}
		if !staleDocument(err) || tctx.Err() != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
	}
}

// staleDocument reports whether err says a node or execution context of a document that has
// since been replaced was used.
func staleDocument(err error) bool {
	var e *cdproto.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, m := range []string{"No node with given id", "Could not find node with given id", "Cannot find context with specified id"} {
		if strings.Contains(e.Message, m) {
			return true
		}
	}
	return false
}

func activeID(t *testing.T, ctx context.Context) string {
	t.Helper()
	return get(t, ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
}

// screenshot writes docs/screenshots/NAME.png when GATEHOUSE_SCREENSHOTS=1, so the pictures in
// the docs come from the real pages; normal runs leave the tree alone.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("GATEHOUSE_SCREENSHOTS") != "1" {
		return
	}
	buf := get(t, ctx, chromedp.FullScreenshot(100))
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserFirstRunSignInSignOut(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	ctx := browser(t)

	// No account yet: the login page offers to create the first administrator.
	run(t, ctx, chromedp.Navigate(e.URL+"/login"), chromedp.WaitVisible(chromedp.CSS(`#f-password-confirm`)))
	if h := text(t, ctx, "h1"); h != "Create the first administrator" {
		t.Fatalf("heading %q", h)
	}
	// The stylesheet loaded under the CSP.
	bg := get(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".card")).borderRadius`))
	if bg != "12px" {
		t.Fatalf("stylesheet not applied (border-radius %q)", bg)
	}
	screenshot(t, ctx, "setup")
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-username`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "alice@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		chromedp.SendKeys(chromedp.CSS(`#f-password-confirm`), pw+"x"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-password-confirm`)),
	)
	// The refused field is announced and focused (the script ran under the CSP).
	if id := activeID(t, ctx); id != "f-password-confirm" {
		t.Fatalf("focus after a refused form: %q", id)
	}
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		// A refused form never sends passwords back: both fields are empty again.
		chromedp.SendKeys(chromedp.CSS(`#f-password-confirm`), pw),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.sessions`)),
	)
	if u := location(t, ctx); !strings.HasSuffix(u, "/settings/security") {
		t.Fatalf("after setup: %s", u)
	}
	if s := text(t, ctx, ".sessions"); !strings.Contains(s, "This browser") || !strings.Contains(s, "Headless Chrome on Linux") {
		t.Fatalf("session list: %q", s)
	}
	screenshot(t, ctx, "security")

	// Sign out from the header.
	run(t, ctx, chromedp.Click(chromedp.CSS(`.signout button`)), chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	if n := text(t, ctx, ".notice"); n != "You are signed out." {
		t.Fatalf("notice %q", n)
	}
	// Wrong password: said next to the password field, which gets focus.
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), "not the password"),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-password`)),
	)
	if m := text(t, ctx, "#e-password"); m != "Wrong username, email or password." {
		t.Fatalf("error %q", m)
	}
	if id := activeID(t, ctx); id != "f-password" {
		t.Fatalf("focus: %q", id)
	}
	screenshot(t, ctx, "login-error")
	// Keyboard order: username, password, then the button.
	run(t, ctx, chromedp.Focus(chromedp.CSS(`#f-login`)), chromedp.KeyEvent(kb.Tab))
	if id := activeID(t, ctx); id != "f-password" {
		t.Fatalf("tab from username went to %q", id)
	}
	// Sign in with the email, returning to rd on the same site.
	run(t, ctx,
		chromedp.Navigate(e.URL+"/login?rd="+e.URL+"/admin/events"),
		chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "alice@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`table.events`)),
	)
	if u := location(t, ctx); u != e.URL+"/admin/events" {
		t.Fatalf("rd not honoured: %s", u)
	}
	// GET /logout only asks; the POST signs out.
	run(t, ctx, chromedp.Navigate(e.URL+"/logout"), chromedp.WaitVisible(chromedp.CSS(`main form button`)))
	run(t, ctx, chromedp.Navigate(e.URL+"/settings/security"), chromedp.WaitVisible(chromedp.CSS(`.sessions`)))
	run(t, ctx, chromedp.Navigate(e.URL+"/logout"), chromedp.Click(chromedp.CSS(`main form button`)), chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	run(t, ctx, chromedp.Navigate(e.URL+"/settings/security"), chromedp.WaitVisible(chromedp.CSS(`#f-login`)))
	if u := location(t, ctx); !strings.Contains(u, "/login?rd=") {
		t.Fatalf("signed-out security page went to %s", u)
	}
}

func TestBrowserAdminConsole(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	api, _ := e.Setup("alice", "alice@example.com", pw)
	ctx := browser(t)
	run(t, ctx,
		chromedp.Navigate(e.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-query`)),
	)
	// Create a user.
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-username`), "bob"),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "bob@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`.facts`)),
	)
	if n := text(t, ctx, ".notice"); n != "The user is created." {
		t.Fatalf("notice %q", n)
	}
	// Disable, then enable.
	run(t, ctx, chromedp.Click(chromedp.CSS(`input[value=disable] + button`)), chromedp.WaitReady(chromedp.CSS(`input[value=enable]`)))
	if f := text(t, ctx, ".facts"); !strings.Contains(f, "disabled") {
		t.Fatalf("facts after disable: %q", f)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(`input[value=enable] + button`)), chromedp.WaitReady(chromedp.CSS(`input[value=disable]`)))
	// Delete with confirmation.
	run(t, ctx, chromedp.Click(chromedp.CSS(`.danger-zone a`)), chromedp.WaitReady(chromedp.CSS(`input[name=confirm]`)))
	run(t, ctx, chromedp.Click(chromedp.CSS(`main form button.danger`)), chromedp.WaitVisible(chromedp.CSS(`#f-query`)))
	if n := text(t, ctx, ".notice"); n != "The user is deleted." {
		t.Fatalf("notice %q", n)
	}
	// Search.
	// The results page has a table like the page before it, so wait for its address first: reading
	// or leaving the old page while the search loads races with it (net::ERR_ABORTED).
	run(t, ctx, chromedp.SendKeys(chromedp.CSS(`#f-query`), "alice"), chromedp.Submit(chromedp.CSS(`#f-query`)))
	waitLocation(t, ctx, "query=alice")
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`tbody`)))
	if tb := text(t, ctx, "tbody"); !strings.Contains(tb, "alice@example.com") || strings.Contains(tb, "bob") {
		t.Fatalf("search results %q", tb)
	}
	screenshot(t, ctx, "admin-users")

	// Settings: a bad value is named next to its field and nothing is saved.
	run(t, ctx, chromedp.Navigate(e.URL+"/admin/settings"), chromedp.WaitVisible(chromedp.CSS(`#f-auth-access-token-ttl-secs`)))
	screenshot(t, ctx, "admin-settings")
	run(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#f-auth-access-token-ttl-secs`), "5"),
		chromedp.Submit(chromedp.CSS(`#f-auth-access-token-ttl-secs`)),
		chromedp.WaitVisible(chromedp.CSS(`#ef-auth-access-token-ttl-secs`)),
	)
	if m := text(t, ctx, "#ef-auth-access-token-ttl-secs"); !strings.Contains(m, "Access token lifetime must be between seconds=30 and ") {
		t.Fatalf("settings error %q", m)
	}
	if id := activeID(t, ctx); id != "f-auth-access-token-ttl-secs" {
		t.Fatalf("focus %q", id)
	}
	run(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#f-auth-access-token-ttl-secs`), "600"),
		chromedp.Submit(chromedp.CSS(`#f-auth-access-token-ttl-secs`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	if v := e.Auth.Core.Settings().Public(false)["auth_access_token_ttl_secs"]; v != int64(600) && v != 600 {
		t.Fatalf("saved value %v (%T)", v, v)
	}

	// Events, filtered by kind.
	run(t, ctx, chromedp.Navigate(e.URL+"/admin/events?kind=admin.user_deleted"), chromedp.WaitVisible(chromedp.CSS(`table.events`)))
	if tb := text(t, ctx, "table.events tbody"); !strings.Contains(tb, "admin.user_deleted") || strings.Contains(tb, "login.succeeded") {
		t.Fatalf("filtered events %q", tb)
	}
	run(t, ctx, chromedp.Navigate(e.URL+"/admin/events"), chromedp.WaitVisible(chromedp.CSS(`table.events`)))
	screenshot(t, ctx, "admin-events")

	// Phone width, dark scheme: the layout still fits without sideways scrolling.
	run(t, ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
			return err
		}),
		chromedp.Navigate(e.URL+"/settings/security"),
		chromedp.WaitVisible(chromedp.CSS(`.sessions`)),
	)
	overflow := get(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	dark := get(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
	if overflow {
		t.Fatal("the security page scrolls sideways on a phone")
	}
	if dark != "rgb(16, 20, 26)" {
		t.Fatalf("dark scheme not applied: background %s", dark)
	}
	screenshot(t, ctx, "security-phone-dark")

	// The admin tables are wider than a phone: they scroll inside their card, and the page
	// itself never scrolls sideways (a long address once made /admin/users 454 px wide).
	e.CreateUser(api, "carol-with-a-long-name", "carol.with.a.rather.long.address@mail.subdomain.example.com", pw, "user")
	for _, page := range []string{"/admin/users", "/admin/events", "/admin/mail"} {
		run(t, ctx, chromedp.Navigate(e.URL+page), chromedp.WaitVisible(chromedp.CSS(`main table`)))
		if w := get(t, ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 391 {
			t.Errorf("%s is %d px wide on a 390 px phone", page, w)
		}
		if spill := get(t, ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll("main table")].some(t => t.getBoundingClientRect().right > t.closest(".card").getBoundingClientRect().right + 1 && getComputedStyle(t.parentElement).overflowX !== "auto")`)); spill {
			t.Errorf("%s: a table spills past its card", page)
		}
	}
	screenshot(t, ctx, "admin-users-phone-dark")
}

func TestBrowserNonAdminGets403(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", pw)
	e.CreateUser(admin, "bob", "bob@example.com", pw, "user")
	ctx := browser(t)
	run(t, ctx,
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "bob"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`.sessions`)),
	)
	nav := text(t, ctx, "header nav")
	if strings.Contains(nav, "Users") {
		t.Fatalf("a user sees admin links: %q", nav)
	}
	run(t, ctx, chromedp.Navigate(e.URL+"/admin/users"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if h := text(t, ctx, "h1"); h != "Forbidden" {
		t.Fatalf("heading %q", h)
	}
}

// another opens a second, isolated browser profile (its own cookies) in the same Chromium.
func another(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	c, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// Pages in tabs that are not in front still behave as focused (autofocus, focus moves),
	// as each would in its own window.
	if err := chromedp.Do(c, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	return c
}

// grantClipboard lets pages of origin in this browser profile write and read the clipboard, as a
// person allows it when a site asks. Without the grant, whether a script may use the clipboard
// depends on the build (the headless shell refuses; the full browser allows a focused page).
func grantClipboard(t *testing.T, ctx context.Context, origin string) {
	t.Helper()
	c := chromedp.FromContext(ctx)
	for _, name := range []string{"clipboard-write", "clipboard-read"} {
		if _, err := cdp.Call(ctx, c.Browser, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission:       &cdpbrowser.PermissionDescriptor{Name: name},
			Setting:          cdpbrowser.PermissionSettingGranted,
			Origin:           origin,
			BrowserContextID: c.BrowserContextID,
		}); err != nil {
			t.Fatalf("granting %s: %v", name, err)
		}
	}
}

func signIn(t *testing.T, ctx context.Context, base, login, password string) {
	t.Helper()
	run(t, ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), login),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), password),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`.sessions`)),
	)
}

func TestBrowserSessionsEndAcrossBrowsers(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", pw)
	e.CreateUser(admin, "bob", "bob@example.com", pw, "user")
	aliceB := browser(t)
	bobPhone := another(t, aliceB)
	bobLaptop := another(t, aliceB)
	signIn(t, ctx0(aliceB), e.URL, "alice", pw)
	signIn(t, bobPhone, e.URL, "bob", pw)
	signIn(t, bobLaptop, e.URL, "bob@example.com", pw)

	// Bob changes his password on the laptop: the phone's session ends.
	run(t, bobLaptop,
		chromedp.SendKeys(chromedp.CSS(`#f-current-password`), pw),
		chromedp.SendKeys(chromedp.CSS(`#f-new-password`), "a brand new password"),
		chromedp.SendKeys(chromedp.CSS(`#f-new-password-confirm`), "a brand new password"),
		chromedp.Submit(chromedp.CSS(`#f-new-password`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	if n := text(t, bobLaptop, ".notice"); !strings.Contains(n, "password is changed") {
		t.Fatalf("notice %q", n)
	}
	run(t, bobPhone, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#f-login`)))
	if u := location(t, bobPhone); !strings.Contains(u, "/login?rd=") {
		t.Fatalf("the phone's page after the password change: %s", u)
	}

	// Alice disables bob: his open page lands on the login page at its next load.
	run(t, aliceB,
		chromedp.Navigate(e.URL+"/admin/users/2"),
		chromedp.WaitVisible(chromedp.CSS(`.facts`)),
		chromedp.Click(chromedp.CSS(`input[value=disable] + button`)),
		chromedp.WaitReady(chromedp.CSS(`input[value=enable]`)),
	)
	run(t, bobLaptop, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#f-login`)))
	if u := location(t, bobLaptop); !strings.Contains(u, "/login?rd=") {
		t.Fatalf("the disabled user's page: %s", u)
	}
	// And he cannot sign in again; the refusal is said only after a correct password.
	run(t, bobLaptop,
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "bob"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), "a brand new password"),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`#form-error`)),
	)
	if m := text(t, bobLaptop, "#form-error"); !strings.Contains(m, "disabled") {
		t.Fatalf("disabled sign-in message %q", m)
	}
}

// ctx0 is the identity: it keeps the first browser's name readable at the call sites.
func ctx0(ctx context.Context) context.Context { return ctx }

func TestBrowserOpenRedirectAndRateLimit(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	e.Setup("alice", "alice@example.com", pw)
	ctx := browser(t)
	run(t, ctx, chromedp.Navigate(e.URL+"/login"), chromedp.WaitVisible(chromedp.CSS(`#f-login`)))
	screenshot(t, ctx, "login")

	// A return address on another site is dropped: sign-in lands on gatehouse's own page.
	run(t, ctx,
		chromedp.Navigate(e.URL+"/login?rd=https://evil.example/steal"),
		chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`.sessions`)),
	)
	if u := location(t, ctx); u != e.URL+"/settings/security" {
		t.Fatalf("after a foreign rd: %s", u)
	}

	// Guessing: after the per-IP burst (10) the page says to wait, with the time. A fresh server,
	// since every attempt from this address counts, the successful one above included.
	e = testserver.New(t, testserver.Options{Web: true})
	e.Setup("alice", "alice@example.com", pw)
	guesser := another(t, ctx)
	var last string
	for i := range 11 {
		run(t, guesser,
			chromedp.Navigate(e.URL+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
			chromedp.SendKeys(chromedp.CSS(`#f-login`), "alice"),
			chromedp.SendKeys(chromedp.CSS(`#f-password`), "guess number "+strings.Repeat("x", i)),
			chromedp.Submit(chromedp.CSS(`#f-password`)),
			chromedp.WaitVisible(chromedp.CSS(`.field-error, #form-error`)),
		)
		last = get(t, guesser, chromedp.Evaluate[string](`(document.getElementById("form-error") || document.getElementById("e-password")).textContent`))
		if i < 10 && last != "Wrong username, email or password." {
			t.Fatalf("guess %d: %q", i+1, last)
		}
	}
	if !strings.Contains(last, "Too many sign-in attempts. Try again in") {
		t.Fatalf("11th guess: %q", last)
	}
	screenshot(t, guesser, "login-rate-limited")
}
