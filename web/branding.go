package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Branding (docs/settings.md, "Branding"): every page shows the site name, the logo or the
// built-in mark, the accent colour (a tiny stylesheet of its own, since the pages' CSP allows no
// inline style) and the footer link; /admin/branding sets them.

// brand is what layout.html needs of the branding settings.
type brand struct {
	Name string
	// LogoURL is the uploaded logo's address ("" shows the built-in mark).
	LogoURL string
	// CSSURL is the accent colour's stylesheet ("" keeps the built-in palette).
	CSSURL                 string
	FooterLabel, FooterURL string
}

func (p *pages) brand() brand {
	st := p.auth.Core.Settings()
	b := brand{Name: st.SiteName, FooterLabel: st.FooterLabel, FooterURL: st.FooterURL}
	if b.Name == "" {
		b.Name = "gatehouse"
	}
	if b.FooterLabel == "" || b.FooterURL == "" {
		b.FooterLabel, b.FooterURL = "", ""
	} else if strings.HasPrefix(b.FooterURL, "/") {
		b.FooterURL = p.base + b.FooterURL
	}
	// The version in the address lets browsers keep each file for a long time: a new logo or
	// colour is a new address.
	if st.Logo != "" {
		b.LogoURL = p.base + "/branding/logo?v=" + url.QueryEscape(st.Logo)
	}
	if st.AccentColor != "" {
		b.CSSURL = p.base + "/branding.css?v=" + url.QueryEscape(strings.TrimPrefix(st.AccentColor, "#"))
	}
	return b
}

func (p *pages) brandingRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /branding/logo", p.logoFile)
	mux.HandleFunc("GET /branding.css", p.brandingCSS)
	mux.Handle("GET /admin/branding", p.page(p.admin(p.adminBranding)))
	mux.Handle("POST /admin/branding", p.page(p.admin(p.adminBrandingSubmit)))
	mux.Handle("POST /admin/branding/logo", p.pageLimit(gatehouse.MaxLogoBytes+64<<10, p.admin(p.adminLogoUpload)))
	mux.Handle("POST /admin/branding/logo/delete", p.page(p.admin(p.adminLogoDelete)))
}

// logoCSP is the whole policy of the logo's own address: an SVG opened directly (not through
// <img>, where scripts never run anyway) may draw and style itself and do nothing else.
const logoCSP = "default-src 'none'; style-src 'unsafe-inline'"

