package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

const adminPW = "correct horse battery"

// forEachBackend runs f against SQLite and, when available, PostgreSQL.
func forEachBackend(t *testing.T, f func(t *testing.T, backend string)) {
	for _, b := range testserver.Backends() {
		t.Run(b, func(t *testing.T) { f(t, b) })
	}
}

func TestSetupRace(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		if r := e.Client().Do("GET", "/api/auth/state", nil); r.JSON["setup_required"] != true {
			t.Fatalf("fresh state: %s", r.Body)
		}
		const n = 8
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := range n {
			wg.Go(func() {
				r := e.Client().Do("POST", "/api/setup/admin", map[string]string{
					"username": fmt.Sprintf("admin%d", i), "email": fmt.Sprintf("admin%d@example.com", i), "password": adminPW})
				statuses[i] = r.Status
			})
		}
		wg.Wait()
		won := 0
		for _, s := range statuses {
			switch s {
			case http.StatusCreated:
				won++
			case http.StatusConflict:
			default:
				t.Fatalf("unexpected status %d in %v", s, statuses)
			}
		}
		if won != 1 {
			t.Fatalf("%d setups won, want exactly 1: %v", won, statuses)
		}
		r := e.Client().Do("GET", "/api/auth/state", nil)
		if r.JSON["setup_required"] != false {
			t.Fatalf("state after setup: %s", r.Body)
		}
		if r := e.Client().Do("POST", "/api/setup/admin", map[string]string{"username": "late", "email": "late@example.com", "password": adminPW}); r.Status != 409 || r.Code() != "setup_completed" {
			t.Fatalf("late setup: %d %s", r.Status, r.Body)
		}
	})
}

func TestLoginMeRefreshLogout(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		e.Setup("alice", "Alice@Example.com", adminPW)
		// Sign in by email (any case) and by username.
		c, r := e.Login("ALICE@example.com", adminPW)
		if r.Str("token_type") != "Bearer" || r.Str("access_token") == "" || r.Str("refresh_token") == "" || r.SignIn().ExpiresIn != 900 {
			t.Fatalf("login answer: %s", r.Body)
		}
		if u := r.User(); u.Username != "alice" || u.Email != "alice@example.com" || u.Role != "admin" {
			t.Fatalf("user: %+v", u)
		}
		if _, ok := testserver.Decode[struct {
			User map[string]any `json:"user"`
		}](r).User["password_hash"]; ok {
			t.Fatal("password hash leaked")
		}
		setCookie := r.Header.Get("Set-Cookie")
		for _, want := range []string{"gatehouse_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(setCookie, want) {
				t.Fatalf("cookie %q lacks %q", setCookie, want)
			}
		}
		if strings.Contains(setCookie, "Max-Age") {
			t.Fatalf("default session cookie should end with the browser: %q", setCookie)
		}
		e.Login("alice", adminPW)

		// The cookie and the Bearer token both work.
		if r := c.Do("GET", "/api/auth/me", nil); r.Status != 200 || r.Me().Session.Via != "cookie" {
			t.Fatalf("me by cookie: %d %s", r.Status, r.Body)
		}
		access, refresh := r.Str("access_token"), r.Str("refresh_token")
		if r := e.Bearer(access).Do("GET", "/api/auth/me", nil); r.Status != 200 || r.User().Username != "alice" {
			t.Fatalf("me by bearer: %d %s", r.Status, r.Body)
		}

		// Refresh rotates.
		r2 := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": refresh})
		if r2.Status != 200 || r2.Str("refresh_token") == refresh || r2.Str("access_token") == "" {
			t.Fatalf("refresh: %d %s", r2.Status, r2.Body)
		}
		if r := e.Bearer(r2.Str("access_token")).Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("refreshed token refused: %d", r.Status)
		}

		// Logout by Bearer ends the whole session: the cookie and every access token die at once.
		if r := e.Bearer(access).Do("POST", "/api/auth/logout", nil); r.Status != 204 {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		for _, tok := range []string{access, r2.Str("access_token")} {
			if r := e.Bearer(tok).Do("GET", "/api/auth/me", nil); r.Status != 401 || r.Code() != "unauthorized" {
				t.Fatalf("token after logout: %d %s", r.Status, r.Body)
			}
		}
		if r := c.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("cookie after logout: %d", r.Status)
		}
		if r := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": r2.Str("refresh_token")}); r.Status != 401 {
			t.Fatalf("refresh after logout: %d", r.Status)
		}
		ev := e.Client()
		ev.HTTP.Jar = c.HTTP.Jar
		events := eventsOf(t, e, "logout")
		if len(events) != 1 || events[0].Data["reason"] != "user" {
			t.Fatalf("logout events: %v", events)
		}
	})
}

