package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testdb"
)

// systemdRoot lays out a root directory with the unit, a gatehouse binary at the path ExecStart
// names, and the host's standard units (sysinit.target ...), so systemd-analyze checks the unit
// file exactly as shipped.
func systemdRoot(t *testing.T) (root, unit string) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		testdb.Unavailable(t, "systemd-analyze", "systemd-analyze is not on PATH (apt-get install systemd)")
	}
	root = t.TempDir()
	for _, d := range []string{"usr/local/bin", "etc/systemd/system", "usr/lib/systemd"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	placeBinary(t, filepath.Join(root, "usr/local/bin/gatehouse"))
	if out, err := exec.Command("cp", "-r", "/usr/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/")).CombinedOutput(); err != nil {
		t.Fatalf("copying the standard units: %v\n%s", err, out)
	}
	unit = filepath.Join(root, "etc/systemd/system/gatehouse.service")
	b, err := os.ReadFile("gatehouse.service")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unit, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return root, unit
}

// systemd-analyze verify exits 0 even for settings it ignores, printing a warning; any output at
// all is a failure here, so a misspelt or unsupported hardening line cannot slip through.
func TestSystemdUnitVerifies(t *testing.T) {
	t.Parallel()
	root, unit := systemdRoot(t)
	out, err := exec.Command("systemd-analyze", "verify", "--root="+root, unit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The check above is able to fail: a bad value is reported.
	bad := strings.Replace(readFile(t, unit), "ProtectSystem=strict", "ProtectSystem=bogus", 1)
	if err := os.WriteFile(unit, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("systemd-analyze", "verify", "--root="+root, unit).CombinedOutput(); !strings.Contains(string(out), "ProtectSystem") && !strings.Contains(string(out), "protect system") {
		t.Fatalf("a bogus ProtectSystem went unnoticed: %s", out)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The hardening the issue names is present, and systemd's own exposure score rates it well.
func TestSystemdUnitHardening(t *testing.T) {
	t.Parallel()
	root, unit := systemdRoot(t)
	text := readFile(t, unit)
	for _, line := range []string{"DynamicUser=yes", "StateDirectory=gatehouse", "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service"} {
		if !strings.Contains(text, line) {
			t.Errorf("the unit lacks %q", strings.TrimSpace(line))
		}
	}
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--root="+root, "gatehouse.service").CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for gatehouse.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security exposure: %.1f (0 = fully sandboxed, 10 = unprotected)", score)
	if score > 2.0 {
		t.Fatalf("exposure level %.1f, want at most 2.0:\n%s", score, out)
	}
}
