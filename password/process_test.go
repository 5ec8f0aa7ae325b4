package password

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// workerArg makes the test binary act as the hashing worker, as `gatehouse hash-worker` does.
const workerArg = "password-test-hash-worker"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == workerArg {
		if err := ServeWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeNow is a clock the test moves by hand.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeNow) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeNow) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logCount counts the warnings a Process logs.
type logCount struct {
	mu    sync.Mutex
	lines []string
}

func (l *logCount) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, string(p))
		return len(p), nil
	}), nil))
}

func (l *logCount) count() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.lines) }

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func offloaded(t *testing.T, p Params, workers int, path string, clock *fakeNow, log *slog.Logger) (*Hasher, *Process) {
	t.Helper()
	if path == "" {
		path = os.Args[0]
	}
	if clock == nil {
		clock = &fakeNow{t: time.Unix(1_800_000_000, 0)}
	}
	proc := NewProcess(path, []string{workerArg}, workers, log, clock.now)
	t.Cleanup(func() { proc.Close() })
	h := NewHasher(p, workers, 0)
	h.attach(proc) // the worker starts with the first hash
	return h, proc
}

// procStat returns field n (1-based, as in proc(5)) of /proc/<pid>/task/<tid>/stat.
func procStat(t *testing.T, pid, tid, n int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) may hold spaces; fields after it follow its closing paren.
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	return strings.Fields(rest)[n-3]
}

func TestProcessHashesAndVerifies(t *testing.T) {
	h, proc := offloaded(t, fast, 2, "", nil, nil)
	ctx := context.Background()
	phc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if proc.PID() == 0 || proc.PID() == os.Getpid() {
		t.Fatalf("hash did not run in a worker process (pid %d)", proc.PID())
	}
	// What the worker made is an ordinary hash: this process verifies it.
	if ok, _, err := Verify("correct horse", phc, fast); !ok || err != nil {
		t.Fatalf("worker's hash does not verify here: %v %v", ok, err)
	}
	if ok, rehash, err := h.Verify(ctx, "correct horse", phc); !ok || rehash || err != nil {
		t.Fatalf("verify in the worker: ok %v rehash %v err %v", ok, rehash, err)
	}
	if ok, _, err := h.Verify(ctx, "wrong horse", phc); ok || err != nil {
		t.Fatalf("wrong password in the worker: ok %v err %v", ok, err)
	}
	if _, _, err := h.Verify(ctx, "x", "$argon2id$v=19$m=1"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("malformed hash in the worker: %v, want ErrMalformed", err)
	}
	// A stored hash weaker than the pool's parameters asks for a rehash, as in the server.
	stronger := fast
	stronger.Memory *= 2
	h2, _ := offloaded(t, stronger, 1, "", nil, nil)
	if ok, rehash, err := h2.Verify(ctx, "correct horse", phc); !ok || !rehash || err != nil {
		t.Fatalf("weaker hash in the worker: ok %v rehash %v err %v", ok, rehash, err)
	}
	// Hashes run at once in the worker, up to the pool's workers.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			pw := "pw" + strconv.Itoa(i)
			phc, err := h.Hash(ctx, pw)
			if err == nil {
				var ok bool
				ok, _, err = h.Verify(ctx, pw, phc)
				if !ok && err == nil {
					err = fmt.Errorf("%s does not verify", pw)
				}
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// The point of the worker: a hash's memory is allocated there, not in the server's heap, so the
// server's collector does not run for it.
func TestProcessKeepsHashMemoryOutOfTheServer(t *testing.T) {
	p := Params{Memory: 16 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32} // 16 MiB
	h, _ := offloaded(t, p, 1, "", nil, nil)
	ctx := context.Background()
	if _, err := h.Hash(ctx, "warm up"); err != nil { // starts the worker
		t.Fatal(err)
	}
	allocated := func(fn func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	out := allocated(func() {
		for range 4 {
			if _, err := h.Hash(ctx, "pw"); err != nil {
				t.Fatal(err)
			}
		}
	})
	in := allocated(func() {
		inline := NewHasher(p, 1, 0)
		for range 4 {
			if _, err := inline.Hash(ctx, "pw"); err != nil {
				t.Fatal(err)
			}
		}
	})
	if in < 4*16<<20 {
		t.Fatalf("hashing here allocated %d bytes; the comparison needs the hashes' 64 MiB", in)
	}
	if out > 1<<20 {
		t.Errorf("4 hashes in the worker allocated %d bytes in this process, want under 1 MiB (here: %d)", out, in)
	}
}

// The worker runs below the server's priority, every thread of it, and gets none of the
// server's environment (secrets are often passed in variables).
func TestProcessRunsLoweredWithoutTheServersEnvironment(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the worker is reniced on Linux only")
	}
	t.Setenv("GATEHOUSE__AUTH__JWT_SECRET", "must-not-reach-the-worker")
	h, proc := offloaded(t, fast, 1, "", nil, nil)
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatal(err)
	}
	pid := proc.PID()
	// The nice value of a thread of this process that runs Go code (the main thread may be one
	// a lowered hashing goroutine ended on, which the runtime parks instead of ending).
	runtime.LockOSThread()
	mine, err := threadNice()
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		if got, want := procStat(t, pid, tid, 19), strconv.Itoa(min(19, mine+HashNice)); got != want {
			t.Errorf("worker thread %d runs at nice %s, want %s (server at %d)", tid, got, want, mine)
		}
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The worker's memory limit is its hashes' memory and 16 MiB.
	want := fmt.Sprintf("GOMAXPROCS=1\x00GOMEMLIMIT=%d", int64(fast.Memory)<<10+16<<20)
	if got := strings.Trim(string(env), "\x00"); got != want {
		t.Errorf("worker's environment is %q, want only %q", got, want)
	}
}

// A worker that dies costs no sign-in: the hash runs in the server and the next one starts a
// new worker.
func TestProcessSurvivesAWorkerThatDies(t *testing.T) {
	logs := &logCount{}
	h, proc := offloaded(t, fast, 1, "", nil, logs.logger())
	ctx := context.Background()
	if _, err := h.Hash(ctx, "pw"); err != nil {
		t.Fatal(err)
	}
	first := proc.PID()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for proc.PID() == first && processAlive(first) {
		time.Sleep(5 * time.Millisecond)
	}
	phc, err := h.Hash(ctx, "after the kill")
	if err != nil {
		t.Fatalf("hash after the worker died: %v", err)
	}
	if ok, _, err := Verify("after the kill", phc, fast); !ok || err != nil {
		t.Fatalf("hash after the worker died does not verify: %v %v", ok, err)
	}
	if _, err := h.Hash(ctx, "and again"); err != nil {
		t.Fatal(err)
	}
	if second := proc.PID(); second == 0 || second == first {
		t.Errorf("no new worker after the first died (pid %d, first %d)", second, first)
	}
	if logs.count() == 0 {
		t.Error("the worker's death was not logged")
	}
}

func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	// A dead child not yet waited for is a zombie (state Z).
	return err == nil && !strings.Contains(string(b[bytes.LastIndexByte(b, ')'):]), ") Z")
}

