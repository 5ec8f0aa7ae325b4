package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/geo"
	"github.com/gatehouse/gatehouse/internal/geotest"
	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/internal/webauthntest"
)

const userPW = "a user's long password"

// patchSettings changes settings as the admin client and fails the test unless it worked.
func patchSettings(t testing.TB, admin *testserver.Client, body map[string]any) {
	t.Helper()
	if r := admin.Do("PATCH", "/api/admin/settings", body); r.Status != 200 {
		t.Fatalf("patch %v: %d %s", body, r.Status, r.Body)
	}
}

// loginFrom signs bob in from ip (X-Forwarded-For through the loopback proxy the test server
// trusts) and returns his client, which keeps sending from ip, and the answer.
func loginFrom(t testing.TB, e *testserver.Env, ip string, body map[string]any) (*testserver.Client, *testserver.Response) {
	t.Helper()
	c := e.Client()
	c.Header.Set("X-Forwarded-For", ip)
	c.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) PolicyTest/1.0")
	if body == nil {
		body = map[string]any{}
	}
	if body["login"] == nil {
		body["login"], body["password"] = "bob", userPW
	}
	r := c.Do("POST", "/api/auth/login", body)
	if r.Status != 200 {
		t.Fatalf("login from %s: %d %s", ip, r.Status, r.Body)
	}
	return c, r
}

