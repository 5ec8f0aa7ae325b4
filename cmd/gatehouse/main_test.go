package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/password"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// startServe runs `gatehouse serve` in-process and waits for /healthz.
func startServe(t *testing.T, dir string, vars map[string]string, args ...string) (base string, logs *testserver.SyncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &testserver.SyncBuffer{}
	done := make(chan error, 1)
	full := append([]string{"serve", "--config", filepath.Join(dir, "gatehouse.toml"), "--listen", "127.0.0.1:0"}, args...)
	go func() { done <- run(ctx, full, env(vars), strings.NewReader(""), &bytes.Buffer{}, logs) }()
	addrRe := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := addrRe.FindStringSubmatch(logs.String()); m != nil {
			base = "http://" + m[1]
			if r, err := http.Get(base + "/healthz"); err == nil && r.StatusCode == 200 {
				r.Body.Close()
				break
			}
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve exited early: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server not ready:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var once sync.Once
	var serr error
	stop = func() error {
		once.Do(func() { cancel(); serr = <-done })
		return serr
	}
	t.Cleanup(func() { _ = stop() })
	return base, logs, stop
}

func TestServeWritesConfigAndShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "data", "gh.db")}
	base, logs, stop := startServe(t, dir, vars)
	st, err := os.Stat(filepath.Join(dir, "gatehouse.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("config mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(filepath.Join(dir, "gatehouse.toml"))
	if !regexp.MustCompile(`jwt_secret = "[^"]{32,}"`).Match(b) || !regexp.MustCompile(`mfa_secret_key = "[^"]{32,}"`).Match(b) {
		t.Fatalf("config lacks generated secrets:\n%s", b)
	}
	if !strings.Contains(logs.String(), filepath.Join(dir, "gatehouse.toml")) {
		t.Fatalf("the log does not say where the config was written:\n%s", logs.String())
	}
	secret := regexp.MustCompile(`jwt_secret = "([^"]+)"`).FindSubmatch(b)[1]
	if strings.Contains(logs.String(), string(secret)) {
		t.Fatal("the secret reached the log")
	}
	r, err := http.Get(base + "/api/auth/state")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("state: %v %v", r, err)
	}
	r.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "stopped") {
		t.Fatalf("no clean stop in the log:\n%s", logs.String())
	}
}

func TestBootstrapAdminIdempotentAndResetPassword(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gatehouse.toml")
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db"), "GATEHOUSE__AUTH__JWT_SECRET": "0123456789abcdef0123456789abcdef"}
	var out, errb bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"users", "bootstrap-admin", "--config", cfg, "--email", "Root@Example.com", "--password-stdin"}, env(vars), strings.NewReader("s3cure password\n"), &out, &errb); err != nil {
		t.Fatalf("bootstrap: %v %s", err, errb.String())
	}
	if !strings.Contains(out.String(), "created") {
		t.Fatalf("bootstrap output: %q", out.String())
	}
	// On a fresh machine the CLI writes the configuration the server will use, as serve would.
	if fi, err := os.Stat(cfg); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config written by bootstrap-admin: %v %v", fi, err)
	}
	out.Reset()
	if err := run(ctx, []string{"users", "bootstrap-admin", "--config", cfg, "--email", "other@example.com", "--password-stdin"}, env(vars), strings.NewReader("another password\n"), &out, &errb); err != nil {
		t.Fatalf("second bootstrap must succeed: %v", err)
	}
	if !strings.Contains(out.String(), "already exists") {
		t.Fatalf("second bootstrap output: %q", out.String())
	}
	// Bad calls: one clear sentence, non-zero exit.
	if err := run(ctx, []string{"users", "bootstrap-admin", "--config", cfg, "--email", "x@example.com"}, env(vars), strings.NewReader("pw\n"), &out, &errb); err == nil || exitCode(err) != 2 {
		t.Fatalf("missing --password-stdin: %v", err)
	}
	if err := run(ctx, []string{"users", "reset-password", "--config", cfg, "--user", "nobody", "--password-stdin"}, env(vars), strings.NewReader("new password 1\n"), &out, &errb); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Fatalf("reset unknown user: %v", err)
	}
	if err := run(ctx, []string{"users", "reset-password", "--config", cfg, "--user", "root", "--password-stdin"}, env(vars), strings.NewReader("short\n"), &out, &errb); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Fatalf("reset with a short password: %v", err)
	}

	// The server signs in with the bootstrap password; the CLI reset ends that session.
	base, _, _ := startServe(t, dir, vars)
	login := func(pw string) (int, string) {
		body, _ := json.Marshal(map[string]string{"login": "root@example.com", "password": pw})
		r, err := http.Post(base+"/api/auth/login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(r.Body).Decode(&v)
		tok, _ := v["access_token"].(string)
		return r.StatusCode, tok
	}
	status, tok := login("s3cure password")
	if status != 200 {
		t.Fatalf("login with bootstrap password: %d", status)
	}
	out.Reset()
	if err := run(ctx, []string{"users", "reset-password", "--config", cfg, "--user", "root", "--password-stdin"}, env(vars), strings.NewReader("brand new password\n"), &out, &errb); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if s, _ := login("s3cure password"); s != 401 {
		t.Fatalf("old password after reset: %d", s)
	}
	if s, _ := login("brand new password"); s != 200 {
		t.Fatalf("new password after reset: %d", s)
	}
	// The running server learns of the revocation through the change feed.
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest("GET", base+"/api/auth/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("token still valid 5 s after the CLI reset the password")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDevSeedAdmin(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db"), "GATEHOUSE__DEV__SEED_ADMIN": "true"}
	base, logs, _ := startServe(t, dir, vars)
	if !strings.Contains(logs.String(), "DEVELOPMENT ONLY") {
		t.Fatalf("no loud warning:\n%s", logs.String())
	}
	body := `{"login":"admin@admin.com","password":"admin"}`
	r, err := http.Post(base+"/api/auth/login", "application/json", strings.NewReader(body))
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("seeded admin login: %v %v", r.StatusCode, err)
	}
	r.Body.Close()
}

