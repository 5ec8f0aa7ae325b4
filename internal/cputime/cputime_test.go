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
	// 200 ms of spinning: even on a loaded machine this thread gets a good part of a core.
	start, x := Self(), 0
	for deadline := time.Now().Add(200 * time.Millisecond); time.Now().Before(deadline); {
		for i := range 10000 {
			x += i
		}
	}
	_ = x
	if worked := Self() - start; worked < 20*time.Millisecond {
		t.Fatalf("after 200 ms of busy work, Self grew by %v, want at least 20ms", worked)
	}
	if slept > 50*time.Millisecond {
		t.Errorf("a 100 ms sleep counted %v of CPU", slept)
	}
}