func sessionID(t *testing.T, c *testserver.Client) string {
	t.Helper()
	r := c.Do("GET", "/api/auth/me", nil)
	if r.Status != 200 {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
	return r.Me().Session.ID
}

// logoutEvent returns the logout event of session sid, or nil.
func logoutEvent(t *testing.T, e *testserver.Env, sid string) *gatehouse.Event {
	t.Helper()
	evs, _, err := e.Store.ListEvents(context.Background(), gatehouse.EventFilter{Kind: gatehouse.EventLogout, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.SessionID == sid {
			return ev
		}
	}
	return nil
}

func TestSessionDurationAndStaySignedIn(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		e.CreateUser(admin, "bob", "bob@example.com", userPW, "user")

		// Offset zero: no prompt, and asking for it changes nothing (browser-session cookie).
		if r := e.Client().Do("GET", "/api/auth/state", nil); r.JSON["stay_signed_in_offered"] != false {
			t.Fatalf("state: %s", r.Body)
		}
		_, r := loginFrom(t, e, "127.0.0.1", map[string]any{"stay_signed_in": true})
		if sc := r.Header.Get("Set-Cookie"); strings.Contains(sc, "Max-Age") {
			t.Fatalf("stay signed in without an offset gave a persistent cookie: %q", sc)
		}

		// A bad duration names the bad part and the key; nothing is saved.
		bad := admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_session_duration": "hours=1", "auth_stay_signed_in_offset": "days=1,fortnights=2"})
		if bad.Status != 400 || bad.Field() != "auth_stay_signed_in_offset" || !strings.Contains(string(bad.Body), "fortnights") {
			t.Fatalf("bad offset: %d %s", bad.Status, bad.Body)
		}
		if s := admin.Do("GET", "/api/admin/settings", nil).Settings().Settings; s["auth_session_duration"] != "seconds=0" {
			t.Fatalf("a refused patch saved the duration: %v", s["auth_session_duration"])
		}

		patchSettings(t, admin, map[string]any{"auth_session_duration": "hours=1", "auth_stay_signed_in_offset": "days=1"})
		if r := e.Client().Do("GET", "/api/auth/state", nil); r.JSON["stay_signed_in_offered"] != true {
			t.Fatalf("state with an offset: %s", r.Body)
		}

		// Without "stay signed in": the duration, as Max-Age and as the server-side end.
		short, r := loginFrom(t, e, "127.0.0.1", nil)
		if sc := r.Header.Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=3600") {
			t.Fatalf("cookie: %q", sc)
		}
		// With it: duration plus offset.
		long, r := loginFrom(t, e, "127.0.0.1", map[string]any{"stay_signed_in": true})
		if sc := r.Header.Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=90000") {
			t.Fatalf("stay-signed-in cookie: %q", sc)
		}
		start := e.Clock.Now()
		list := long.Do("GET", "/api/account/sessions", nil)
		found := 0
		for _, s := range list.Sessions().Items {
			exp := s.ExpiresAt
			switch {
			case s.Current:
				found++
				if !s.StaySignedIn || !exp.Equal(start.Add(25*time.Hour)) {
					t.Errorf("stay session: %+v", s)
				}
			case !s.StaySignedIn && exp.Equal(start.Add(time.Hour)):
				found++
			}
		}
		if found != 2 {
			t.Fatalf("sessions: %s", list.Body)
		}

		// The short one ends after an hour, on the server, whatever the browser keeps.
		e.Clock.Advance(59 * time.Minute)
		if r := short.Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("short session before its end: %d", r.Status)
		}
		e.Clock.Advance(2 * time.Minute)
		if r := short.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("short session after its end: %d", r.Status)
		}
		// The long one lives 25 hours, used at least every 12 (the idle timeout still applies).
		for _, step := range []time.Duration{10 * time.Hour, 11 * time.Hour, 2*time.Hour + 49*time.Minute} {
			e.Clock.Advance(step)
			if r := long.Do("GET", "/api/auth/me", nil); r.Status != 200 {
				t.Fatalf("stay-signed-in session at %v: %d", e.Clock.Now().Sub(start), r.Status)
			}
		}
		e.Clock.Advance(11 * time.Minute) // 25 h 01 min after sign-in
		if r := long.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("stay-signed-in session after duration+offset: %d", r.Status)
		}
		if ev := logoutEvent(t, e, sessionIDOf(t, e, "max_lifetime")); ev == nil {
			t.Fatal("no max_lifetime logout event")
		}

		// The idle timeout ends even a stay-signed-in session.
		idle, _ := loginFrom(t, e, "127.0.0.1", map[string]any{"stay_signed_in": true})
		e.Clock.Advance(12*time.Hour + time.Minute)
		if r := idle.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("idle stay-signed-in session: %d", r.Status)
		}

		// The maximum lifetime caps the duration, and the cookie with it. (The admin's own
		// session has idled out while the clock moved.)
		admin, _ = e.Login("alice", adminPW)
		patchSettings(t, admin, map[string]any{"auth_session_max_lifetime_secs": 7200, "auth_session_duration": "days=1"})
		_, r = loginFrom(t, e, "127.0.0.1", map[string]any{"stay_signed_in": true})
		if sc := r.Header.Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=7200") {
			t.Fatalf("capped cookie: %q", sc)
		}

		// Duration zero: browser-session cookie; stay signed in then lasts the offset alone.
		patchSettings(t, admin, map[string]any{"auth_session_max_lifetime_secs": 1209600, "auth_session_duration": "seconds=0", "auth_stay_signed_in_offset": "hours=5"})
		_, r = loginFrom(t, e, "127.0.0.1", nil)
		if sc := r.Header.Get("Set-Cookie"); strings.Contains(sc, "Max-Age") {
			t.Fatalf("browser-session cookie expected: %q", sc)
		}
		_, r = loginFrom(t, e, "127.0.0.1", map[string]any{"stay_signed_in": true})
		if sc := r.Header.Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=18000") {
			t.Fatalf("offset-only cookie: %q", sc)
		}

		// Fractions of a second round the cookie up, never down to a browser-session cookie.
		patchSettings(t, admin, map[string]any{"auth_session_duration": "milliseconds=1500", "auth_stay_signed_in_offset": "seconds=0"})
		_, r = loginFrom(t, e, "127.0.0.1", nil)
		if sc := r.Header.Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=2") {
			t.Fatalf("sub-second cookie: %q", sc)
		}
	})
}

