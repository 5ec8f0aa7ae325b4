//go:build !linux

package password

import (
	"errors"
	"os/exec"
)

// HashNice is the lowered priority of hashing threads on Linux; elsewhere hashes run at normal
// priority.
const HashNice = 0

func lowerThreadPriority() error { return nil }

func threadNice() (int, error) { return 0, errors.New("thread priorities are only lowered on Linux") }

func startLowPriority(cmd *exec.Cmd) (lowered, err error) { return nil, cmd.Start() }

func closeInheritedOnExec() {}
