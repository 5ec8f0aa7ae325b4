package password

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/cputime"
)

// Hasher runs Argon2id on a fixed number of workers with a bounded wait queue. Each hash holds
// Params.Memory KiB while it runs, so workers × memory bounds the memory sign-in can use; when
// the queue is full callers get EBusy at once instead of piling up.
//
// Callers come in two classes. Trusted ones (a sign-in from a device that signed in to this
// account before, see auth's device tokens) have places of their own on top of the queue and go
// to the front when a worker frees, so a flood of other attempts, which fills the queue, cannot
// keep a known device from signing in: it waits for the hash now running and for the trusted
// callers ahead of it, never behind the flood.
type Hasher struct {
	params  Params
	workers int // hashes at once
	places  int // callers of any class waiting or running, at most (trusted ones: TrustedPlaces more)

	dummyOnce sync.Once
	dummy     string

	proc *Process // where hashes run; nil: in this process

	// Pacing (hold): the server's CPU time so far, how to wait, and the cores left to the
	// server when every worker hashes. Fields so that tests can drive them.
	cpu   func() time.Duration
	pause func(time.Duration)
	spare int

	mu             sync.Mutex
	running        int
	held           int // places taken: running or waiting, both classes
	trusted, other []*waiter
}

// waiter is a caller waiting for a worker; ready is closed when one is handed to it.
type waiter struct {
	ready   chan struct{}
	granted bool
}

// NewHasher returns a pool. workers <= 0 means DefaultWorkers; queue <= 0 means 4 × workers.
// The queue counts callers waiting for a worker, on top of the running ones. Trusted callers
// have TrustedPlaces further places: many, because auth lets each account have at most one
// trusted attempt at a time, and a waiting caller holds no hashing memory; so someone signing in
// to a few accounts of their own again and again makes a known device wait behind one attempt
// per such account, not refuses it.
func NewHasher(p Params, workers, queue int) *Hasher {
	if workers <= 0 {
		workers = DefaultWorkers()
	}
	if queue <= 0 {
		queue = 4 * workers
	}
	return &Hasher{params: p, workers: workers, places: workers + queue,
		cpu: cputime.Self, pause: time.Sleep, spare: max(1, CPUs()-workers)}
}

// TrustedPlaces is how many trusted callers may wait or run beyond the queue.
const TrustedPlaces = 256

// DefaultWorkers is one hashing worker per core but one: a sign-in flood can then take all but
// one core, and the request checks of every signed-in user keep the last (measured by the
// flood case of bench/load: with every core hashing, request-check p99 rose 80-fold).
func DefaultWorkers() int { return max(1, CPUs()-1) }

// CPUs is the number of cores this process may use: the CPUs it may run on (runtime.NumCPU,
// the affinity mask), lowered to GOMAXPROCS when the operator set that variable, and to the
// cgroup CPU quota rounded up when one is set (hashes beyond the quota only queue in the
// kernel). It reads the variable, not the runtime's current GOMAXPROCS, because serve raises
// that by the pool's workers (cmd/gatehouse schedulerProcs): counted again, the raised value
// would grow the next pool and the next raise, each time serve runs in one process (its tests).
func CPUs() int {
	return cpus(runtime.NumCPU(), os.Getenv("GOMAXPROCS"), cgroupCPUs(os.DirFS("/")))
}

// cpus is CPUs from its inputs: the CPUs the process may run on, the GOMAXPROCS variable and
// the cgroup quota (0: none).
func cpus(online int, gomaxprocs string, quota int) int {
	n := online
	if v, err := strconv.Atoi(strings.TrimSpace(gomaxprocs)); err == nil && v > 0 && v < n {
		n = v
	}
	if quota > 0 && quota < n {
		n = quota
	}
	return max(1, n)
}

// cgroupCPUs reads the CPU quota of cgroup v2 (cpu.max: "quota period" or "max period") or v1
// (cpu.cfs_quota_us, -1 when unlimited), rounded up; 0 means no quota or none readable.
func cgroupCPUs(fsys fs.FS) int {
	var quota, period float64
	if b, err := fs.ReadFile(fsys, "sys/fs/cgroup/cpu.max"); err == nil {
		if _, err := fmt.Sscan(string(b), &quota, &period); err != nil {
			return 0 // "max": no quota, and Sscan stops there
		}
	} else {
		q, err1 := fs.ReadFile(fsys, "sys/fs/cgroup/cpu/cpu.cfs_quota_us")
		p, err2 := fs.ReadFile(fsys, "sys/fs/cgroup/cpu/cpu.cfs_period_us")
		if err1 != nil || err2 != nil {
			return 0
		}
		if _, err := fmt.Sscan(string(q), &quota); err != nil {
			return 0
		}
		if _, err := fmt.Sscan(string(p), &period); err != nil {
			return 0
		}
	}
	if quota <= 0 || period <= 0 {
		return 0
	}
	return int(math.Ceil(quota / period))
}