// sessionIDOf finds the newest session that ended for reason.
func sessionIDOf(t *testing.T, e *testserver.Env, reason string) string {
	t.Helper()
	evs, _, err := e.Store.ListEvents(context.Background(), gatehouse.EventFilter{Kind: gatehouse.EventLogout, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Data["reason"] == reason {
			return ev.SessionID
		}
	}
	return "none"
}

func TestTerminateOtherSessions(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		e.CreateUser(admin, "bob", "bob@example.com", userPW, "user")

		// Off (the default): sessions coexist.
		b1, r1 := loginFrom(t, e, "127.0.0.1", nil)
		b2, _ := loginFrom(t, e, "127.0.0.1", nil)
		if b1.Do("GET", "/api/auth/me", nil).Status != 200 || b2.Do("GET", "/api/auth/me", nil).Status != 200 {
			t.Fatal("sessions should coexist by default")
		}
		sid1, sid2 := sessionID(t, b1), sessionID(t, b2)

		patchSettings(t, admin, map[string]any{"auth_terminate_other_sessions": true})
		b3, r3 := loginFrom(t, e, "127.0.0.1", nil)
		for i, c := range []*testserver.Client{b1, b2} {
			if r := c.Do("GET", "/api/auth/me", nil); r.Status != 401 {
				t.Fatalf("old session %d after a new sign-in: %d", i+1, r.Status)
			}
		}
		if r := e.Bearer(r1.Str("access_token")).Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("old access token: %d", r.Status)
		}
		if r := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": r1.Str("refresh_token")}); r.Status != 401 {
			t.Fatalf("old refresh token: %d", r.Status)
		}
		if b3.Do("GET", "/api/auth/me", nil).Status != 200 || e.Bearer(r3.Str("access_token")).Do("GET", "/api/auth/me", nil).Status != 200 {
			t.Fatal("the new session must work")
		}
		for _, sid := range []string{sid1, sid2} {
			ev := logoutEvent(t, e, sid)
			if ev == nil || ev.Data["reason"] != gatehouse.ReasonTerminatedByNewLogin {
				t.Fatalf("logout event of %s: %+v", sid, ev)
			}
		}
		// Other users keep their sessions.
		if r := admin.Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("another user's session ended: %d", r.Status)
		}
	})
}

// geoEnv is a server with generated GeoLite2-layout databases:
//
//	5.4.0.0/16  AS6805 Telefonica Germany  EU DE Kassel
//	5.5.0.0/16  AS6805 Telefonica Germany  EU DE Berlin   (same AS, other block)
//	5.6.0.0/16  AS3320 Deutsche Telekom    EU DE Kassel   (other AS, same city)
//	81.0.0.0/16 AS3215 Orange              EU FR Paris
//	203.0.113.0/24 AS64500 Example US      NA US New York
//	2001:db8:1::/48 AS64501 Example v6     EU DE Kassel
//	2001:db8:2::/48 AS64501 Example v6     EU DE Kassel   (same AS, other block)
type geoEnv struct {
	*testserver.Env
	admin         *testserver.Client
	geo           *geo.DB
	cityDB, asnDB string
}

var testASNs = []geotest.AS{
	{CIDR: "5.4.0.0/16", ASN: 6805, Org: "Telefonica Germany"},
	{CIDR: "5.5.0.0/16", ASN: 6805, Org: "Telefonica Germany (O2)"}, // a distinct record: equal neighbours would merge into one block
	{CIDR: "5.6.0.0/16", ASN: 3320, Org: "Deutsche Telekom"},
	{CIDR: "81.0.0.0/16", ASN: 3215, Org: "Orange"},
	{CIDR: "203.0.113.0/24", ASN: 64500, Org: "Example US"},
	{CIDR: "2001:db8:1::/48", ASN: 64501, Org: "Example v6"},
	{CIDR: "2001:db8:2::/48", ASN: 64501, Org: "Example v6 (2)"},
}

var testPlaces = []geotest.Place{
	{CIDR: "5.4.0.0/16", Continent: "EU", Country: "DE", City: "Kassel", Lat: 51.2993, Long: 9.491},
	{CIDR: "5.5.0.0/16", Continent: "EU", Country: "DE", City: "Berlin", Lat: 52.52, Long: 13.405},
	{CIDR: "5.6.0.0/16", Continent: "EU", Country: "DE", City: "Kassel", Lat: 51.2993, Long: 9.491},
	{CIDR: "81.0.0.0/16", Continent: "EU", Country: "FR", City: "Paris", Lat: 48.8566, Long: 2.3522},
	{CIDR: "203.0.113.0/24", Continent: "NA", Country: "US", City: "New York", Lat: 40.7128, Long: -74.006},
	{CIDR: "2001:db8:1::/48", Continent: "EU", Country: "DE", City: "Kassel", Lat: 51.2993, Long: 9.491},
	{CIDR: "2001:db8:2::/48", Continent: "EU", Country: "DE", City: "Kassel", Lat: 51.2993, Long: 9.491},
}

