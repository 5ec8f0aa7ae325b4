package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// chartBar is one hour of the sign-in chart, drawn server-side so the page needs no script.
type chartBar struct {
	X, SignInY, SignInH, FailY, FailH float64
	Label                             string // read by assistive technology as the bar's title
}

// chartDay is one row of the chart's table fallback (one per day, oldest first).
type chartDay struct {
	Day               string
	SignIns, Failures int
}

type dashboardData struct {
	*auth.Dashboard
	Bars      []chartBar
	Days      []chartDay
	Max       int     // the largest hourly count: the chart's scale
	BarWidth  float64 // in the SVG's units
	DayTicks  []chartTick
	ChartDesc string
	Names     map[int64]string // usernames of the recent actions' administrators
}

// Name is the username of the user with id, or "" for a deleted user.
func (d *dashboardData) Name(id *int64) string {
	if id == nil {
		return ""
	}
	return d.Names[*id]
}

type chartTick struct {
	X     float64
	Label string
}

// Chart geometry in SVG units; the SVG scales to the card's width.
const (
	chartW, chartH = 840.0, 160.0
)

func buildDashboard(d *auth.Dashboard) *dashboardData {
	out := &dashboardData{Dashboard: d, BarWidth: chartW / float64(len(d.Hours))}
	for _, h := range d.Hours {
		out.Max = max(out.Max, h.SignIns+h.Failures)
	}
	scale := 0.0
	if out.Max > 0 {
		scale = (chartH - 4) / float64(out.Max)
	}
	for i, h := range d.Hours {
		x := float64(i) * out.BarWidth
		sh, fh := float64(h.SignIns)*scale, float64(h.Failures)*scale
		out.Bars = append(out.Bars, chartBar{X: x, SignInY: chartH - sh, SignInH: sh, FailY: chartH - sh - fh, FailH: fh,
			Label: fmt.Sprintf("%s: %d sign-ins, %d failures", h.Hour.Format("Mon 15:00"), h.SignIns, h.Failures)})
		day := h.Hour.Format("Mon 2 Jan")
		if len(out.Days) == 0 || out.Days[len(out.Days)-1].Day != day {
			out.Days = append(out.Days, chartDay{Day: day})
			out.DayTicks = append(out.DayTicks, chartTick{X: x, Label: h.Hour.Format("Mon")})
		}
		out.Days[len(out.Days)-1].SignIns += h.SignIns
		out.Days[len(out.Days)-1].Failures += h.Failures
	}
	// The first day is usually partial: its label would overlap the next one's.
	if len(out.DayTicks) > 1 && out.DayTicks[1].X-out.DayTicks[0].X < 40 {
		out.DayTicks = out.DayTicks[1:]
	}
	out.ChartDesc = fmt.Sprintf("Bars per hour since %s UTC: %d sign-ins and %d failures in all; the busiest hour had %d attempts.",
		d.Since.Format(time.DateTime), d.SignIns, d.Failures, out.Max)
	return out
}

func (p *pages) adminDashboard(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	d, err := p.auth.Admin.Dashboard(r.Context(), pr)
	if err != nil {
		return err
	}
	v := adminView("Dashboard", "dashboard", pr)
	data := buildDashboard(d)
	if data.Names, err = p.eventUserNames(r.Context(), pr, d.RecentAdmin); err != nil {
		return err
	}
	v.Data = data
	p.render(w, http.StatusOK, "admin_dashboard", v)
	return nil
}
