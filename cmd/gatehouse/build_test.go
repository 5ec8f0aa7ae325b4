package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/password"
)

// buildDir holds the binary the tests of this package build once and share; removed after the run.
var buildDir string

func TestMain(m *testing.M) {
	// serve, run in this test binary, starts its hashing process from this binary too.
	if len(os.Args) > 1 && os.Args[1] == hashWorkerCommand {
		if err := password.ServeWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "gatehouse-cmd-test-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	testdb.Drain()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// Stamped into the shared release binary; TestVersionPrintsVersionAndCommit reads them back.
const (
	releaseVersion = "9.8.7"
	releaseCommit  = "abc123def"
)

// releaseBinary builds gatehouse once per test binary with deploy/build-release.sh. A full build
// is most of the time of each test that runs gatehouse as a process, so they share this one: the
// version test checks what the release build stamps and strips, the others only need a binary.
var releaseBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(buildDir, "gatehouse")
	cmd := exec.Command("../../deploy/build-release.sh", bin)
	cmd.Env = append(os.Environ(), "GATEHOUSE_VERSION="+releaseVersion, "GATEHOUSE_COMMIT="+releaseCommit)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build-release.sh: %v\n%s", err, out)
	}
	return bin, nil
})

func buildRelease(t *testing.T) string {
	t.Helper()
	bin, err := releaseBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
