package mail_test

import (
	"context"
	"crypto/x509"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/smtptest"
	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/sqlite"
)

const testKey = "test-mfa-key-0123456789abcdefghij"

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func setup(t *testing.T, smtp *smtptest.Server, tls string, roots ...*x509.CertPool) (*mail.Outbox, gatehouse.Store, *clock) {
	t.Helper()
	return setupWith(t, smtp, tls, testdb.SQLitePath(t), testKey, roots...)
}

// setupAt opens the database at path (shared by several outboxes, as by several instances)
// with the sealing key key.
func setupAt(t *testing.T, smtp *smtptest.Server, path, key string) (*mail.Outbox, gatehouse.Store, *clock) {
	t.Helper()
	return setupWith(t, smtp, "none", path, key)
}

func setupWith(t *testing.T, smtp *smtptest.Server, tls, path, key string, roots ...*x509.CertPool) (*mail.Outbox, gatehouse.Store, *clock) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	raw := gatehouse.SettingDefaults(true)
	raw["site_name"] = "Example Gate"
	raw["mail_smtp_host"] = smtp.Host
	raw["mail_smtp_port"] = strconv.Itoa(smtp.Port)
	raw["mail_smtp_tls"] = tls
	raw["mail_from"] = "Gate <gate@example.com>"
	st, warn := gatehouse.NewSettings(raw, true)
	if len(warn) > 0 {
		t.Fatal(warn)
	}
	pub, _ := url.Parse("https://auth.example.com/gate")
	c := &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	d := mail.Deps{Store: db, Settings: func() *gatehouse.Settings { return st }, Clock: c, PublicURL: pub, SealKey: key}
	if len(roots) > 0 {
		d.RootCAs = roots[0]
	}
	return mail.New(d), db, c
}

