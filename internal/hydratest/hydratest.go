// Package hydratest runs Ory Hydra v2 (a real, OpenID Certified provider) on loopback for tests:
// `hydra serve all --dev` on a fresh PostgreSQL database made from GATEHOUSE_TEST_POSTGRES_DSN,
// with a tiny login and consent app that signs in whichever user the test queued. The binary
// comes from PATH (.ci/setup.d/40-hydra.sh builds and caches it); without it the test is skipped,
// or fails when GATEHOUSE_TEST_REQUIRE names "hydra".
package hydratest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// User is who the login app signs in next. Claims go into Hydra's ID token session; an empty
// Email leaves email and email_verified out.
type User struct {
	Subject, Email, PreferredUsername, Name string
	EmailVerified                           bool
}

// Hydra is a running Hydra with its login and consent app.
type Hydra struct {
	// Issuer is the issuer URL as Hydra's discovery announces it.
	Issuer string
	admin  string
	t      testing.TB
	client *http.Client

	mu     sync.Mutex
	next   *User
	refuse string           // an OAuth error code the next login answers with
	users  map[string]*User // by subject, for the consent step
}

// Start runs Hydra until the test ends. It takes some seconds (migrations on a new database).
func Start(t testing.TB) *Hydra {
	t.Helper()
	bin, err := exec.LookPath("hydra")
	if err != nil {
		testdb.Unavailable(t, "hydra", "no hydra binary on PATH (build it with .ci/setup.d/40-hydra.sh)")
	}
	dsn := newDatabase(t)
	// Generous: on a busy machine Hydra's first answers can take a while.
	h := &Hydra{t: t, client: &http.Client{Timeout: 60 * time.Second}, users: map[string]*User{}}
	app := httptest.NewServer(http.HandlerFunc(h.serveApp))
	t.Cleanup(app.Close)

	public, admin := freePort(t), freePort(t)
	h.Issuer = "http://127.0.0.1:" + strconv.Itoa(public)
	h.admin = "http://127.0.0.1:" + strconv.Itoa(admin)
	env := append(os.Environ(),
		"DSN="+dsn,
		"URLS_SELF_ISSUER="+h.Issuer,
		"URLS_LOGIN="+app.URL+"/login",
		"URLS_CONSENT="+app.URL+"/consent",
		"SECRETS_SYSTEM=gatehouse-hydratest-system-secret",
		"SERVE_PUBLIC_HOST=127.0.0.1", "SERVE_PUBLIC_PORT="+strconv.Itoa(public),
		"SERVE_ADMIN_HOST=127.0.0.1", "SERVE_ADMIN_PORT="+strconv.Itoa(admin),
		"LOG_LEVEL=warn",
	)
	// Hydra's stdout and stderr share one buffer, written from two goroutines while serving.
	var out testserver.SyncBuffer
	mig := exec.Command(bin, "migrate", "sql", "up", "--read-from-env", "--yes")
	mig.Env, mig.Stdout, mig.Stderr = env, &out, &out
	if err := mig.Run(); err != nil {
		t.Fatalf("hydra migrate: %v\n%s", err, out.String())
	}
	out.Reset()
	srv := exec.Command(bin, "serve", "all", "--dev", "--sqa-opt-out")
	srv.Env, srv.Stdout, srv.Stderr = env, &out, &out
	if err := srv.Start(); err != nil {
		t.Fatalf("starting hydra: %v", err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
		if t.Failed() {
			t.Logf("hydra output:\n%s", out.String())
		}
	})
	h.waitReady(t)
	var jwksURI string
	h.Issuer, jwksURI = h.waitDiscovery(t)
	h.waitKeys(t, jwksURI)
	return h
}

// waitDiscovery asks for Hydra's discovery document until it answers and returns its issuer
// and JWKS address. The first request can outlast a busy machine's patience, so it is asked
// again.
func (h *Hydra) waitDiscovery(t testing.TB) (issuer, jwksURI string) {
	t.Helper()
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	var err error
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		if err = h.do("GET", h.Issuer+"/.well-known/openid-configuration", nil, &disc); err == nil && disc.Issuer != "" && disc.JWKSURI != "" {
			return disc.Issuer, disc.JWKSURI
		}
	}
	t.Fatalf("hydra's discovery never answered: %v", err)
	return "", ""
}

// waitKeys waits until Hydra publishes a signing key for ID tokens. Hydra makes its keys on
// first use: asking for the JWKS makes them, which can take seconds on a loaded machine. A test
// that signed in before then had gatehouse fetch the JWKS while the key was being generated, and
// that fetch could time out (id_token_invalid): now the key exists before any test starts.
func (h *Hydra) waitKeys(t testing.TB, jwksURI string) {
	t.Helper()
	var (
		jwks struct {
			Keys []struct {
				Kid string `json:"kid"`
				Use string `json:"use"`
			} `json:"keys"`
		}
		err error
	)
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		jwks.Keys = nil
		if err = h.do("GET", jwksURI, nil, &jwks); err == nil {
			for _, k := range jwks.Keys {
				if k.Kid != "" && (k.Use == "" || k.Use == "sig") {
					return
				}
			}
			err = fmt.Errorf("no signing key yet (%d keys)", len(jwks.Keys))
		}
	}
	t.Fatalf("hydra never published a signing key: %v", err)
}

