package web_test

import (
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// Without a GeoIP database the binding settings are refused on the page, next to the field,
// with a message that says which database to configure.
func TestAdminSettingsBindingNeedsDatabase(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	form := url.Values{"group": {"sessions"}, "auth_session_idle_timeout_secs": {"43200"}, "auth_session_max_lifetime_secs": {"1209600"},
		"auth_session_duration": {"seconds=0"}, "auth_stay_signed_in_offset": {"seconds=0"},
		"auth_session_network_binding": {"asn_network"}, "auth_session_geoip_binding": {"none"}}
	r := admin.Form("/admin/settings", form)
	body := html.UnescapeString(string(r.Body))
	if r.Status != 400 || !strings.Contains(body, `id="ef-auth-session-network-binding"`) || !strings.Contains(body, "needs an ASN database") || !strings.Contains(body, "[geoip] asn_db") {
		t.Fatalf("network binding without a database: %d %s", r.Status, body)
	}
	form.Set("auth_session_network_binding", "none")
	form.Set("auth_session_geoip_binding", "continent_country")
	r = admin.Form("/admin/settings", form)
	body = html.UnescapeString(string(r.Body))
	if r.Status != 400 || !strings.Contains(body, `id="ef-auth-session-geoip-binding"`) || !strings.Contains(body, "[geoip] city_db") {
		t.Fatalf("geoip binding without a database: %d %s", r.Status, body)
	}
	s := admin.Do("GET", "/api/admin/settings", nil).Settings().Settings
	if s["auth_session_network_binding"] != "none" || s["auth_session_geoip_binding"] != "none" {
		t.Fatalf("a refused form saved a binding: %v", s)
	}
	// The help text says what each binding needs.
	page := html.UnescapeString(string(admin.Do("GET", "/admin/settings", nil).Body))
	for _, want := range []string{"Needs an ASN database ([geoip] asn_db", "Needs a city database ([geoip] city_db", "asn_network_ip = same IP address",
		"On this server no ASN database is configured", "On this server no city database is configured"} {
		if !strings.Contains(page, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
}
