package password

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Process runs the pool's hashes in a worker process of its own: the same binary started with
// a worker command (cmd/gatehouse: `gatehouse hash-worker`), at a lower scheduling priority, fed
// over a pipe. The pool in the server still decides who may hash and when (queue, trusted
// callers, EBusy); only the Argon2id work moves. Why a process and not only a lowered thread:
// a hash allocates its memory (19 MiB at the default parameters) in the heap of whoever runs it,
// so in the server each sign-in started a garbage-collection cycle of the server's heap, and
// every such cycle stops the world, which has to wait for the lowered hashing thread to be
// given a core before it can stop. During a sign-in flood that made the request checks wait
// 8-12 ms in every second (bench/README.md). In a worker process the hashes' garbage is
// collected by the worker's runtime, whose pauses stop no request.
//
// The worker gets no environment but GOMAXPROCS and GOMEMLIMIT (no secret of the server's
// reaches it), no descriptor but its pipes, and exits when its standard input ends, which is
// also what happens when the server dies. If the worker cannot be started, or stops, a hash
// runs in the server as before and the failure is logged; a worker that died is replaced at
// the next hash, and after a failed start (or a worker that died without answering anything)
// a new start is tried after RestartDelay.
type Process struct {
	path  string
	args  []string
	procs int
	log   *slog.Logger
	now   func() time.Time

	// Name is the worker's argv[0], what ps shows; empty means path. serve starts
	// /proc/self/exe, the very program it runs even if the file was replaced since, and names
	// the worker after the program's path.
	Name string

	callTimeout time.Duration // CallTimeout; shorter in tests
	idleExit    time.Duration // IdleExit; shorter in tests
	memoryLimit int64         // the worker's GOMEMLIMIT in bytes, set by Hasher.Offload; 0: none

	loweredOnce sync.Once   // the warning that the worker could not be lowered, once
	preparing   atomic.Bool // a Prepare is under way

	mu       sync.Mutex
	cur      *worker
	closed   bool
	retryAt  time.Time   // after a failed start: hash here, not in a worker, until then
	inflight int         // calls sent to cur and not answered yet
	idleGen  uint64      // counts idle periods; a retirement timer acts only on its own
	idle     *time.Timer // retires cur when it has been idle for idleExit
}

// IdleExit is how long a worker with nothing to hash lives on. It then exits, and the next hash
// starts a new one: an idle server is one process, with none of the worker's memory. A sign-in
// after a quiet spell would wait for that start (about 35 ms here, bench/README.md) on top of its
// hash, so the sign-in page starts the worker as it is shown (Prepare) and a minute covers the
// typing; a burst of sign-ins, or a flood, keeps one worker running throughout.
const IdleExit = time.Minute

// RestartDelay is how long hashes run in the server after a worker could not be started.
const RestartDelay = 30 * time.Second

// NewProcess returns a Process that starts path with args as its worker, running up to procs
// hashes at once (the worker's GOMAXPROCS). The worker starts with the first hash, or at Start.
func NewProcess(path string, args []string, procs int, log *slog.Logger, now func() time.Time) *Process {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Process{path: path, args: args, procs: max(1, procs), log: log, now: now, callTimeout: CallTimeout, idleExit: IdleExit}
}

// Start starts the worker now, so the first sign-in does not wait for it. Unlike a start on
// demand, a failure here is only returned, not logged: the caller decides what it means.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errClosed
	}
	if p.cur != nil {
		return nil
	}
	w, lowered, err := p.start()
	if err != nil {
		return err
	}
	p.warnNotLowered(lowered)
	p.cur = w
	p.armIdle()
	return nil
}

// warnNotLowered logs, once, that a worker runs at the server's priority.
func (p *Process) warnNotLowered(lowered error) {
	if lowered == nil {
		return
	}
	p.loweredOnce.Do(func() {
		p.log.Warn("could not lower the password hashing process's priority; a sign-in flood will compete with request checks for the cores (a seccomp filter denying setpriority?)", "err", lowered)
	})
}