// A worker that cannot start: hashes run in the server, and a new start is tried only after
// RestartDelay, not for every sign-in.
func TestProcessFallsBackWhenTheWorkerCannotStart(t *testing.T) {
	logs := &logCount{}
	clock := &fakeNow{t: time.Unix(1_800_000_000, 0)}
	h, proc := offloaded(t, fast, 1, "/nonexistent/gatehouse", clock, logs.logger())
	if err := proc.Start(); err == nil {
		t.Fatal("starting a missing binary succeeded")
	}
	if logs.count() != 0 {
		t.Error("Start logged its failure; its caller decides what it means")
	}
	// Offload reports the failure and leaves the pool hashing here.
	if err := NewHasher(fast, 1, 0).Offload(proc); err == nil {
		t.Error("Offload of a worker that cannot start succeeded")
	}
	ctx := context.Background()
	for i := range 3 {
		phc, err := h.Hash(ctx, "pw")
		if err != nil {
			t.Fatalf("hash %d without a worker: %v", i, err)
		}
		if ok, _, err := h.Verify(ctx, "pw", phc); !ok || err != nil {
			t.Fatalf("verify %d without a worker: %v %v", i, ok, err)
		}
	}
	if n := logs.count(); n != 1 {
		t.Errorf("%d warnings within RestartDelay, want 1 (one start attempt)", n)
	}
	clock.add(RestartDelay)
	if _, err := h.Hash(ctx, "pw"); err != nil {
		t.Fatal(err)
	}
	if n := logs.count(); n != 2 {
		t.Errorf("%d warnings after RestartDelay, want 2 (a second attempt)", n)
	}
}

// Close ends the worker, and a closed Process hashes in the server.
func TestProcessCloseEndsTheWorker(t *testing.T) {
	h, proc := offloaded(t, fast, 1, "", nil, nil)
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatal(err)
	}
	pid := proc.PID()
	if err := proc.Close(); err != nil {
		t.Fatal(err)
	}
	if processAlive(pid) {
		t.Errorf("worker %d still runs after Close", pid)
	}
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatalf("hash after Close: %v", err)
	}
	if proc.PID() != 0 {
		t.Error("Close'd Process started a new worker")
	}
}

