package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// forwardFront is a minimal forward-auth proxy for the browser: every request is checked with
// gatehouse's verify as https://app.example.com/<path>, with the browser's cookie and Accept,
// and gatehouse's answer is shown when it is not 200. Cookies do not depend on the port, so
// the session gatehouse set on 127.0.0.1 reaches it.
func forwardFront(t *testing.T, gatehouseURL string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", gatehouseURL+"/api/auth/verify", nil)
		req.Header.Set("X-Original-URL", "https://app.example.com"+r.URL.RequestURI())
		req.Header.Set("Accept", r.Header.Get("Accept"))
		for _, c := range r.Cookies() {
			req.AddCookie(c)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			_, _ = io.WriteString(w, "<!doctype html><title>app</title><h1>The app</h1><p id=user>"+resp.Header.Get("Remote-User")+"</p>")
			return
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(s.Close)
	return s
}

// TestBrowserAccessPages drives the groups and access rules pages as an administrator (create a
// group, add a member, add rules, move one up, the test box), then sees the rules at work: the
// member reaches the app, another user gets the 403 page naming the account.
func TestBrowserAccessPages(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", pw)
	e.CreateUser(admin, "bob", "bob@example.com", pw, "user")
	e.CreateUser(admin, "carol", "carol@example.com", pw, "user")
	ctx := browser(t)
	signIn(t, ctx, e.URL, "alice", pw)

	// A group with bob in it.
	run(t, ctx,
		chromedp.Navigate(e.URL+"/admin/groups"),
		chromedp.WaitVisible(chromedp.CSS(`#f-name`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "ops"),
		chromedp.Submit(chromedp.CSS(`#f-name`)),
	)
	waitLocation(t, ctx, "done=created")
	run(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(`#f-user`)),
		chromedp.SendKeys(chromedp.CSS(`#f-user`), "bob"),
		chromedp.Submit(chromedp.CSS(`#f-user`)),
	)
	waitLocation(t, ctx, "done=added")
	if body := text(t, ctx, "main"); !strings.Contains(body, "Remove bob") {
		t.Fatalf("bob is not listed as a member: %q", body)
	}

	// Two rules, added in the wrong order: deny everyone, then admit ops.
	addRule := func(subjects, policy string) {
		t.Helper()
		run(t, ctx,
			chromedp.Navigate(e.URL+"/admin/access"),
			chromedp.WaitVisible(chromedp.CSS(`#f-domains`)),
			chromedp.SendKeys(chromedp.CSS(`#f-domains`), "app.example.com"),
		)
		if subjects != "" {
			run(t, ctx, chromedp.SendKeys(chromedp.CSS(`#f-subjects`), subjects))
		}
		run(t, ctx, chromedp.SetValue(chromedp.CSS(`#f-policy`), policy), chromedp.Submit(chromedp.CSS(`#f-domains`)))
		waitLocation(t, ctx, "done=saved")
	}
	addRule("", "deny")
	addRule("group:ops", "one_factor")
	// A field error names the field and saves nothing.
	run(t, ctx,
		chromedp.Navigate(e.URL+"/admin/access"),
		chromedp.WaitVisible(chromedp.CSS(`#f-paths`)),
		chromedp.SendKeys(chromedp.CSS(`#f-paths`), "^/(unclosed"),
		chromedp.Submit(chromedp.CSS(`#f-paths`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-paths`)),
	)
	if rows := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("tbody tr").length`)); rows != 2 {
		t.Fatalf("a refused rule changed the list: %d rows", rows)
	}
	// The test box before the move: the deny rule decides for bob.
	testBox := func(user string) string {
		t.Helper()
		run(t, ctx,
			chromedp.Navigate(e.URL+"/admin/access"),
			chromedp.WaitVisible(chromedp.CSS(`#f-test-url`)),
			chromedp.SendKeys(chromedp.CSS(`#f-test-url`), "https://app.example.com/board"),
			chromedp.SendKeys(chromedp.CSS(`#f-test-user`), user),
			chromedp.Submit(chromedp.CSS(`#f-test-url`)),
			chromedp.WaitVisible(chromedp.CSS(`#test-result`)),
		)
		return text(t, ctx, "#test-result")
	}
	if got := testBox("bob"); !strings.Contains(got, "rule 1") || !strings.Contains(got, "deny") {
		t.Fatalf("test box before the move: %q", got)
	}
	run(t, ctx,
		chromedp.Navigate(e.URL+"/admin/access"),
		chromedp.WaitVisible(chromedp.CSS(`tbody`)),
		chromedp.Click(chromedp.CSS(`tbody tr:nth-child(2) input[value="up"] ~ button`)),
	)
	waitLocation(t, ctx, "done=saved")
	if first := text(t, ctx, "tbody tr:first-child"); !strings.Contains(first, "group:ops") {
		t.Fatalf("after moving rule 2 up the first rule is %q", first)
	}
	if got := testBox("bob"); !strings.Contains(got, "rule 1") || !strings.Contains(got, "one_factor") {
		t.Fatalf("test box after the move, bob: %q", got)
	}
	if got := testBox("carol"); !strings.Contains(got, "rule 2") || !strings.Contains(got, "deny") {
		t.Fatalf("test box after the move, carol: %q", got)
	}

	// The rules at work: bob reaches the app, carol gets the page that names her account.
	front := forwardFront(t, e.URL)
	bob := another(t, ctx)
	signIn(t, bob, e.URL, "bob", pw)
	run(t, bob, chromedp.Navigate(front.URL+"/board"), chromedp.WaitVisible(chromedp.CSS(`#user`)))
	if u := text(t, bob, "#user"); u != "bob" {
		t.Fatalf("the app saw %q", u)
	}
	carol := another(t, ctx)
	signIn(t, carol, e.URL, "carol", pw)
	run(t, carol, chromedp.Navigate(front.URL+"/board"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if h := text(t, carol, "h1"); h != "Access denied" {
		t.Fatalf("carol's heading: %q", h)
	}
	if body := text(t, carol, "main"); !strings.Contains(body, "signed in as carol") || !strings.Contains(body, "Sign in as someone else") {
		t.Fatalf("the 403 page: %q", body)
	}
}
