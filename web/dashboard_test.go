package web_test

import (
	"regexp"
	"strings"
	"testing"
)

// The dashboard at /admin: figures, an accessible chart drawn without script with its table, and
// the refused address; users who are not administrators are turned away.
func TestDashboardPage(t *testing.T) {
	t.Parallel()
	e, admin := uxAdmin(t)
	e.CreateUser(admin, "bob", "bob@example.com", adminPW, "user")
	for range 3 {
		if r := e.Client().Do("POST", "/api/auth/login", map[string]any{"login": "bob", "password": "not bob's password"}); r.Status != 401 {
			t.Fatalf("wrong password: %d", r.Status)
		}
	}
	page := string(admin.Do("GET", "/admin", nil).Body)
	for _, want := range []string{
		`<span class="stat-value" id="stat-signins">1</span>`, // alice's setup sign-in
		`<span class="stat-value" id="stat-failures">3</span>`,
		`role="img" aria-labelledby="chart-title chart-desc"`,
		`<desc id="chart-desc">Bars per hour since`,
		`3 failures</title>`, // the hour's bar says what it shows
		`<table id="chart-table">`,
		`aria-current="page">Dashboard</a>`,
		"admin.user_created",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if !regexp.MustCompile(`<table id="refused">[\s\S]*<code>[^<]+</code></td><td>3</td>`).MatchString(page) {
		t.Errorf("the refused address is not listed with its 3 attempts:\n%s", page)
	}
	bob, _ := e.Login("bob", adminPW)
	if r := bob.Do("GET", "/admin", nil); r.Status != 403 {
		t.Fatalf("a user opened the dashboard: %d", r.Status)
	}
}
