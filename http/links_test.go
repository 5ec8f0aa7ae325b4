package http_test

import (
	"net/url"
	"testing"

	ghttp "github.com/gatehouse/gatehouse/http"
)

func TestLinksAreBuiltUnderThePublicURL(t *testing.T) {
	pub, _ := url.Parse("https://auth.example.com/gate/")
	l := ghttp.NewLinks(pub)
	for name, got := range map[string]func(string) (string, error){
		"https://auth.example.com/gate/activate?token=t%2B1":               l.Activation,
		"https://auth.example.com/gate/recover/reset?token=t%2B1":          l.PasswordReset,
		"https://auth.example.com/gate/settings/email/confirm?token=t%2B1": l.EmailChange,
		"https://auth.example.com/gate/login/external/verify?token=t%2B1":  l.ExternalVerify,
		"https://auth.example.com/gate/login?token=t%2B1":                  l.RegistrationNotice,
	} {
		if link, err := got("t+1"); err != nil || link != name {
			t.Errorf("link = %q, %v; want %q (under server.public_url, path prefix included)", link, err, name)
		}
	}
	if got := l.OIDCCallback("corp sso"); got != "https://auth.example.com/gate/api/auth/oidc/corp%20sso/callback" {
		t.Errorf("callback = %q", got)
	}
	if _, err := ghttp.NewLinks(nil).PasswordReset("t"); err == nil {
		t.Error("a mail link without a public URL")
	}
	if got := ghttp.NewLinks(nil).OIDCCallback("corp"); got != "/api/auth/oidc/corp/callback" {
		t.Errorf("callback without a public URL = %q", got)
	}
}