// Offload starts proc's worker process and makes the pool run its hashes there; call it before
// the pool is used. The pool keeps deciding who hashes when: proc runs at most as many hashes
// at once as the pool has workers. If the worker does not start, the pool hashes in this
// process as before and the error says why.
func (h *Hasher) Offload(proc *Process) error {
	h.attach(proc)
	if err := proc.Start(); err != nil {
		h.proc = nil
		return err
	}
	return nil
}

// attach makes the pool hash in proc, whose worker starts with the first hash.
func (h *Hasher) attach(proc *Process) {
	h.proc = proc
	// The worker's soft memory limit: its hashes' memory and some room for the runtime. The
	// hashes' blocks hold no pointers, so collecting more often near the limit costs little.
	proc.memoryLimit = int64(h.workers)*int64(h.params.Memory)<<10 + 16<<20
}

// Prepare readies the pool for a hash expected soon: with a worker process, it starts the
// worker in the background if none runs (Process.Prepare); in process there is nothing to do.
func (h *Hasher) Prepare() {
	if h.proc != nil {
		h.proc.Prepare()
	}
}

// Offloaded reports whether hashes run in a worker process (Offload).
func (h *Hasher) Offloaded() bool { return h.proc != nil }

// Size reports how many hashes may run at once and how many callers may wait besides.
func (h *Hasher) Size() (workers, queue int) { return h.workers, h.places - h.workers }

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Stats reports how many hashes are running and how many callers are waiting.
func (h *Hasher) Stats() (running, waiting int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.running, len(h.trusted) + len(h.other)
}

// Saturated reports whether the queue is full for callers that are not trusted right now, so
// callers can refuse a sign-in before spending a database lookup on it. The answer may be stale
// a moment later; the queue itself stays the bound.
func (h *Hasher) Saturated() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held >= h.places
}

// Busy is returned when the queue is full. One second is about the time a few hashes take.
func Busy() error {
	return &gatehouse.Error{Code: gatehouse.EBusy, Message: "the server is busy signing other people in; try again in a moment", RetryAfter: time.Second}
}

// do runs fn holding one of the pool's workers, as a trusted caller or not. fn returns how long
// the worker stays taken after it (hold, the pacing): the caller has its answer at once, and the
// worker is released once that pause is over.
func (h *Hasher) do(ctx context.Context, trusted bool, fn func() time.Duration) error {
	if err := h.acquire(ctx, trusted); err != nil {
		return err
	}
	var hold time.Duration
	defer func() {
		if hold <= 0 {
			h.release()
			return
		}
		go func() {
			defer h.release()
			h.pause(hold)
		}()
	}()
	hold = fn()
	return nil
}

// acquire takes a place and then a worker, waiting in the caller's class.
func (h *Hasher) acquire(ctx context.Context, trusted bool) error {
	h.mu.Lock()
	limit := h.places
	if trusted {
		limit += TrustedPlaces
	}
	if h.held >= limit {
		h.mu.Unlock()
		return Busy()
	}
	h.held++
	if h.running < h.workers {
		h.running++
		h.mu.Unlock()
		return nil
	}
	w := &waiter{ready: make(chan struct{})}
	if trusted {
		h.trusted = append(h.trusted, w)
	} else {
		h.other = append(h.other, w)
	}
	h.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	h.mu.Lock()
	if w.granted {
		// A worker was handed over as the caller gave up: pass it on.
		h.mu.Unlock()
		h.release()
		return ctx.Err()
	}
	h.trusted = remove(h.trusted, w)
	h.other = remove(h.other, w)
	h.held--
	h.mu.Unlock()
	return ctx.Err()
}

// release gives back a place and hands the worker to the next waiter, trusted ones first.
func (h *Hasher) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held--
	var next *waiter
	switch {
	case len(h.trusted) > 0:
		next, h.trusted = h.trusted[0], h.trusted[1:]
	case len(h.other) > 0:
		next, h.other = h.other[0], h.other[1:]
	default:
		h.running--
		return
	}
	next.granted = true
	close(next.ready)
}

func remove(ws []*waiter, w *waiter) []*waiter {
	for i, x := range ws {
		if x == w {
			return append(ws[:i], ws[i+1:]...)
		}
	}
	return ws
}

