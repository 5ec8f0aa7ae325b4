package testserver

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// ExternalBrowser returns a client with its own cookie jar that follows redirects through
// gatehouse's external sign-in endpoints (/api/auth/oidc/...) and the provider, and stops at the
// first answer from any other gatehouse address: the round trip of an external sign-in as a
// browser makes it, ending where the user lands.
func (e *Env) ExternalBrowser() *Client {
	jar, _ := cookiejar.New(nil)
	gh, _ := url.Parse(e.URL)
	return &Client{E: e, Header: http.Header{}, HTTP: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == gh.Host && !strings.HasPrefix(req.URL.Path, "/api/auth/oidc/") {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

// Page loads u (a path on the server, or an absolute URL) as a browser does (Accept: text/html,
// with the client's Header, such as Accept-Language) and returns the status, Location and body.
func (c *Client) Page(t testing.TB, u string) (status int, location, body string) {
	t.Helper()
	if strings.HasPrefix(u, "/") {
		u = c.E.URL + u
	}
	req, _ := http.NewRequest("GET", u, nil)
	for k, v := range c.Header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// SyncBuffer is a log sink that tests read while a server writes to it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Reset empties the buffer.
func (s *SyncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Me returns the signed-in user's username and email (GET /api/auth/me), or two empty strings
// when nobody is signed in.
func (c *Client) Me(t testing.TB) (username, email string) {
	t.Helper()
	r := c.Do("GET", "/api/auth/me", nil)
	if r.Status != http.StatusOK {
		return "", ""
	}
	u := r.User()
	return u.Username, u.Email
}

// EventsOf returns the audit events of one kind, newest first, as an administrator's client sees
// them (GET /api/admin/events?kind=).
func (c *Client) EventsOf(t testing.TB, kind string) []Event {
	t.Helper()
	return c.Do("GET", "/api/admin/events?kind="+kind, nil).Events().Items
}
