package gatehouse

import (
	"bytes"
	"image"
	"image/png"
	"strings"
	"testing"
)

func tinyPNG(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSniffLogo(t *testing.T) {
	svg := `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>`
	for _, tc := range []struct {
		name string
		data []byte
		want string // content type, or the error code
	}{
		{"png", tinyPNG(t), LogoPNG},
		{"svg", []byte(svg), LogoSVG},
		{"empty", nil, EInvalid},
		{"html", []byte(`<html><script>alert(1)</script></html>`), EInvalid},
		{"svg without namespace", []byte(`<svg><script>alert(1)</script></svg>`), EInvalid},
		{"svg with a doctype", []byte(`<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>`), EInvalid},
		{"truncated svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><g>`), EInvalid},
		{"png header only", []byte("\x89PNG\r\n\x1a\nrubbish"), EInvalid},
		{"too large", append([]byte(svg), bytes.Repeat([]byte(" "), MaxLogoBytes)...), ETooLarge},
	} {
		got, err := SniffLogo(tc.data)
		if err != nil {
			got = ErrorCode(err)
			if e := err.(*Error); e.Field != "logo" || e.Message == "" {
				t.Errorf("%s: error %v should name the logo field with a message", tc.name, err)
			}
		}
		if got != tc.want {
			t.Errorf("%s: got %q (%v), want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestAccentColour(t *testing.T) {
	cur, _ := NewSettings(nil, true)
	for _, tc := range []struct{ in, want, errHas string }{
		{"#2F6FDB", "#2f6fdb", ""},
		{"#1d5bbf", "", "dark mode"}, // the light palette's own blue is too dark on the dark page
		{"#c40", "#cc4400", ""},
		{"", "", ""},
		{"#ffff00", "", "light mode"}, // yellow vanishes on white
		{"#101010", "", "dark mode"},  // near-black vanishes on the dark page
		{"blue", "", "hex colour"},
		{"#12345g", "", "hex colour"},
	} {
		vals, err := ValidateSettingsPatch(SettingsPatch{"site_accent_color": tc.in}, cur, true)
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || err.(*Error).Field != "site_accent_color" {
				t.Errorf("%q: got %v, want an error on site_accent_color saying %q", tc.in, err, tc.errHas)
			}
			continue
		}
		if err != nil || vals["site_accent_color"] != tc.want {
			t.Errorf("%q: got %v %v, want %q", tc.in, vals, err, tc.want)
		}
	}
	// Every accessible accent gets button text of at least 4.5:1.
	for _, c := range []string{"#2f6fdb", "#cc4400", "#7a5cff", "#0f8a5f", "#d6336c"} {
		if _, err := normalizeColor(c); err != nil {
			continue
		}
		if r := ContrastRatio(c, AccentText(c)); r < 4.5 {
			t.Errorf("%s: button text contrast %.2f", c, r)
		}
	}
}

func TestFooterLinkAndInternalSettings(t *testing.T) {
	cur, _ := NewSettings(nil, true)
	ok := []SettingsPatch{
		{"site_footer_label": "Help", "site_footer_url": "https://example.com/help"},
		{"site_footer_label": "Imprint", "site_footer_url": "/imprint"},
		{"site_footer_label": "", "site_footer_url": ""},
	}
	for _, p := range ok {
		if _, err := ValidateSettingsPatch(p, cur, true); err != nil {
			t.Errorf("%v: %v", p, err)
		}
	}
	bad := []SettingsPatch{
		{"site_footer_label": "Help", "site_footer_url": "http://example.com/help"},
		{"site_footer_label": "Help", "site_footer_url": "javascript:alert(1)"},
		{"site_footer_label": "Help", "site_footer_url": "//evil.example/"},
		{"site_footer_label": "Help", "site_footer_url": "https://user@evil.example/"},
		{"site_footer_label": "Help"},
		{"site_footer_url": "/help"},
		{"site_logo": "png-0011223344556677"},
	}
	for _, p := range bad {
		if _, err := ValidateSettingsPatch(p, cur, true); ErrorCode(err) != EInvalid {
			t.Errorf("%v: got %v, want invalid_input", p, err)
		}
	}
	if _, ok := cur.Public(true)["site_logo"]; ok {
		t.Error("the internal site_logo setting is in the public settings")
	}
}