func newGeoEnv(t testing.TB, backend string, web bool) *geoEnv {
	t.Helper()
	city, asn := geotest.Path(t, "city.mmdb"), geotest.Path(t, "asn.mmdb")
	geotest.WriteCity(t, city, geotest.GeoLite2, testPlaces...)
	geotest.WriteASN(t, asn, geotest.GeoLite2, testASNs...)
	db, err := geo.Open(city, asn, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := testserver.New(t, testserver.Options{Backend: backend, GeoIP: db, Web: web})
	// The admin works from loopback throughout; its own session is bound to 127.0.0.1.
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	e.CreateUser(admin, "bob", "bob@example.com", userPW, "user")
	// Many sign-ins from few addresses follow; the rate limit is another test's subject.
	patchSettings(t, admin, map[string]any{"auth_login_rate_limit_burst": 10000})
	return &geoEnv{Env: e, admin: admin, geo: db, cityDB: city, asnDB: asn}
}

func TestSessionBindingLevels(t *testing.T) {
	t.Parallel()
	cases := []struct {
		network, geoip string
		from, to       string
		want           string // "" = the session survives
	}{
		{"asn", "none", "5.4.0.1", "5.4.0.2", ""},
		{"asn", "none", "5.4.0.1", "5.5.0.1", ""}, // same AS, other block
		{"asn", "none", "5.4.0.1", "5.6.0.1", "network.asn_changed"},
		{"asn_network", "none", "5.4.0.1", "5.4.200.9", ""},
		{"asn_network", "none", "5.4.0.1", "5.5.0.1", "network.network_changed"},
		{"asn_network_ip", "none", "5.4.0.1", "5.4.0.1", ""},
		{"asn_network_ip", "none", "5.4.0.1", "5.4.0.2", "network.ip_changed"},
		{"asn", "none", "5.4.0.1", "198.51.100.1", "network.missing"}, // public, unknown to the database
		// Private and loopback addresses have no data: bound to the exact address.
		{"asn", "none", "5.4.0.1", "10.0.0.5", "network.missing"},
		{"asn", "none", "10.0.0.1", "10.0.0.1", ""},
		{"asn", "none", "10.0.0.1", "10.0.0.2", "network.missing"},
		{"asn", "none", "192.168.1.10", "5.4.0.1", "network.missing"},
		{"asn_network", "continent_country_city", "127.0.0.1", "127.0.0.1", ""},
		// GeoIP levels.
		{"none", "continent", "5.4.0.1", "81.0.0.1", ""}, // DE -> FR, both EU
		{"none", "continent", "5.4.0.1", "203.0.113.9", "geoip.continent_changed"},
		{"none", "continent_country", "5.4.0.1", "5.5.0.1", ""}, // Kassel -> Berlin
		{"none", "continent_country", "5.4.0.1", "81.0.0.1", "geoip.country_changed"},
		{"none", "continent_country_city", "5.4.0.1", "5.6.0.1", ""}, // other AS, same city
		{"none", "continent_country_city", "5.4.0.1", "5.5.0.1", "geoip.city_changed"},
		{"none", "continent", "5.4.0.1", "172.16.0.1", "geoip.missing"},
		// IPv6.
		{"asn_network", "continent_country_city", "2001:db8:1::1", "2001:db8:1::ffff", ""},
		{"asn_network", "none", "2001:db8:1::1", "2001:db8:2::1", "network.network_changed"},
		{"asn", "continent_country_city", "2001:db8:1::1", "2001:db8:2::1", ""},
		{"asn", "none", "2001:db8:1::1", "5.6.0.1", "network.asn_changed"},
		{"none", "continent", "fd00::1", "fd00::2", "geoip.missing"},
		// Both on: the network is checked first.
		{"asn", "continent_country", "5.4.0.1", "81.0.0.1", "network.asn_changed"},
		{"asn", "continent_country_city", "5.4.0.1", "5.5.0.1", "geoip.city_changed"},
	}
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newGeoEnv(t, backend, false)
		for _, tc := range cases {
			patchSettings(t, e.admin, map[string]any{"auth_session_network_binding": tc.network, "auth_session_geoip_binding": tc.geoip})
			c, _ := loginFrom(t, e.Env, tc.from, nil)
			sid := sessionID(t, c)
			c.Header.Set("X-Forwarded-For", tc.to)
			r := c.Do("GET", "/api/auth/me", nil)
			name := tc.network + "/" + tc.geoip + " " + tc.from + " -> " + tc.to
			if tc.want == "" {
				if r.Status != 200 {
					t.Errorf("%s: want the session kept, got %d %s", name, r.Status, r.Body)
				}
				// A second use from the same address takes the cached path and still passes.
				if r := c.Do("GET", "/api/auth/me", nil); r.Status != 200 {
					t.Errorf("%s: second use %d", name, r.Status)
				}
				continue
			}
			if r.Status != 401 || r.Code() != "unauthorized" {
				t.Errorf("%s: want 401, got %d %s", name, r.Status, r.Body)
				continue
			}
			ev := logoutEvent(t, e.Env, sid)
			if ev == nil || ev.Data["reason"] != gatehouse.ReasonBindingBroken {
				t.Errorf("%s: logout event %+v", name, ev)
				continue
			}
			if got := ev.Data["binding"].(map[string]any)["reason"]; got != tc.want {
				t.Errorf("%s: binding reason %v, want %s", name, got, tc.want)
			}
			// The session is over for good, also from its original address.
			c.Header.Set("X-Forwarded-For", tc.from)
			if r := c.Do("GET", "/api/auth/me", nil); r.Status != 401 {
				t.Errorf("%s: session usable again from the sign-in address: %d", name, r.Status)
			}
		}
		// The admin, bound to loopback throughout, was never affected.
		if r := e.admin.Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("admin session: %d", r.Status)
		}
	})
}