// Close ends the worker: its input is closed, so it finishes what it is hashing and exits; a
// worker that has not exited after a few seconds is killed.
func (p *Process) Close() error {
	p.mu.Lock()
	w := p.cur
	p.cur, p.closed = nil, true
	p.stopIdle()
	p.mu.Unlock()
	if w == nil {
		return nil
	}
	w.stdin.Close()
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	return nil
}

// PID is the running worker's process id, 0 when none runs (for tests and operators' checks).
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return 0
	}
	return p.cur.cmd.Process.Pid
}

// errClosed is returned for hashes asked of a Process that was closed.
var errClosed = errors.New("password: the hashing process was closed")

// worker returns the running worker, starting one if none runs and no recent start failed.
func (p *Process) worker() (*worker, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errClosed
	}
	if p.cur != nil {
		select {
		case <-p.cur.done:
			// It died between hashes: start a new one now rather than fail this hash over.
			dead := p.cur
			p.cur = nil
			if err := p.stopped(dead, dead.stopErr()); err != nil {
				return nil, err
			}
		default:
			p.busy()
			return p.cur, nil
		}
	}
	if now := p.now(); now.Before(p.retryAt) {
		return nil, fmt.Errorf("password: the hashing process failed to start; next try in %s", p.retryAt.Sub(now).Round(time.Second))
	}
	w, lowered, err := p.start()
	if err != nil {
		p.retryAt = p.now().Add(RestartDelay)
		p.log.Warn("could not start the password hashing process; hashing in the server until it starts", "err", err, "retry_in", RestartDelay)
		return nil, err
	}
	p.warnNotLowered(lowered)
	p.cur = w
	p.busy()
	return w, nil
}

// call runs req in the worker. ok is false when no worker could run it: none could be started,
// or the worker stopped before answering; the caller then computes it itself.
func (p *Process) call(req request) (rep reply, ok bool) {
	w, err := p.worker()
	if err != nil {
		return reply{}, false
	}
	rep, err = w.call(req, p.callTimeout)
	if err != nil {
		// Whatever went wrong, this worker is done with: if it still runs, it ends now.
		_ = w.cmd.Process.Kill()
	}
	p.called(w, err)
	if err != nil {
		return reply{}, false
	}
	return rep, true
}

// called ends the count of a call sent to w, which failed with err if not nil. The idle exit is
// armed on either outcome: inflight counts calls to every worker, so the last call to end may
// be one that failed on a worker since replaced, and the running worker must still be retired.
func (p *Process) called(w *worker, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	if err != nil && p.cur == w {
		p.cur = nil
		_ = p.stopped(w, err)
	}
	p.armIdle()
}

// Prepare makes a worker ready for a hash expected soon (someone opened the sign-in page), in
// the background: it starts one if none runs, and a running one's idle exit is counted again
// from now. So the sign-in that follows does not wait for a worker start, and a worker is not
// started twice when many pages are opened at once.
func (p *Process) Prepare() {
	if !p.preparing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer p.preparing.Store(false)
		if _, err := p.worker(); err != nil {
			return // closed, or a start failed: worker() logged it and the hash runs here
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.inflight--
		p.armIdle()
	}()
}

// busy counts a call about to be sent to p.cur and cancels a pending idle retirement; p.mu is
// held.
func (p *Process) busy() {
	p.inflight++
	p.stopIdle()
}

// stopIdle cancels a pending idle retirement; p.mu is held.
func (p *Process) stopIdle() {
	p.idleGen++ // a timer that has fired already and waits for p.mu does nothing
	if p.idle != nil {
		p.idle.Stop()
		p.idle = nil
	}
}

// armIdle schedules the running worker's retirement if it has nothing to do; p.mu is held.
func (p *Process) armIdle() {
	if p.cur == nil || p.inflight > 0 || p.closed || p.idleExit <= 0 {
		return
	}
	p.stopIdle()
	gen, w := p.idleGen, p.cur
	p.idle = time.AfterFunc(p.idleExit, func() { p.retire(w, gen) })
}

