package deploy_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/internal/testdb"
	"go.yaml.in/yaml/v3"
)

// The Compose example parses, pins every image by version, and sets only configuration variables
// gatehouse knows (a misspelt one would be silently ignored by the server).
func TestComposeExample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml does not parse: %v", err)
	}
	for _, want := range []string{"gatehouse", "postgres", "redis", "caddy", "whoami"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("no service %s", want)
		}
	}
	pinned := regexp.MustCompile(`:v?\d+\.\d+(\.\d+)?(-[a-z0-9]+)?$`)
	for name, s := range c.Services {
		if name != "gatehouse" && !pinned.MatchString(s.Image) {
			t.Errorf("service %s: image %q is not pinned to a version", name, s.Image)
		}
	}
	known := config.EnvVars()
	gh := c.Services["gatehouse"].Environment
	for name := range gh {
		if _, ok := known[strings.TrimSuffix(name, config.FileSuffix)]; !ok {
			t.Errorf("gatehouse environment %s names no setting", name)
		}
	}
	if gh["GATEHOUSE__DATABASE__DRIVER"] != "postgres" || gh["GATEHOUSE__REDIS__URL"] == "" {
		t.Error("gatehouse is not on PostgreSQL and Redis")
	}
}

// The Caddyfile is one Caddy accepts, and protects the app with forward auth to verify.
func TestComposeCaddyfile(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("caddy")
	if err != nil {
		testdb.Unavailable(t, "caddy", "caddy is not on PATH (apt-get install caddy)")
	}
	out, err := exec.Command(bin, "adapt", "--config", "Caddyfile", "--adapter", "caddyfile").CombinedOutput()
	if err != nil {
		t.Fatalf("caddy adapt: %v\n%s", err, out)
	}
	for _, want := range []string{`"/api/auth/verify"`, `"gatehouse:8080"`, "Remote-User", `"whoami:80"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the adapted config lacks %s", want)
		}
	}
}
