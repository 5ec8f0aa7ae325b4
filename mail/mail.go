// Package mail renders gatehouse's messages from embedded templates and delivers them over SMTP
// (github.com/wneessen/go-mail) through an outbox: a request only writes a row, and a background
// loop sends it with retries, so a slow or unreachable mail server never blocks a request and an
// outage loses no mail.
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/seal"
)

//go:embed templates/*
var templateFS embed.FS

// Message kinds, each a pair of templates (templates/<kind>.txt and templates/<kind>.html). The
// text template defines "subject" and "text".
const (
	KindActivation         = "activation"
	KindAlreadyRegistered  = "already_registered"
	KindPasswordReset      = "password_reset"
	KindEmailChangeConfirm = "email_change_confirm"
	KindEmailChangeNotice  = "email_change_notice"
	KindTest               = "test"
	// KindExternalVerify proves an address to link an external identity (auth/extverify.go).
	KindExternalVerify = "external_verify"
)

var kinds = []string{KindActivation, KindAlreadyRegistered, KindPasswordReset, KindEmailChangeConfirm, KindEmailChangeNotice, KindTest, KindExternalVerify}

// Data fills a template. SiteName and PublicURL are set by Compose.
type Data struct {
	SiteName  string
	PublicURL string
	Username  string
	To        string
	Link      string
	ExpiresIn string
	NewEmail  string
	// Provider is the display name of an external provider (external_verify).
	Provider string
	// Branding (set by Compose): the accent colour and the text colour on it, the logo's
	// address (a PNG logo only: mail programs do not show SVG), the footer link.
	Accent, AccentText     string
	LogoURL                string
	FooterLabel, FooterURL string
}

// defaultAccent is the mail's button colour when no accent colour is set.
const defaultAccent = "#2454d6"

// brand fills d's site name, public address and branding from the current settings.
func (o *Outbox) brand(d *Data) {
	st := o.settings()
	d.SiteName = st.SiteName
	base := ""
	if o.public != nil {
		d.PublicURL = o.public.String()
		base = strings.TrimSuffix(d.PublicURL, "/")
	}
	d.Accent, d.AccentText = defaultAccent, "#ffffff"
	if st.AccentColor != "" {
		d.Accent, d.AccentText = st.AccentColor, gatehouse.AccentText(st.AccentColor)
	}
	if strings.HasPrefix(st.Logo, "png-") && base != "" {
		d.LogoURL = base + "/branding/logo?v=" + st.Logo
	}
	if st.FooterLabel != "" && st.FooterURL != "" {
		d.FooterLabel, d.FooterURL = st.FooterLabel, st.FooterURL
		if strings.HasPrefix(st.FooterURL, "/") {
			d.FooterURL = base + st.FooterURL
		}
	}
}

// Retry policy: the first retry after 30 s, doubling up to an hour, giving up after maxAttempts
// (about seven hours in all); an administrator can retry a mail that gave up.
const (
	firstBackoff = 30 * time.Second
	maxBackoff   = time.Hour
	maxAttempts  = 12
	lease        = 5 * time.Minute // longer than sendTimeout: a claimed mail is not sent twice
	sendTimeout  = 30 * time.Second
	batch        = 20
	pollInterval = 5 * time.Second
	keepSent     = 7 * 24 * time.Hour
)

