//go:build unix

// Package cputime reads the CPU time this process has used, for the hashing pool's pacing and
// for benchmarks that report CPU next to wall time (it moves little when other processes load
// the machine).
package cputime

import (
	"syscall"
	"time"
)

// Self is the CPU time this process has used so far, user and system; its children are not
// counted (a hash worker's time is its own).
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