// A worker with nothing to hash exits after idleExit, quietly (it did not fail), and the next
// hash starts a new one; hashes that follow each other closer than that keep one worker.
func TestProcessWorkerExitsWhenIdleAndTheNextHashStartsOne(t *testing.T) {
	var logs logCount
	h, proc := offloaded(t, fast, 1, "", nil, logs.logger())
	proc.idleExit = 300 * time.Millisecond
	ctx := context.Background()
	phc, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	first := proc.PID()
	if first == 0 {
		t.Fatal("no worker after a hash")
	}
	for range 5 {
		if ok, _, err := h.Verify(ctx, "pw", phc); !ok || err != nil {
			t.Fatalf("verify: %v %v", ok, err)
		}
		if pid := proc.PID(); pid != first {
			t.Fatalf("worker changed from %d to %d between hashes closer than idleExit", first, pid)
		}
	}
	waitFor(t, fmt.Sprintf("idle worker %d still runs", first), func() bool { return proc.PID() == 0 && !processAlive(first) })
	if ok, _, err := h.Verify(ctx, "pw", phc); !ok || err != nil {
		t.Fatalf("verify after the idle exit: %v %v", ok, err)
	}
	if second := proc.PID(); second == 0 || second == first {
		t.Fatalf("after the idle exit the hash ran in worker %d (first was %d)", second, first)
	}
	if n := logs.count(); n != 0 {
		t.Errorf("an idle exit logged %d warnings, want none: %q", n, logs.lines)
	}
}

// A worker started ahead of the first hash (serve starts it at boot, to learn whether it can)
// also exits when nothing comes.
func TestProcessStartedWorkerExitsWhenNothingComes(t *testing.T) {
	h, proc := offloaded(t, fast, 1, "", nil, nil)
	proc.idleExit = 200 * time.Millisecond
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	pid := proc.PID()
	if pid == 0 {
		t.Fatal("Start started no worker")
	}
	waitFor(t, fmt.Sprintf("worker %d started without work still runs", pid), func() bool { return !processAlive(pid) })
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatal(err)
	}
	if proc.PID() == 0 || proc.PID() == pid {
		t.Fatalf("hash after the idle exit: worker %d", proc.PID())
	}
}

// Prepare starts a worker in the background when none runs, so the sign-in that follows finds
// it running; on a running worker it only postpones the idle exit.
func TestProcessPrepareStartsTheWorkerAhead(t *testing.T) {
	h, proc := offloaded(t, fast, 1, "", nil, nil)
	proc.idleExit = 400 * time.Millisecond
	h.Prepare()
	waitFor(t, "Prepare started no worker", func() bool { return proc.PID() != 0 })
	pid := proc.PID()
	// Prepared again and again, more often than idleExit: the worker stays, and it is the one
	// the hash then runs in.
	for range 6 {
		time.Sleep(100 * time.Millisecond)
		h.Prepare()
	}
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatal(err)
	}
	if got := proc.PID(); got != pid {
		t.Fatalf("the hash ran in worker %d, not the prepared %d", got, pid)
	}
	waitFor(t, fmt.Sprintf("prepared worker %d still runs after idleExit", pid), func() bool { return proc.PID() == 0 && !processAlive(pid) })

	// In process, Prepare does nothing.
	NewHasher(fast, 1, 0).Prepare()
}

// inflight counts calls to every worker: when the last call to end is one that failed on a
// worker since replaced (it died with two calls in flight, and the other caller started a new
// one and finished first), the new worker still exits when idle.
func TestProcessIdleExitAfterALateFailureOnAReplacedWorker(t *testing.T) {
	h, proc := offloaded(t, fast, 1, "", nil, nil)
	proc.idleExit = 200 * time.Millisecond
	ctx := context.Background()
	if _, err := h.Hash(ctx, "pw"); err != nil { // the worker has answered: not a failed start
		t.Fatal(err)
	}
	old, err := proc.worker() // a call under way on it
	if err != nil {
		t.Fatal(err)
	}
	_ = old.cmd.Process.Kill()
	<-old.done
	if _, err := h.Hash(ctx, "pw"); err != nil { // finds it dead and starts another
		t.Fatal(err)
	}
	next := proc.PID()
	if next == 0 || next == old.cmd.Process.Pid {
		t.Fatalf("no new worker after the old one died (PID %d)", next)
	}
	proc.called(old, old.stopErr()) // the call on the old worker ends last
	waitFor(t, fmt.Sprintf("worker %d still runs long after idleExit", next), func() bool { return proc.PID() == 0 && !processAlive(next) })
}

// A worker started by Prepare with no sign-in after it (a visitor who leaves the page, a crawler)
// exits when idle, as one started by a hash does.
func TestProcessPreparedWorkerExitsWhenNothingComes(t *testing.T) {
	h, proc := offloaded(t, fast, 1, "", nil, nil)
	proc.idleExit = 200 * time.Millisecond
	h.Prepare()
	waitFor(t, "Prepare started no worker", func() bool { return proc.PID() != 0 })
	pid := proc.PID()
	waitFor(t, fmt.Sprintf("prepared worker %d still runs after idleExit", pid), func() bool { return proc.PID() == 0 && !processAlive(pid) })
}
