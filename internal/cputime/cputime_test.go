//go:build unix

package cputime

import (
	"testing"
	"time"
)

// Self counts this process's CPU work (the hashing pool paces on it), and does not count time
// spent asleep.
func TestSelfCountsWorkNotSleep(t *testing.T) {
	before := Self()
	time.Sleep(100 * time.Millisecond)
	slept := Self() - before
	start, x := Self(), 0
	for Self()-start < 50*time.Millisecond {
		for i := range 100000 {
			x += i
		}
	}
	_ = x
	if worked := Self() - start; worked < 50*time.Millisecond {
		t.Fatalf("after busy work, Self grew by %v, want at least 50ms", worked)
	}
	if slept > 50*time.Millisecond {
		t.Errorf("a 100 ms sleep counted %v of CPU", slept)
	}
}