// eventsOf signs in as alice in a fresh client and lists events of a kind.
func eventsOf(t *testing.T, e *testserver.Env, kind string) []testserver.Event {
	t.Helper()
	return testserver.Items[testserver.Event](adminEventsAnswer(t, e, kind))
}

// adminEvents is eventsOf with each event as a generic JSON object, for tests that look at
// fields the typed event does not carry.
func adminEvents(t *testing.T, e *testserver.Env, kind string) []map[string]any {
	t.Helper()
	return testserver.Items[map[string]any](adminEventsAnswer(t, e, kind))
}

func adminEventsAnswer(t *testing.T, e *testserver.Env, kind string) *testserver.Response {
	t.Helper()
	c, _ := e.Login("alice", adminPW)
	r := c.Do("GET", "/api/admin/events?kind="+kind, nil)
	if r.Status != 200 {
		t.Fatalf("events: %d %s", r.Status, r.Body)
	}
	return r
}

func TestWrongPasswordAndUnknownUserLookAlike(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	e.Setup("alice", "alice@example.com", adminPW)
	c := e.Client()
	wrong := c.Do("POST", "/api/auth/login", map[string]string{"login": "alice", "password": "wrong password"})
	unknown := c.Do("POST", "/api/auth/login", map[string]string{"login": "nobody", "password": "wrong password"})
	if wrong.Status != 401 || unknown.Status != 401 || string(wrong.Body) != string(unknown.Body) || wrong.Code() != "invalid_credentials" {
		t.Fatalf("wrong password %d %s / unknown user %d %s", wrong.Status, wrong.Body, unknown.Status, unknown.Body)
	}
	if wrong.Header.Get("Set-Cookie") != "" || unknown.Header.Get("Set-Cookie") != "" {
		t.Fatal("a failed login set a cookie")
	}
}

func TestRefreshReuseRevokesSession(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		e.Setup("alice", "alice@example.com", adminPW)
		c, r := e.Login("alice", adminPW)
		old := r.Str("refresh_token")
		r2 := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": old})
		if r2.Status != 200 {
			t.Fatalf("refresh: %d %s", r2.Status, r2.Body)
		}
		// A second tab racing with the same token within the grace period is not theft, and it
		// gets the same next token: replays cannot fork the chain into independent branches.
		for range 3 {
			r := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": old})
			if r.Status != 200 {
				t.Fatalf("refresh within grace: %d %s", r.Status, r.Body)
			}
			if r.Str("refresh_token") != r2.Str("refresh_token") {
				t.Fatal("a replay within the grace period got a refresh token of its own: the chain forked")
			}
		}
		e.Clock.Advance(time.Minute)
		r3 := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": old})
		if r3.Status != 401 || r3.Code() != "refresh_token_reused" {
			t.Fatalf("replayed refresh: %d %s", r3.Status, r3.Body)
		}
		// The whole session is gone: the legitimate client's newest tokens and cookie too.
		if r := e.Bearer(r2.Str("access_token")).Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("access token after reuse: %d", r.Status)
		}
		if r := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": r2.Str("refresh_token")}); r.Status != 401 {
			t.Fatalf("newest refresh token after reuse: %d", r.Status)
		}
		if r := c.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("cookie after reuse: %d", r.Status)
		}
		if ev := adminEvents(t, e, "token.reuse_detected"); len(ev) != 1 {
			t.Fatalf("reuse events: %v", ev)
		}
		lo := eventsOf(t, e, "logout")
		if len(lo) != 1 || lo[0].Data["reason"] != "refresh_token_reused" {
			t.Fatalf("logout events: %v", lo)
		}
	})
}

