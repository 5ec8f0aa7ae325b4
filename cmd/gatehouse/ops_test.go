package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/internal/testserver"
	_ "modernc.org/sqlite"
)

func get(url, bearer string) (int, error) {
	req, _ := http.NewRequest("GET", url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return r.StatusCode, nil
}

func runCmd(ctx context.Context, vars map[string]string, args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = run(ctx, args, env(vars), strings.NewReader(""), &o, &e)
	return o.String(), e.String(), err
}

// A backup taken while the server signs people in restores to a server that knows every user and
// every session that existed when the backup began.
func TestBackupUnderLoadRestores(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "data", "gh.db")}
	base, _, stop := startServe(t, dir, vars)
	const pw = "correct horse battery staple"
	st, body := post(t, base+"/api/setup/admin", "", `{"username":"admin","email":"admin@example.com","password":"`+pw+`"}`)
	if st != 201 {
		t.Fatalf("setup: %d %v", st, body)
	}
	admin := body["access_token"].(string)
	const n = 6
	tokens := []string{admin}
	for i := range n {
		if st, body := post(t, base+"/api/admin/users", admin, fmt.Sprintf(`{"username":"user%d","email":"user%d@example.com","password":"%s","role":"user"}`, i, i, pw)); st != 201 {
			t.Fatalf("create user: %d %v", st, body)
		}
		st, body := post(t, base+"/api/auth/login", "", fmt.Sprintf(`{"login":"user%d","password":"%s"}`, i, pw))
		if st != 200 {
			t.Fatalf("login: %d %v", st, body)
		}
		tokens = append(tokens, body["access_token"].(string))
	}

	// Load: sign-ins (writes: sessions, events) and reads, until the backups are done.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var signIns atomic.Int64
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				body := fmt.Sprintf(`{"login":"user%d","password":"%s"}`, (i+w)%n, pw)
				if r, err := http.Post(base+"/api/auth/login", "application/json", strings.NewReader(body)); err == nil {
					if r.StatusCode == 200 {
						signIns.Add(1)
					}
					r.Body.Close()
				}
				_, _ = get(base+"/api/auth/me", tokens[i%len(tokens)])
			}
		})
	}
	out := filepath.Join(dir, "backup.db")
	cfg := filepath.Join(dir, "gatehouse.toml")
	time.Sleep(200 * time.Millisecond)
	stdout, stderr, err := runCmd(context.Background(), vars, "backup", "--config", cfg, "--out", out)
	if err != nil {
		cancel()
		wg.Wait()
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	if !regexp.MustCompile(`^wrote .*backup\.db \(\d+ bytes, mode 0600\): schema version \d+, 7 users, \d+ sessions`).MatchString(stdout) {
		t.Errorf("backup output = %q", stdout)
	}
	// A second backup to the same file is refused without --force and leaves it alone.
	before, _ := os.ReadFile(out)
	if _, _, err := runCmd(context.Background(), vars, "backup", "--config", cfg, "--out", out); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("overwrite without --force: %v", err)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Error("the refused backup changed the file")
	}
	if _, stderr, err := runCmd(context.Background(), vars, "backup", "--config", cfg, "--out", out, "--force"); err != nil {
		t.Errorf("backup --force: %v\n%s", err, stderr)
	}
	cancel()
	wg.Wait()
	if signIns.Load() == 0 {
		t.Fatal("the load made no sign-in: the backup was not taken under load")
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", st, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// Restore: the backup becomes the database of a fresh server with the same secrets.
	dir2 := t.TempDir()
	cfgBytes, _ := os.ReadFile(cfg)
	_ = os.WriteFile(filepath.Join(dir2, "gatehouse.toml"), cfgBytes, 0o600)
	restored := filepath.Join(dir2, "restored.db")
	b, _ := os.ReadFile(out)
	_ = os.WriteFile(restored, b, 0o600)
	base2, _, _ := startServe(t, dir2, map[string]string{"GATEHOUSE__DATABASE__DSN": restored})
	for i, tok := range tokens {
		if st, err := get(base2+"/api/auth/me", tok); err != nil || st != 200 {
			t.Errorf("session %d from before the backup: %d %v", i, st, err)
		}
	}
	st, body = getJSON(t, base2+"/api/admin/users?query=user", admin)
	if items, _ := body["items"].([]any); st != 200 || len(items) != n {
		t.Fatalf("restored users: %d %v", st, body)
	}
}