// retire ends worker w after an idle period, unless a call came since: its input is closed and
// it exits, and the next hash starts a new worker, as after Close but without closing p.
func (p *Process) retire(w *worker, gen uint64) {
	p.mu.Lock()
	if p.cur != w || p.idleGen != gen || p.inflight > 0 {
		p.mu.Unlock()
		return
	}
	p.cur, p.idle = nil, nil
	p.mu.Unlock()
	p.log.Debug("the password hashing process exits after being idle", "idle", p.idleExit)
	w.stdin.Close()
}

// stopped logs that worker w stopped, for reason err; p.mu is held. A worker that never
// answered anything counts as a failed start (a binary without the worker command, a sandbox
// that kills it): no new process until RestartDelay has passed, not one per hash, and the
// error returned says so; nil means a new worker may start now.
func (p *Process) stopped(w *worker, err error) error {
	w.mu.Lock()
	answered := w.answered
	w.mu.Unlock()
	if !answered {
		p.retryAt = p.now().Add(RestartDelay)
		p.log.Warn("the password hashing process stopped before answering; hashing in the server until it starts", "err", err, "retry_in", RestartDelay)
		return fmt.Errorf("password: the hashing process stopped before answering: %w", err)
	}
	p.log.Warn("the password hashing process stopped; a new one takes the next hash", "err", err)
	return nil
}

// request is one hash or verification sent to the worker.
type request struct {
	ID       uint64
	Verify   bool
	Password string
	PHC      string // Verify: the stored hash
	Params   Params // Hash: the parameters; Verify: the pool's, for needsRehash
}

// reply is the worker's answer to the request with the same ID.
type reply struct {
	ID        uint64
	PHC       string // Hash
	OK        bool   // Verify: the password matches
	Rehash    bool   // Verify: the stored hash is weaker than Params
	Malformed bool   // Verify: the stored hash is not an Argon2id PHC string (ErrMalformed)
	Err       string // any other failure
}

// compute runs req here: the worker runs it for the server, and the server itself when no
// worker can.
func compute(req request) reply {
	rep := reply{ID: req.ID}
	var err error
	if req.Verify {
		rep.OK, rep.Rehash, err = Verify(req.Password, req.PHC, req.Params)
	} else {
		rep.PHC, err = Hash(req.Password, req.Params)
	}
	switch {
	case errors.Is(err, ErrMalformed):
		rep.Malformed = true
	case err != nil:
		rep.Err = err.Error()
	}
	return rep
}

// err is the failure the reply carries, nil if none.
func (r reply) err() error {
	switch {
	case r.Malformed:
		return ErrMalformed
	case r.Err != "":
		return errors.New(r.Err)
	}
	return nil
}

// worker is one running worker process and the requests waiting for its answers.
type worker struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed once the process has exited and every waiter was told

	wmu sync.Mutex // one request encoded at a time
	enc *gob.Encoder

	mu       sync.Mutex
	next     uint64
	pending  map[uint64]chan reply
	err      error // why the worker stopped; set once
	answered bool  // it has answered a request: it is a working worker, not one that dies at once
}

// CallTimeout bounds how long a caller waits for the worker's answer. A hash takes tens of
// milliseconds; a worker that has not answered in this long is stopped (SIGSTOP, a stall, a
// bug), its callers hash in the server, and a new worker starts for the next hash, instead of
// every pool worker waiting on it forever.
const CallTimeout = 30 * time.Second