func TestRevocationSurvivesRestart(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		clock := testserver.NewClock()
		e := testserver.New(t, testserver.Options{Backend: backend, Clock: clock})
		e.Setup("alice", "alice@example.com", adminPW)
		_, r := e.Login("alice", adminPW)
		access := r.Str("access_token")
		if r := e.Bearer(access).Do("POST", "/api/auth/logout", nil); r.Status != 204 {
			t.Fatalf("logout: %d", r.Status)
		}
		e.Server.Close()
		// A new process on the same database: it has never seen the logout in memory.
		e2 := testserver.New(t, testserver.Options{Backend: backend, DSN: e.DSN, Clock: clock})
		if r := e2.Bearer(access).Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("revoked token accepted after restart: %d %s", r.Status, r.Body)
		}
		// A token of a live session still works after the restart.
		_, r = e2.Login("alice", adminPW)
		if r := e2.Bearer(r.Str("access_token")).Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("live token after restart: %d", r.Status)
		}
	})
}

func TestDisabledUserRefusedAtOnce(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		id := e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
		bobCookie, r := e.Login("bob", "bob password 1")
		bobBearer := e.Bearer(r.Str("access_token"))
		if r := bobBearer.Do("GET", "/api/auth/verify", nil); r.Status != 200 {
			t.Fatalf("verify before disable: %d", r.Status)
		}
		if r := admin.Do("PATCH", fmt.Sprintf("/api/admin/users/%d", id), map[string]any{"disabled": true}); r.Status != 200 || r.JSON["disabled"] != true {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		for name, c := range map[string]*testserver.Client{"bearer": bobBearer, "cookie": bobCookie} {
			if r := c.Do("GET", "/api/auth/verify", nil); r.Status != 401 {
				t.Fatalf("%s still accepted after disable: %d", name, r.Status)
			}
		}
		if r := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": r.Str("refresh_token")}); r.Status != 401 {
			t.Fatalf("refresh after disable: %d", r.Status)
		}
		// Signing in says the account is disabled only after a correct password.
		bad := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "not bobs password"})
		good := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1"})
		if bad.Code() != "invalid_credentials" || good.Status != 403 || good.Code() != "account_disabled" {
			t.Fatalf("disabled login: wrong pw %d %s, right pw %d %s", bad.Status, bad.Body, good.Status, good.Body)
		}
		// Enabling again allows a new sign-in; the old tokens stay dead.
		admin.Do("PATCH", fmt.Sprintf("/api/admin/users/%d", id), map[string]any{"disabled": false})
		e.Login("bob", "bob password 1")
		if r := bobBearer.Do("GET", "/api/auth/verify", nil); r.Status != 401 {
			t.Fatalf("old token revived after enable: %d", r.Status)
		}
	})
}

