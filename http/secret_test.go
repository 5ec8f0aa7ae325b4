package http_test

import (
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// Seeds 000 and 002: changing jwt_secret signs everyone out. A start with a new secret ends every
// session (cookies, refresh tokens and access tokens all stop working) and kills every mailed
// link, with one event; several instances starting with the same new secret do it once; a
// restart with the same secret changes nothing.
func TestNewJWTSecretSignsEveryoneOut(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		clock := testserver.NewClock()
		m := newMailEnv(t, testserver.Options{Backend: backend, Clock: clock})
		m.CreateUser(m.admin, "gus", "gus@example.com", "gus password 1", "user")
		laptop, r := m.Login("gus", "gus password 1")
		refresh := r.Str("refresh_token")
		m.Client().Do("POST", "/api/auth/password/forgot", map[string]string{"email": "gus@example.com"})
		m.deliver()
		link := m.linkToken(m.only("gus@example.com", 1)[0], "/recover/reset")
		m.Server.Close()

		// A restart with the same secret: everything still works, no event.
		same := testserver.New(t, testserver.Options{Backend: backend, DSN: m.DSN, Clock: clock})
		laptop.E = same
		if r := laptop.Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("cookie after a restart with the same secret: %d %s", r.Status, r.Body)
		}
		same.Server.Close()
		// Two instances start at once with a new secret.
		newSecret := "another-secret-0123456789abcdefghij"
		var wg sync.WaitGroup
		envs := make([]*testserver.Env, 2)
		for i := range envs {
			wg.Go(func() {
				envs[i] = testserver.New(t, testserver.Options{Backend: backend, DSN: m.DSN, Clock: clock, Secret: newSecret})
			})
		}
		wg.Wait()
		e := envs[0]
		laptop.E = e
		if r := laptop.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("cookie after the secret changed: %d %s", r.Status, r.Body)
		}
		if r := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": refresh}); r.Status != 401 {
			t.Fatalf("refresh token after the secret changed: %d %s", r.Status, r.Body)
		}
		if r := e.Client().Do("POST", "/api/auth/password/reset", map[string]string{"token": link, "password": "gus new password"}); r.Status != 400 || r.Field() != "token" {
			t.Fatalf("mailed link after the secret changed: %d %s", r.Status, r.Body)
		}
		admin, _ := e.Login("root", adminPW)
		ev := admin.Do("GET", "/api/admin/events?kind="+gatehouse.EventSecretRotated, nil).Events().Items
		if len(ev) != 1 {
			t.Fatalf("%d %s events, want 1", len(ev), gatehouse.EventSecretRotated)
		}
		data := ev[0].Data
		// root's and gus's sessions; the reset link.
		if data["sessions_ended"] != float64(2) || data["links_revoked"] != float64(1) {
			t.Fatalf("event data: %v", data)
		}
		sessions := admin.Do("GET", "/api/account/sessions", nil).Sessions().Items
		if len(sessions) != 1 {
			t.Fatalf("sessions after rotation: %v", sessions)
		}
		// Signing in again works, and a further start with the new secret ends nothing.
		if _, r := e.Login("gus", "gus password 1"); r.Status != 200 {
			t.Fatal(r.Status)
		}
		again := testserver.New(t, testserver.Options{Backend: backend, DSN: m.DSN, Clock: clock, Secret: newSecret})
		admin.E = again
		if r := admin.Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("session ended by a restart with the same secret: %d", r.Status)
		}
		if n := len(admin.Do("GET", "/api/admin/events?kind="+gatehouse.EventSecretRotated, nil).Events().Items); n != 1 {
			t.Fatalf("%d rotation events after a restart with the same secret", n)
		}
	})
}
