package auth

import (
	"testing"

	"github.com/gatehouse/gatehouse"
)

func TestUsernameBase(t *testing.T) {
	for in, want := range map[string]string{
		"Jane":           "jane",
		"jane.doe":       "jane.doe",
		"  ..Jane Doe!!": "janedoe",
		"_x":             "x",
		"Zoë":            "zoë",
		"a@b":            "ab",
		"-._":            "",
		"":               "",
		"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ": "abcdefghijklmnopqrstuvwxyz0123456789abcd",
		"name-": "name",
	} {
		got := usernameBase(in)
		if got != want {
			t.Errorf("usernameBase(%q) = %q, want %q", in, got, want)
		}
		if got != "" && gatehouse.ValidateUsername(got) != nil {
			t.Errorf("usernameBase(%q) = %q is not a valid username", in, got)
		}
	}
}

func TestSlugifyAndIssuer(t *testing.T) {
	for in, want := range map[string]string{"Google": "google", "Company SSO!": "company-sso", "  Ärger  ": "rger", "--": ""} {
		if got := slugify(in); got != want {
			t.Errorf("slugify(%q) = %q, want %q", in, got, want)
		}
	}
	for iss, ok := range map[string]bool{
		"https://accounts.google.com":                       true,
		"https://auth.example.com/application/o/gatehouse/": true,
		"http://127.0.0.1:5556/dex":                         true,
		"http://localhost:8080":                             true,
		"http://example.com":                                false,
		"https://user:pw@example.com":                       false,
		"https://example.com?x=1":                           false,
		"accounts.google.com":                               false,
		"":                                                  false,
	} {
		if err := validateIssuer(iss); (err == nil) != ok {
			t.Errorf("validateIssuer(%q) = %v", iss, err)
		}
	}
}
