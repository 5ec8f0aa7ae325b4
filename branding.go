package gatehouse

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Branding (docs/settings.md, "Branding"): the site name, an accent colour, a footer link and a
// logo. The first three are runtime settings; the logo is a file kept by the BrandingStore, and
// the runtime setting site_logo names its version, so every instance learns of a new logo
// through the change feed like any other setting.

// MaxLogoBytes bounds an uploaded logo: a mark in the header needs no more.
const MaxLogoBytes = 256 << 10

// Logo content types: the only two accepted.
const (
	LogoPNG = "image/png"
	LogoSVG = "image/svg+xml"
)

// Logo is the uploaded site logo.
type Logo struct {
	ContentType string
	Data        []byte
	UpdatedAt   time.Time
}

// Version names this logo's content: its type and the start of its SHA-256. It is the value of
// the site_logo setting and the cache-busting part of the logo's address.
func (l *Logo) Version() string {
	sum := sha256.Sum256(l.Data)
	kind := "png"
	if l.ContentType == LogoSVG {
		kind = "svg"
	}
	return kind + "-" + hex.EncodeToString(sum[:8])
}

// BrandingStore keeps the logo.
type BrandingStore interface {
	// Logo returns the stored logo, or an ENotFound error when there is none.
	Logo(ctx context.Context) (*Logo, error)
	// SaveLogo inserts or replaces the logo.
	SaveLogo(ctx context.Context, l *Logo) error
	// DeleteLogo removes the logo; no error when there was none.
	DeleteLogo(ctx context.Context) error
}

// SniffLogo decides what an uploaded file is from its content, never from the name or the
// declared type: a PNG whose header decodes, or an SVG document (an XML document whose root is
// <svg> in the SVG namespace). Anything else, or anything over MaxLogoBytes, is refused.
func SniffLogo(data []byte) (string, error) {
	if len(data) == 0 {
		return "", FieldError("logo", "choose a PNG or SVG file")
	}
	if len(data) > MaxLogoBytes {
		return "", &Error{Code: ETooLarge, Field: "logo", Message: fmt.Sprintf("the logo is %d KiB; at most %d KiB is accepted", (len(data)+1023)/1024, MaxLogoBytes>>10)}
	}
	if bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width == 0 || cfg.Height == 0 {
			return "", FieldError("logo", "the file starts like a PNG but is not a readable PNG image")
		}
		return LogoPNG, nil
	}
	if isSVG(data) {
		return LogoSVG, nil
	}
	return "", FieldError("logo", "the logo must be a PNG or SVG image")
}

// isSVG reports whether data is an XML document whose first element is <svg> in the SVG
// namespace. A DOCTYPE is refused: entity declarations are how XML bombs start.
func isSVG(data []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case xml.Directive:
			return false
		case xml.StartElement:
			return t.Name.Local == "svg" && t.Name.Space == "http://www.w3.org/2000/svg" && wellFormed(d)
		}
	}
}

// wellFormed reads the rest of the document and reports whether it parses to the end.
func wellFormed(d *xml.Decoder) bool {
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// The page backgrounds an accent colour must stand out from (web/static/app.css): the page and
// the card, in light and in dark mode. Each has its whole refusal as one text, so the message
// catalog translates the background's words too (they would stay English as arguments).
var accentBackgrounds = []struct{ hex, refusal string }{
	{"#f4f6f9", "%s has a contrast of %.1f:1 against the light mode page background (%s); at least 3:1 is needed so buttons and focus rings stay visible in light and dark mode"},
	{"#ffffff", "%s has a contrast of %.1f:1 against the light mode card background (%s); at least 3:1 is needed so buttons and focus rings stay visible in light and dark mode"},
	{"#10141a", "%s has a contrast of %.1f:1 against the dark mode page background (%s); at least 3:1 is needed so buttons and focus rings stay visible in light and dark mode"},
	{"#19202a", "%s has a contrast of %.1f:1 against the dark mode card background (%s); at least 3:1 is needed so buttons and focus rings stay visible in light and dark mode"},
}

// MinAccentContrast is WCAG 2.2's minimum for user interface components (1.4.11): buttons and
// focus rings in the accent colour must reach it on every background.
const MinAccentContrast = 3.0

// normalizeColor accepts "", #rgb or #rrggbb and returns "" or lower-case #rrggbb, refusing a
// colour whose contrast against any page background is below MinAccentContrast.
func normalizeColor(v string) (string, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return "", nil
	}
	if len(v) == 4 && v[0] == '#' {
		v = "#" + strings.Repeat(v[1:2], 2) + strings.Repeat(v[2:3], 2) + strings.Repeat(v[3:4], 2)
	}
	if _, err := parseHex(v); err != nil {
		return "", err
	}
	for _, bg := range accentBackgrounds {
		if c := ContrastRatio(v, bg.hex); c < MinAccentContrast {
			return "", Errorf(EInvalid, bg.refusal, v, math.Floor(c*10)/10, bg.hex)
		}
	}
	return v, nil
}