func TestVerifyForwardAuth(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{PublicURL: "https://auth.example.com"})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	r := admin.Do("GET", "/api/auth/verify", nil)
	if r.Status != 200 || r.Header.Get("Remote-User") != "alice" || r.Header.Get("Remote-Email") != "alice@example.com" ||
		r.Header.Get("Remote-Name") != "alice" || r.Header["Remote-Groups"] == nil || r.Header.Get("Remote-Groups") != "" {
		t.Fatalf("verify: %d %v", r.Status, r.Header)
	}
	anon := e.Client()
	if r := anon.Do("GET", "/api/auth/verify", nil); r.Status != 401 || r.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("anonymous API verify: %d", r.Status)
	}
	html := func(extra ...string) string {
		h := append([]string{"Accept", "text/html,application/xhtml+xml"}, extra...)
		r := anon.Do("GET", "/api/auth/verify", nil, h...)
		if r.Status != 302 {
			t.Fatalf("HTML verify: %d", r.Status)
		}
		return r.Header.Get("Location")
	}
	if loc := html("X-Forwarded-Proto", "https", "X-Forwarded-Host", "app.example.com", "X-Forwarded-Uri", "/dash?x=1"); loc != "https://auth.example.com/login?rd=https%3A%2F%2Fapp.example.com%2Fdash%3Fx%3D1" {
		t.Fatalf("redirect: %q", loc)
	}
	// Another site is never put in rd: no open redirect through the login page.
	for _, evil := range [][]string{
		{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.com", "X-Forwarded-Uri", "/"},
		{"X-Original-URL", "https://example.com.evil.com/"},
		{"X-Original-URL", "//evil.com/x"},
	} {
		if loc := html(evil...); loc != "https://auth.example.com/login" {
			t.Fatalf("open redirect with %v: %q", evil, loc)
		}
	}
	r = anon.Do("GET", "/api/auth/verify?rd=https://evil.com/", nil, "Accept", "text/html")
	if r.Header.Get("Location") != "https://auth.example.com/login" {
		t.Fatalf("rd param: %q", r.Header.Get("Location"))
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	c := e.Client()
	cases := []struct {
		body   any
		ctype  string
		status int
		code   string
		field  string
	}{
		{`{"username": "a", `, "application/json", 400, "invalid_input", ""},
		{`{"username": 5, "email": "a@example.com", "password": "12345678"}`, "application/json", 400, "invalid_input", "username"},
		{`{"username": "a", "email": "a@example.com", "password": "12345678", "admin": true}`, "application/json", 400, "invalid_input", "admin"},
		{`[]`, "application/json", 400, "invalid_input", ""},
		{`{"username":"a","email":"a@example.com","password":"12345678"} {}`, "application/json", 400, "invalid_input", ""},
		{`username=a`, "application/x-www-form-urlencoded", 415, "unsupported_media_type", ""},
		{`{"username": "a", "email": "a@example.com", "password": "` + strings.Repeat("x", 100_000) + `"}`, "application/json", 413, "request_too_large", ""},
		{`{"username": "a", "email": "not an email", "password": "12345678"}`, "application/json", 400, "invalid_input", "email"},
		{`{"username": "a", "email": "a@example.com", "password": "short"}`, "application/json", 400, "invalid_input", "password"},
		{`{"username": "a", "email": "a@example.com", "password": "` + strings.Repeat("x", 129) + `"}`, "application/json", 400, "invalid_input", "password"},
		{`{"username": "-a", "email": "a@example.com", "password": "12345678"}`, "application/json", 400, "invalid_input", "username"},
	}
	for i, tc := range cases {
		r := c.Do("POST", "/api/setup/admin", tc.body, "Content-Type", tc.ctype)
		if r.Status != tc.status || r.Code() != tc.code || r.Field() != tc.field {
			t.Errorf("case %d: got %d %s, want %d %s field %q", i, r.Status, r.Body, tc.status, tc.code, tc.field)
		}
		if r.Message() == "" {
			t.Errorf("case %d: no message", i)
		}
	}
	if r := c.Do("GET", "/api/auth/state", nil); r.JSON["setup_required"] != true {
		t.Fatal("bad input created an account")
	}
	// A megabyte password on login is refused at once, before any hashing.
	r := c.Do("POST", "/api/auth/login", map[string]string{"login": "a", "password": strings.Repeat("x", 1<<20)})
	if r.Status != 413 {
		t.Fatalf("1 MB password: %d %s", r.Status, r.Body)
	}
	r = c.Do("POST", "/api/auth/login", map[string]string{"login": "a", "password": strings.Repeat("x", 5000)})
	if r.Status != 400 || r.Field() != "password" {
		t.Fatalf("over-long password: %d %s", r.Status, r.Body)
	}
	if r := c.Do("GET", "/api/nope", nil); r.Status != 404 || r.Code() != "not_found" {
		t.Fatalf("unknown endpoint: %d %s", r.Status, r.Body)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	c := e.Client()
	if r := c.Do("GET", "/healthz", nil); r.Status != 200 {
		t.Fatalf("healthz %d", r.Status)
	}
	if r := c.Do("GET", "/readyz", nil); r.Status != 200 {
		t.Fatalf("readyz %d", r.Status)
	}
	c.Do("POST", "/api/auth/login", map[string]string{"login": "x", "password": "wrong password"})
	// The request check is answered before the mux: it must still be counted and timed.
	for range 2 {
		if r := c.Do("GET", "/api/auth/verify", nil); r.Status != 401 {
			t.Fatalf("verify without credentials: %d", r.Status)
		}
	}
	r := c.Do("GET", "/metrics", nil)
	for _, want := range []string{`gatehouse_sign_ins_total{outcome="invalid_credentials"} 1`, "gatehouse_hash_pool_waiting", "gatehouse_revoked_sessions", `gatehouse_http_requests_total{route="POST /api/auth/login",status="4xx"} 1`,
		`gatehouse_http_request_duration_seconds_count{code="401",route="POST /api/auth/login"} 1`,
		`gatehouse_http_requests_total{route="/api/auth/verify",status="4xx"} 2`,
		`gatehouse_http_request_duration_seconds_count{code="401",route="/api/auth/verify"} 2`,
		`gatehouse_http_request_duration_seconds_bucket{code="200",route="GET /readyz",le="5"} 1`} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	_ = e.Store.Close()
	if r := c.Do("GET", "/readyz", nil); r.Status != 503 {
		t.Fatalf("readyz with a closed store: %d", r.Status)
	}
}

// Whatever a client sends as User-Agent or login, a request leaves a trace and gets a 4xx, never
// a 500: PostgreSQL refuses invalid UTF-8 and NUL in text columns.
func TestHostileTextIsStored(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		c := e.Client()
		ua := "Mozilla/5.0 \xff\xfe broken " + strings.Repeat("é", 300) // 600+ bytes: the cut falls inside a character
		if r := c.Do("POST", "/api/auth/login", map[string]string{"login": "alice", "password": "wrong password"}, "User-Agent", ua); r.Status != 401 {
			t.Fatalf("wrong password with a hostile user agent: %d %s", r.Status, r.Body)
		}
		if r := c.Do("POST", "/api/auth/login", map[string]string{"login": "alice", "password": adminPW}, "User-Agent", ua); r.Status != 200 {
			t.Fatalf("sign-in with a hostile user agent: %d %s", r.Status, r.Body)
		}
		if ev := adminEvents(t, e, "login.failed"); len(ev) != 1 {
			t.Fatalf("the failed attempt left %d events", len(ev))
		}
		// (Invalid UTF-8 cannot arrive through JSON: decoding turns it into U+FFFD.)
		for _, login := range []string{"ali\x00ce", "al\nice", "\x1balice"} {
			r := c.Do("POST", "/api/auth/login", map[string]string{"login": login, "password": "wrong password"})
			if r.Status != 400 || r.Field() != "login" {
				t.Fatalf("login %q: %d %s", login, r.Status, r.Body)
			}
		}
		// The session made with that user agent lists it, cut and repaired.
		sessions := admin.Do("GET", "/api/account/sessions", nil)
		if sessions.Status != 200 || !strings.Contains(string(sessions.Body), "broken") {
			t.Fatalf("sessions: %d %s", sessions.Status, sessions.Body)
		}
	})
}