func getJSON(t *testing.T, url, bearer string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(r.Body).Decode(&v)
	return r.StatusCode, v
}

func TestBackupRefusesPostgresAndNeedsOut(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{
		"GATEHOUSE__DATABASE__DRIVER": "postgres", "GATEHOUSE__DATABASE__DSN": "postgres://u:secret-pw@127.0.0.1:1/x",
		"GATEHOUSE__AUTH__JWT_SECRET": strings.Repeat("j", 32), "GATEHOUSE__AUTH__MFA_SECRET_KEY": strings.Repeat("m", 32),
	}
	_, _, err := runCmd(context.Background(), vars, "backup", "--config", filepath.Join(dir, "none.toml"), "--out", filepath.Join(dir, "b"))
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "pg_dump") || strings.Contains(err.Error(), "secret-pw") {
		t.Fatalf("postgres backup: %v (exit %d)", err, exitCode(err))
	}
	if _, _, err := runCmd(context.Background(), vars, "backup"); err == nil || exitCode(err) != 2 {
		t.Fatalf("backup without --out: %v", err)
	}
	// No configuration at all: backup never invents one (its secrets would not match the data).
	_, _, err = runCmd(context.Background(), nil, "backup", "--config", filepath.Join(dir, "missing.toml"), "--out", filepath.Join(dir, "b"))
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("backup without config: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.toml")); !os.IsNotExist(err) {
		t.Fatal("backup wrote a configuration file")
	}
}

// Configured by environment alone (as in a container): serve writes no file and runs.
func TestServeEnvOnly(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "jwt")
	_ = os.WriteFile(secretFile, []byte(strings.Repeat("s", 40)+"\n"), 0o600)
	vars := map[string]string{
		"GATEHOUSE__DATABASE__DSN":         filepath.Join(dir, "gh.db"),
		"GATEHOUSE__AUTH__JWT_SECRET_FILE": secretFile,
		"GATEHOUSE__AUTH__MFA_SECRET_KEY":  strings.Repeat("k", 40),
	}
	base, logs, _ := startServe(t, dir, vars)
	if _, err := os.Stat(filepath.Join(dir, "gatehouse.toml")); !os.IsNotExist(err) {
		t.Fatalf("serve wrote a config file although the environment holds both secrets: %v", err)
	}
	st, body := post(t, base+"/api/setup/admin", "", `{"username":"admin","email":"admin@example.com","password":"correct horse battery staple"}`)
	if st != 201 || !verifiesWith(t, body["access_token"].(string), strings.Repeat("s", 40)) {
		t.Fatalf("setup: %d; token signed with the _FILE secret?", st)
	}
	if strings.Contains(logs.String(), strings.Repeat("s", 40)) {
		t.Fatal("the secret reached the log")
	}
}

func TestHealthcheck(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db")}
	base, _, stop := startServe(t, dir, vars)
	hostPort := strings.TrimPrefix(base, "http://")
	// From the listen address in the environment, as the container's HEALTHCHECK does.
	out, _, err := runCmd(context.Background(), map[string]string{"GATEHOUSE__SERVER__LISTEN": hostPort}, "healthcheck", "--config", filepath.Join(dir, "none.toml"))
	if err != nil || !strings.Contains(out, "/readyz") {
		t.Fatalf("healthcheck: %v %q", err, out)
	}
	if _, _, err := runCmd(context.Background(), nil, "healthcheck", "--url", base+"/readyz"); err != nil {
		t.Fatalf("healthcheck --url: %v", err)
	}
	if _, _, err := runCmd(context.Background(), nil, "healthcheck", "--url", base+"/nope"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("healthcheck on a 404: %v", err)
	}
	_ = stop()
	if _, _, err := runCmd(context.Background(), nil, "healthcheck", "--url", base+"/readyz", "--timeout", "2s"); err == nil || exitCode(err) != 1 {
		t.Fatalf("healthcheck of a stopped server: %v", err)
	}
}

