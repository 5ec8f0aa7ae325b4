package password

import (
	"context"
	"runtime"
	"testing"
	"testing/fstest"
)

// A hash runs on a thread of lower priority, and the caller's thread keeps its own: otherwise a
// lowered thread would go back to the runtime and serve request checks at nice 10.
func TestHashRunsAtLowerPriority(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("hashing threads are reniced on Linux only")
	}
	h := NewHasher(fast, 1, 1)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := threadNice()
	if err != nil {
		t.Fatal(err)
	}
	var inside int
	var ierr error
	runLowPriority(func() { inside, ierr = threadNice() })
	if ierr != nil {
		t.Fatal(ierr)
	}
	if want := min(19, before+HashNice); inside != want {
		t.Errorf("hashing thread runs at nice %d, want %d (caller at %d)", inside, want, before)
	}
	after, _ := threadNice()
	if after != before {
		t.Errorf("caller's thread went from nice %d to %d", before, after)
	}
	// The pool still hashes and verifies.
	phc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(context.Background(), "pw", phc); !ok || err != nil {
		t.Fatalf("verify on the pool: %v %v", ok, err)
	}
}

func TestCgroupCPUs(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  int
	}{
		{"v2 1.5 cores", map[string]string{"sys/fs/cgroup/cpu.max": "150000 100000\n"}, 2},
		{"v2 one core", map[string]string{"sys/fs/cgroup/cpu.max": "100000 100000\n"}, 1},
		{"v2 half a core", map[string]string{"sys/fs/cgroup/cpu.max": "50000 100000\n"}, 1},
		{"v2 unlimited", map[string]string{"sys/fs/cgroup/cpu.max": "max 100000\n"}, 0},
		{"v2 garbage", map[string]string{"sys/fs/cgroup/cpu.max": "\n"}, 0},
		{"v1 4 cores", map[string]string{"sys/fs/cgroup/cpu/cpu.cfs_quota_us": "400000\n", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"}, 4},
		{"v1 unlimited", map[string]string{"sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"}, 0},
		{"none", map[string]string{}, 0},
	} {
		fsys := fstest.MapFS{}
		for k, v := range c.files {
			fsys[k] = &fstest.MapFile{Data: []byte(v)}
		}
		if got := cgroupCPUs(fsys); got != c.want {
			t.Errorf("%s: %d CPUs, want %d", c.name, got, c.want)
		}
	}
	if n := CPUs(); n < 1 || n > runtime.NumCPU() {
		t.Errorf("CPUs() = %d with %d CPUs", n, runtime.NumCPU())
	}
}

// The core count follows the operator's GOMAXPROCS variable, not the runtime's value, which
// serve raises: otherwise each serve in one process would count the last one's raise.
func TestCPUsFromTheVariable(t *testing.T) {
	for _, c := range []struct {
		online     int
		gomaxprocs string
		quota      int
		want       int
	}{
		{8, "", 0, 8},
		{8, "3", 0, 3},
		{8, "16", 0, 8}, // above the CPUs there are: the CPUs
		{8, "", 2, 2},
		{8, "6", 2, 2},
		{8, "junk", 0, 8},
		{8, "0", 0, 8},
	} {
		if got := cpus(c.online, c.gomaxprocs, c.quota); got != c.want {
			t.Errorf("cpus(%d, %q, %d) = %d, want %d", c.online, c.gomaxprocs, c.quota, got, c.want)
		}
	}
	before := CPUs()
	prev := runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 5)
	defer runtime.GOMAXPROCS(prev)
	if after := CPUs(); after != before {
		t.Errorf("raising GOMAXPROCS moved CPUs() from %d to %d", before, after)
	}
}