// IPv6 clients are limited per /64: one subscriber's prefix is one bucket.
func TestLoginRateLimitIPv6Prefix(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	e.Setup("alice", "alice@example.com", adminPW)
	c := e.Client()
	for i := range 11 {
		r := c.Do("POST", "/api/auth/login", map[string]string{"login": fmt.Sprintf("nobody%d", i), "password": "guess"}, "X-Forwarded-For", fmt.Sprintf("2001:db8:1:1::%x", i+1))
		if i < 10 && r.Status != 401 || i == 10 && r.Status != 429 {
			t.Fatalf("attempt %d from the same /64: %d", i, r.Status)
		}
	}
	if r := c.Do("POST", "/api/auth/login", map[string]string{"login": "nobody", "password": "guess"}, "X-Forwarded-For", "2001:db8:1:2::1"); r.Status != 401 {
		t.Fatalf("another /64: %d", r.Status)
	}
}

// The current password asked by a password change is guarded like a sign-in: a stolen session
// cannot guess it at hashing speed.
func TestPasswordChangeGuessesLimited(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	for i := range 11 {
		r := admin.Do("POST", "/api/account/password", map[string]string{"current_password": fmt.Sprintf("guess %d", i), "new_password": "another good password"})
		if i < 10 && r.Status != 401 || i == 10 && r.Status != 429 {
			t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
		}
	}
}

