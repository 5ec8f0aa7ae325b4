package http

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// dashboardJSON is GET /api/admin/dashboard's answer.
type dashboardJSON struct {
	Since          time.Time              `json:"since"`
	Hours          []dashboardHourJSON    `json:"hours"`
	SignIns        int                    `json:"sign_ins"`
	Failures       int                    `json:"failures"`
	ActiveSessions int                    `json:"active_sessions"`
	Methods        map[string]int         `json:"methods"`
	TopRefused     []dashboardAddressJSON `json:"top_refused"`
	RecentAdmin    []*gatehouse.Event     `json:"recent_admin"`
}

type dashboardHourJSON struct {
	Hour     time.Time `json:"hour"`
	SignIns  int       `json:"sign_ins"`
	Failures int       `json:"failures"`
}

type dashboardAddressJSON struct {
	IP    string `json:"ip"`
	Count int    `json:"count"`
}

func (s *Server) adminDashboard(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	d, err := s.auth.Admin.Dashboard(r.Context(), p)
	if err != nil {
		return err
	}
	out := dashboardJSON{Since: d.Since, SignIns: d.SignIns, Failures: d.Failures, ActiveSessions: d.ActiveSessions,
		Methods: map[string]int{"users": d.Methods.Users, "password": d.Methods.Password, "totp": d.Methods.TOTP,
			"passkey": d.Methods.Passkey, "external": d.Methods.External},
		Hours: make([]dashboardHourJSON, len(d.Hours)), TopRefused: []dashboardAddressJSON{}, RecentAdmin: d.RecentAdmin}
	for i, h := range d.Hours {
		out.Hours[i] = dashboardHourJSON{Hour: h.Hour, SignIns: h.SignIns, Failures: h.Failures}
	}
	for _, a := range d.TopRefused {
		out.TopRefused = append(out.TopRefused, dashboardAddressJSON{IP: a.IP, Count: a.Count})
	}
	if out.RecentAdmin == nil {
		out.RecentAdmin = []*gatehouse.Event{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
