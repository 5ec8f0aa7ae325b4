package password

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Further worker modes of the test binary, for workers that misbehave. init runs before
// TestMain, so process_test.go's TestMain need not know them.
const (
	hangWorkerArg = "password-test-hang-worker" // reads requests, never answers
	exitWorkerArg = "password-test-exit-worker" // exits at once, as a binary without hash-worker would
)

func init() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case hangWorkerArg:
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	case exitWorkerArg:
		os.Exit(2)
	}
}

// A worker that stops answering (SIGSTOP, a deadlock, a kernel stall) does not hold the pool's
// callers forever (every pool worker would be stuck, the queue would fill, and every sign-in
// would get server_busy until the server restarts): it is killed and the hash runs here.
func TestProcessHungWorkerDoesNotHoldCallersForever(t *testing.T) {
	proc := NewProcess(os.Args[0], []string{hangWorkerArg}, 1, nil, nil)
	proc.callTimeout = 3 * time.Second
	t.Cleanup(func() { proc.Close() })
	h := NewHasher(fast, 1, 0)
	h.attach(proc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		phc, err := h.Hash(ctx, "pw")
		if err == nil {
			// Hashed in the server once the worker was given up on.
			if ok, _, verr := Verify("pw", phc, fast); !ok || verr != nil {
				err = fmt.Errorf("the hash does not verify: %v %v", ok, verr)
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("hash with a hung worker: %v", err)
		}
	case <-time.After(15 * time.Second):
		running, waiting := h.Stats()
		t.Errorf("hash still waiting for a worker that never answers after 15 s (ctx deadline 2 s); pool running %d waiting %d", running, waiting)
	}
}

// A worker that starts but exits at once (a binary without hash-worker, a sandbox that kills
// it, ...) counts as a failed start: not a process start and a log line per sign-in.
func TestProcessWorkerThatExitsAtOnceIsNotStartedPerHash(t *testing.T) {
	logs := &logCount{}
	clock := &fakeNow{t: time.Unix(1_800_000_000, 0)}
	proc := NewProcess(os.Args[0], []string{exitWorkerArg}, 1, logs.logger(), clock.now)
	t.Cleanup(func() { proc.Close() })
	h := NewHasher(fast, 1, 0)
	h.attach(proc)
	// Started ahead, as serve does: Start succeeds, the process exits at once.
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	first := proc.PID()
	for first != 0 && processAlive(first) {
		time.Sleep(5 * time.Millisecond)
	}
	for i := range 20 {
		if _, err := h.Hash(context.Background(), "pw"); err != nil {
			t.Fatalf("hash %d: %v", i, err)
		}
	}
	if n := logs.count(); n != 1 {
		t.Errorf("20 hashes within RestartDelay after a worker that died at once: %d warnings, want 1 (no new start)", n)
	}
	clock.add(RestartDelay)
	for range 5 {
		if _, err := h.Hash(context.Background(), "pw"); err != nil {
			t.Fatal(err)
		}
	}
	if n := logs.count(); n != 2 {
		t.Errorf("after RestartDelay: %d warnings, want 2 (one more start, which died too)", n)
	}
}

// The worker inherits none of the server's descriptors, not even those the server was given
// without close-on-exec by its parent (socket activation, a supervisor's pipe, a shell
// redirection): Go marks only its own.
func TestProcessWorkerInheritsOnlyItsPipes(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	// A descriptor as a parent process would pass it: without O_CLOEXEC.
	fd, err := syscall.Open(os.Args[0], syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	h, proc := offloaded(t, fast, 1, "", nil, nil)
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", proc.PID()))
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	for _, e := range ents {
		n, _ := strconv.Atoi(e.Name())
		fds = append(fds, n)
	}
	sort.Ints(fds)
	for _, n := range fds {
		if n > 2 {
			target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", proc.PID(), n))
			// The Go runtime of the worker itself may hold a few (epoll, its pidfd, ...): only
			// the one opened above is the server's.
			t.Logf("worker fd %d -> %s", n, target)
			if n == fd {
				t.Errorf("worker holds the server's descriptor %d (%s); its descriptors: %v", n, target, fds)
			}
		}
	}
}

// Answers never go to the wrong caller, whatever the worker does meanwhile: callers verify
// right and wrong passwords against hashes of their own while the worker is killed again and
// again, and Close comes at the end with calls in flight.
func TestProcessAnswersStayWithTheirCallersAcrossWorkerDeaths(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("kills the worker by pid")
	}
	// The clock moves past RestartDelay between kills: a worker killed before its first answer
	// counts as a failed start, and the next must still come, so that the kills keep hitting
	// workers with calls in flight rather than the fallback.
	clock := &fakeNow{t: time.Unix(1_800_000_000, 0)}
	h, proc := offloaded(t, fast, 4, "", clock, nil)
	ctx := context.Background()
	const callers = 8
	phcs := make([]string, callers)
	for i := range phcs {
		var err error
		if phcs[i], err = Hash("pw"+strconv.Itoa(i), fast); err != nil {
			t.Fatal(err)
		}
	}
	// The callers verify until the worker has been killed kills times, a kill every 5 ms.
	const kills = 20
	stop := make(chan struct{})
	go func() {
		defer close(stop)
		for n := 0; n < kills; {
			time.Sleep(5 * time.Millisecond)
			if pid := proc.PID(); pid != 0 && syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
			clock.add(RestartDelay)
		}
	}()
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	calls := make([]int, callers)
	for c := range callers {
		wg.Go(func() {
			for r := 0; ; r++ {
				select {
				case <-stop:
					return
				default:
				}
				right := (r+c)%2 == 0
				pw := "pw" + strconv.Itoa(c)
				if !right {
					pw = "pw" + strconv.Itoa(c+callers)
				}
				ok, _, err := h.Verify(ctx, pw, phcs[c])
				calls[c]++
				if err != nil || ok != right {
					errs <- fmt.Errorf("caller %d call %d: ok %v err %v, want ok %v", c, r, ok, err, right)
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d kills during %v calls", kills, calls)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
