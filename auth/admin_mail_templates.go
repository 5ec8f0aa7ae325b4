package auth

import (
	"context"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
)

// MailTemplateView is one kind of mail as the admin console shows it: the template in use
// (the administrator's or the built-in one) and the built-in one, for comparison and reset.
type MailTemplateView struct {
	Kind       string        `json:"kind"`
	Customized bool          `json:"customized"`
	Template   mail.Template `json:"template"`
	Default    mail.Template `json:"default"`
	// NeedsLink: the template must keep {{.Link}}.
	NeedsLink bool   `json:"needs_link"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

// MailTemplates lists every kind of mail with its template.
func (s *Admin) MailTemplates(ctx context.Context, admin *Principal) ([]*MailTemplateView, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	stored, err := s.store.MailTemplates(ctx)
	if err != nil {
		return nil, err
	}
	out := []*MailTemplateView{}
	for _, k := range mail.Kinds() {
		out = append(out, s.templateView(k, stored[k]))
	}
	return out, nil
}

// MailTemplate returns one kind of mail; ENotFound for an unknown kind.
func (s *Admin) MailTemplate(ctx context.Context, admin *Principal, kind string) (*MailTemplateView, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	if !slices.Contains(mail.Kinds(), kind) {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "there is no mail template %q", kind)
	}
	stored, err := s.store.MailTemplates(ctx)
	if err != nil {
		return nil, err
	}
	return s.templateView(kind, stored[kind]), nil
}

func (s *Admin) templateView(kind string, stored *gatehouse.MailTemplate) *MailTemplateView {
	def, _ := s.core.mail.Default(kind)
	v := &MailTemplateView{Kind: kind, Template: def, Default: def, NeedsLink: mail.NeedsLink(kind)}
	if stored != nil {
		v.Customized = true
		v.Template = mail.Template{Subject: stored.Subject, Text: stored.Text, HTML: stored.HTML}
		v.UpdatedAt = stored.UpdatedAt.UTC().Format(time.RFC3339)
	}
	return v
}

// PreviewMailTemplate renders t with sample data without saving it; the same checks as saving.
func (s *Admin) PreviewMailTemplate(ctx context.Context, admin *Principal, kind string, t mail.Template) (*mail.Rendered, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	return s.core.mail.Check(kind, t)
}

// SaveMailTemplate checks t (it must parse, render with sample data and, for a mail that exists
// for its link, keep the link) and uses it for every mail of kind from now on; other instances
// pick it up with their next delivery round (a few seconds).
func (s *Admin) SaveMailTemplate(ctx context.Context, admin *Principal, kind string, t mail.Template, meta ClientMeta) (*MailTemplateView, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	if _, err := s.core.mail.Check(kind, t); err != nil {
		return nil, err
	}
	if err := s.store.SaveMailTemplate(ctx, &gatehouse.MailTemplate{Kind: kind, Subject: t.Subject, Text: t.Text, HTML: t.HTML, UpdatedAt: s.clock.Now()}); err != nil {
		return nil, err
	}
	return s.templatesChanged(ctx, admin, kind, false, meta)
}

// ResetMailTemplate goes back to the built-in template of kind.
func (s *Admin) ResetMailTemplate(ctx context.Context, admin *Principal, kind string, meta ClientMeta) (*MailTemplateView, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	if !slices.Contains(mail.Kinds(), kind) {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "there is no mail template %q", kind)
	}
	if err := s.store.DeleteMailTemplate(ctx, kind); err != nil {
		return nil, err
	}
	return s.templatesChanged(ctx, admin, kind, true, meta)
}

func (s *Admin) templatesChanged(ctx context.Context, admin *Principal, kind string, reset bool, meta ClientMeta) (*MailTemplateView, error) {
	if err := s.core.mail.LoadTemplates(ctx); err != nil {
		return nil, err
	}
	s.core.event(ctx, gatehouse.EventMailTemplateChanged, admin.User.ID, admin.SessionID, meta, map[string]any{"kind": kind, "reset": reset})
	return s.MailTemplate(ctx, admin, kind)
}
