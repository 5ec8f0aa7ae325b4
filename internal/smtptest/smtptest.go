// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) on loopback for tests.
// It records every delivered message and can be stopped, restarted on the same address, or told
// to refuse mail, to play a mail server outage.
package smtptest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one delivered mail.
type Message struct {
	From    string
	To      []string
	Raw     []byte
	Header  mail.Header
	Subject string
	Text    string
	HTML    string
}

// Server is a recording SMTP server.
type Server struct {
	t    testing.TB
	Addr string
	Host string
	Port int

	mu      sync.Mutex
	srv     *smtp.Server
	msgs    []*Message
	refuse  string
	arrived chan struct{}
}

// Start listens on a free loopback port; the server stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, arrived: make(chan struct{}, 1000)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	s.Addr = ln.Addr().String()
	s.Host = "127.0.0.1"
	s.Port = ln.Addr().(*net.TCPAddr).Port
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) serve(ln net.Listener) {
	srv := smtp.NewServer(backend{s})
	srv.Domain = "smtptest.localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.AllowInsecureAuth = true
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Stop closes the listener and every connection: clients get "connection refused".
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Restart listens again on the same address after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	var ln net.Listener
	var err error
	// The port was just released; another process could take it, but on loopback in a test
	// that is rare enough to retry briefly and then fail loudly.
	for range 50 {
		if ln, err = net.Listen("tcp", s.Addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("smtptest: listening again on %s: %v", s.Addr, err)
	}
	s.serve(ln)
}

// Refuse makes the server answer MAIL FROM with a temporary failure carrying msg; "" accepts again.
func (s *Server) Refuse(msg string) {
	s.mu.Lock()
	s.refuse = msg
	s.mu.Unlock()
}

// Messages returns what was delivered so far.
func (s *Server) Messages() []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Message(nil), s.msgs...)
}

// To returns the messages delivered to addr.
func (s *Server) To(addr string) []*Message {
	var out []*Message
	for _, m := range s.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// Wait waits until at least n messages in all have arrived, failing the test after timeout.
func (s *Server) Wait(n int, timeout time.Duration) []*Message {
	s.t.Helper()
	deadline := time.After(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.arrived:
		case <-deadline:
			s.t.Fatalf("smtptest: %d messages arrived within %v, want %d", len(s.Messages()), timeout, n)
			return nil
		}
	}
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+`)

// Link returns the first link in the text part that contains substr.
func (m *Message) Link(substr string) string {
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if strings.Contains(l, substr) {
			return l
		}
	}
	return ""
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.s.mu.Lock()
	refuse := x.s.refuse
	x.s.mu.Unlock()
	if refuse != "" {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: refuse}
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unparseable message: " + err.Error()}
	}
	m.From, m.To = x.from, append([]string(nil), x.to...)
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, m)
	x.s.mu.Unlock()
	select {
	case x.s.arrived <- struct{}{}:
	default:
	}
	return nil
}

// parse reads the subject and the text and HTML parts of a message.
func parse(raw []byte) (*Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return nil, err
	}
	m := &Message{Raw: raw, Header: msg.Header, Subject: subj}
	if err := walk(m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body); err != nil {
		return nil, err
	}
	return m, nil
}

func walk(m *Message, ctype, cte string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walk(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	b, err := decode(cte, body)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		m.Text = string(b)
	case "text/html":
		m.HTML = string(b)
	}
	return nil
}