// hashWorkers lists the hash-worker processes whose parent is this process.
func hashWorkers(t *testing.T) []int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc to look for the worker in")
	}
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err1 := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		cmdline, err2 := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err1 != nil || err2 != nil {
			continue
		}
		// Fields after the command name: state, ppid, ...
		rest := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
		args := strings.Split(string(cmdline), "\x00")
		if rest[0] != "Z" && rest[1] == strconv.Itoa(os.Getpid()) && len(args) > 1 && args[1] == hashWorkerCommand {
			pids = append(pids, pid)
		}
	}
	return pids
}

// serve hashes in a worker process of its own, which ends with the server; with
// server.hash_in_process it hashes itself.
func TestServeHashesInAWorkerProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("looks for the worker in /proc")
	}
	if pids := hashWorkers(t); len(pids) != 0 {
		t.Fatalf("hash workers before serve started: %v", pids)
	}
	signIn := func(base string) {
		t.Helper()
		body := `{"login":"admin@admin.com","password":"admin"}`
		r, err := http.Post(base+"/api/auth/login", "application/json", strings.NewReader(body))
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("seeded admin login: %v %v", r, err)
		}
		r.Body.Close()
	}
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db"), "GATEHOUSE__DEV__SEED_ADMIN": "true"}
	base, logs, stop := startServe(t, dir, vars)
	signIn(base)
	if pids := hashWorkers(t); len(pids) != 1 {
		t.Fatalf("hash workers while serving: %v, want one\n%s", pids, logs.String())
	}
	if strings.Contains(logs.String(), "hashing process") {
		t.Errorf("the log speaks of a hashing process problem:\n%s", logs.String())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if pids := hashWorkers(t); len(pids) != 0 {
		t.Fatalf("hash workers after serve stopped: %v", pids)
	}

	dir = t.TempDir()
	vars = map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db"), "GATEHOUSE__DEV__SEED_ADMIN": "true", "GATEHOUSE__SERVER__HASH_IN_PROCESS": "true"}
	base, _, _ = startServe(t, dir, vars)
	signIn(base)
	if pids := hashWorkers(t); len(pids) != 0 {
		t.Fatalf("hash workers with server.hash_in_process: %v", pids)
	}
}

func TestFlagBeatsEnvForSecret(t *testing.T) {
	// A token signed under the flag's secret is accepted; the env secret is ignored.
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db"), "GATEHOUSE__AUTH__JWT_SECRET": "env-secret-0123456789abcdef"}
	base, _, _ := startServe(t, dir, vars, "--jwt-secret", testserver.Secret)
	r, _ := http.Post(base+"/api/setup/admin", "application/json", strings.NewReader(`{"username":"a","email":"a@example.com","password":"a password!"}`))
	var v map[string]any
	_ = json.NewDecoder(r.Body).Decode(&v)
	r.Body.Close()
	tok, _ := v["access_token"].(string)
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("no token: %v", v)
	}
	if !verifiesWith(t, tok, testserver.Secret) || verifiesWith(t, tok, "env-secret-0123456789abcdef") {
		t.Fatal("the token was not signed with the flag's secret")
	}
}

func TestUsageErrors(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{}, {"bogus"}, {"users"}, {"users", "x"}, {"serve", "--nope"}} {
		if err := run(context.Background(), args, env(nil), strings.NewReader(""), &out, &errb); err == nil || exitCode(err) != 2 {
			t.Fatalf("%v: %v", args, err)
		}
	}
	// Asked-for help is not a mistake: the flags are printed and the exit code is 0.
	errb.Reset()
	if err := run(context.Background(), []string{"serve", "--help"}, env(nil), nil, &out, &errb); exitCode(err) != 0 || !strings.Contains(errb.String(), "-listen") {
		t.Fatalf("serve --help: %v (exit %d) %q", err, exitCode(err), errb.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"version"}, env(nil), nil, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "gatehouse ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
}

