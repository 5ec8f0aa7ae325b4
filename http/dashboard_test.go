package http_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// GET /api/admin/dashboard on both backends: a week of hours, the counts, the refused address,
// and 403 for a user.
func TestAdminDashboardAPI(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		e.CreateUser(admin, "bob", "bob@example.com", "a good password", "user")
		e.Client().Do("POST", "/api/auth/login", map[string]any{"login": "bob", "password": "wrong wrong wrong"})
		r := admin.Do("GET", "/api/admin/dashboard", nil)
		if r.Status != 200 {
			t.Fatalf("dashboard: %d %s", r.Status, r.Body)
		}
		var d struct {
			Since          time.Time `json:"since"`
			Hours          []struct{ SignIns, Failures int }
			SignIns        int            `json:"sign_ins"`
			Failures       int            `json:"failures"`
			ActiveSessions int            `json:"active_sessions"`
			Methods        map[string]int `json:"methods"`
			TopRefused     []struct {
				IP    string `json:"ip"`
				Count int    `json:"count"`
			} `json:"top_refused"`
			RecentAdmin []struct{ Kind string } `json:"recent_admin"`
		}
		if err := json.Unmarshal(r.Body, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Hours) != 168 || d.SignIns != 1 || d.Failures != 1 || d.ActiveSessions != 1 ||
			d.Methods["users"] != 2 || d.Methods["password"] != 2 || len(d.TopRefused) != 1 || d.TopRefused[0].Count != 1 ||
			len(d.RecentAdmin) != 1 || d.RecentAdmin[0].Kind != "admin.user_created" {
			t.Fatalf("dashboard: %s", r.Body)
		}
		bob, _ := e.Login("bob", "a good password")
		if r := bob.Do("GET", "/api/admin/dashboard", nil); r.Status != 403 || r.Code() != "forbidden" {
			t.Fatalf("a user read the dashboard: %d %s", r.Status, r.Body)
		}
	})
}