// Backoff is the wait after the n-th failed attempt (n from 1).
func Backoff(n int) time.Duration {
	d := firstBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// Deps are what an Outbox needs.
type Deps struct {
	Store     gatehouse.MailStore
	Settings  func() *gatehouse.Settings
	Clock     gatehouse.Clock
	Logger    *slog.Logger
	PublicURL *url.URL
	// RootCAs, when set, replaces the system roots for verifying the SMTP server's certificate
	// (tests with a self-signed server). Verification itself is never turned off.
	RootCAs *x509.CertPool
	// SealKey is [auth] mfa_secret_key: queued bodies are sealed under a key derived from it
	// (seal.go). Empty leaves them in clear text.
	SealKey string
}

// Outbox composes, queues and delivers mail.
type Outbox struct {
	store    gatehouse.MailStore
	settings func() *gatehouse.Settings
	clock    gatehouse.Clock
	log      *slog.Logger
	public   *url.URL
	rootCAs  *x509.CertPool
	box      *seal.Box // nil: bodies are stored unsealed
	text     map[string]*template.Template
	html     map[string]*htmltemplate.Template
	wake     chan struct{}
	// defaults are the built-in sources; overrides the administrators' templates
	// (LoadTemplates), swapped whole.
	defaults  map[string]Template
	overrides atomic.Pointer[map[string]*compiled]

	tickMu    sync.Mutex // one delivery round at a time per instance
	lastPurge time.Time
}

// New parses the templates; it panics on a broken embedded template, which is a build error.
func New(d Deps) *Outbox {
	if d.Clock == nil {
		d.Clock = gatehouse.SystemClock{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	o := &Outbox{store: d.Store, settings: d.Settings, clock: d.Clock, log: d.Logger, public: d.PublicURL, rootCAs: d.RootCAs,
		box: newBodyBox(d.SealKey), text: map[string]*template.Template{}, html: map[string]*htmltemplate.Template{}, wake: make(chan struct{}, 1)}
	for _, k := range kinds {
		o.text[k] = template.Must(template.ParseFS(templateFS, "templates/"+k+".txt"))
		o.html[k] = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/layout.html", "templates/"+k+".html"))
	}
	// Before any execution: html/template rewrites the trees when it first escapes them.
	o.defaults = defaultSources(o.text, o.html)
	return o
}

// Configured reports whether enough is set to send mail: a host and a sender.
func Configured(st *gatehouse.Settings) bool { return st.MailConfigured() }

// Compose renders a message of kind for to, its bodies sealed for the outbox (Bodies opens them).
func (o *Outbox) Compose(kind, to string, d Data) (*gatehouse.OutboxMail, error) {
	m, err := o.compose(kind, to, d)
	if err != nil {
		return nil, err
	}
	sealBodies(o.box, m)
	return m, nil
}

func (o *Outbox) compose(kind, to string, d Data) (*gatehouse.OutboxMail, error) {
	tt, ok := o.text[kind]
	if !ok {
		return nil, fmt.Errorf("unknown mail kind %q", kind)
	}
	o.brand(&d)
	d.To = to
	if c := o.templateFor(kind); c != nil {
		subj, text, html, err := c.render(d)
		if err == nil {
			return &gatehouse.OutboxMail{Kind: kind, To: to, Subject: subj, Text: text, HTML: html, CreatedAt: o.clock.Now()}, nil
		}
		// Checked with sample data when saved; real data should render too. If it does not,
		// the built-in template still gets the mail out.
		o.log.Error("an edited mail template failed; the built-in one is used", "kind", kind, "err", err)
	}
	var subj, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subj, "subject", d); err != nil {
		return nil, err
	}
	if err := tt.ExecuteTemplate(&text, "text", d); err != nil {
		return nil, err
	}
	if err := o.html[kind].ExecuteTemplate(&html, "layout.html", d); err != nil {
		return nil, err
	}
	return &gatehouse.OutboxMail{Kind: kind, To: to, Subject: strings.TrimSpace(subj.String()),
		Text: strings.TrimSpace(text.String()) + "\n", HTML: html.String(), CreatedAt: o.clock.Now()}, nil
}

// Queue stores mails in the outbox and wakes the delivery loop.
func (o *Outbox) Queue(ctx context.Context, mails ...*gatehouse.OutboxMail) error {
	if err := o.store.QueueMail(ctx, mails...); err != nil {
		return err
	}
	o.Wake()
	return nil
}

// Wake asks the delivery loop to look at the outbox now rather than at its next poll.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run delivers mail until ctx ends: whenever woken, and every few seconds for retries.
func (o *Outbox) Run(ctx context.Context) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		if _, err := o.Tick(ctx); err != nil && ctx.Err() == nil {
			o.log.Error("mail delivery round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-t.C:
		}
	}
}

// Tick runs one delivery round: it sends every mail due at the clock's now and reports how many
// went out. Tests call it directly after moving the clock.
func (o *Outbox) Tick(ctx context.Context) (int, error) {
	o.tickMu.Lock()
	defer o.tickMu.Unlock()
	// Templates another instance's administrator edited arrive with the next round.
	if err := o.LoadTemplates(ctx); err != nil {
		o.log.Warn("reloading mail templates failed; the previous ones stay in use", "err", err)
	}
	now := o.clock.Now()
	if now.Sub(o.lastPurge) > time.Hour {
		if _, err := o.store.PurgeMail(ctx, now.Add(-keepSent)); err != nil {
			o.log.Warn("purging old mail and links failed", "err", err)
		} else {
			o.lastPurge = now
		}
	}
	st := o.settings()
	if !Configured(st) {
		return 0, nil // mail stays queued until delivery is configured
	}
	sent := 0
	for {
		mails, err := o.store.ClaimMail(ctx, now, now.Add(lease), batch)
		if err != nil {
			return sent, err
		}
		for _, m := range mails {
			_, err := o.send(ctx, st, m)
			now = o.clock.Now()
			if err == nil {
				sent++
				if err := o.store.MailSent(ctx, m.ID, now); err != nil {
					o.log.Error("recording a sent mail failed; it may be sent again", "mail_id", m.ID, "err", err)
				}
				continue
			}
			giveUp := m.Attempts >= maxAttempts
			next := now.Add(Backoff(m.Attempts))
			o.log.Warn("mail delivery failed", "mail_id", m.ID, "to", m.To, "attempt", m.Attempts, "giving_up", giveUp, "err", err)
			if err := o.store.MailAttemptFailed(ctx, m.ID, err.Error(), next, giveUp); err != nil {
				o.log.Error("recording a failed mail attempt failed", "mail_id", m.ID, "err", err)
			}
		}
		if len(mails) < batch || ctx.Err() != nil {
			return sent, ctx.Err()
		}
	}
}

// SendTest sends a test message to `to` at once, bypassing the outbox, and returns the server's
// answer; an error carries the server's own words.
func (o *Outbox) SendTest(ctx context.Context, to string) (string, error) {
	st := o.settings()
	if st.SMTPHost == "" {
		return "", &gatehouse.Error{Code: gatehouse.EInvalid, Field: "mail_smtp_host", Message: "mail delivery is off: set mail_smtp_host first"}
	}
	if st.MailFrom == "" {
		return "", &gatehouse.Error{Code: gatehouse.EInvalid, Field: "mail_from", Message: "set mail_from (the sender address) first"}
	}
	to = gatehouse.NormalizeLogin(to)
	if err := gatehouse.ValidateEmail(to); err != nil {
		return "", &gatehouse.Error{Code: gatehouse.EInvalid, Field: "to", Message: "to: enter a valid email address"}
	}
	m, err := o.Compose(KindTest, to, Data{})
	if err != nil {
		return "", err
	}
	resp, err := o.send(ctx, st, m)
	if err != nil {
		return "", gatehouse.Errorf(gatehouse.EMailFailed, "sending through %s:%d failed: %v", st.SMTPHost, st.SMTPPort, err)
	}
	return resp, nil
}

// send delivers one message over a fresh SMTP connection.
func (o *Outbox) send(ctx context.Context, st *gatehouse.Settings, m *gatehouse.OutboxMail) (string, error) {
	text, html, err := openBodies(o.box, m)
	if err != nil {
		return "", err
	}
	msg := gomail.NewMsg()
	if err := msg.From(st.MailFrom); err != nil {
		return "", fmt.Errorf("mail_from %q is not a valid address: %w", st.MailFrom, err)
	}
	if err := msg.To(m.To); err != nil {
		return "", fmt.Errorf("recipient %q is not a valid address: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, text)
	if html != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, html)
	}
	opts := []gomail.Option{gomail.WithPort(st.SMTPPort), gomail.WithTimeout(sendTimeout)}
	if o.public != nil && o.public.Hostname() != "" {
		opts = append(opts, gomail.WithHELO(o.public.Hostname()))
	}
	switch st.SMTPTLS {
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case "tls":
		opts = append(opts, gomail.WithSSL())
	default: // starttls: refuse to go on in clear text when the server does not offer it
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if o.rootCAs != nil {
		opts = append(opts, gomail.WithTLSConfig(&tls.Config{ServerName: st.SMTPHost, RootCAs: o.rootCAs, MinVersion: tls.VersionTLS12}))
	}
	if st.SMTPUsername != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(st.SMTPUsername), gomail.WithPassword(st.SMTPPassword))
	}
	c, err := gomail.NewClient(st.SMTPHost, opts...)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return "", err
	}
	return msg.ServerResponse(), nil
}