// HSTS is sent when the public URL is HTTPS, and only then.
func TestHSTSOnlyForHTTPS(t *testing.T) {
	t.Parallel()
	plain := testserver.New(t, testserver.Options{})
	if h := plain.Client().Do("GET", "/healthz", nil).Header.Get("Strict-Transport-Security"); h != "" {
		t.Fatalf("HSTS on a plain-HTTP public URL: %q", h)
	}
	tls := testserver.New(t, testserver.Options{PublicURL: "https://auth.example.com"})
	if h := tls.Client().Do("GET", "/healthz", nil).Header.Get("Strict-Transport-Security"); h != "max-age=31536000" {
		t.Fatalf("HSTS with an HTTPS public URL: %q", h)
	}
}

// With server.cookie_domain the session cookie is set and cleared for the parent domain, so apps
// on sibling subdomains behind forward auth receive it.
func TestCookieDomain(t *testing.T) {
	t.Parallel()
	// The configuration refuses a cookie domain the public URL's host is not under.
	e := testserver.New(t, testserver.Options{PublicURL: "http://auth.example.com", CookieDomain: "example.com"})
	c, r := e.Setup("alice", "alice@example.com", adminPW)
	set := r.Header.Get("Set-Cookie")
	if !strings.Contains(set, "gatehouse_session=") || !strings.Contains(set, "Domain=example.com") {
		t.Fatalf("session cookie: %q", set)
	}
	r = c.Do("POST", "/api/auth/logout", nil, "Origin", e.Public.String())
	if clear := r.Header.Get("Set-Cookie"); r.Status != 204 || !strings.Contains(clear, "Domain=example.com") || !strings.Contains(clear, "Max-Age=0") {
		t.Fatalf("logout: %d, cookie %q", r.Status, clear)
	}
	// Without it the cookie stays host-only.
	plain := testserver.New(t, testserver.Options{})
	_, r = plain.Setup("alice", "alice@example.com", adminPW)
	if set := r.Header.Get("Set-Cookie"); strings.Contains(set, "Domain=") {
		t.Fatalf("host-only cookie has a domain: %q", set)
	}
}

// Forward auth's 200 goes to the proxy only; its other answers may reach a browser (a proxy
// passes a 401 on, a 302 is followed) and carry the security headers like every page.
func TestVerifySecurityHeaders(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	_, r := e.Setup("alice", "alice@example.com", adminPW)
	ok := e.Bearer(r.Str("access_token")).Do("GET", "/api/auth/verify", nil)
	if ok.Status != 200 || ok.Header.Get("Remote-User") != "alice" {
		t.Fatalf("signed in: %d %v", ok.Status, ok.Header)
	}
	for name, r := range map[string]*testserver.Response{
		"401": e.Client().Do("GET", "/api/auth/verify", nil),
		"302": e.Client().Do("GET", "/api/auth/verify", nil, "Accept", "text/html"),
	} {
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("verify's %s answer lacks the security headers: %v", name, r.Header)
		}
	}
}