func TestMemoryLimit(t *testing.T) {
	h := password.NewHasher(password.DefaultParams(), 3, 0)
	limit, ok := memoryLimit(env(nil), h)
	// Three workers at 19 MiB each, plus 48 MiB.
	if want := int64(3*19+48) << 20; !ok || limit != want {
		t.Fatalf("limit %d MiB (%v), want %d MiB", limit>>20, ok, want>>20)
	}
	// A worker that cannot start leaves the hashes, and their memory, here.
	if err := h.Offload(password.NewProcess("/nonexistent", nil, 3, nil, nil)); err == nil {
		t.Fatal("a worker at /nonexistent started")
	}
	if limit, _ := memoryLimit(env(nil), h); limit != int64(3*19+48)<<20 {
		t.Fatalf("worker not started: limit %d MiB, want the in-process one", limit>>20)
	}
	if _, ok := schedulerProcs(env(nil), h); !ok {
		t.Fatal("worker not started: no extra Ps for the hashes that run here")
	}
	// Hashing in a worker process (this test binary, as TestMain sees), the hashes' memory is
	// not this process's.
	proc := password.NewProcess(os.Args[0], []string{hashWorkerCommand}, 3, nil, nil)
	defer proc.Close()
	if err := h.Offload(proc); err != nil {
		t.Fatal(err)
	}
	if limit, ok := memoryLimit(env(nil), h); !ok || limit != 48<<20 {
		t.Fatalf("offloaded: limit %d MiB (%v), want 48 MiB", limit>>20, ok)
	}
	if _, ok := schedulerProcs(env(nil), h); ok {
		t.Fatal("offloaded: extra Ps for hashes that run in another process")
	}
	if _, ok := memoryLimit(env(map[string]string{"GOMEMLIMIT": "1GiB"}), h); ok {
		t.Fatal("GOMEMLIMIT set by the operator must win")
	}
}

func TestGCPercent(t *testing.T) {
	if pct, ok := gcPercent(env(nil)); !ok || pct != serveGCPercent {
		t.Fatalf("gcPercent %d (%v), want %d", pct, ok, serveGCPercent)
	}
	// The operator's GOGC wins; and with the operator's own memory limit (or none, "off") a
	// heap allowed five times its live size would have no cap serve chose, so GOGC stays Go's.
	for _, e := range []map[string]string{{"GOGC": "100"}, {"GOGC": "off"}, {"GOMEMLIMIT": "off"}, {"GOMEMLIMIT": "1GiB"}} {
		if pct, ok := gcPercent(env(e)); ok {
			t.Errorf("%v: gcPercent %d, want none", e, pct)
		}
	}
}

// serve gives the runtime a P per hashing worker on top of the cores, unless the operator chose.
func TestSchedulerProcs(t *testing.T) {
	h := password.NewHasher(password.DefaultParams(), 3, 0)
	n, ok := schedulerProcs(env(nil), h)
	if want := password.CPUs() + 3; !ok || n != want {
		t.Fatalf("GOMAXPROCS %d (%v), want %d (cores + 3 workers)", n, ok, want)
	}
	if _, ok := schedulerProcs(env(map[string]string{"GOMAXPROCS": "2"}), h); ok {
		t.Fatal("GOMAXPROCS set by the operator must win")
	}
}

// The extra Ps come while the pool hashes and go once it has been idle for the hold, not per
// sign-in: a quiet server keeps GOMAXPROCS at the cores, where the check's tail is shortest.
func TestProcsFollowerRaisesWhileHashing(t *testing.T) {
	f := &procsFollower{base: 2, busy: 3, hold: 2 * time.Second}
	t0 := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	if _, ok := f.step(at(0), false); ok {
		t.Fatal("an idle pool changed GOMAXPROCS")
	}
	if n, ok := f.step(at(100*time.Millisecond), true); !ok || n != 3 {
		t.Fatalf("a hash running: GOMAXPROCS %d (%v), want 3", n, ok)
	}
	if _, ok := f.step(at(200*time.Millisecond), true); ok {
		t.Fatal("still hashing: set again")
	}
	// Idle for less than the hold, then a sign-in again: no change either way.
	if _, ok := f.step(at(1500*time.Millisecond), false); ok {
		t.Fatal("lowered before the pool was idle for the hold")
	}
	if _, ok := f.step(at(1600*time.Millisecond), true); ok {
		t.Fatal("raised twice")
	}
	if _, ok := f.step(at(3500*time.Millisecond), false); ok {
		t.Fatal("lowered 1.9 s after the last hash")
	}
	if n, ok := f.step(at(3600*time.Millisecond), false); !ok || n != 2 {
		t.Fatalf("idle for the hold: GOMAXPROCS %d (%v), want 2", n, ok)
	}
	if _, ok := f.step(at(5*time.Second), false); ok {
		t.Fatal("lowered twice")
	}
}