func TestVersionPrintsVersionAndCommit(t *testing.T) {
	// Alongside the other test that waits for the shared release build; the rest of the package
	// stays serial: its servers hash with the real parameters under serve's memory limit, and
	// run together they took longer in all (measured 71 s serial, 108 s parallel).
	t.Parallel()
	out, _, err := runCmd(context.Background(), nil, "version")
	if err != nil || !regexp.MustCompile(`^gatehouse \S+ \(commit \S+, go\S+\)\n$`).MatchString(out) {
		t.Fatalf("version: %v %q", err, out)
	}
	if testing.Short() {
		return
	}
	// The release build stamps both.
	bin := buildRelease(t)
	b, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(b), "gatehouse "+releaseVersion+" (commit "+releaseCommit) {
		t.Fatalf("release version: %v %q", err, b)
	}
	// Stripped and trimmed: no DWARF, no build directory inside.
	data, _ := os.ReadFile(bin)
	if wd, _ := os.Getwd(); bytes.Contains(data, []byte(filepath.Dir(filepath.Dir(wd)))) {
		t.Error("the release binary contains the build path (-trimpath missing)")
	}
	if bytes.Contains(data, []byte(".debug_info")) {
		t.Error("the release binary has DWARF (-s -w missing)")
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gatehouse.toml")
	body := "[server]\nlisten = \"0.0.0.0:8080\"\npublic_url = \"http://localhost:8080\"\ntrusted_proxies = [\"0.0.0.0/0\"]\n[auth]\njwt_secret = \"" +
		strings.Repeat("j", 40) + "\"\nmfa_secret_key = \"" + strings.Repeat("m", 40) + "\"\n[database]\ndsn = \"" + filepath.Join(dir, "gh.db") + "\"\n"
	_ = os.WriteFile(cfg, []byte(body), 0o600)
	var o, e bytes.Buffer
	err := configCheck(context.Background(), []string{"--config", cfg}, env(nil), []string{"GATEHOUSE__SERVER__LISTN=:1"}, &o, &e)
	out := o.String()
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("a misspelt variable should fail the check: %v\n%s", err, out)
	}
	for _, want := range []string{
		"GATEHOUSE__SERVER__LISTN names no setting", "points at this machine's loopback", "every client can forge its address",
		"empty database; the first start creates the schema", "auth.jwt_secret", "(set, 40 characters)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, strings.Repeat("j", 40)) || strings.Contains(out, strings.Repeat("m", 40)) {
		t.Fatalf("a secret is printed:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "gh.db")); !os.IsNotExist(err) {
		t.Fatal("config check created the database")
	}

	// Clean: exit 0 and "ok"; a database newer than the binary is a problem.
	o.Reset()
	if err := configCheck(context.Background(), []string{"--config", cfg}, env(nil), nil, &o, &e); err != nil || !strings.HasSuffix(o.String(), "ok\n") {
		t.Fatalf("clean check: %v\n%s", err, o.String())
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "gh.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL); INSERT INTO schema_migrations VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	o.Reset()
	if err := configCheck(context.Background(), []string{"--config", cfg}, env(nil), nil, &o, &e); err == nil || !strings.Contains(o.String(), "schema version 9999 is newer") {
		t.Fatalf("newer schema: %v\n%s", err, o.String())
	}
	// And serve refuses it with the same clear message.
	_, _, err = runCmd(context.Background(), nil, "serve", "--config", cfg, "--listen", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "upgrade gatehouse") {
		t.Fatalf("serve on a newer schema: %v", err)
	}

	// A broken file: the check says what is wrong, exit 1.
	_ = os.WriteFile(cfg, []byte("[server]\nlistn = \"x\"\n"), 0o600)
	o.Reset()
	if err := configCheck(context.Background(), []string{"--config", cfg}, env(nil), nil, &o, &e); err == nil || !strings.Contains(o.String(), `unknown key "server.listn"`) {
		t.Fatalf("unknown key: %v\n%s", err, o.String())
	}
}

// Two gatehouse processes starting together on one empty PostgreSQL database: the advisory lock
// lets one migrate while the other waits, and both serve.
func TestTwoProcessesMigratePostgresOnce(t *testing.T) {
	// Alongside the other test that waits for the shared release build; the rest of the package
	// stays serial: its servers hash with the real parameters under serve's memory limit, and
	// run together they took longer in all (measured 71 s serial, 108 s parallel).
	t.Parallel()
	dsn := testdb.PostgresEmptyDSN(t)
	dir := t.TempDir()
	bin := buildRelease(t)
	envs := append(os.Environ(), "GATEHOUSE__DATABASE__DRIVER=postgres", "GATEHOUSE__DATABASE__DSN="+dsn,
		"GATEHOUSE__AUTH__JWT_SECRET="+strings.Repeat("j", 40), "GATEHOUSE__AUTH__MFA_SECRET_KEY="+strings.Repeat("m", 40))
	addrRe := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)
	type proc struct {
		cmd  *exec.Cmd
		logs *testserver.SyncBuffer
	}
	var procs []proc
	for range 2 {
		logs := &testserver.SyncBuffer{}
		cmd := exec.Command(bin, "serve", "--config", filepath.Join(dir, "none.toml"), "--listen", "127.0.0.1:0")
		cmd.Env, cmd.Stdout, cmd.Stderr = envs, logs, logs
		procs = append(procs, proc{cmd, logs})
	}
	for _, p := range procs {
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	}
	for i, p := range procs {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if m := addrRe.FindStringSubmatch(p.logs.String()); m != nil {
				if st, err := get("http://"+m[1]+"/readyz", ""); err == nil && st == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("process %d did not become ready:\n%s", i, p.logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, distinct int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows == 0 || rows != distinct {
		t.Fatalf("schema_migrations: %d rows, %d versions", rows, distinct)
	}
	for _, p := range procs {
		_ = p.cmd.Process.Signal(os.Interrupt)
		_ = p.cmd.Wait()
		if !strings.Contains(p.logs.String(), "stopped") {
			t.Errorf("no clean stop:\n%s", p.logs.String())
		}
	}
}

// The Helm chart's init container passes the administrator's password as a mounted file.
func TestBootstrapAdminPasswordFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gatehouse.toml")
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db")}
	pwFile := filepath.Join(dir, "password")
	_ = os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o400)
	out, stderr, err := runCmd(context.Background(), vars, "users", "bootstrap-admin", "--config", cfg, "--email", "root@example.com", "--password-file", pwFile)
	if err != nil || !strings.Contains(out, "administrator root@example.com created") {
		t.Fatalf("bootstrap with --password-file: %v %q %q", err, out, stderr)
	}
	base, _, _ := startServe(t, dir, vars)
	if st, body := post(t, base+"/api/auth/login", "", `{"login":"root@example.com","password":"correct horse battery staple"}`); st != 200 {
		t.Fatalf("sign-in with the file's password: %d %v", st, body)
	}
	for _, args := range [][]string{
		{"--email", "a@example.com"},
		{"--email", "a@example.com", "--password-stdin", "--password-file", pwFile},
	} {
		if _, _, err := runCmd(context.Background(), vars, append([]string{"users", "bootstrap-admin", "--config", cfg}, args...)...); err == nil || exitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if _, _, err := runCmd(context.Background(), vars, "users", "bootstrap-admin", "--config", cfg, "--email", "a@example.com", "--password-file", filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), "--password-file") {
		t.Errorf("missing file: %v", err)
	}
}
