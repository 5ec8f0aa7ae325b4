package web_test

import (
	"bytes"
	"image"
	"image/png"
	"mime/multipart"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

const testSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#c40"/></svg>`

func testPNG(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// uploadLogo posts a file to the branding page's upload form, declared as declaredType.
func uploadLogo(c *testserver.Client, data []byte, declaredType string) *testserver.Response {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := map[string][]string{"Content-Disposition": {`form-data; name="logo"; filename="logo.png"`}, "Content-Type": {declaredType}}
	part, _ := mw.CreatePart(h)
	_, _ = part.Write(data)
	_ = mw.Close()
	return c.Do("POST", "/admin/branding/logo", body.Bytes(), "Content-Type", mw.FormDataContentType())
}

// The branding page: name, accent colour and footer link show on every page; a colour that
// vanishes on a background is refused by its field and nothing changes; the logo is sniffed,
// served with a strict policy, shown in the header and can be removed.
func TestBrandingPage(t *testing.T) {
	t.Parallel()
	e, admin := uxAdmin(t)
	form := url.Values{"site_name": {"Acme Login"}, "site_accent_color": {"#ffff00"}, "site_footer_label": {"Help"}, "site_footer_url": {"https://help.example.com/"}}
	r := admin.Form("/admin/branding", form)
	body := string(r.Body)
	if r.Status != 400 || !strings.Contains(body, `id="ef-site-accent-color" role="alert">#ffff00 has a contrast of 1.0:1 against the light mode page background`) ||
		!strings.Contains(body, `value="Help"`) {
		t.Fatalf("a yellow accent: %d\n%s", r.Status, body)
	}
	if strings.Contains(string(admin.Do("GET", "/admin/branding", nil).Body), "Acme Login") {
		t.Fatal("a refused form saved the site name")
	}
	// In German the whole refusal is German, the background's words too (no "light", "dark").
	form.Set("site_accent_color", "#111111")
	r = admin.Form("/admin/branding", form, "Cookie", "gatehouse_lang=de")
	if body := string(r.Body); r.Status != 400 || !strings.Contains(body, `role="alert">#111111 hat einen Kontrast von 1.0:1 zum Seitenhintergrund im dunklen Modus (#10141a); mindestens 3:1 sind nötig, damit Schaltflächen und Fokusrahmen im hellen und im dunklen Modus sichtbar bleiben.</p>`) {
		t.Fatalf("a black accent, in German: %d\n%s", r.Status, body)
	}
	form.Set("site_accent_color", "#CC4400")
	if r := admin.Form("/admin/branding", form); r.Status != 303 {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
	// Every page, signed in or not, carries the brand.
	for _, c := range []*testserver.Client{admin, e.Client()} {
		page := string(c.Do("GET", "/login", nil).Body)
		if c == admin {
			page = string(c.Do("GET", "/settings/security", nil).Body)
		}
		for _, want := range []string{"· Acme Login</title>", `<span>Acme Login</span>`, `<link rel="stylesheet" href="/branding.css?v=cc4400">`,
			`<footer class="site-foot"><a href="https://help.example.com/">Help</a></footer>`} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %q:\n%s", want, page)
			}
		}
	}
	css := e.Client().Do("GET", "/branding.css?v=cc4400", nil)
	if !strings.Contains(string(css.Body), "--accent: #cc4400;") || !strings.Contains(string(css.Body), "--accent-fg: #ffffff;") || css.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Fatalf("branding.css: %s %s", css.Header.Get("Content-Type"), css.Body)
	}

	// An HTML file declared as a PNG is refused; so is one too large.
	if r := uploadLogo(admin, []byte("<html><script>alert(1)</script></html>"), "image/png"); r.Status != 400 || !strings.Contains(string(r.Body), "The logo must be a PNG or SVG image.") {
		t.Fatalf("html as logo: %d %s", r.Status, r.Body)
	}
	big := append(testPNG(t), bytes.Repeat([]byte{0}, 300<<10)...)
	if r := uploadLogo(admin, big, "image/png"); r.Status != 413 || !strings.Contains(string(r.Body), "at most 256 KiB") {
		t.Fatalf("a 300 KiB logo: %d %s", r.Status, r.Body)
	}
	if r := e.Client().Do("GET", "/branding/logo", nil); r.Status != 404 {
		t.Fatalf("logo before upload: %d", r.Status)
	}
	// An SVG declared as a PNG is stored as what it is.
	if r := uploadLogo(admin, []byte(testSVG), "image/png"); r.Status != 303 {
		t.Fatalf("svg upload: %d %s", r.Status, r.Body)
	}
	page := string(e.Client().Do("GET", "/login", nil).Body)
	m := regexp.MustCompile(`<img class="logo" src="(/branding/logo\?v=svg-[0-9a-f]{16})" alt="Acme Login">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the header shows no logo:\n%s", page)
	}
	logo := e.Client().Do("GET", m[1], nil)
	if logo.Status != 200 || string(logo.Body) != testSVG || logo.Header.Get("Content-Type") != "image/svg+xml" ||
		logo.Header.Get("Content-Security-Policy") != "default-src 'none'; style-src 'unsafe-inline'" ||
		logo.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(logo.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("logo: %d %v %s", logo.Status, logo.Header, logo.Body)
	}
	if r := admin.Form("/admin/branding/logo/delete", url.Values{}); r.Status != 303 {
		t.Fatalf("delete: %d", r.Status)
	}
	if strings.Contains(string(e.Client().Do("GET", "/login", nil).Body), `class="logo"`) || e.Client().Do("GET", m[1], nil).Status != 404 {
		t.Fatal("the removed logo is still shown")
	}
	bob := e.CreateUser(admin, "bob", "bob@example.com", adminPW, "user")
	_ = bob
	user, _ := e.Login("bob", adminPW)
	if r := uploadLogo(user, testPNG(t), "image/png"); r.Status != 403 {
		t.Fatalf("a user uploaded a logo: %d", r.Status)
	}
}

// The branding API: GET, PUT with field errors that change nothing, the logo as a raw body.
func TestBrandingAPI(t *testing.T) {
	t.Parallel()
	e, admin := uxAdmin(t)
	r := admin.Do("PUT", "/api/admin/branding", map[string]string{"site_name": "Acme", "site_accent_color": "#101010"})
	if r.Status != 400 || r.Code() != "invalid_input" || r.Field() != "site_accent_color" || !strings.Contains(r.Message(), "dark mode") {
		t.Fatalf("dark accent: %d %s", r.Status, r.Body)
	}
	r = admin.Do("PUT", "/api/admin/branding", map[string]string{"site_footer_label": "Help", "site_footer_url": "javascript:alert(1)"})
	if r.Status != 400 || r.Field() != "site_footer_url" {
		t.Fatalf("javascript footer: %d %s", r.Status, r.Body)
	}
	if got := admin.Do("GET", "/api/admin/branding", nil); got.Str("site_name") != "gatehouse" || got.JSON["logo"] != nil {
		t.Fatalf("refused puts changed something: %s", got.Body)
	}
	r = admin.Do("PUT", "/api/admin/branding", map[string]string{"site_name": "Acme", "site_accent_color": "#0f8a5f", "site_footer_label": "Imprint", "site_footer_url": "/imprint"})
	if r.Status != 200 || r.Str("site_accent_color") != "#0f8a5f" || r.Str("site_footer_url") != "/imprint" {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	if r := admin.Do("PUT", "/api/admin/branding/logo", []byte("GIF89a"), "Content-Type", "image/gif"); r.Status != 400 || r.Field() != "logo" {
		t.Fatalf("gif: %d %s", r.Status, r.Body)
	}
	if r := admin.Do("PUT", "/api/admin/branding/logo", bytes.Repeat([]byte("a"), 257<<10), "Content-Type", "image/png"); r.Status != 413 || r.Code() != "request_too_large" {
		t.Fatalf("too large: %d %s", r.Status, r.Body)
	}
	r = admin.Do("PUT", "/api/admin/branding/logo", testPNG(t), "Content-Type", "application/octet-stream")
	lg := testserver.Decode[struct {
		Logo struct {
			ContentType string `json:"content_type"`
			URL         string `json:"url"`
		} `json:"logo"`
	}](r).Logo
	if r.Status != 200 || lg.ContentType != "image/png" || !strings.HasPrefix(lg.URL, e.URL+"/branding/logo?v=png-") {
		t.Fatalf("png: %d %s", r.Status, r.Body)
	}
	if got := e.Client().Do("GET", "/branding/logo", nil); got.Header.Get("Content-Type") != "image/png" || !bytes.Equal(got.Body, testPNG(t)) {
		t.Fatalf("served logo: %v", got.Header)
	}
	if r := admin.Do("DELETE", "/api/admin/branding/logo", nil); r.Status != 200 || r.JSON["logo"] != nil {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	e.CreateUser(admin, "bob", "bob@example.com", adminPW, "user")
	bob, _ := e.Login("bob", adminPW)
	for _, m := range []string{"GET", "PUT"} {
		if r := bob.Do(m, "/api/admin/branding", map[string]string{"site_name": "Bob's"}); r.Status != 403 {
			t.Fatalf("user %s branding: %d", m, r.Status)
		}
	}
	if r := admin.Do("PATCH", "/api/admin/settings", map[string]string{"site_logo": "png-0000000000000000"}); r.Status != 400 {
		t.Fatalf("site_logo through the settings API: %d %s", r.Status, r.Body)
	}
}
