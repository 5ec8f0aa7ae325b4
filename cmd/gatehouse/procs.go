package main

import (
	"context"
	"runtime"
	"time"

	"github.com/gatehouse/gatehouse/password"
)

// schedulerProcs is GOMAXPROCS for serve while hashes run, unless GOMAXPROCS sets it: the
// cores, plus one for each hashing worker. Argon2id never blocks or yields, so a hash holds a P
// (the runtime's right to run Go code) for its whole run, and its thread runs below the request
// handlers' priority (password.HashNice): when the kernel keeps that thread waiting for a core,
// the P waits with it, and with only as many Ps as cores the request checks were left one P
// short of the cores during a flood. With a P per worker on top, request handlers keep a P per
// core, and which thread gets a core is the kernel's choice, by priority.
func schedulerProcs(getenv func(string) string, h *password.Hasher) (int, bool) {
	if getenv("GOMAXPROCS") != "" || h.Offloaded() {
		return 0, false
	}
	workers, _ := h.Size()
	return password.CPUs() + workers, true
}

// procsFollower gives the runtime the extra Ps only while the pool hashes. Held all the time,
// they cost the quiet request check its tail: with three Ps on two cores the kernel preempts
// threads in the middle of requests, and under wrk the check's p99 went from 1.0x a bare
// handler's to 1.5-1.9x (bench/README.md, "Results of 2026-12-03, 14:17-14:45Z"). It raises
// GOMAXPROCS as soon as a tick sees a hash running or waiting and lowers it again after the
// pool has been idle for a while, so a steady trickle of sign-ins does not flip it per sign-in
// (each change stops the world briefly).
type procsFollower struct {
	base, busy int           // GOMAXPROCS when idle and while hashing
	hold       time.Duration // how long the pool must be idle before going back to base
	raised     bool
	lastBusy   time.Time
}

// step is the follower's decision for one tick: the GOMAXPROCS to set, if it changes.
func (f *procsFollower) step(now time.Time, hashing bool) (int, bool) {
	if hashing {
		f.lastBusy = now
		if !f.raised {
			f.raised = true
			return f.busy, true
		}
		return 0, false
	}
	if f.raised && now.Sub(f.lastBusy) >= f.hold {
		f.raised = false
		return f.base, true
	}
	return 0, false
}

// followPool runs the follower until ctx ends, then puts GOMAXPROCS back to base.
func followPool(ctx context.Context, h *password.Hasher, busy int) {
	f := &procsFollower{base: runtime.GOMAXPROCS(0), busy: busy, hold: 2 * time.Second}
	if f.busy <= f.base {
		return
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	defer func() {
		if f.raised {
			runtime.GOMAXPROCS(f.base)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			running, waiting := h.Stats()
			if n, ok := f.step(now, running+waiting > 0); ok {
				runtime.GOMAXPROCS(n)
			}
		}
	}
}