// newDatabase creates an empty database next to the one GATEHOUSE_TEST_POSTGRES_DSN names and
// drops it when the test ends.
func newDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN")
	if base == "" {
		testdb.Unavailable(t, "postgres", "GATEHOUSE_TEST_POSTGRES_DSN is not set")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "gh_hydra_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		testdb.Unavailable(t, "postgres", "cannot create a database for Hydra: "+err.Error())
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP DATABASE " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES_DSN must be a URL: %v", err)
	}
	u.Path = "/" + name
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String()
}

// freePort asks the system for a free loopback port. Hydra takes ports, not listeners, so
// another process could take it in between; that shows as a failed start, never as a test
// talking to the wrong server (Hydra's readiness is checked on its admin port).
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (h *Hydra) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if h.ready(h.admin+"/health/ready") && h.ready(h.Issuer+"/health/ready") {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("hydra did not become ready within 3 minutes")
}

func (h *Hydra) ready(u string) bool {
	resp, err := h.client.Get(u)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Client registers an OAuth client for the authorization code flow with this redirect URI and
// token endpoint auth method ("client_secret_basic" or "client_secret_post") and returns its id
// and secret.
func (h *Hydra) Client(t testing.TB, redirectURI, authMethod string) (id, secret string) {
	t.Helper()
	body := map[string]any{
		"client_secret":              "hydratest-client-secret-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		"redirect_uris":              []string{redirectURI},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"scope":                      "openid email profile",
		"token_endpoint_auth_method": authMethod,
	}
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	h.call(t, "POST", h.admin+"/admin/clients", body, &out)
	return out.ClientID, out.ClientSecret
}

// Queue makes u the user of the next sign-in.
func (h *Hydra) Queue(u User) { h.mu.Lock(); h.next = &u; h.mu.Unlock() }

// RefuseNext makes the next sign-in end with this OAuth error (e.g. "access_denied"): the login
// app rejects the login request, and Hydra redirects back to the client with error=code.
func (h *Hydra) RefuseNext(code string) { h.mu.Lock(); h.refuse = code; h.mu.Unlock() }

func (h *Hydra) serveApp(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/login":
		h.login(w, r)
	case "/consent":
		h.consent(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (h *Hydra) login(w http.ResponseWriter, r *http.Request) {
	ch := url.QueryEscape(r.URL.Query().Get("login_challenge"))
	h.mu.Lock()
	u, refuse := h.next, h.refuse
	h.next, h.refuse = nil, ""
	if u != nil {
		h.users[u.Subject] = u
	}
	h.mu.Unlock()
	var out struct {
		RedirectTo string `json:"redirect_to"`
	}
	var err error
	switch {
	case refuse != "":
		err = h.do("PUT", h.admin+"/admin/oauth2/auth/requests/login/reject?login_challenge="+ch,
			map[string]any{"error": refuse, "error_description": "the user cancelled the sign-in"}, &out)
	case u == nil:
		http.Error(w, "hydratest: no user queued for this sign-in", http.StatusInternalServerError)
		return
	default:
		err = h.do("PUT", h.admin+"/admin/oauth2/auth/requests/login/accept?login_challenge="+ch,
			map[string]any{"subject": u.Subject}, &out)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	http.Redirect(w, r, out.RedirectTo, http.StatusFound)
}

func (h *Hydra) consent(w http.ResponseWriter, r *http.Request) {
	ch := url.QueryEscape(r.URL.Query().Get("consent_challenge"))
	var req struct {
		Subject  string   `json:"subject"`
		Scopes   []string `json:"requested_scope"`
		Audience []string `json:"requested_access_token_audience"`
	}
	if err := h.do("GET", h.admin+"/admin/oauth2/auth/requests/consent?consent_challenge="+ch, nil, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	h.mu.Lock()
	u := h.users[req.Subject]
	h.mu.Unlock()
	claims := map[string]any{}
	if u != nil {
		if u.Email != "" {
			claims["email"], claims["email_verified"] = u.Email, u.EmailVerified
		}
		if u.Name != "" {
			claims["name"] = u.Name
		}
		if u.PreferredUsername != "" {
			claims["preferred_username"] = u.PreferredUsername
		}
	}
	var out struct {
		RedirectTo string `json:"redirect_to"`
	}
	err := h.do("PUT", h.admin+"/admin/oauth2/auth/requests/consent/accept?consent_challenge="+ch, map[string]any{
		"grant_scope": req.Scopes, "grant_access_token_audience": req.Audience,
		"session": map[string]any{"id_token": claims},
	}, &out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	http.Redirect(w, r, out.RedirectTo, http.StatusFound)
}

func (h *Hydra) call(t testing.TB, method, u string, body, out any) {
	t.Helper()
	if err := h.do(method, u, body, out); err != nil {
		t.Fatal(err)
	}
}

func (h *Hydra) do(method, u string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("hydra %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("hydra %s %s: %d %s", method, u, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}
