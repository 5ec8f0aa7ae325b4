// Package accesstest holds the access-rule data the tests and the load harness share.
package accesstest

import (
	"fmt"

	"github.com/gatehouse/gatehouse"
)

// HundredRules is the bench case of bench/README.md: 100 rules mixing domains, paths, methods
// and groups (g0..g99), where only the last matches app99.example.com/api/ for a member of g99.
func HundredRules() []gatehouse.AccessRule {
	rules := make([]gatehouse.AccessRule, 0, 100)
	for i := range 99 {
		r := gatehouse.AccessRule{Domains: []string{fmt.Sprintf("app%d.example.com", i), fmt.Sprintf("*.svc%d.example.org", i)}, Policy: "one_factor"}
		switch i % 4 {
		case 0:
			r.Paths = []string{fmt.Sprintf("^/api/v%d/", i)}
		case 1:
			r.Subjects = []string{fmt.Sprintf("group:g%d", i)}
		case 2:
			r.Methods = []string{"POST", "PUT"}
			r.Policy = "deny"
		case 3:
			r.Domains = []string{"*.example.com"}
			r.Paths = []string{fmt.Sprintf("^/team%d(/.*)?$", i)}
			r.Policy = "two_factor"
		}
		rules = append(rules, r)
	}
	return append(rules, gatehouse.AccessRule{Domains: []string{"app99.example.com"}, Paths: []string{"^/api/"}, Subjects: []string{"group:g99"}, Policy: "one_factor"})
}
