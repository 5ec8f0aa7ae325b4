package mail

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"

	"github.com/gatehouse/gatehouse"
)

// Template is the editable source of one kind of mail: Go templates (text/template for the
// subject and the text part, html/template for the body of the HTML part, which the built-in
// layout wraps). Their data is Data: {{.SiteName}}, {{.PublicURL}}, {{.Username}}, {{.To}},
// {{.Link}}, {{.ExpiresIn}}, {{.NewEmail}}, {{.Provider}}, and the branding: {{.Accent}},
// {{.AccentText}}, {{.LogoURL}}, {{.FooterLabel}}, {{.FooterURL}}.
type Template struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// Kinds lists every kind of mail, in the order the console shows them.
func Kinds() []string { return append([]string(nil), kinds...) }

// linkKinds are the mails whose whole point is their link: a template must keep {{.Link}}.
var linkKinds = map[string]bool{KindActivation: true, KindPasswordReset: true, KindEmailChangeConfirm: true, KindExternalVerify: true}

// MaxTemplateSize bounds each part of an edited template.
const MaxTemplateSize = 32 << 10

// compiled is a kind's templates ready to execute: the embedded ones or an administrator's.
type compiled struct {
	subject *template.Template // defines "subject"
	text    *template.Template // defines "text"
	html    *htmltemplate.Template
}

// Default returns the built-in source of kind, as the console shows it before any edit.
func (o *Outbox) Default(kind string) (Template, bool) {
	t, ok := o.defaults[kind]
	return t, ok
}

// compile parses t for kind. A parse error names the part ("subject", "text" or "html").
func compile(kind string, t Template) (*compiled, error) {
	if strings.ContainsAny(t.Subject, "\r\n") {
		return nil, gatehouse.FieldError("subject", "the subject must be one line")
	}
	for _, p := range []struct{ field, src string }{{"subject", t.Subject}, {"text", t.Text}, {"html", t.HTML}} {
		if strings.TrimSpace(p.src) == "" {
			return nil, gatehouse.FieldError(p.field, "the %s must not be empty", p.field)
		}
		if len(p.src) > MaxTemplateSize {
			return nil, gatehouse.FieldError(p.field, "the %s is longer than %d bytes", p.field, MaxTemplateSize)
		}
	}
	subj, err := template.New(kind + ".subject").Parse(`{{define "subject"}}` + t.Subject + `{{end}}`)
	if err != nil {
		return nil, gatehouse.FieldError("subject", "the subject does not parse: %v", err)
	}
	text, err := template.New(kind + ".text").Parse(`{{define "text"}}` + t.Text + `{{end}}`)
	if err != nil {
		return nil, gatehouse.FieldError("text", "the text part does not parse: %v", err)
	}
	html, err := htmltemplate.ParseFS(templateFS, "templates/layout.html")
	if err == nil {
		_, err = html.New("body").Parse(t.HTML)
	}
	if err != nil {
		return nil, gatehouse.FieldError("html", "the HTML part does not parse: %v", err)
	}
	return &compiled{subject: subj, text: text, html: html}, nil
}

// render executes c with d.
func (c *compiled) render(d Data) (subject, text, html string, err error) {
	var s, t, h bytes.Buffer
	if err := c.subject.ExecuteTemplate(&s, "subject", d); err != nil {
		return "", "", "", gatehouse.FieldError("subject", "the subject cannot be rendered: %v", err)
	}
	if err := c.text.ExecuteTemplate(&t, "text", d); err != nil {
		return "", "", "", gatehouse.FieldError("text", "the text part cannot be rendered: %v", err)
	}
	if err := c.html.ExecuteTemplate(&h, "layout.html", d); err != nil {
		return "", "", "", gatehouse.FieldError("html", "the HTML part cannot be rendered: %v", err)
	}
	return strings.TrimSpace(s.String()), strings.TrimSpace(t.String()) + "\n", h.String(), nil
}

// Rendered is a preview of a mail.
type Rendered struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// sample is the data previews and checks render with; the link is what a real one looks like.
func (o *Outbox) sample(kind string) Data {
	d := Data{Username: "alice", To: "alice@example.com", ExpiresIn: "24 hours",
		NewEmail: "alice.new@example.com", Provider: "Example SSO"}
	o.brand(&d)
	base := strings.TrimSuffix(d.PublicURL, "/")
	if base == "" {
		base = "https://auth.example.com"
	}
	d.Link = base + "/" + kind + "?token=SAMPLE-TOKEN-4f9c2a7e1b"
	return d
}

// Check compiles t for kind and renders it with sample data. It refuses, naming the part and the
// reason, a template that does not parse, cannot be rendered (an unknown field such as
// {{.Nmae}}), or, for a mail that exists for its link, leaves the link out of the text or the
// HTML part.
func (o *Outbox) Check(kind string, t Template) (*Rendered, error) {
	if _, ok := o.defaults[kind]; !ok {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "there is no mail template %q", kind)
	}
	c, err := compile(kind, t)
	if err != nil {
		return nil, err
	}
	d := o.sample(kind)
	subj, text, html, err := c.render(d)
	if err != nil {
		return nil, err
	}
	if subj == "" {
		return nil, gatehouse.FieldError("subject", "the subject renders empty")
	}
	if linkKinds[kind] {
		if !strings.Contains(text, d.Link) {
			return nil, gatehouse.FieldError("text", "the text part must contain the link ({{.Link}}): without it the mail is useless")
		}
		if !strings.Contains(html, htmltemplate.HTMLEscapeString(d.Link)) && !strings.Contains(html, d.Link) {
			return nil, gatehouse.FieldError("html", "the HTML part must contain the link ({{.Link}}): without it the mail is useless")
		}
	}
	return &Rendered{Subject: subj, Text: text, HTML: html}, nil
}

// LoadTemplates reads the administrators' templates from the store and uses them from now on.
// A stored template that no longer compiles (it was valid when saved) is logged and the
// built-in one used: a mail must still go out.
func (o *Outbox) LoadTemplates(ctx context.Context) error {
	stored, err := o.store.MailTemplates(ctx)
	if err != nil {
		return fmt.Errorf("loading mail templates: %w", err)
	}
	over := map[string]*compiled{}
	for kind, t := range stored {
		if _, ok := o.defaults[kind]; !ok {
			continue
		}
		c, err := compile(kind, Template{Subject: t.Subject, Text: t.Text, HTML: t.HTML})
		if err != nil {
			o.log.Error("a stored mail template does not compile; the built-in one is used", "kind", kind, "err", err)
			continue
		}
		over[kind] = c
	}
	o.overrides.Store(&over)
	return nil
}

// templateFor is the administrator's template of kind when there is one, else nil.
func (o *Outbox) templateFor(kind string) *compiled {
	if m := o.overrides.Load(); m != nil {
		return (*m)[kind]
	}
	return nil
}

// defaultSources extracts the editable sources of the embedded templates.
func defaultSources(text map[string]*template.Template, html map[string]*htmltemplate.Template) map[string]Template {
	out := map[string]Template{}
	for _, k := range kinds {
		out[k] = Template{
			Subject: text[k].Lookup("subject").Tree.Root.String(),
			Text:    text[k].Lookup("text").Tree.Root.String(),
			HTML:    html[k].Lookup("body").Tree.Root.String(),
		}
	}
	return out
}

// NeedsLink reports whether a template of kind must keep {{.Link}}.
func NeedsLink(kind string) bool { return linkKinds[kind] }