func TestSessionBindingEveryCredential(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newGeoEnv(t, backend, false)
		patchSettings(t, e.admin, map[string]any{"auth_session_network_binding": "asn"})
		moved := "5.6.0.1" // another AS than the sign-in's 5.4.0.1

		// Bearer token.
		_, r := loginFrom(t, e.Env, "5.4.0.1", nil)
		bc := e.Bearer(r.Str("access_token"))
		bc.Header.Set("X-Forwarded-For", "5.4.0.9")
		if r := bc.Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("bearer from the same AS: %d", r.Status)
		}
		bc.Header.Set("X-Forwarded-For", moved)
		if r := bc.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("bearer from another AS: %d", r.Status)
		}

		// Refresh.
		_, r = loginFrom(t, e.Env, "5.4.0.1", nil)
		rc := e.Client()
		rc.Header.Set("X-Forwarded-For", moved)
		if r := rc.Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": r.Str("refresh_token")}); r.Status != 401 {
			t.Fatalf("refresh from another AS: %d %s", r.Status, r.Body)
		}
		if r := e.Bearer(r.Str("access_token")).Do("GET", "/api/auth/me", nil, "X-Forwarded-For", "5.4.0.1"); r.Status != 401 {
			t.Fatalf("access token after the refresh broke the binding: %d", r.Status)
		}

		// Forward-auth verify with the cookie.
		c, _ := loginFrom(t, e.Env, "5.4.0.1", nil)
		if r := c.Do("GET", "/api/auth/verify", nil); r.Status != 200 || r.Header.Get("Remote-User") != "bob" {
			t.Fatalf("verify from the sign-in address: %d", r.Status)
		}
		c.Header.Set("X-Forwarded-For", moved)
		if r := c.Do("GET", "/api/auth/verify", nil, "Accept", "text/html"); r.Status != 302 || !strings.Contains(r.Header.Get("Location"), "/login") {
			t.Fatalf("verify from another AS: %d %v", r.Status, r.Header)
		}

		evs, _, _ := e.Store.ListEvents(context.Background(), gatehouse.EventFilter{Kind: gatehouse.EventLogout, Limit: 100})
		paths := map[string]bool{}
		for _, ev := range evs {
			if ev.Data["reason"] == gatehouse.ReasonBindingBroken {
				paths[ev.Data["http_request"].(map[string]any)["path"].(string)] = true
			}
		}
		for _, p := range []string{"/api/auth/me", "/api/auth/refresh", "/api/auth/verify"} {
			if !paths[p] {
				t.Errorf("no binding logout recorded for %s: %v", p, paths)
			}
		}
	})
}

