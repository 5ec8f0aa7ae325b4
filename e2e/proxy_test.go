package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// End-to-end forward auth through the real reverse proxies (Debian's nginx-light and caddy):
// each test writes the proxy's configuration from docs/reverse-proxy.md into a temporary
// directory, starts the proxy as the test user on a free loopback port, and drives a protected
// echo app through it. Without the binary the test skips, or fails when GATEHOUSE_TEST_REQUIRE
// names it.

// nginxConf is docs/reverse-proxy.md's nginx configuration, on plain HTTP for the test.
const nginxConf = `worker_processes 1;
daemon off;
{{if .Root}}user root;{{end}}
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path {{.Dir}}/body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;

    server {
        listen 127.0.0.1:{{.Port}};
        server_name auth.example.test;
        location / {
            proxy_pass http://{{.Gatehouse}};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }
    }

    server {
        listen 127.0.0.1:{{.Port}};
        server_name app.example.test;

        # The check: auth_request accepts 2xx, 401 and 403 only, so it asks for JSON.
        location = /_gatehouse {
            internal;
            proxy_pass http://{{.Gatehouse}}/api/auth/verify;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Accept "application/json";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Forwarded-Method $request_method;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }

        # The answer to a refusal: verify again, with the client's own Accept header, and pass
        # its response on: a browser gets the 302 to the login page with rd URL-encoded by
        # gatehouse (nothing of the query is lost) or the 403 page; an API client gets 401/403.
        location @gatehouse_answer {
            internal;
            rewrite ^ /api/auth/verify? break;
            proxy_method GET;
            proxy_pass http://{{.Gatehouse}};
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Forwarded-Method $request_method;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }

        location / {
            auth_request /_gatehouse;
            error_page 401 403 = @gatehouse_answer;
            auth_request_set $gh_user $upstream_http_remote_user;
            auth_request_set $gh_email $upstream_http_remote_email;
            auth_request_set $gh_name $upstream_http_remote_name;
            auth_request_set $gh_groups $upstream_http_remote_groups;
            # Set (or blanked) here, so a client can never send its own.
            proxy_set_header Remote-User $gh_user;
            proxy_set_header Remote-Email $gh_email;
            proxy_set_header Remote-Name $gh_name;
            proxy_set_header Remote-Groups $gh_groups;
            proxy_pass http://{{.App}};
        }
    }
}
`

// caddyConf is docs/reverse-proxy.md's Caddyfile, on plain HTTP for the test.
const caddyConf = `{
	admin off
	auto_https off
	http_port {{.Port}}
}

http://auth.example.test:{{.Port}} {
	bind 127.0.0.1
	reverse_proxy {{.Gatehouse}}
}

http://app.example.test:{{.Port}} {
	bind 127.0.0.1
	# route keeps the order as written: Caddy would otherwise run request_header after
	# forward_auth and delete what it copied.
	route {
		# Headers a client sends must never reach the app as if gatehouse had set them
		# (forward_auth copies only the headers gatehouse answers with; bypass answers none).
		request_header -Remote-User
		request_header -Remote-Email
		request_header -Remote-Name
		request_header -Remote-Groups
		forward_auth {{.Gatehouse}} {
			uri /api/auth/verify
			copy_headers Remote-User Remote-Email Remote-Name Remote-Groups
		}
		reverse_proxy {{.App}}
	}
}
`

type proxyConf struct {
	Dir, Gatehouse, App string
	Port                int
	Root                bool
}

// startProxy writes conf and runs the named proxy until the test ends.
func startProxy(t *testing.T, name string, c proxyConf) {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		testdb.Unavailable(t, name, name+" not found (apt-get install -y nginx-light caddy)")
	}
	text, file, args := nginxConf, "nginx.conf", []string{"-p", c.Dir, "-c", filepath.Join(c.Dir, "nginx.conf"), "-e", filepath.Join(c.Dir, "error.log")}
	if name == "caddy" {
		text, file, args = caddyConf, "Caddyfile", []string{"run", "--config", filepath.Join(c.Dir, "Caddyfile"), "--adapter", "caddyfile"}
	}
	var b strings.Builder
	if err := template.Must(template.New(file).Parse(text)).Execute(&b, c); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, file), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+c.Dir, "XDG_DATA_HOME="+c.Dir, "XDG_CONFIG_HOME="+c.Dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(c.Dir, "error.log"))
			t.Fatalf("%s exited: %v\n%s\n%s", name, waitErr, out.String(), log)
		default:
		}
		if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.Port), time.Second); err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on port %d:\n%s", name, c.Port, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// echoApp is the protected app: it answers with what reached it.
