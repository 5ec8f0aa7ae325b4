package http

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Branding (docs/api.md, "Branding"): the site name, accent colour and footer link are runtime
// settings under their own keys; the logo is a file, sent as the raw body.

type brandingBody struct {
	SiteName    string        `json:"site_name"`
	AccentColor string        `json:"site_accent_color"`
	FooterLabel string        `json:"site_footer_label"`
	FooterURL   string        `json:"site_footer_url"`
	Logo        *logoMetaBody `json:"logo"`
}

type logoMetaBody struct {
	ContentType string    `json:"content_type"`
	URL         string    `json:"url"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func (s *Server) brandingBody(r *http.Request) (*brandingBody, error) {
	st := s.auth.Core.Settings()
	b := &brandingBody{SiteName: st.SiteName, AccentColor: st.AccentColor, FooterLabel: st.FooterLabel, FooterURL: st.FooterURL}
	if st.Logo == "" {
		return b, nil
	}
	l, err := s.auth.Core.Logo(r.Context())
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return b, nil // removed on another instance a moment ago
	}
	if err != nil {
		return nil, err
	}
	u := *s.public
	u.Path = strings.TrimSuffix(u.Path, "/") + "/branding/logo"
	u.RawQuery = url.Values{"v": {l.Version()}}.Encode()
	b.Logo = &logoMetaBody{ContentType: l.ContentType, URL: u.String(), UpdatedAt: l.UpdatedAt.UTC()}
	return b, nil
}

func (s *Server) writeBranding(w http.ResponseWriter, r *http.Request) error {
	b, err := s.brandingBody(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *Server) adminBranding(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if _, err := s.auth.Admin.Settings(p); err != nil {
		return err
	}
	return s.writeBranding(w, r)
}

// adminPutBranding sets the fields given; a field left out keeps its value, "" clears it.
func (s *Server) adminPutBranding(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in struct {
		SiteName    *string `json:"site_name"`
		AccentColor *string `json:"site_accent_color"`
		FooterLabel *string `json:"site_footer_label"`
		FooterURL   *string `json:"site_footer_url"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	patch := gatehouse.SettingsPatch{}
	for k, v := range map[string]*string{"site_name": in.SiteName, "site_accent_color": in.AccentColor, "site_footer_label": in.FooterLabel, "site_footer_url": in.FooterURL} {
		if v != nil {
			patch[k] = *v
		}
	}
	if err := s.auth.Admin.PatchSettings(r.Context(), p, patch, s.meta(r)); err != nil {
		return err
	}
	return s.writeBranding(w, r)
}

// adminPutLogo takes the file as the whole body; its type is decided from its content.
func (s *Server) adminPutLogo(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, gatehouse.MaxLogoBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &gatehouse.Error{Code: gatehouse.ETooLarge, Field: "logo", Message: fmt.Sprintf("the logo must be at most %d KiB", gatehouse.MaxLogoBytes>>10)}
	}
	if err != nil {
		return gatehouse.FieldError("logo", "the body could not be read")
	}
	if err := s.auth.Admin.SetLogo(r.Context(), p, data, s.meta(r)); err != nil {
		return err
	}
	return s.writeBranding(w, r)
}

func (s *Server) adminDeleteLogo(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.auth.Admin.DeleteLogo(r.Context(), p, s.meta(r)); err != nil {
		return err
	}
	return s.writeBranding(w, r)
}
