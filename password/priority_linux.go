package password

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// HashNice is how much lower than the server's own threads a hashing thread runs (nice 10: the
// kernel's weight for it is about a tenth of a normal thread's when both want a core). It is the
// priority a hash keeps where the idle class below cannot be had.
const HashNice = 10

// lowerThreadPriority puts the calling thread only in the kernel's idle scheduling class
// (SCHED_IDLE: a weight of 3 against a normal thread's 1024, so it runs on cores nobody else
// wants), after renicing it by HashNice as a fallback. Both calls take a thread id (0: the
// caller), not the process. Measured with bench/load's open-loop flood (bench/README.md, "Sign-in
// floods, open loop"), the same builds in the same rounds: during a sign-in flood the request
// check kept 0.74 of its quiet throughput (p99 1.85x quiet) with the idle class, 0.64 (2.44x)
// at nice 10 alone, and the world stood stopped less. The price: while checks keep every core busy,
// sign-ins finish about a third fewer hashes. The nice value is relative to the thread's own, so a server started
// under `nice` or systemd's Nice= still hashes below its request handlers. Lowering needs no
// privilege; if either call fails anyway (a seccomp filter), the hash runs at the priority the
// other gave it.
func lowerThreadPriority() {
	cur, err := threadNice()
	if err != nil {
		cur = 0
	}
	nice := min(19, cur+HashNice)
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
	_ = unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE, Nice: int32(nice)}, 0)
}

// threadNice reports the calling thread's nice value (for tests).
func threadNice() (int, error) {
	// The raw syscall returns 20 - nice so that it is never negative (man 2 getpriority).
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	return 20 - p, err
}

// threadIdleClass reports whether the calling thread is in the idle scheduling class (for tests).
func threadIdleClass() (bool, error) {
	a, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return false, err
	}
	return a.Policy == unix.SCHED_IDLE, nil
}