func echoApp(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"uri": r.RequestURI, "user": r.Header.Get("Remote-User"), "email": r.Header.Get("Remote-Email"),
			"groups": r.Header.Get("Remote-Groups"), "has_user_header": fmt.Sprint(r.Header.Get("Remote-User") != ""),
		})
	}))
	t.Cleanup(s.Close)
	return s
}

// proxyClient sends every request for *.example.test to the proxy on 127.0.0.1:port, keeps
// cookies like a browser and does not follow redirects, so each hop can be checked.
type proxyClient struct {
	t    *testing.T
	http *http.Client
}

func newProxyClient(t *testing.T, port int) *proxyClient {
	jar, _ := cookiejar.New(nil)
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
	}
	return &proxyClient{t: t, http: &http.Client{
		Jar: jar, Timeout: 15 * time.Second,
		Transport:     &http.Transport{DialContext: dial},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type proxyResp struct {
	Status int
	Header http.Header
	Body   string
	JSON   map[string]any
}

func (c *proxyClient) do(method, rawURL, body string, hdr ...string) *proxyResp {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := &proxyResp{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	_ = json.Unmarshal(b, &r.JSON)
	return r
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

func TestReverseProxies(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"nginx", "caddy"} {
		t.Run(name, func(t *testing.T) {
			// Each proxy listens on a port of its own in front of a gatehouse of its own.
			t.Parallel()
			testThroughProxy(t, name)
		})
	}
}

func testThroughProxy(t *testing.T, name string) {
	if _, err := exec.LookPath(name); err != nil {
		testdb.Unavailable(t, name, name+" not found (apt-get install -y nginx-light caddy)")
	}
	port := freePort(t)
	auth := fmt.Sprintf("http://auth.example.test:%d", port)
	app := fmt.Sprintf("http://app.example.test:%d", port)
	e := testserver.New(t, testserver.Options{PublicURL: auth, CookieDomain: "example.test", Web: true})
	echo := echoApp(t)
	startProxy(t, name, proxyConf{Dir: t.TempDir(), Port: port, Gatehouse: strings.TrimPrefix(e.URL, "http://"),
		App: strings.TrimPrefix(echo.URL, "http://"), Root: os.Getuid() == 0})

	admin := newProxyClient(t, port)
	if r := admin.do("POST", auth+"/api/setup/admin", `{"username":"alice","email":"alice@example.com","password":"`+pw+`"}`, "Content-Type", "application/json"); r.Status != 201 {
		t.Fatalf("setup through %s: %d %s", name, r.Status, r.Body)
	}
	api := func(method, path, body string) *proxyResp {
		t.Helper()
		r := admin.do(method, auth+path, body, "Content-Type", "application/json")
		if r.Status >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
		return r
	}
	bobID := api("POST", "/api/admin/users", `{"username":"bob","email":"bob@example.com","password":"`+pw+`","role":"user"}`).JSON["id"]
	carolID := api("POST", "/api/admin/users", `{"username":"carol","email":"carol@example.com","password":"`+pw+`","role":"user"}`).JSON["id"]
	ops := api("POST", "/api/admin/groups", `{"name":"ops"}`).JSON["id"]
	api("PUT", fmt.Sprintf("/api/admin/groups/%v/members/%v", ops, bobID), "")
	api("PUT", "/api/admin/access-rules", `{"rules":[
		{"domains":["app.example.test"],"paths":["^/public(/.*)?$"],"policy":"bypass"},
		{"domains":["app.example.test"],"paths":["^/ops(/.*)?$"],"subjects":["group:ops"],"policy":"one_factor"},
		{"domains":["app.example.test"],"paths":["^/ops(/.*)?$"],"policy":"deny"},
		{"domains":["*.example.test"],"paths":["^/vault(/.*)?$"],"policy":"two_factor"}]}`)

	// Anonymous browser: to the login page with the whole original URL, then back to it.
	bob := newProxyClient(t, port)
	orig := app + "/dash/x?a=1&b=two%20words&c=%26amp"
	r := bob.do("GET", orig, "", "Accept", browserAccept)
	if r.Status != 302 {
		t.Fatalf("anonymous browser: %d %s", r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host != auth || loc.Path != "/login" || loc.Query().Get("rd") != orig {
		t.Fatalf("login redirect %q: want %s/login with rd=%s", r.Header.Get("Location"), auth, orig)
	}
	if r := bob.do("GET", loc.String(), "", "Accept", browserAccept); r.Status != 200 || !strings.Contains(r.Body, `name="password"`) {
		t.Fatalf("login page through %s: %d", name, r.Status)
	}
	form := url.Values{"login": {"bob"}, "password": {pw}, "rd": {orig}}
	r = bob.do("POST", auth+"/login", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", "Accept", browserAccept)
	if r.Status != 303 || r.Header.Get("Location") != orig {
		t.Fatalf("sign-in: %d to %q, want 303 to %s", r.Status, r.Header.Get("Location"), orig)
	}
	r = bob.do("GET", orig, "", "Accept", browserAccept)
	if r.Status != 200 || r.JSON["uri"] != "/dash/x?a=1&b=two%20words&c=%26amp" || r.JSON["user"] != "bob" || r.JSON["email"] != "bob@example.com" || r.JSON["groups"] != "ops" {
		t.Fatalf("back at the app: %d %s", r.Status, r.Body)
	}

	// bypass: no sign-in needed, and no user, even a forged one, reaches the app.
	anon := newProxyClient(t, port)
	r = anon.do("GET", app+"/public/page", "", "Remote-User", "alice", "Remote-Groups", "admins")
	if r.Status != 200 || r.JSON["has_user_header"] != "false" || r.JSON["groups"] != "" {
		t.Fatalf("bypass: %d %s", r.Status, r.Body)
	}
	// A signed-in user forging headers gets them replaced by gatehouse's.
	if r := bob.do("GET", app+"/x", "", "Remote-User", "alice"); r.JSON["user"] != "bob" {
		t.Fatalf("forged Remote-User reached the app: %s", r.Body)
	}

	// Group rule: bob (ops) passes, carol is denied with a page naming her account.
	if r := bob.do("GET", app+"/ops/board", "", "Accept", browserAccept); r.Status != 200 || r.JSON["user"] != "bob" {
		t.Fatalf("ops member: %d %s", r.Status, r.Body)
	}
	carol := newProxyClient(t, port)
	if r := carol.do("POST", auth+"/api/auth/login", `{"login":"carol","password":"`+pw+`"}`, "Content-Type", "application/json"); r.Status != 200 {
		t.Fatalf("carol sign-in: %d %s", r.Status, r.Body)
	}
	r = carol.do("GET", app+"/ops/board", "", "Accept", browserAccept)
	if r.Status != 403 || !strings.Contains(r.Body, "<strong>carol</strong>") || !strings.Contains(r.Body, "Sign in as someone else") {
		t.Fatalf("denied browser: %d %s", r.Status, r.Body)
	}
	if r := carol.do("GET", app+"/ops/../ops/board", "", "Accept", "application/json"); r.Status != 403 {
		t.Fatalf("denied API client: %d %s", r.Status, r.Body)
	}

	// two_factor: a password session is sent to the second-factor step, told to set one up
	// while it has none, and once it has, steps up in the same session and is back at the vault.
	vault := app + "/vault/key?id=7&x=y"
	r = bob.do("GET", vault, "", "Accept", browserAccept)
	stepUp := r.Header.Get("Location")
	if r.Status != 302 || !strings.HasPrefix(stepUp, auth+"/login?") || !strings.Contains(stepUp, "step_up=1") ||
		!strings.Contains(stepUp, url.QueryEscape(vault)) {
		t.Fatalf("step-up: %d %q", r.Status, stepUp)
	}
	if r := bob.do("GET", stepUp, "", "Accept", browserAccept); r.Status != 200 || !strings.Contains(r.Body, "no second factor yet") {
		t.Fatalf("step-up page without a second factor: %d %s", r.Status, r.Body)
	}
	secret := bob.do("POST", auth+"/api/account/mfa/totp/setup", "{}", "Content-Type", "application/json").JSON["secret"].(string)
	first, _ := totp.GenerateCode(secret, e.Clock.Now())
	if r := bob.do("POST", auth+"/api/account/mfa/totp/confirm", `{"code":"`+first+`"}`, "Content-Type", "application/json"); r.Status != 200 {
		t.Fatalf("TOTP confirm: %d %s", r.Status, r.Body)
	}
	if r := bob.do("GET", vault, "", "Accept", "application/json"); r.Status != 401 {
		t.Fatalf("vault with TOTP set up but a password session: %d %s", r.Status, r.Body)
	}
	if r := bob.do("GET", stepUp, "", "Accept", browserAccept); r.Status != 200 || !strings.Contains(r.Body, `action="/login/step-up"`) {
		t.Fatalf("step-up page: %d %s", r.Status, r.Body)
	}
	// The confirm code's time step is spent: it is refused, then the next one works.
	form = url.Values{"code": {first}, "rd": {vault}}
	if r := bob.do("POST", auth+"/login/step-up", form.Encode(), "Content-Type", "application/x-www-form-urlencoded"); r.Status != 401 {
		t.Fatalf("step-up with a used code: %d %s", r.Status, r.Body)
	}
	e.Clock.Advance(30 * time.Second)
	next, _ := totp.GenerateCode(secret, e.Clock.Now())
	form = url.Values{"code": {next}, "rd": {vault}}
	if r := bob.do("POST", auth+"/login/step-up", form.Encode(), "Content-Type", "application/x-www-form-urlencoded"); r.Status != 303 || r.Header.Get("Location") != vault {
		t.Fatalf("step-up: %d to %q, want 303 to %s", r.Status, r.Header.Get("Location"), vault)
	}
	if r := bob.do("GET", vault, "", "Accept", browserAccept); r.Status != 200 || r.JSON["user"] != "bob" || r.JSON["uri"] != "/vault/key?id=7&x=y" {
		t.Fatalf("vault after step-up: %d %s", r.Status, r.Body)
	}

	// Bearer clients get 401, never a login page.
	bearer := newProxyClient(t, port)
	r = bearer.do("GET", app+"/dash", "", "Authorization", "Bearer not-a-token", "Accept", "application/json")
	if r.Status != 401 || strings.Contains(r.Body, "<html") {
		t.Fatalf("bad Bearer token: %d %s", r.Status, r.Body)
	}
	login := bearer.do("POST", auth+"/api/auth/login", `{"login":"carol","password":"`+pw+`"}`, "Content-Type", "application/json")
	tok, _ := login.JSON["access_token"].(string)
	if r := newProxyClient(t, port).do("GET", app+"/dash", "", "Authorization", "Bearer "+tok); r.Status != 200 || r.JSON["user"] != "carol" {
		t.Fatalf("Bearer token: %d %s", r.Status, r.Body)
	}

	// Sign-out and disable take effect at once.
	if r := bob.do("POST", auth+"/api/auth/logout", "", "Content-Type", "application/json"); r.Status >= 300 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := bob.do("GET", app+"/dash", "", "Accept", "application/json"); r.Status != 401 {
		t.Fatalf("after sign-out: %d %s", r.Status, r.Body)
	}
	api("PATCH", fmt.Sprintf("/api/admin/users/%v", carolID), `{"disabled":true}`)
	if r := carol.do("GET", app+"/dash", "", "Accept", browserAccept); r.Status != 302 {
		t.Fatalf("disabled user: %d %s", r.Status, r.Body)
	}
}
