// Package deploy_test checks the deployment artefacts in this directory for real: the container
// image is built and run with podman, the systemd unit is verified by systemd-analyze.
package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testdb"
)

// podman runs podman with the flags that work on these machines (vfs storage, runc, cgroupfs),
// in storage of the test's own so concurrent runs never share images or containers.
type podman struct {
	t    *testing.T
	args []string
	env  []string
}

func newPodman(t *testing.T) *podman {
	t.Helper()
	bin, err := exec.LookPath("podman")
	if err != nil {
		testdb.Unavailable(t, "podman", "podman is not on PATH (apt-get install podman runc)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		testdb.Unavailable(t, "podman", "runc is not on PATH (apt-get install runc)")
	}
	dir, err := os.MkdirTemp("", "gatehouse-podman-")
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "containers.conf")
	// The default ulimits ask for more open files than this sandbox allows.
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &podman{t: t,
		args: []string{bin, "--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
			"--storage-driver=vfs", "--runtime=runc", "--cgroup-manager=cgroupfs"},
		env: append(os.Environ(), "CONTAINERS_CONF="+conf),
	}
	t.Cleanup(func() {
		_, _ = p.try("rm", "--all", "--force", "--time", "1")
		_, _ = p.try("system", "reset", "--force")
		_ = os.RemoveAll(dir)
	})
	return p
}

func (p *podman) try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.args[0], append(p.args[1:], args...)...)
	cmd.Env = p.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (p *podman) run(args ...string) string {
	p.t.Helper()
	out, err := p.try(args...)
	if err != nil {
		p.t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitReady(t *testing.T, p *podman, base, name string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	logs, _ := p.try("logs", name)
	t.Fatalf("container %s not ready at %s:\n%s", name, base, logs)
}

func call(t *testing.T, method, url, bearer string, body any) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// The image builds from local files only, runs as a non-root user with its state on a volume,
// reports healthy, and a restarted container on the same volume keeps the accounts, the
// sessions and the secrets: a sign-in from before the restart still works after it.
func TestContainerImageKeepsSessionsAcrossRestart(t *testing.T) {
	t.Parallel()
	p := newPodman(t)
	tag := "localhost/gatehouse:test"
	build := exec.Command("./build-image.sh", tag)
	build.Env = append(p.env, "CONTAINER_ENGINE="+strings.Join(p.args, " "))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build-image.sh: %v\n%s", err, out)
	}
	if user := strings.TrimSpace(p.run("image", "inspect", "--format", "{{.Config.User}}", tag)); user != "65532:65532" {
		t.Fatalf("image user = %q, want the non-root 65532:65532", user)
	}
	if hc := p.run("image", "inspect", "--format", "{{json .HealthCheck}}", tag); !strings.Contains(hc, "healthcheck") {
		t.Fatalf("image has no HEALTHCHECK through `gatehouse healthcheck`: %s", hc)
	}

	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	p.run("volume", "create", "ghdata")
	start := func(name string) {
		p.run("run", "--detach", "--name", name, "--network=host", "--volume", "ghdata:/data",
			"--env", fmt.Sprintf("GATEHOUSE__SERVER__LISTEN=127.0.0.1:%d", port),
			"--env", "GATEHOUSE__SERVER__PUBLIC_URL="+base, tag)
		waitReady(t, p, base, name)
	}
	start("gh1")
	if out, err := p.try("healthcheck", "run", "gh1"); err != nil {
		t.Fatalf("podman healthcheck run: %v\n%s", err, out)
	}

	status, body := call(t, "POST", base+"/api/setup/admin", "", map[string]string{
		"username": "alice", "email": "alice@example.com", "password": "correct horse battery staple"})
	if status != 201 {
		t.Fatalf("setup: %d %v", status, body)
	}
	access, _ := body["access_token"].(string)
	refresh, _ := body["refresh_token"].(string)
	if access == "" || refresh == "" {
		t.Fatalf("setup answered no tokens: %v", body)
	}
	status, body = call(t, "POST", base+"/api/auth/login", "", map[string]string{"login": "alice", "password": "correct horse battery staple"})
	if status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	loginAccess, _ := body["access_token"].(string)

	// SIGTERM, a graceful stop; then a new container on the same volume.
	p.run("stop", "--time", "20", "gh1")
	p.run("rm", "gh1")
	start("gh2")
	logs := p.run("logs", "gh2")
	if strings.Contains(logs, "wrote a new configuration file") {
		t.Fatalf("the restart generated new secrets instead of keeping the volume's:\n%s", logs)
	}
	for _, tok := range []string{access, loginAccess} {
		status, body = call(t, "GET", base+"/api/auth/me", tok, nil)
		user, _ := body["user"].(map[string]any)
		if status != 200 || user["username"] != "alice" {
			t.Fatalf("the old session does not work after the restart: %d %v", status, body)
		}
	}
	status, body = call(t, "POST", base+"/api/auth/refresh", "", map[string]string{"refresh_token": refresh})
	if status != 200 || body["access_token"] == nil {
		t.Fatalf("the old refresh token does not work after the restart: %d %v", status, body)
	}
	// Wrong credentials still fail: the restarted server is not open to anyone.
	if status, _ = call(t, "POST", base+"/api/auth/login", "", map[string]string{"login": "alice", "password": "wrong password here"}); status != 401 {
		t.Fatalf("wrong password: %d, want 401", status)
	}
}
