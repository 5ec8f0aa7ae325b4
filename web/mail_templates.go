package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/mail"
)

// templateData is the mail template editor: the template, and a preview when one was asked for.
type templateData struct {
	*auth.MailTemplateView
	Preview *mail.Rendered
}

var templateNotices = map[string]string{
	"saved": "The template is saved: mail of this kind uses it from now on.",
	"reset": "The template is back to the built-in one.",
}

func (p *pages) templateView(r *http.Request, pr *auth.Principal) (*view, error) {
	tv, err := p.auth.Admin.MailTemplate(r.Context(), pr, r.PathValue("kind"))
	if err != nil {
		return nil, err
	}
	v := adminView("Mail template: "+tv.Kind, "mail", pr)
	v.Data = &templateData{MailTemplateView: tv}
	v.Form = map[string]string{"subject": tv.Template.Subject, "text": tv.Template.Text, "html": tv.Template.HTML}
	return v, nil
}

func (p *pages) adminMailTemplate(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v, err := p.templateView(r, pr)
	if err != nil {
		return err
	}
	v.Notice = templateNotices[r.URL.Query().Get("done")]
	p.render(w, http.StatusOK, "admin_mail_template", v)
	return nil
}

// adminMailTemplateSubmit previews (action=preview) or saves the edited template. Either way a
// refused template is shown again as typed, with the reason next to the part it concerns.
func (p *pages) adminMailTemplateSubmit(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v, err := p.templateView(r, pr)
	if err != nil {
		return err
	}
	f := r.PostForm
	t := mail.Template{Subject: f.Get("subject"), Text: f.Get("text"), HTML: f.Get("html")}
	v.Form = map[string]string{"subject": t.Subject, "text": t.Text, "html": t.HTML}
	kind := r.PathValue("kind")
	if f.Get("action") == "save" {
		_, err = p.auth.Admin.SaveMailTemplate(r.Context(), pr, kind, t, p.kit.Meta(r))
		if err == nil {
			p.redirect(w, r, "/admin/mail/templates/"+kind+"?done=saved")
			return nil
		}
	} else {
		var out *mail.Rendered
		if out, err = p.auth.Admin.PreviewMailTemplate(r.Context(), pr, kind, t); err == nil {
			v.Data.(*templateData).Preview = out
			v.Notice = "Preview with sample data below; not saved yet."
			// The preview frame's document inherits this page's policy; mail HTML is styled
			// inline, so this one answer allows inline style (never script: the frame is
			// sandboxed as well, and remote pictures stay blocked by img-src).
			w.Header().Set("Content-Security-Policy", cspMailPreview)
		}
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EInternal {
			return err
		}
		v.refuse(err)
		p.render(w, ghttpStatus(err), "admin_mail_template", v)
		return nil
	}
	p.render(w, http.StatusOK, "admin_mail_template", v)
	return nil
}

func (p *pages) adminMailTemplateReset(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	kind := r.PathValue("kind")
	if _, err := p.auth.Admin.ResetMailTemplate(r.Context(), pr, kind, p.kit.Meta(r)); err != nil {
		return err
	}
	p.redirect(w, r, "/admin/mail/templates/"+kind+"?done=reset")
	return nil
}