func TestSessionBindingLogoutEvent(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newGeoEnv(t, backend, false)
		patchSettings(t, e.admin, map[string]any{"auth_session_network_binding": "asn_network", "auth_session_geoip_binding": "continent_country_city"})
		c, _ := loginFrom(t, e.Env, "5.4.0.1", nil)
		sid := sessionID(t, c)
		c.Header.Set("X-Forwarded-For", "81.0.0.7")
		r := c.Do("GET", "/api/auth/me?x=1", nil)
		if r.Status != 401 || !strings.Contains(string(r.Body), "another network or place") {
			t.Fatalf("broken binding: %d %s", r.Status, r.Body)
		}
		ev := logoutEvent(t, e.Env, sid)
		if ev == nil {
			t.Fatal("no logout event")
		}
		if ev.IP != "81.0.0.7" || ev.UserAgent != "Mozilla/5.0 (X11; Linux x86_64) PolicyTest/1.0" {
			t.Errorf("event client: %q %q", ev.IP, ev.UserAgent)
		}
		got, _ := json.Marshal(ev.Data)
		var data map[string]any
		_ = json.Unmarshal(got, &data)
		want := map[string]any{
			"reason":        "session_binding_broken",
			"logout_reason": "Session binding broken",
			"binding": map[string]any{
				"reason":         "network.asn_changed",
				"previous_value": map[string]any{"asn": 6805.0, "as_org": "Telefonica Germany", "network": "5.4.0.0/16"},
				"new_value":      map[string]any{"asn": 3215.0, "as_org": "Orange", "network": "81.0.0.0/16"},
			},
			"asn":          map[string]any{"asn": 3215.0, "as_org": "Orange", "network": "81.0.0.0/16"},
			"geo":          map[string]any{"continent": "EU", "country": "FR", "city": "Paris", "lat": 48.8566, "long": 2.3522},
			"ip":           map[string]any{"previous": "5.4.0.1", "new": "81.0.0.7"},
			"http_request": map[string]any{"path": "/api/auth/me", "method": "GET", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) PolicyTest/1.0"},
		}
		wantJSON, _ := json.Marshal(want)
		if string(got) != string(wantJSON) {
			t.Errorf("event data\n got %s\nwant %s", got, wantJSON)
		}

		// The seed's example: signed in where the database knows nothing, used where it knows.
		c, _ = loginFrom(t, e.Env, "10.1.2.3", nil)
		sid = sessionID(t, c)
		c.Header.Set("X-Forwarded-For", "5.4.0.1")
		if r := c.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("private -> public: %d", r.Status)
		}
		ev = logoutEvent(t, e.Env, sid)
		b := ev.Data["binding"].(map[string]any)
		if b["reason"] != "network.missing" || len(b["previous_value"].(map[string]any)) != 0 || b["new_value"].(map[string]any)["as_org"] != "Telefonica Germany" {
			t.Errorf("missing binding data: %v", ev.Data)
		}
		if ip := ev.Data["ip"].(map[string]any); ip["previous"] != "10.1.2.3" || ip["new"] != "5.4.0.1" {
			t.Errorf("ip: %v", ip)
		}
		if g := ev.Data["geo"].(map[string]any); g["city"] != "Kassel" || g["country"] != "DE" {
			t.Errorf("geo: %v", g)
		}
	})
}

func TestSessionBindingReload(t *testing.T) {
	t.Parallel()
	e := newGeoEnv(t, "sqlite", false)
	patchSettings(t, e.admin, map[string]any{"auth_session_geoip_binding": "continent_country"})
	c, _ := loginFrom(t, e.Env, "5.4.0.1", nil) // Kassel, DE
	c.Header.Set("X-Forwarded-For", "5.5.0.1")  // Berlin, DE: same country
	if r := c.Do("GET", "/api/auth/me", nil); r.Status != 200 {
		t.Fatalf("same country: %d", r.Status)
	}
	// A new database moves 5.5.0.0/16 to France. Until the reload check runs, the old data holds.
	places := append([]geotest.Place(nil), testPlaces...)
	places[1] = geotest.Place{CIDR: "5.5.0.0/16", Continent: "EU", Country: "FR", City: "Lille"}
	geotest.WriteCity(t, e.cityDB, geotest.GeoLite2, places...)
	if r := c.Do("GET", "/api/auth/me", nil); r.Status != 200 {
		t.Fatalf("before the reload check: %d", r.Status)
	}
	if changed, err := e.geo.Reload(); !changed || err != nil {
		t.Fatalf("reload: %v %v", changed, err)
	}
	// The address that passed before is judged again against the new data.
	if r := c.Do("GET", "/api/auth/me", nil); r.Status != 401 {
		t.Fatalf("after the reload: %d", r.Status)
	}
}

