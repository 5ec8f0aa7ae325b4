package password

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
)

// HashNice is how much lower than the server's own threads a hashing thread runs (nice 10: the
// kernel's weight for it is about a tenth of a normal thread's when both want a core).
const HashNice = 10

// lowerThreadPriority renices the calling thread only: on Linux, setpriority with a thread id
// applies to that thread, not the process. The value is relative to the thread's own, so a
// server started under `nice` or systemd's Nice= still hashes below its request handlers (an
// absolute 10 would equal them at Nice=10). Lowering needs no privilege; if it fails anyway (a
// seccomp filter), the hash runs at normal priority, as it did before.
func lowerThreadPriority() error {
	cur, err := threadNice()
	if err != nil {
		cur = 0
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), min(19, cur+HashNice))
}

// threadNice reports the calling thread's nice value (for tests).
func threadNice() (int, error) {
	// The raw syscall returns 20 - nice so that it is never negative (man 2 getpriority).
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	return 20 - p, err
}

// startLowPriority starts cmd from a thread lowered like a hashing thread: a new process takes
// the nice value of the thread that forks it, and every thread it makes takes its creator's, so
// the whole worker process runs HashNice below the server. The thread stays locked to the
// goroutine, which ends, so the runtime discards it instead of reusing a lowered thread.
// If the thread could not be lowered, the process still starts, and lowered reports why not.
func startLowPriority(cmd *exec.Cmd) (lowered, err error) {
	errc := make(chan error, 2)
	go func() {
		runtime.LockOSThread()
		errc <- lowerThreadPriority()
		errc <- cmd.Start()
	}()
	lowered = <-errc
	return lowered, <-errc
}

// closeInheritedOnExec marks every descriptor above standard error close-on-exec, so a child
// gets only the descriptors its exec.Cmd names.
func closeInheritedOnExec() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
