package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// sessionCookie returns the browser's gatehouse_session cookie for base.
func sessionCookie(t *testing.T, ctx context.Context, base string) *network.Cookie {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.Call(tctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "gatehouse_session" {
			return c
		}
	}
	t.Fatal("no gatehouse_session cookie")
	return nil
}

// "Stay signed in" in a real browser: offered only with an offset, and choosing it gives a
// persistent cookie lasting the offset (the duration is zero), not choosing it a session cookie.
func TestBrowserStaySignedIn(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", pw)
	e.CreateUser(admin, "bob", "bob@example.com", pw, "user")

	plain := browser(t)
	signIn(t, plain, e.URL, "bob", pw)
	if c := sessionCookie(t, plain, e.URL); !c.Session {
		t.Fatalf("without an offset the cookie must end with the browser: %+v", c)
	}

	if r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_stay_signed_in_offset": "days=2"}); r.Status != 200 {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	stay := another(t, plain)
	before := time.Now()
	run(t, stay,
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#f-stay`)),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "bob"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		chromedp.Click(chromedp.CSS(`#f-stay`)),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`.sessions`)),
	)
	c := sessionCookie(t, stay, e.URL)
	exp := time.Unix(int64(c.Expires), 0)
	if c.Session || exp.Before(before.Add(47*time.Hour)) || exp.After(time.Now().Add(49*time.Hour)) {
		t.Fatalf("stay-signed-in cookie should live two days: session=%v expires=%v", c.Session, exp)
	}
	// Offered but not chosen: still a browser-session cookie.
	other := another(t, plain)
	signIn(t, other, e.URL, "bob", pw)
	if c := sessionCookie(t, other, e.URL); !c.Session {
		t.Fatalf("not choosing stay signed in must give a session cookie: %+v", c)
	}
}
