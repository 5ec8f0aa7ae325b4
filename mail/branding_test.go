package mail_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
)

// The HTML mail carries the branding: the PNG logo (an SVG one is left out: mail programs do
// not show it), the accent colour on its button with readable text, and the footer link made
// absolute.
func TestMailShowsTheBranding(t *testing.T) {
	for _, tc := range []struct{ logo, wantImg string }{
		{"png-00112233aabbccdd", `<img src="https://auth.example.com/gate/branding/logo?v=png-00112233aabbccdd" alt="Acme"`},
		{"svg-00112233aabbccdd", ""},
	} {
		raw := gatehouse.SettingDefaults(true)
		raw["site_name"], raw["site_accent_color"], raw["site_logo"] = "Acme", "#0f8a5f", tc.logo
		raw["site_footer_label"], raw["site_footer_url"] = "Imprint", "/imprint"
		st, warn := gatehouse.NewSettings(raw, true)
		if len(warn) > 0 {
			t.Fatal(warn)
		}
		pub, _ := url.Parse("https://auth.example.com/gate")
		o := mail.New(mail.Deps{Settings: func() *gatehouse.Settings { return st }, Clock: &clock{t: time.Now()}, PublicURL: pub})
		m, err := o.Compose(mail.KindActivation, "a@example.com", mail.Data{Username: "a", Link: "https://auth.example.com/gate/activate?token=x", ExpiresIn: "1 day"})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"background:#0f8a5f;color:#000000", "border-top:4px solid #0f8a5f",
			`<a href="https://auth.example.com/gate/imprint" style="color:#5b6475">Imprint</a>`, tc.wantImg} {
			if !strings.Contains(m.HTML, want) {
				t.Errorf("logo %s: the HTML part lacks %q:\n%s", tc.logo, want, m.HTML)
			}
		}
		if tc.wantImg == "" && strings.Contains(m.HTML, "<img") {
			t.Errorf("an SVG logo is in the mail:\n%s", m.HTML)
		}
	}
}