// runLowPriority runs fn on an OS thread of its own at a lower scheduling priority (nice
// HashNice on Linux), so that when the machine's cores are all busy the kernel gives them to
// the request checks and the rest of the server before a sign-in's hash: a flood of sign-ins
// then slows sign-ins, not everyone's requests. Argon2id offers no point to yield between its
// passes (golang.org/x/crypto/argon2 runs them in one call); the lower priority is how the hash
// yields. The goroutine ends still locked to its thread, so the runtime discards the thread
// and its priority with it instead of handing a lowered thread to other goroutines; making a
// thread costs tens of microseconds against a hash's tens of milliseconds.
func runLowPriority(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// Not lowered (a seccomp filter): the hash runs at the server's priority, as it would
		// without this; the worker process's start logs that case once.
		_ = lowerThreadPriority()
		fn()
	}()
	<-done
}

// run computes req on a worker: in the worker process when the pool has one that answers,
// here on a lowered thread otherwise.
func (h *Hasher) run(ctx context.Context, trusted bool, req request) (rep reply, err error) {
	err = h.do(ctx, trusted, func() time.Duration {
		if h.proc != nil {
			start, cpu := time.Now(), h.cpu()
			var ok bool
			if rep, ok = h.proc.call(req); ok {
				// The pool's worker stays taken while it pauses: that is the pacing. The
				// caller does not wait for the pause; it has its answer now.
				return h.hold(time.Since(start), h.cpu()-cpu)
			}
		}
		runLowPriority(func() { rep = compute(req) })
		return 0
	})
	return rep, err
}

// PaceShare is the share of the cores left to the server (those no hashing worker takes) that
// the server must have been using for its own work, request checks above all, while a hash ran
// in the worker process for the next hash on that worker to wait (hold).
const PaceShare = 0.5

// hold is how long a worker waits before its next hash, after a hash that took took while the
// server used serverCPU of its own. Lowered, the worker process yields the cores to the server's
// threads, but not the memory bandwidth and caches: Argon2id streams its 19 MiB through them, and
// on the core beside it each request check then costs more (a sign-in flood cut the check's
// throughput to 0.75 of quiet on two cores, with the worker at nice 10 or 19 alike,
// bench/README.md). So while the server is busy with work of its own, each hash is followed by a
// pause as long as itself, halving the time a flood spends streaming through the caches. Sign-ins
// then go at half speed, only as long as the server is that busy; with the server idle, or
// hashing in process (where its CPU time counts the hashes themselves), there is no pause.
func (h *Hasher) hold(took, serverCPU time.Duration) time.Duration {
	if took <= 0 || float64(serverCPU) < PaceShare*float64(h.spare)*float64(took) {
		return 0
	}
	// A hash that took long on an overloaded machine does not park a worker for as long again.
	return min(took, maxHold)
}

// maxHold bounds a pause: many times a hash's usual tens of milliseconds.
const maxHold = time.Second

// Hash hashes pw on the pool.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	rep, err := h.run(ctx, false, request{Password: pw, Params: h.params})
	if err != nil {
		return "", err
	}
	return rep.PHC, rep.err()
}

// Verify checks pw against phc on the pool; needsRehash is true when phc is weaker than the
// pool's parameters.
func (h *Hasher) Verify(ctx context.Context, pw, phc string) (ok, needsRehash bool, err error) {
	return h.verify(ctx, false, pw, phc)
}

// VerifyTrusted is Verify for a trusted caller: it may take the reserved places and goes first.
func (h *Hasher) VerifyTrusted(ctx context.Context, pw, phc string) (ok, needsRehash bool, err error) {
	return h.verify(ctx, true, pw, phc)
}

func (h *Hasher) verify(ctx context.Context, trusted bool, pw, phc string) (ok, needsRehash bool, err error) {
	rep, err := h.run(ctx, trusted, request{Verify: true, Password: pw, PHC: phc, Params: h.params})
	if err != nil {
		return false, false, err
	}
	return rep.OK, rep.Rehash, rep.err()
}

// VerifyDummy spends what verifying a real hash costs, for sign-ins with an unknown login, so
// response times do not tell which accounts exist.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	h.dummyOnce.Do(func() {
		// The hash of a random value: no password matches it in practice.
		var err error
		h.dummy, err = Hash(string(randomBytes()), h.params)
		if err != nil {
			h.dummy = ""
		}
	})
	if h.dummy == "" {
		return gatehouse.Errorf(gatehouse.EInternal, "could not prepare the dummy hash")
	}
	_, _, err := h.Verify(ctx, pw, h.dummy)
	return err
}
