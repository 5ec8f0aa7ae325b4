//go:build unix

package oidcprovider_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) the process has used: the benchmarks report it next
// to the server time, as it moves little when other processes load the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
