package web_test

import (
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// Durations kept in seconds are shown and entered in the hours=12 syntax; refusals name the
// setting by its label, never by its key.
func TestAdminSettingsDurationsInHumanSyntax(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	page := html.UnescapeString(string(admin.Do("GET", "/admin/settings", nil).Body))
	for _, want := range []string{`name="auth_session_idle_timeout_secs" value="hours=12"`, `name="auth_session_max_lifetime_secs" value="weeks=2"`,
		`name="auth_access_token_ttl_secs" value="minutes=15"`, "(minutes=1 – weeks=52,days=1)", ">Idle timeout</label>", ">Time per regained attempt</label>",
		`<nav class="toc card" aria-label="Setting groups">`, `<a href="#sessions">Sessions</a>`, "<summary>API key</summary><code>auth_session_idle_timeout_secs</code>"} {
		if !strings.Contains(page, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
	if strings.Contains(page, `value="43200"`) {
		t.Error("the idle timeout is shown in raw seconds")
	}
	form := url.Values{"group": {"sessions"}, "auth_session_idle_timeout_secs": {"days=2"}, "auth_session_max_lifetime_secs": {"1209600"},
		"auth_session_duration": {"seconds=0"}, "auth_stay_signed_in_offset": {"seconds=0"},
		"auth_session_network_binding": {"none"}, "auth_session_geoip_binding": {"none"}}
	if r := admin.Form("/admin/settings", form); r.Status != 303 {
		t.Fatalf("saving days=2: %d %s", r.Status, r.Body)
	}
	s := admin.Do("GET", "/api/admin/settings", nil).Settings().Settings
	if s["auth_session_idle_timeout_secs"] != float64(172800) || s["auth_session_max_lifetime_secs"] != float64(1209600) {
		t.Fatalf("saved: %v / %v", s["auth_session_idle_timeout_secs"], s["auth_session_max_lifetime_secs"])
	}
	for value, want := range map[string]string{
		"seconds=30":   "Idle timeout must be between minutes=1 and weeks=52,days=1.",
		"fortnights=1": `Idle timeout: "fortnights=1": unknown unit "fortnights"`,
	} {
		form.Set("auth_session_idle_timeout_secs", value)
		r := admin.Form("/admin/settings", form)
		body := html.UnescapeString(string(r.Body))
		if r.Status != 400 || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want %q in\n%s", value, r.Status, want, body)
		}
		if strings.Contains(body, "auth_session_idle_timeout_secs:") {
			t.Errorf("%s: the error names the raw key", value)
		}
	}
	// A plain number still counts as seconds, and other settings' refusals are named by label.
	r := admin.Form("/admin/settings", url.Values{"group": {"user_management"}, "auth_register_activation_enabled": {"1"},
		"auth_password_min_length": {"5"}, "auth_password_max_length": {"128"}, "auth_login_rate_limit_burst": {"10"},
		"auth_login_rate_limit_refill_secs": {"90"}, "auth_expensive_rate_limit_per_min": {"60"}, "auth_mfa_challenge_ttl_secs": {"minutes=5"}, "auth_mfa_max_attempts": {"5"}})
	body := html.UnescapeString(string(r.Body))
	if r.Status != 400 || !strings.Contains(body, "Minimum password length: must be between 8 and 128") || strings.Contains(body, "auth_password_min_length: must") {
		t.Fatalf("min length 5: %d %s", r.Status, body)
	}
	if s := admin.Do("GET", "/api/admin/settings", nil).Settings().Settings; s["auth_session_idle_timeout_secs"] != float64(172800) {
		t.Fatalf("a refused form changed the idle timeout: %v", s["auth_session_idle_timeout_secs"])
	}
}
