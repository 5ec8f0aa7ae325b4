package auth

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse"
)

// DashboardWindow is how far back the dashboard's sign-in chart and refused addresses reach.
const DashboardWindow = 7 * 24 * time.Hour

// Dashboard is the administrators' overview at /admin: sign-ins and failures per hour over the
// last week, sessions, the ways people sign in, the addresses refused most and the latest
// administrative actions.
type Dashboard struct {
	Since          time.Time
	Hours          []DashboardHour // one per hour from Since, oldest first, hours without events included
	SignIns        int             // totals over the window
	Failures       int
	ActiveSessions int
	Methods        gatehouse.MethodCounts
	TopRefused     []gatehouse.AddressCount
	RecentAdmin    []*gatehouse.Event
}

// DashboardHour is one hour of the sign-in chart.
type DashboardHour struct {
	Hour              time.Time
	SignIns, Failures int
}

// dashboardFailures are the refusals of a sign-in attempt: a wrong password or unknown account,
// a wrong second factor, a refused external sign-in, and attempts refused by the rate limit.
var dashboardFailures = []string{gatehouse.EventLoginFailed, gatehouse.EventMFAFailed, gatehouse.EventLoginExternalFailed, gatehouse.EventLoginRateLimited}

// dashboardAdminKinds are the events an administrator's action records.
var dashboardAdminKinds = []string{
	gatehouse.EventAdminUserCreated, gatehouse.EventAdminUserUpdated, gatehouse.EventAdminUserDeleted,
	gatehouse.EventSettingsChanged, gatehouse.EventMFAReset, gatehouse.EventProviderCreated,
	gatehouse.EventProviderUpdated, gatehouse.EventProviderDeleted, gatehouse.EventMailRetried,
	gatehouse.EventActivationResentBy, gatehouse.EventMailTestSent,
}

// Dashboard gathers the overview for an administrator.
func (s *Admin) Dashboard(ctx context.Context, admin *Principal) (*Dashboard, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	now := s.clock.Now().UTC()
	d := &Dashboard{Since: now.Truncate(time.Hour).Add(-DashboardWindow + time.Hour)}
	counts, err := s.store.EventsPerHour(ctx, append([]string{gatehouse.EventLoginSucceeded}, dashboardFailures...), d.Since)
	if err != nil {
		return nil, err
	}
	d.Hours = make([]DashboardHour, int(DashboardWindow/time.Hour))
	for i := range d.Hours {
		d.Hours[i].Hour = d.Since.Add(time.Duration(i) * time.Hour)
	}
	for _, c := range counts {
		i := int(c.Hour.Sub(d.Since) / time.Hour)
		if i < 0 || i >= len(d.Hours) {
			continue
		}
		if c.Kind == gatehouse.EventLoginSucceeded {
			d.Hours[i].SignIns += c.Count
			d.SignIns += c.Count
		} else {
			d.Hours[i].Failures += c.Count
			d.Failures += c.Count
		}
	}
	if d.ActiveSessions, err = s.store.CountActiveSessions(ctx, now); err != nil {
		return nil, err
	}
	if d.Methods, err = s.store.SignInMethods(ctx); err != nil {
		return nil, err
	}
	if d.TopRefused, err = s.store.TopAddresses(ctx, dashboardFailures, d.Since, 5); err != nil {
		return nil, err
	}
	if d.RecentAdmin, _, err = s.store.ListEvents(ctx, gatehouse.EventFilter{Kinds: dashboardAdminKinds, Limit: 8}); err != nil {
		return nil, err
	}
	return d, nil
}