func TestSessionBindingNeedsDatabase(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		for _, tc := range []struct {
			key, val, mention string
		}{
			{"auth_session_network_binding", "asn", "asn_db"},
			{"auth_session_network_binding", "asn_network_ip", "asn_db"},
			{"auth_session_geoip_binding", "continent", "city_db"},
		} {
			r := admin.Do("PATCH", "/api/admin/settings", map[string]any{tc.key: tc.val, "auth_access_token_ttl_secs": 600})
			msg := r.Message()
			if r.Status != 400 || r.Code() != "invalid_input" || r.Field() != tc.key || !strings.Contains(msg, tc.key) || !strings.Contains(msg, tc.mention) {
				t.Fatalf("%s=%s without a database: %d %s", tc.key, tc.val, r.Status, r.Body)
			}
		}
		s := admin.Do("GET", "/api/admin/settings", nil).Settings().Settings
		if s["auth_session_network_binding"] != "none" || s["auth_session_geoip_binding"] != "none" || s["auth_access_token_ttl_secs"] != float64(900) {
			t.Fatalf("a refused patch saved something: %v", s)
		}
		patchSettings(t, admin, map[string]any{"auth_session_network_binding": "none", "auth_session_geoip_binding": "none"})
	})

	// Only an ASN database: network binding is accepted, GeoIP binding is not.
	asn := geotest.Path(t, "asn.mmdb")
	geotest.WriteASN(t, asn, geotest.DBIP, testASNs...)
	db, err := geo.Open("", asn, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := testserver.New(t, testserver.Options{GeoIP: db})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	patchSettings(t, admin, map[string]any{"auth_session_network_binding": "asn_network"})
	if r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_session_geoip_binding": "continent"}); r.Status != 400 || r.Field() != "auth_session_geoip_binding" {
		t.Fatalf("geoip binding with only an ASN database: %d %s", r.Status, r.Body)
	}
}

func TestSessionListShowsPlace(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newGeoEnv(t, backend, true)
		// Recorded whatever the binding settings (here: none), so the list can show it.
		c, _ := loginFrom(t, e.Env, "5.4.0.1", nil)
		loginFrom(t, e.Env, "127.0.0.1", nil)
		r := c.Do("GET", "/api/account/sessions", nil)
		var withPlace, without int
		type place struct {
			City    string `json:"city"`
			Country string `json:"country"`
		}
		type network struct {
			ASN   int64  `json:"asn"`
			ASOrg string `json:"as_org"`
		}
		for _, s := range testserver.Items[struct {
			testserver.Session
			Location *place   `json:"location"`
			Network  *network `json:"network"`
		}](r) {
			switch s.IP {
			case "5.4.0.1":
				if s.Location == nil || s.Network == nil || s.Location.City != "Kassel" || s.Location.Country != "DE" || s.Network.ASN != 6805 || s.Network.ASOrg != "Telefonica Germany" {
					t.Errorf("session from 5.4.0.1: %s", r.Body)
				}
				withPlace++
			case "127.0.0.1":
				if s.Location != nil {
					t.Errorf("loopback session has a location: %s", r.Body)
				}
				without++
			}
		}
		if withPlace != 1 || without != 1 {
			t.Fatalf("sessions: %s", r.Body)
		}
		page := c.Do("GET", "/settings/security", nil)
		if page.Status != http.StatusOK || !strings.Contains(string(page.Body), "Kassel, DE") || !strings.Contains(string(page.Body), "Telefonica Germany (AS6805)") {
			t.Fatalf("security page: %d %s", page.Status, page.Body)
		}
		// The admin sees the same on the user's page.
		page = e.admin.Do("GET", "/admin/users/2", nil)
		if page.Status != http.StatusOK || !strings.Contains(string(page.Body), "Kassel, DE · Telefonica Germany (AS6805)") {
			t.Fatalf("admin user page: %d %s", page.Status, page.Body)
		}
		// The settings page says both databases are there.
		page = e.admin.Do("GET", "/admin/settings", nil)
		if !strings.Contains(string(page.Body), "On this server an ASN database is configured.") || !strings.Contains(string(page.Body), "On this server a city database is configured.") {
			t.Fatalf("settings page: %s", page.Body)
		}
	})
}

