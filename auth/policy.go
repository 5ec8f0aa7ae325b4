package auth

import "github.com/gatehouse/gatehouse/password"

// passwordPolicy applies the runtime length limits through package password.
type passwordPolicy struct{ min, max int }

func (p passwordPolicy) check(pw string) error {
	return password.Policy{MinLen: p.min, MaxLen: p.max}.Check(pw)
}

// checkMax applies only the upper bound: sign-in must still accept passwords set under an older,
// lower minimum.
func (p passwordPolicy) checkMax(pw string) error {
	return password.Policy{MinLen: 0, MaxLen: p.max}.Check(pw)
}
