package main

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// A public URL on this machine that is not where gatehouse listens is said at start and shown to
// administrators on every page, never to other users.
func TestServeWarnsAdministratorsOfAPublicURLThatCannotReachIt(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db")}
	port := freePort(t)
	base, logs, _ := startServe(t, dir, vars, "--listen", "127.0.0.1:"+port, "--public-url", "http://localhost:1")
	if !strings.Contains(logs.String(), "server.public_url http://localhost:1 names this machine on port 1, but gatehouse listens on 127.0.0.1:"+port) {
		t.Fatalf("no start-up warning:\n%s", logs.String())
	}
	page := func(c *http.Client, path string) string {
		r, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return string(b)
	}
	jar, _ := cookiejar.New(nil)
	admin := &http.Client{Jar: jar}
	r, err := admin.Post(base+"/api/setup/admin", "application/json",
		strings.NewReader(`{"username":"alice","email":"alice@example.com","password":"correct horse battery"}`))
	if err != nil || r.StatusCode != 201 {
		t.Fatalf("setup: %v %v", r, err)
	}
	r.Body.Close()
	if p := page(admin, "/admin/users"); !strings.Contains(p, `class="error-summary banner"`) || !strings.Contains(p, "names this machine on port 1") {
		t.Fatalf("the administrator sees no banner:\n%s", p)
	}
	if p := page(&http.Client{}, "/login"); strings.Contains(p, "banner") {
		t.Fatalf("a signed-out visitor sees the configuration banner:\n%s", p)
	}
}

// With only --listen changed, the generated public URL follows it, so the first administrator
// lands on a live address.
func TestServeDefaultPublicURLFollowsListen(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db")}
	port := freePort(t)
	_, logs, _ := startServe(t, dir, vars, "--listen", "127.0.0.1:"+port)
	if !strings.Contains(logs.String(), "public_url=http://localhost:"+port) {
		t.Fatalf("public_url did not follow --listen:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "names this machine") {
		t.Fatalf("a warning for a consistent configuration:\n%s", logs.String())
	}
}