// logoFile serves the uploaded logo with the type it was sniffed as, never the one it was sent
// with; nosniff keeps browsers from guessing another.
func (p *pages) logoFile(w http.ResponseWriter, r *http.Request) {
	l, err := p.auth.Core.Logo(r.Context())
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		p.log.Error("reading the logo failed", "err", err)
		http.Error(w, "internal error; the server log has details", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", l.ContentType)
	h.Set("Content-Security-Policy", logoCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == l.Version() {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	_, _ = w.Write(l.Data)
}

// brandingCSS sets the accent colour over the built-in palette in light and dark mode.
func (p *pages) brandingCSS(w http.ResponseWriter, r *http.Request) {
	st := p.auth.Core.Settings()
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if st.AccentColor == "" {
		w.Header().Set("Cache-Control", "no-cache")
		return
	}
	if r.URL.Query().Get("v") == strings.TrimPrefix(st.AccentColor, "#") {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	// AccentColor is a validated #rrggbb: nothing else can reach this text.
	fmt.Fprintf(w, ":root, :root:root { --accent: %[1]s; --focus: %[1]s; --accent-fg: %[2]s; }\n", st.AccentColor, gatehouse.AccentText(st.AccentColor))
}

type brandingData struct {
	HasLogo bool
	Logo    string
	MaxKiB  int
}

// brandingFields are the settings the branding form saves, in its order.
var brandingFields = []string{"site_name", "site_accent_color", "site_footer_label", "site_footer_url"}

func (p *pages) brandingView(pr *auth.Principal) *view {
	st := p.auth.Core.Settings()
	v := adminView("Branding", "branding", pr)
	v.Data = &brandingData{HasLogo: st.Logo != "", Logo: p.brand().LogoURL, MaxKiB: gatehouse.MaxLogoBytes >> 10}
	for _, k := range brandingFields {
		v.set(k, st.Raw(k))
	}
	return v
}

var brandingNotices = map[string]string{"saved": "Branding saved.", "logo": "The logo is saved.", "logo-deleted": "The logo is removed; pages show the built-in mark."}

func (p *pages) adminBranding(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v := p.brandingView(pr)
	v.Notice = brandingNotices[r.URL.Query().Get("done")]
	p.render(w, http.StatusOK, "admin_branding", v)
	return nil
}

func (p *pages) adminBrandingSubmit(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	patch := gatehouse.SettingsPatch{}
	for _, k := range brandingFields {
		patch[k] = r.PostForm.Get(k)
	}
	if err := p.auth.Admin.PatchSettings(r.Context(), pr, patch, p.kit.Meta(r)); err != nil {
		v := p.brandingView(pr)
		v.keep(r, brandingFields...)
		return p.brandingError(w, v, err)
	}
	p.redirect(w, r, "/admin/branding?done=saved")
	return nil
}

// brandingError shows a refusal next to its field, without the settings key the API's message
// starts with; an error without a code is returned for page to show.
func (p *pages) brandingError(w http.ResponseWriter, v *view, err error) error {
	var e *gatehouse.Error
	if !errors.As(err, &e) || gatehouse.ErrorCode(err) == gatehouse.EInternal {
		return err
	}
	msg := strings.TrimPrefix(e.Message, e.Field+": ")
	if e.Field != "" && msg != "" {
		v.fieldError(e.Field, strings.ToUpper(msg[:1])+msg[1:]+".")
	} else {
		v.refuse(err)
	}
	p.render(w, ghttpStatus(err), "admin_branding", v)
	return nil
}

func (p *pages) adminLogoUpload(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	data, err := readLogoField(r)
	if err == nil {
		err = p.auth.Admin.SetLogo(r.Context(), pr, data, p.kit.Meta(r))
	}
	if err != nil {
		return p.brandingError(w, p.brandingView(pr), err)
	}
	p.redirect(w, r, "/admin/branding?done=logo")
	return nil
}

// readLogoField reads the "logo" file of a multipart form, one byte past the limit so a file
// that is too large is told so by SniffLogo rather than cut short.
func readLogoField(r *http.Request) ([]byte, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, gatehouse.FieldError("logo", "send the logo as a file upload (multipart/form-data)")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, gatehouse.FieldError("logo", "choose a PNG or SVG file")
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &gatehouse.Error{Code: gatehouse.ETooLarge, Field: "logo", Message: fmt.Sprintf("the logo must be at most %d KiB", gatehouse.MaxLogoBytes>>10)}
		}
		if err != nil {
			return nil, gatehouse.FieldError("logo", "the upload could not be read")
		}
		if part.FormName() != "logo" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, gatehouse.MaxLogoBytes+1))
		if errors.As(err, &mbe) || (err == nil && len(data) > gatehouse.MaxLogoBytes) {
			return nil, &gatehouse.Error{Code: gatehouse.ETooLarge, Field: "logo", Message: fmt.Sprintf("the logo must be at most %d KiB", gatehouse.MaxLogoBytes>>10)}
		}
		if err != nil {
			return nil, gatehouse.FieldError("logo", "the upload could not be read")
		}
		return data, nil
	}
}

func (p *pages) adminLogoDelete(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	if err := p.auth.Admin.DeleteLogo(r.Context(), pr, p.kit.Meta(r)); err != nil {
		return err
	}
	p.redirect(w, r, "/admin/branding?done=logo-deleted")
	return nil
}

// brandFieldData is one text field of the branding form.
type brandFieldData struct{ Key, Label, Help, Value, Error string }

func brandField(key, label, help string, form, errs map[string]string) brandFieldData {
	return brandFieldData{Key: key, Label: label, Help: help, Value: form[key], Error: errs[key]}
}

// textFieldData is one text input of an admin form (templates/partial_fields.html).
type textFieldData struct{ Name, ID, ErrorID, Label, Kind, Value, Error string }

// textField fills the "text-field" template: kind is "" (text), "email" or "numeric".
func textField(name, label, kind string, form, errs map[string]string) textFieldData {
	id := strings.ReplaceAll(name, "_", "-")
	return textFieldData{Name: name, ID: "f-" + id, ErrorID: "e-" + id, Label: label, Kind: kind, Value: form[name], Error: errs[name]}
}
