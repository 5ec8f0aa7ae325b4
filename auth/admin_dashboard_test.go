package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// The dashboard counts sign-ins and refusals in the hour they happened, keeps a week of hours,
// and names the address that was refused most.
func TestDashboardCountsSignInsPerHour(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	admin := a.setup()   // one sign-in, now
	a.user(admin, "bob") // a user created by the admin and one sign-in
	a.Clock.Advance(2 * time.Hour)
	for _, ip := range []string{"198.51.100.7", "198.51.100.7", "203.0.113.9"} {
		meta := auth.ClientMeta{IP: ip, UserAgent: "test"}
		if _, err := a.SignIn.Login(ctx, auth.LoginRequest{Login: "bob", Password: "wrong password!"}, meta); err == nil {
			t.Fatal("a wrong password signed in")
		}
	}
	d, err := a.Admin.Dashboard(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Hours) != 168 || !d.Hours[167].Hour.Equal(a.Clock.Now().UTC().Truncate(time.Hour)) {
		t.Fatalf("%d hours ending %v, want 168 ending this hour", len(d.Hours), d.Hours[len(d.Hours)-1].Hour)
	}
	if d.SignIns != 2 || d.Failures != 3 || d.Hours[165].SignIns != 2 || d.Hours[167].Failures != 3 {
		t.Fatalf("sign-ins %d (two hours ago %d), failures %d (this hour %d)", d.SignIns, d.Hours[165].SignIns, d.Failures, d.Hours[167].Failures)
	}
	if len(d.TopRefused) != 2 || d.TopRefused[0].IP != "198.51.100.7" || d.TopRefused[0].Count != 2 {
		t.Fatalf("top refused %+v", d.TopRefused)
	}
	if d.ActiveSessions != 2 || d.Methods.Users != 2 || d.Methods.Password != 2 {
		t.Fatalf("sessions %d, methods %+v", d.ActiveSessions, d.Methods)
	}
	if len(d.RecentAdmin) != 1 || d.RecentAdmin[0].Kind != "admin.user_created" {
		t.Fatalf("recent admin actions %+v", d.RecentAdmin)
	}
	// A week later the old sign-ins have left the chart.
	a.Clock.Advance(7 * 24 * time.Hour)
	if d, err = a.Admin.Dashboard(ctx, admin); err != nil || d.SignIns != 0 || d.Failures != 0 {
		t.Fatalf("a week later: %d sign-ins, %d failures, %v", d.SignIns, d.Failures, err)
	}
}
