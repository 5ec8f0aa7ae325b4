package sqlstore

import (
	"context"

	"github.com/gatehouse/gatehouse"
)

// MailTemplates implements gatehouse.MailStore.
func (s *Store) MailTemplates(ctx context.Context) (map[string]*gatehouse.MailTemplate, error) {
	list, err := all(ctx, s.r, func(r rowScanner) (*gatehouse.MailTemplate, error) {
		var t gatehouse.MailTemplate
		err := r.Scan(&t.Kind, &t.Subject, &t.Text, &t.HTML, timeDest{&t.UpdatedAt})
		return &t, err
	}, `SELECT kind, subject, text_body, html_body, updated_at FROM mail_templates`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*gatehouse.MailTemplate, len(list))
	for _, t := range list {
		out[t.Kind] = t
	}
	return out, nil
}

// SaveMailTemplate implements gatehouse.MailStore.
func (s *Store) SaveMailTemplate(ctx context.Context, t *gatehouse.MailTemplate) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO mail_templates (kind, subject, text_body, html_body, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (kind) DO UPDATE SET subject = excluded.subject, text_body = excluded.text_body, html_body = excluded.html_body, updated_at = excluded.updated_at`,
		t.Kind, t.Subject, t.Text, t.HTML, s.d.TimeArg(t.UpdatedAt))
	return err
}

// DeleteMailTemplate implements gatehouse.MailStore.
func (s *Store) DeleteMailTemplate(ctx context.Context, kind string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM mail_templates WHERE kind = $1`, kind)
	return err
}