func TestMultipartMailWithSiteNameAndPublicLinks(t *testing.T) {
	smtp := smtptest.Start(t)
	o, _, _ := setup(t, smtp, "none")
	link := "https://auth.example.com/gate/recover/reset?token=tok123"
	m, err := o.Compose(mail.KindPasswordReset, "alice@example.com", mail.Data{Username: "alice", Link: link, ExpiresIn: "1 hour"})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Queue(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if n, err := o.Tick(context.Background()); err != nil || n != 1 {
		t.Fatalf("Tick = %d, %v; want 1 sent", n, err)
	}
	got := smtp.Wait(1, 5*time.Second)[0]
	if got.Subject != "Reset your Example Gate password" {
		t.Fatalf("subject = %q", got.Subject)
	}
	if got.From != "gate@example.com" || len(got.To) != 1 || got.To[0] != "alice@example.com" {
		t.Fatalf("envelope from %q to %v", got.From, got.To)
	}
	if !strings.Contains(got.Text, link) || !strings.Contains(got.Text, "1 hour") || !strings.Contains(got.Text, "Example Gate") {
		t.Fatalf("text part lacks the link, lifetime or site name:\n%s", got.Text)
	}
	if !strings.Contains(got.HTML, `href="https://auth.example.com/gate/recover/reset?token=tok123"`) || !strings.Contains(got.HTML, "Example Gate") {
		t.Fatalf("HTML part lacks the link or site name:\n%s", got.HTML)
	}
	if !strings.Contains(got.Header.Get("Content-Type"), "multipart/alternative") {
		t.Fatalf("Content-Type = %q, want multipart/alternative", got.Header.Get("Content-Type"))
	}
}

func TestTemplatesEscapeUserInput(t *testing.T) {
	smtp := smtptest.Start(t)
	o, _, _ := setup(t, smtp, "none")
	m, err := o.Compose(mail.KindEmailChangeNotice, "a@example.com", mail.Data{Username: "<script>x</script>", NewEmail: `"><img src=x>@example.com`})
	if err != nil {
		t.Fatal(err)
	}
	_, html, err := o.Bodies(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "<script>x") || strings.Contains(html, "<img src=x>") {
		t.Fatalf("HTML part is not escaped:\n%s", html)
	}
}

func TestSendTestReportsTheServersAnswer(t *testing.T) {
	smtp := smtptest.Start(t)
	o, _, _ := setup(t, smtp, "none")
	resp, err := o.SendTest(context.Background(), "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp, "OK: queued") {
		t.Fatalf("answer = %q, want the server's own reply to DATA", resp)
	}
	if got := smtp.To("admin@example.com"); len(got) != 1 || !strings.Contains(got[0].Subject, "Test mail from Example Gate") {
		t.Fatalf("test mail not delivered: %+v", got)
	}

	smtp.Refuse("greylisted, come back later")
	_, err = o.SendTest(context.Background(), "admin@example.com")
	if gatehouse.ErrorCode(err) != gatehouse.EMailFailed || !strings.Contains(err.Error(), "greylisted, come back later") {
		t.Fatalf("err = %v, want %s carrying the server's words", err, gatehouse.EMailFailed)
	}
	smtp.Refuse("")

	// STARTTLS demanded from a server that does not offer it: refused, not sent in clear text.
	o2, _, _ := setup(t, smtp, "starttls")
	_, err = o2.SendTest(context.Background(), "admin@example.com")
	if gatehouse.ErrorCode(err) != gatehouse.EMailFailed || !strings.Contains(strings.ToLower(err.Error()), "starttls") {
		t.Fatalf("err = %v, want a STARTTLS failure", err)
	}
	if n := len(smtp.To("admin@example.com")); n != 1 {
		t.Fatalf("%d test mails delivered, want 1: a mail went out without the TLS the settings demand", n)
	}

	_, err = o.SendTest(context.Background(), "not-an-address")
	if e, ok := err.(*gatehouse.Error); !ok || e.Code != gatehouse.EInvalid || e.Field != "to" {
		t.Fatalf("err = %v, want invalid_input on to", err)
	}
}

func TestOutageRetriesWithBackoffAndLosesNothing(t *testing.T) {
	smtp := smtptest.Start(t)
	o, db, c := setup(t, smtp, "none")
	ctx := context.Background()
	smtp.Stop()
	m, _ := o.Compose(mail.KindTest, "bob@example.com", mail.Data{})
	if err := o.Queue(ctx, m); err != nil {
		t.Fatal(err)
	}
	if n, _ := o.Tick(ctx); n != 0 {
		t.Fatalf("sent %d during the outage", n)
	}
	list, _, _ := db.ListMail(ctx, "", 0, 10)
	if len(list) != 1 || list[0].Status != gatehouse.MailQueued || list[0].Attempts != 1 || list[0].LastError == "" {
		t.Fatalf("after a failed attempt: %+v", list[0])
	}
	if want := c.t.Add(mail.Backoff(1)); !list[0].NextAttemptAt.Equal(want) {
		t.Fatalf("next attempt at %v, want %v", list[0].NextAttemptAt, want)
	}
	// Before the backoff ends nothing is attempted, even with the server back.
	smtp.Restart()
	if n, _ := o.Tick(ctx); n != 0 {
		t.Fatal("retried before the backoff ended")
	}
	c.t = c.t.Add(mail.Backoff(1))
	if n, err := o.Tick(ctx); n != 1 || err != nil {
		t.Fatalf("after the outage Tick = %d, %v", n, err)
	}
	if got := smtp.To("bob@example.com"); len(got) != 1 {
		t.Fatalf("%d mails delivered after the outage, want 1", len(got))
	}
	if mail.Backoff(2) != 2*mail.Backoff(1) || mail.Backoff(30) != time.Hour {
		t.Fatalf("backoff is not exponential with a one-hour cap: %v %v %v", mail.Backoff(1), mail.Backoff(2), mail.Backoff(30))
	}
}

func TestGivesUpAfterTheLastAttempt(t *testing.T) {
	smtp := smtptest.Start(t)
	o, db, c := setup(t, smtp, "none")
	ctx := context.Background()
	smtp.Refuse("mailbox store down")
	m, _ := o.Compose(mail.KindTest, "carol@example.com", mail.Data{})
	_ = o.Queue(ctx, m)
	for i := 1; i <= 20; i++ {
		_, _ = o.Tick(ctx)
		c.t = c.t.Add(mail.Backoff(i))
	}
	failed, _, _ := db.ListMail(ctx, gatehouse.MailFailed, 0, 10)
	if len(failed) != 1 || !strings.Contains(failed[0].LastError, "mailbox store down") {
		t.Fatalf("failed mails = %+v, want one carrying the server's words", failed)
	}
	attempts := failed[0].Attempts
	_, _ = o.Tick(ctx)
	if again, _, _ := db.ListMail(ctx, gatehouse.MailFailed, 0, 10); again[0].Attempts != attempts {
		t.Fatal("a mail that gave up was attempted again without a retry")
	}
	smtp.Refuse("")
	if err := db.RetryMail(ctx, failed[0].ID, c.t); err != nil {
		t.Fatal(err)
	}
	if n, _ := o.Tick(ctx); n != 1 {
		t.Fatal("a retried mail was not sent")
	}
}

func TestTLSModes(t *testing.T) {
	// STARTTLS: the connection is upgraded and the certificate verified.
	starttls, pool := smtptest.StartTLS(t)
	o, _, _ := setup(t, starttls, "starttls", pool)
	if _, err := o.SendTest(context.Background(), "tls@example.com"); err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	if len(starttls.To("tls@example.com")) != 1 {
		t.Fatal("no mail over STARTTLS")
	}
	// An untrusted certificate is refused, whatever the mode.
	o, _, _ = setup(t, starttls, "starttls")
	if _, err := o.SendTest(context.Background(), "tls@example.com"); gatehouse.ErrorCode(err) != gatehouse.EMailFailed || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	// Implicit TLS (SMTPS).
	smtps, pool2 := smtptest.StartImplicitTLS(t)
	o, _, _ = setup(t, smtps, "tls", pool2)
	if _, err := o.SendTest(context.Background(), "smtps@example.com"); err != nil {
		t.Fatalf("implicit TLS: %v", err)
	}
	if len(smtps.To("smtps@example.com")) != 1 {
		t.Fatal("no mail over implicit TLS")
	}
}

// The console shows the built-in templates as editable sources; saved unchanged, they must
// render exactly the mail the built-in templates render.
func TestDefaultSourcesRenderTheBuiltInMail(t *testing.T) {
	o, db, _ := setup(t, smtptest.Start(t), "none")
	d := mail.Data{Username: "alice", Link: "https://auth.example.com/gate/x?token=abc", ExpiresIn: "1 hour", NewEmail: "n@example.com", Provider: "Corp"}
	for _, k := range mail.Kinds() {
		want, err := o.Compose(k, "a@example.com", d)
		if err != nil {
			t.Fatal(err)
		}
		def, _ := o.Default(k)
		if _, err := o.Check(k, def); err != nil {
			t.Fatalf("%s: the default fails its own check: %v", k, err)
		}
		if err := db.SaveMailTemplate(context.Background(), &gatehouse.MailTemplate{Kind: k, Subject: def.Subject, Text: def.Text, HTML: def.HTML}); err != nil {
			t.Fatal(err)
		}
		if err := o.LoadTemplates(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, err := o.Compose(k, "a@example.com", d)
		if err != nil {
			t.Fatal(err)
		}
		gotText, gotHTML, err1 := o.Bodies(got)
		wantText, wantHTML, err2 := o.Bodies(want)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if got.Subject != want.Subject || gotText != wantText || gotHTML != wantHTML {
			t.Fatalf("%s: the default source renders differently:\n%q\n%q\n%s\n%s", k, got.Subject, want.Subject, gotText, wantText)
		}
	}
}

// Issue #15 item 6: a copy of the database taken while mail waits (an SMTP outage) must not
// hold the live link; the mail still arrives with it; a row queued before sealing still goes
// out; a key change fails the mail with a message, never sends garbage.
func TestQueuedBodiesAreSealedAtRest(t *testing.T) {
	smtp := smtptest.Start(t)
	path := testdb.SQLitePath(t)
	o, db, clk0 := setupAt(t, smtp, path, testKey)
	ctx := context.Background()
	smtp.Stop()
	const secret = "tokSEALME0123456789abcdef"
	link := "https://auth.example.com/gate/recover/reset?token=" + secret
	m, err := o.Compose(mail.KindPasswordReset, "alice@example.com", mail.Data{Username: "alice", Link: link, ExpiresIn: "1 hour"})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Queue(ctx, m); err != nil {
		t.Fatal(err)
	}
	legacy := &gatehouse.OutboxMail{Kind: mail.KindTest, To: "old@example.com", Subject: "queued before sealing", Text: "plain old body\n", CreatedAt: clk0.t}
	if err := db.QueueMail(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	_, _ = o.Tick(ctx) // fails: the server is down
	for _, f := range []string{path, path + "-wal"} {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), secret) {
			t.Fatalf("%s holds the live link in clear text", f)
		}
	}
	list, _, _ := db.ListMail(ctx, "", 0, 10)
	for _, r := range list {
		if r.To == "alice@example.com" && (!mail.Sealed(r.Text) || !mail.Sealed(r.HTML)) {
			t.Fatalf("stored bodies are not sealed: %q", r.Text)
		}
	}

	// Another instance with another key cannot open it: the attempt fails with the reason.
	other, _, clk := setupAt(t, smtp, path, "another-key-0123456789abcdefghijkl")
	smtp.Restart()
	clk.t = clk.t.Add(time.Hour)
	if _, err := other.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := smtp.To("alice@example.com"); len(got) != 0 {
		t.Fatalf("a mail sealed under another key went out: %q", got[0].Text)
	}
	if got := smtp.To("old@example.com"); len(got) != 1 || !strings.Contains(got[0].Text, "plain old body") {
		t.Fatalf("the unsealed legacy row was not delivered: %+v", got)
	}
	list, _, _ = db.ListMail(ctx, "", 0, 10)
	for _, r := range list {
		if r.To == "alice@example.com" && !strings.Contains(r.LastError, "mfa_secret_key has changed") {
			t.Fatalf("last error = %q, want the key change named", r.LastError)
		}
	}

	// The right key delivers it with the link.
	o2, _, clk2 := setupAt(t, smtp, path, testKey)
	clk2.t = clk.t.Add(2 * time.Hour)
	if n, err := o2.Tick(ctx); n != 1 || err != nil {
		t.Fatalf("Tick = %d, %v; want the sealed mail sent", n, err)
	}
	got := smtp.To("alice@example.com")
	if len(got) != 1 || !strings.Contains(got[0].Text, link) || !strings.Contains(got[0].HTML, secret) {
		t.Fatalf("delivered mail lacks the link: %+v", got)
	}
}