// start starts a worker process; lowered is why its priority could not be lowered, if not.
func (p *Process) start() (w *worker, lowered, err error) {
	cmd := exec.Command(p.path, p.args...)
	if p.Name != "" {
		cmd.Args[0] = p.Name
	}
	// Nothing of the server's environment: secrets passed to it in variables stay there.
	cmd.Env = []string{fmt.Sprintf("GOMAXPROCS=%d", p.procs)}
	if p.memoryLimit > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("GOMEMLIMIT=%d", p.memoryLimit))
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		stdin.Close()
		return nil, nil, err
	}
	// A panic in the worker shows where the server's own output goes.
	cmd.Stderr = os.Stderr
	// Descriptors the server was given without close-on-exec (by a supervisor, a shell, socket
	// activation) would otherwise pass to the worker; Go's own are close-on-exec already.
	closeInheritedOnExec()
	lowered, err = startLowPriority(cmd)
	if err != nil {
		return nil, lowered, err
	}
	w = &worker{cmd: cmd, stdin: stdin, done: make(chan struct{}), enc: gob.NewEncoder(stdin), pending: map[uint64]chan reply{}}
	go w.read(stdout)
	return w, lowered, nil
}

// stopErr is why the worker stopped, once it has.
func (w *worker) stopErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// read delivers the worker's answers until its output ends, then fails whatever still waits.
func (w *worker) read(stdout io.Reader) {
	dec := gob.NewDecoder(bufio.NewReader(stdout))
	var err error
	for {
		var rep reply
		if err = dec.Decode(&rep); err != nil {
			break
		}
		w.mu.Lock()
		ch := w.pending[rep.ID]
		delete(w.pending, rep.ID)
		w.answered = true
		w.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
	if err != io.EOF {
		// Output that is not an answer: the worker is broken, and may not be reading either.
		_ = w.cmd.Process.Kill()
	}
	w.stdin.Close()
	werr := w.cmd.Wait()
	if err == io.EOF && werr != nil {
		err = werr
	}
	w.mu.Lock()
	w.err = fmt.Errorf("password: the hashing process stopped: %w", err)
	for id, ch := range w.pending {
		delete(w.pending, id)
		close(ch)
	}
	w.mu.Unlock()
	close(w.done)
}

// call sends req and waits for its answer, or for the worker to stop.
func (w *worker) call(req request, timeout time.Duration) (reply, error) {
	ch := make(chan reply, 1)
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		return reply{}, w.err
	}
	w.next++
	req.ID = w.next
	w.pending[req.ID] = ch
	w.mu.Unlock()

	w.wmu.Lock()
	err := w.enc.Encode(&req)
	w.wmu.Unlock()
	if err != nil {
		w.mu.Lock()
		delete(w.pending, req.ID)
		w.mu.Unlock()
		return reply{}, fmt.Errorf("password: writing to the hashing process: %w", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var rep reply
	var ok bool
	select {
	case rep, ok = <-ch:
	case <-timer.C:
		// Killed, the worker's output ends and read fails every waiter, this one included.
		_ = w.cmd.Process.Kill()
		rep, ok = <-ch
	}
	if !ok {
		w.mu.Lock()
		defer w.mu.Unlock()
		return reply{}, w.err
	}
	return rep, nil
}

// ServeWorker is the worker's side: it answers requests read from r on w until r ends, running
// up to GOMAXPROCS of them at once. It gives the hashes' memory back to the system once it has
// been idle for a second, so an idle worker stays small.
func ServeWorker(r io.Reader, w io.Writer) error {
	dec := gob.NewDecoder(bufio.NewReader(r))
	enc := gob.NewEncoder(w)
	var wmu sync.Mutex
	var werr error
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	var running atomic.Int64
	// One timer, re-armed each time the last running request ends.
	trim := time.AfterFunc(time.Hour, func() {
		if running.Load() == 0 {
			debug.FreeOSMemory()
		}
	})
	trim.Stop()
	var tmu sync.Mutex // Reset from several goroutines at once
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			wg.Wait()
			if errors.Is(err, io.EOF) {
				return werr
			}
			return err
		}
		slots <- struct{}{}
		running.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep := compute(req)
			<-slots
			wmu.Lock()
			if err := enc.Encode(&rep); err != nil && werr == nil {
				werr = err
			}
			wmu.Unlock()
			if running.Add(-1) == 0 {
				tmu.Lock()
				trim.Reset(time.Second)
				tmu.Unlock()
			}
		}()
	}
}