// Seed 001 (RustyFile's API shapes): login takes {"username", "password"}; POST /api/auth/refresh
// with a valid Bearer access token and no body gives a new access token for the same session,
// under the same session rules; an access token TTL of up to 7 days is allowed.
func TestRustyFileShapes(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		r := e.Client().Do("POST", "/api/auth/login", map[string]any{"username": "alice", "password": adminPW})
		if r.Status != 200 || r.Str("access_token") == "" {
			t.Fatalf("username login: %d %s", r.Status, r.Body)
		}
		if r := e.Client().Do("POST", "/api/auth/login", map[string]any{"username": "alice", "password": "wrong password!"}); r.Status != 401 || r.Code() != gatehouse.EInvalidCredentials {
			t.Fatalf("username login, wrong password: %d %s", r.Status, r.Body)
		}
		if r := e.Client().Do("POST", "/api/auth/login", map[string]any{"username": "alice", "login": "bob", "password": adminPW}); r.Status != 400 || r.Field() != "username" {
			t.Fatalf("both login and username: %d %s", r.Status, r.Body)
		}
		access := r.Str("access_token")
		me := e.Bearer(access).Do("GET", "/api/auth/me", nil)
		sid := me.Me().Session.ID

		e.Clock.Advance(time.Minute)
		r2 := e.Bearer(access).Do("POST", "/api/auth/refresh", nil)
		if r2.Status != 200 || r2.Str("access_token") == "" || r2.Str("access_token") == access || r2.JSON["refresh_token"] != nil || r2.Header.Get("Set-Cookie") != "" {
			t.Fatalf("bearer refresh: %d %s %q", r2.Status, r2.Body, r2.Header.Get("Set-Cookie"))
		}
		if r2.SignIn().ExpiresIn != 900 {
			t.Fatalf("expires_in: %s", r2.Body)
		}
		next := r2.Str("access_token")
		if got := e.Bearer(next).Do("GET", "/api/auth/me", nil); got.Me().Session.ID != sid {
			t.Fatalf("another session: %s", got.Body)
		}
		// A bad token, a missing one, or a cookie instead of a token get nothing.
		if r := e.Bearer(access+"x").Do("POST", "/api/auth/refresh", nil); r.Status != 401 {
			t.Fatalf("bad bearer: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("POST", "/api/auth/refresh", nil); r.Status != 400 {
			t.Fatalf("cookie, no body: %d %s", r.Status, r.Body)
		}
		// Session rules apply: once the session is ended, its access tokens refresh nothing.
		if r := e.Bearer(next).Do("POST", "/api/auth/logout", nil); r.Status != 204 {
			t.Fatalf("logout: %d", r.Status)
		}
		if r := e.Bearer(next).Do("POST", "/api/auth/refresh", nil); r.Status != 401 {
			t.Fatalf("refresh after logout: %d %s", r.Status, r.Body)
		}
		// 7 days is the longest access token lifetime.
		week := 7 * 24 * 3600
		if r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_access_token_ttl_secs": week}); r.Status != 200 {
			t.Fatalf("7-day TTL: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_access_token_ttl_secs": week + 1}); r.Status != 400 || r.Field() != "auth_access_token_ttl_secs" {
			t.Fatalf("over 7 days: %d %s", r.Status, r.Body)
		}
		r = e.Client().Do("POST", "/api/auth/login", map[string]any{"username": "alice", "password": adminPW, "stay_signed_in": true})
		if got := r.SignIn().ExpiresIn; got > int64(week) || got < 3600 {
			t.Fatalf("7-day token: expires_in %v", got)
		}
	})
}
