package deploy_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// buildDir holds what the tests of this package build once and share; removed after the run.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-deploy-test-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// gatehouseBinary builds cmd/gatehouse once per test binary. The systemd tests only need a
// binary where ExecStart points, and the build was most of each test's time.
var gatehouseBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(buildDir, "gatehouse")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/gatehouse").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// placeBinary puts the shared gatehouse binary at dst: a hard link, or a copy where linking is
// not possible (another file system).
func placeBinary(t *testing.T, dst string) {
	t.Helper()
	bin, err := gatehouseBinary()
	if err != nil {
		t.Fatal(err)
	}
	if os.Link(bin, dst) == nil {
		return
	}
	in, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
