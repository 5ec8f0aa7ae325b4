package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// oauth2-proxy (a third-party relying party people put in front of apps) signs a browser in
// through gatehouse as an OpenID Provider: password and TOTP on gatehouse's pages, consent, the
// app behind the proxy, a group restricted by --allowed-group, a refresh, and gatehouse's sign-out
// ending the proxy's session at its next refresh. The binary is built by
// .ci/setup.d/50-oauth2-proxy.sh (GATEHOUSE_OAUTH2_PROXY or PATH); nothing is downloaded here.

func oauth2ProxyPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_OAUTH2_PROXY"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("oauth2-proxy")
	if err != nil {
		testdb.Unavailable(t, "oauth2-proxy", "no oauth2-proxy binary (GATEHOUSE_OAUTH2_PROXY or PATH; .ci/setup.d/50-oauth2-proxy.sh builds v7.15.6)")
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type staticGroups map[string][]string

func (g staticGroups) groupsOf(e **testserver.Env) func(ctx context.Context, uid int64) ([]string, error) {
	return func(ctx context.Context, uid int64) ([]string, error) {
		u, err := (*e).Store.UserByID(ctx, uid)
		if err != nil {
			return nil, err
		}
		return g[u.Username], nil
	}
}

type groupsFunc func(ctx context.Context, uid int64) ([]string, error)

func (f groupsFunc) UserGroups(ctx context.Context, uid int64) ([]string, error) { return f(ctx, uid) }

func TestBrowserOAuth2ProxySignIn(t *testing.T) {
	t.Parallel()
	bin := oauth2ProxyPath(t)
	var e *testserver.Env
	groups := staticGroups{"alice": {"staff"}, "bob": {"guests"}}
	e = testserver.New(t, testserver.Options{Web: true, Provider: true, Groups: groupsFunc(groups.groupsOf(&e)), Clock: testserver.NewClockAtNow()})
	admin, _ := e.Setup("admin", "admin@example.com", pw)
	e.CreateUser(admin, "alice", "alice@example.com", pw, "user")
	e.CreateUser(admin, "bob", "bob@example.com", pw, "user")

	// Alice turns on TOTP.
	alice, _ := e.Login("alice", pw)
	r := alice.Do("POST", "/api/account/mfa/totp/setup", map[string]any{})
	secret := r.Str("secret")
	code, _ := totp.GenerateCode(secret, e.Clock.Now())
	if r := alice.Do("POST", "/api/account/mfa/totp/confirm", map[string]any{"code": code}); r.Status != http.StatusOK {
		t.Fatalf("TOTP confirm: %d %s", r.Status, r.Body)
	}

	// The app behind the proxy echoes what the proxy tells it.
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<h1 id=app>hello %s</h1><p id=groups>%s</p>", r.Header.Get("X-Forwarded-Email"), r.Header.Get("X-Forwarded-Groups"))
	}))
	t.Cleanup(app.Close)

	port := freePort(t)
	proxyURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	r = admin.Do("POST", "/api/admin/oidc/clients", map[string]any{"client_id": "oauth2-proxy", "name": "Echo app",
		"redirect_uris": []string{proxyURL + "/oauth2/callback"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("client: %d %s", r.Status, r.Body)
	}
	cmd := exec.Command(bin,
		"--provider=oidc", "--oidc-issuer-url="+e.URL, "--client-id=oauth2-proxy", "--client-secret="+r.Str("client_secret"),
		"--redirect-url="+proxyURL+"/oauth2/callback", "--http-address=127.0.0.1:"+fmt.Sprint(port), "--upstream="+app.URL,
		"--cookie-secret=0123456789abcdef0123456789abcdef", "--cookie-secure=false", "--cookie-refresh=1s",
		"--email-domain=*", "--scope=openid email profile groups offline_access", "--oidc-groups-claim=groups",
		"--allowed-group=staff", "--code-challenge-method=S256", "--skip-provider-button=true", "--pass-user-headers=true")
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = io.MultiWriter(logs), io.MultiWriter(logs)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitUp(t, proxyURL+"/ping", logs)
	defer func() {
		if t.Failed() {
			t.Logf("oauth2-proxy log:\n%s", logs)
		}
	}()

	// Alice: password, TOTP, consent, then the app.
	ctx := browser(t)
	run(t, ctx,
		chromedp.Navigate(proxyURL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-code`)),
	)
	e.Clock.Advance(30 * time.Second) // the setup's code is spent
	code, _ = totp.GenerateCode(secret, e.Clock.Now())
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-code`), code),
		chromedp.Submit(chromedp.CSS(`#f-code`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value=allow]`)),
	)
	if h := text(t, ctx, "h1"); !strings.Contains(h, "Echo app") {
		t.Fatalf("consent heading %q", h)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(`button[value=allow]`)), chromedp.WaitVisible(chromedp.CSS(`#app`)))
	if s := text(t, ctx, "#app"); s != "hello alice@example.com" {
		t.Fatalf("the app saw %q", s)
	}
	if g := text(t, ctx, "#groups"); !strings.Contains(g, "staff") {
		t.Fatalf("groups passed to the app: %q", g)
	}

	// Once the session is older than cookie-refresh (1 s on the proxy's own, real clock), the next
	// request makes the proxy refresh through gatehouse's token endpoint. Reloaded until that
	// refresh shows in gatehouse's events, rather than once after a pause that a busy machine
	// can make too short.
	for deadline := time.Now().Add(20 * time.Second); ; {
		time.Sleep(500 * time.Millisecond)
		run(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#app`)))
		ev := admin.Do("GET", "/api/admin/events?kind=oidc.token_issued", nil)
		if strings.Contains(string(ev.Body), `"refresh":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refresh went through gatehouse: %s", ev.Body)
		}
	}

	// Signing out of gatehouse ends the proxy's session at its next refresh: back to the login.
	run(t, ctx, chromedp.Navigate(e.URL+"/settings/security"), chromedp.WaitVisible(chromedp.CSS(`.signout button`)))
	signOut(t, ctx)
	for deadline := time.Now().Add(20 * time.Second); ; {
		time.Sleep(500 * time.Millisecond)
		run(t, ctx, chromedp.Navigate(proxyURL+"/"), chromedp.WaitVisible(chromedp.CSS(`#f-login, #app`)))
		if get(t, ctx, chromedp.Evaluate[bool](`document.querySelector("#f-login") !== null`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the proxy still shows the app long after gatehouse's sign-out")
		}
	}

	// Bob is not in the allowed group: gatehouse signs him in, the proxy refuses him.
	bctx := another(t, ctx)
	run(t, bctx,
		chromedp.Navigate(proxyURL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "bob"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value=allow]`)),
		chromedp.Click(chromedp.CSS(`button[value=allow]`)),
	)
	waitLocation(t, bctx, proxyURL)
	// The proxy's answer is whatever page is shown once its text has come in (a refusal names
	// itself), read until then rather than after a fixed pause.
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		body = get(t, bctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		if strings.Contains(body, "hello") || strings.Contains(strings.ToLower(body), "forbidden") || time.Now().After(deadline) {
			break
		}
	}
	if strings.Contains(body, "hello") || !strings.Contains(strings.ToLower(body), "forbidden") {
		t.Fatalf("bob, outside --allowed-group, got: %q", body)
	}
}

// waitUp polls url until it answers 200.
func waitUp(t *testing.T, url string, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never answered; log:\n%s", url, logs)
}
