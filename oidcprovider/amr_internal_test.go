package oidcprovider

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// amr after a step-up lists the sign-in's factor and the added one (RFC 8176), not only the
// last; a session stepped up before the first method was kept reports what it knows.
func TestSessionAMR(t *testing.T) {
	at := time.Now()
	for _, c := range []struct {
		first, method string
		upgraded      bool
		amr           []string
		acr           string
	}{
		{"", gatehouse.AuthPassword, false, []string{"pwd"}, ACROneFactor},
		{"", gatehouse.AuthExternal, false, []string{"fed"}, ACROneFactor},
		{"", gatehouse.AuthTOTP, false, []string{"pwd", "otp", "mfa"}, ACRTwoFactor},
		{"", gatehouse.AuthPasskey, false, []string{"hwk", "user", "mfa"}, ACRTwoFactor},
		{gatehouse.AuthPassword, gatehouse.AuthTOTP, true, []string{"pwd", "otp", "mfa"}, ACRTwoFactor},
		{gatehouse.AuthPassword, gatehouse.AuthPasskey, true, []string{"pwd", "hwk", "user", "mfa"}, ACRTwoFactor},
		{gatehouse.AuthPassword, gatehouse.AuthRecoveryCode, true, []string{"pwd", "mfa"}, ACRTwoFactor},
		{gatehouse.AuthExternal, gatehouse.AuthTOTP, true, []string{"fed", "otp", "mfa"}, ACRTwoFactor},
		{gatehouse.AuthExternal, gatehouse.AuthPasskey, true, []string{"fed", "hwk", "user", "mfa"}, ACRTwoFactor},
		{"", gatehouse.AuthTOTP, true, []string{"pwd", "otp", "mfa"}, ACRTwoFactor},
	} {
		s := &gatehouse.Session{AuthMethod: c.method, FirstAuthMethod: c.first}
		if c.upgraded {
			s.UpgradedAt = &at
		}
		amr, acr := sessionAMR(s)
		if !slices.Equal(amr, c.amr) || acr != c.acr {
			t.Errorf("%q then %q: amr %v acr %q, want %v %q", c.first, c.method, amr, acr, c.amr, c.acr)
		}
	}
}