func parseHex(v string) ([3]float64, error) {
	var rgb [3]float64
	if len(v) != 7 || v[0] != '#' {
		return rgb, Errorf(EInvalid, "must be a hex colour like #2f6fdb")
	}
	for i := range 3 {
		n, err := strconv.ParseUint(v[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return rgb, Errorf(EInvalid, "must be a hex colour like #2f6fdb")
		}
		rgb[i] = float64(n) / 255
	}
	return rgb, nil
}

// luminance is WCAG's relative luminance of a #rrggbb colour.
func luminance(hexColor string) float64 {
	rgb, _ := parseHex(hexColor)
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		c := rgb[i]
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l
}

// ContrastRatio is WCAG's contrast ratio of two #rrggbb colours, from 1 to 21.
func ContrastRatio(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// AccentText is the text colour on an accent background: black or white, whichever contrasts
// more. For any accent that passes normalizeColor the better one reaches 4.5:1 (text contrast).
func AccentText(accent string) string {
	if ContrastRatio(accent, "#000000") >= ContrastRatio(accent, "#ffffff") {
		return "#000000"
	}
	return "#ffffff"
}

// normalizeLink accepts "", an https:// address, or a path on this site ("/help"); a
// protocol-relative "//host" or any other scheme is refused.
func normalizeLink(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if len(v) > 1024 || strings.ContainsAny(v, " \t\r\n\x00\\") {
		return "", Errorf(EInvalid, "must be one address of at most 1024 characters, without spaces")
	}
	if strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "//") {
		return v, nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return "", Errorf(EInvalid, "must be an https:// address or a path on this site starting with /")
	}
	return v, nil
}

// Brand is what every page shows of the branding settings: the site name, the uploaded logo's
// address or none (the built-in mark), the accent colour's stylesheet or none (the built-in
// palette), and the footer link.
type Brand struct {
	Name                   string
	LogoURL                string
	CSSURL                 string
	FooterLabel, FooterURL string
}

// Brand derives the pages' brand from the settings, with gatehouse's addresses under base (the
// public URL's path). The version in the logo's and stylesheet's addresses lets browsers keep
// each for a long time: a new logo or colour is a new address.
func (s *Settings) Brand(base string) Brand {
	b := Brand{Name: s.SiteName, FooterLabel: s.FooterLabel, FooterURL: s.FooterURL}
	if b.Name == "" {
		b.Name = "gatehouse"
	}
	if b.FooterLabel == "" || b.FooterURL == "" {
		b.FooterLabel, b.FooterURL = "", ""
	} else if strings.HasPrefix(b.FooterURL, "/") {
		b.FooterURL = base + b.FooterURL
	}
	if s.Logo != "" {
		b.LogoURL = base + "/branding/logo?v=" + url.QueryEscape(s.Logo)
	}
	if s.AccentColor != "" {
		b.CSSURL = base + "/branding.css?v=" + url.QueryEscape(strings.TrimPrefix(s.AccentColor, "#"))
	}
	return b
}