// BenchmarkVerifyBinding measures forward auth (GET /api/auth/verify with the cookie) through the
// whole handler, without binding and with every binding level on (client at its sign-in
// address; with the address changing on every request).
func BenchmarkVerifyBinding(b *testing.B) {
	e := newGeoEnv(b, "sqlite", false)
	_, r := loginFrom(b, e.Env, "5.4.0.1", nil)
	var cookie string
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "gatehouse_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	h := e.Server.Config.Handler
	run := func(b *testing.B, ips ...string) {
		reqs := make([]*http.Request, len(ips))
		for i, ip := range ips {
			req := httptest.NewRequest("GET", "/api/auth/verify", nil)
			req.RemoteAddr = "127.0.0.1:40000" // the trusted proxy
			req.Header.Set("X-Forwarded-For", ip)
			req.Header.Set("Cookie", cookie)
			reqs[i] = req
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, reqs[i%len(reqs)])
			i++
			if w.Code != 200 {
				b.Fatalf("verify: %d %s", w.Code, w.Body)
			}
		}
	}
	b.Run("binding=none", func(b *testing.B) {
		patchSettings(b, e.admin, map[string]any{"auth_session_network_binding": "none", "auth_session_geoip_binding": "none"})
		run(b, "5.4.0.1")
	})
	b.Run("binding=all/same-ip", func(b *testing.B) {
		patchSettings(b, e.admin, map[string]any{"auth_session_network_binding": "asn_network", "auth_session_geoip_binding": "continent_country_city"})
		run(b, "5.4.0.1")
	})
	b.Run("binding=all/ip-changes-every-request", func(b *testing.B) {
		patchSettings(b, e.admin, map[string]any{"auth_session_network_binding": "asn_network", "auth_session_geoip_binding": "continent_country_city"})
		run(b, "5.4.0.2", "5.4.0.3")
	})
}

// "Terminate other sessions" holds for every way in: the second factor and passkeys finish
// through the same session start as a password.
func TestTerminateOthersForMFAAndPasskeys(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Localhost: true})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	e.CreateUser(admin, "bob", "bob@example.com", userPW, "user")
	patchSettings(t, admin, map[string]any{"auth_terminate_other_sessions": true})

	// A passkey for bob, added in one session; a passkey sign-in ends that session.
	first, _ := e.Login("bob", userPW)
	a := webauthntest.New(e.URL)
	if r := registerPasskey(t, first, a, "laptop"); r.Status != 201 {
		t.Fatalf("add a passkey: %d %s", r.Status, r.Body)
	}
	pk, r := passkeySignIn(t, e, a)
	if r.Status != 200 {
		t.Fatalf("passkey sign-in: %d %s", r.Status, r.Body)
	}
	if r := first.Do("GET", "/api/auth/me", nil); r.Status != 401 {
		t.Fatalf("the password session after a passkey sign-in: %d", r.Status)
	}

	// MFA on; completing the second factor ends the passkey session.
	secret, _ := enroll(t, e, pk)
	c := e.Client()
	tok := passwordStep(t, e, c, "bob", userPW)
	if r := pk.Do("GET", "/api/auth/me", nil); r.Status != 200 {
		t.Fatalf("the password step alone ended a session: %d", r.Status)
	}
	if r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": code(t, e, secret, 0)}); r.Status != 200 {
		t.Fatalf("second factor: %d %s", r.Status, r.Body)
	}
	if r := pk.Do("GET", "/api/auth/me", nil); r.Status != 401 {
		t.Fatalf("the passkey session after an MFA sign-in: %d", r.Status)
	}
	if r := c.Do("GET", "/api/auth/me", nil); r.Status != 200 {
		t.Fatalf("the new session: %d", r.Status)
	}
}
