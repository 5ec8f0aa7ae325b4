package gatehouse

import (
	"testing"
	"time"
)

func TestSettingsDefaultsMatchContract(t *testing.T) {
	s, warnings := NewSettings(nil, true)
	if len(warnings) != 0 {
		t.Fatal(warnings)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"cookie secure", s.CookieSecure, true},
		{"access ttl", s.AccessTokenTTL, 900 * time.Second},
		{"refresh ttl", s.RefreshTokenTTL, 1209600 * time.Second},
		{"idle", s.IdleTimeout, 12 * time.Hour},
		{"max lifetime", s.MaxLifetime, 14 * 24 * time.Hour},
		{"duration", s.SessionDuration, time.Duration(0)},
		{"offset", s.StaySignedInOffset, time.Duration(0)},
		{"burst", s.LoginBurst, 10},
		{"refill", s.LoginRefill, 90 * time.Second},
		{"min", s.PasswordMinLen, 8},
		{"max", s.PasswordMaxLen, 128},
		{"mfa ttl", s.MFAChallengeTTL, 300 * time.Second},
		{"mfa attempts", s.MFAMaxAttempts, 5},
		{"smtp port", s.SMTPPort, 587},
		{"smtp tls", s.SMTPTLS, "starttls"},
		{"network binding", s.NetworkBinding, "none"},
		{"activation", s.ActivationEnabled, true},
		{"registration", s.AllowRegistration, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if insecure, _ := NewSettings(nil, false); insecure.CookieSecure {
		t.Error("bootstrap_insecure_cookies did not set the default")
	}
}

func TestStoredInvalidValueFallsBack(t *testing.T) {
	s, warnings := NewSettings(map[string]string{"auth_access_token_ttl_secs": "banana", "auth_session_duration": "hours=2"}, true)
	if s.AccessTokenTTL != 900*time.Second || s.SessionDuration != 2*time.Hour || len(warnings) != 1 {
		t.Fatalf("ttl %v duration %v warnings %v", s.AccessTokenTTL, s.SessionDuration, warnings)
	}
}

func TestValidateSettingsPatch(t *testing.T) {
	cur, _ := NewSettings(nil, true)
	vals, err := ValidateSettingsPatch((SettingsPatch{"auth_cookie_secure": false, "auth_access_token_ttl_secs": int64(60), "auth_stay_signed_in_offset": " days=30 ", "site_name": " Acme "}), cur, true)
	if err != nil {
		t.Fatal(err)
	}
	if vals["auth_cookie_secure"] != "false" || vals["auth_access_token_ttl_secs"] != "60" || vals["auth_stay_signed_in_offset"] != "days=30" || vals["site_name"] != "Acme" {
		t.Fatalf("normalized: %v", vals)
	}
	bad := []SettingsPatch{
		{"auth_access_token_ttl_secs": int64(10)},  // below min
		{"auth_access_token_ttl_secs": int64(1e9)}, // above max
		{"auth_access_token_ttl_secs": 1.5},        // not whole
		{"auth_access_token_ttl_secs": "600"},      // a string, not a number
		{"auth_cookie_secure": "true"},             // a string, not a boolean
		{"site_name": int64(7)},                    // a number, not a string
		{"site_name": nil},
		{"auth_session_network_binding": "planet"}, // not an option
		{"site_name": "two\nlines"},
		{"auth_password_max_length": int64(8), "auth_password_min_length": int64(9)},
		{},
	}
	for _, b := range bad {
		if _, err := ValidateSettingsPatch(b, cur, true); err == nil || !IsCode(err, EInvalid) {
			t.Errorf("%v accepted: %v", b, err)
		}
	}
	// min > max is caught against the stored maximum too.
	if _, err := ValidateSettingsPatch(SettingsPatch{"auth_password_min_length": int64(129)}, cur, true); err == nil {
		t.Error("min above stored max accepted")
	}
}

func TestValidateUsernameAndEmail(t *testing.T) {
	for _, ok := range []string{"alice", "a", "alice.smith", "bob_2", "jörg", "x-y"} {
		if err := ValidateUsername(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", ".a", "a b", "a@b", "a/b", string(make([]byte, 65))} {
		if err := ValidateUsername(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, ok := range []string{"a@example.com", "first.last+tag@sub.example.org", "root@localhost"} {
		if err := ValidateEmail(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "a@", "@b.com", "a@b", "Alice <a@b.com>", "a@b.com\n"} {
		if err := ValidateEmail(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
