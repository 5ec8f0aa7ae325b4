package access

import (
	"context"
	"net/netip"

	"github.com/gatehouse/gatehouse"
)

// App is an app a user may open: from an access rule with a display name and launch URL
// (docs/access-control.md, "My apps").
type App struct {
	Name, URL string
	// Policy is what opening it asks: one_factor, two_factor or bypass (never deny).
	Policy Policy
}

// Apps returns the apps of m that the subject, from ip, would be let into: each launch URL is
// judged as a GET request by the whole rule list, exactly as forward auth would judge the click,
// so an earlier rule that denies the user, or the default policy deny, hides the app.
func (m *Matcher) Apps(sub *Subject, ip netip.Addr) []App {
	var out []App
	for i := range m.apps {
		a := &m.apps[i]
		req := a.req
		req.IP = ip
		if d := m.Match(&req, sub); d.Policy != Deny {
			out = append(out, App{Name: a.name, URL: a.url, Policy: d.Policy})
		}
	}
	return out
}

// AppsFor lists the apps the user may open (Matcher.Apps with the user's groups).
func (s *Service) AppsFor(ctx context.Context, u *gatehouse.User, ip netip.Addr) ([]App, error) {
	groups, err := s.UserGroups(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	// The default policy is the runtime setting of now, as Decide applies it.
	return s.Matcher().WithDefault(s.DefaultPolicy()).Apps(&Subject{Username: u.Username, Groups: groups}, ip), nil
}
