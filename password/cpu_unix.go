//go:build unix

package password

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used so far, user and system, its children not
// counted (a hash worker's time is its own).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
