package password

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// busyServer is a server CPU clock that runs a full core per hash: every reading is a second
// later than the one before, far more than a fast hash takes.
func busyServer() func() time.Duration {
	var t time.Duration
	return func() time.Duration { t += time.Second; return t }
}

// While the server is busy with work of its own, a hash in the worker process is followed by a
// pause as long as itself, and the pool's worker stays taken for it: the next sign-in waits,
// but not the one whose hash it follows.
func TestPoolPacesWorkerHashesWhileTheServerIsBusy(t *testing.T) {
	h, _ := offloaded(t, fast, 1, "", nil, nil)
	h.cpu = busyServer()
	paused := make(chan time.Duration, 1)
	resume := make(chan struct{})
	h.pause = func(d time.Duration) { paused <- d; <-resume }

	ctx := context.Background()
	done := make(chan error, 2)
	go func() { _, err := h.Hash(ctx, "first"); done <- err }()
	var d time.Duration
	select {
	case d = <-paused:
	case <-time.After(10 * time.Second):
		t.Fatal("no pause after a hash while the server was busy")
	}
	if d <= 0 || d > CallTimeout {
		t.Fatalf("pause %v, want the hash's own time", d)
	}
	// The caller whose hash is followed by the pause has its answer at once: the pause holds
	// the pool's worker, not the sign-in.
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the paced hash's caller waits for the pause too")
	}
	if running, _ := h.Stats(); running != 1 {
		t.Fatalf("%d pool workers taken during the pause, want 1", running)
	}
	go func() { _, err := h.Hash(ctx, "second"); done <- err }()
	waitFor(t, "the second hash does not wait behind the paused worker", func() bool { running, waiting := h.Stats(); return running == 1 && waiting == 1 })
	select {
	case err := <-done:
		t.Fatalf("a hash finished while the only worker paused (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(resume)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	<-paused // the second hash paces too
	waitFor(t, "the pool does not free its worker after the pause", func() bool { running, waiting := h.Stats(); return running == 0 && waiting == 0 })
}

// With the server idle, hashes follow each other at full speed; and a hash the server computed
// itself (no worker) does not pace, since the server's CPU time then counts the hash.
func TestPoolDoesNotPaceAnIdleServerOrInProcessHashes(t *testing.T) {
	fallback, _ := offloaded(t, fast, 1, "/nonexistent/gatehouse", nil, nil)
	idle, _ := offloaded(t, fast, 1, "", nil, nil)
	for _, c := range []struct {
		name string
		h    *Hasher
		cpu  func() time.Duration
	}{
		{"idle server", idle, func() time.Duration { return time.Second }}, // no CPU used between readings
		{"hash computed in the server (no worker)", fallback, busyServer()},
		{"in-process pool", NewHasher(fast, 1, 0), busyServer()},
	} {
		var pauses atomic.Int32 // a pause runs after the caller has its answer
		c.h.cpu, c.h.pause = c.cpu, func(time.Duration) { pauses.Add(1) }
		for range 3 {
			if _, err := c.h.Hash(context.Background(), "pw"); err != nil {
				t.Fatal(err)
			}
		}
		if n := pauses.Load(); n != 0 {
			t.Errorf("%s: %d pauses, want 0", c.name, n)
		}
	}
}

// The threshold: half of the cores the hashing workers leave to the server.
func TestPoolHoldThreshold(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		spare           int
		took, serverCPU time.Duration
		want            time.Duration
	}{
		{1, 100 * ms, 0, 0},
		{1, 100 * ms, 49 * ms, 0},
		{1, 100 * ms, 50 * ms, 100 * ms},
		{1, 100 * ms, 180 * ms, 100 * ms},
		{4, 100 * ms, 150 * ms, 0}, // four free cores, one and a half busy: no contention worth pacing
		{4, 100 * ms, 200 * ms, 100 * ms},
		{1, 0, 10 * ms, 0},
		{1, 5 * time.Second, 5 * time.Second, time.Second}, // a slow hash pauses a second at most
	} {
		h := &Hasher{spare: c.spare}
		if got := h.hold(c.took, c.serverCPU); got != c.want {
			t.Errorf("spare %d, hash %v, server CPU %v: hold %v, want %v", c.spare, c.took, c.serverCPU, got, c.want)
		}
	}
}

// waitFor polls cond for up to ten seconds, and fails with what (what has not happened) if it
// stays false.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
