// Command load is gatehouse's load harness. It builds and starts a real gatehouse server and a
// bare net/http baseline as separate processes on loopback, drives both with the same load
// generator over the same number of keep-alive connections, and prints a table of absolute
// figures and ratios against the baseline measured in the same run (these machines are noisy,
// so only ratios from one run mean anything).
//
//	go run ./bench/load                      # request check, sign-in, flood, start-up
//	go run ./bench/load -scale 1000000       # also 1,000 vs 1,000,000 users and sessions
//	go run ./bench/load -flood-only          # the open-loop and closed-loop sign-in floods only
//
// Every address is on 127.0.0.1; every loop is bounded in count and time.
package main

import (
	"github.com/gatehouse/gatehouse/internal/accesstest"

	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/postgres"
	"github.com/gatehouse/gatehouse/sqlite"
)

const benchPW = "bench password 123"

func main() {
	baseline := flag.String("baseline-listen", "", "internal: serve the bare baseline handler on this address")
	dur := flag.Duration("duration", 5*time.Second, "how long each request-check case runs in all")
	checkOnly := flag.Bool("check-only", false, "measure start-up and the request check only")
	rounds := flag.Int("rounds", 5, "request-check cases take turns this many times, each for duration/rounds")
	conns := flag.Int("conns", 16, "concurrent keep-alive connections of the load generator")
	flood := flag.Int("flood", 200, "concurrent sign-ins in the closed-loop flood case (0 skips)")
	scale := flag.Int("scale", 0, "users and sessions for the scale case (0 skips it; the issue's figure is 1000000)")
	pgDSN := flag.String("postgres", os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN"), "PostgreSQL DSN for the scale case (empty: SQLite only)")
	var o options
	flag.IntVar(&o.wrkRounds, "wrk-rounds", 3, "rounds of wrk -t1 -c32 against the bare handler, Bearer and cookie (0 skips; skipped without wrk)")
	flag.DurationVar(&o.wrkDuration, "wrk-duration", 8*time.Second, "each wrk run's -d")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "the server writes its CPU profile here (serve --cpuprofile); with -check-only it covers the request check alone")
	flag.StringVar(&o.serverProcs, "server-gomaxprocs", "", "GOMAXPROCS for the server process only (experiments)")
	flag.Var(&o.serverEnv, "server-env", "KEY=VALUE in the environment of the gatehouse servers measured (repeatable, or comma-separated; experiments: GOGC=400,GOMEMLIMIT=200MiB)")
	flag.Var(&o.baselineEnv, "baseline-env", "KEY=VALUE in the environment of the bare handler's process only (repeatable; experiments)")
	flag.StringVar(&o.bin, "bin", "", "a gatehouse binary to run instead of building ./cmd/gatehouse (before/after comparisons)")
	flag.StringVar(&o.bin, "server-bin", "", "the same as -bin")
	flag.BoolVar(&o.provider, "provider", true, "measure the OpenID Provider's cases after the request check")
	flag.BoolVar(&o.keepDir, "keep-dir", false, "keep the working directory (server logs, databases) and print its name")
	flag.StringVar(&o.compareBin, "compare-bin", "", "with -flood-only: another gatehouse binary whose open-loop flood case runs in the same rounds, server after server")
	flag.DurationVar(&o.mixedDuration, "mixed", 10*time.Second, "verify-only and the 80/15/5 mix, in all (0 skips)")
	flag.StringVar(&o.redisURL, "redis", os.Getenv("GATEHOUSE_TEST_REDIS_URL"), "Redis URL for counting Redis commands per operation (empty: the in-memory limiter)")
	flag.IntVar(&o.flood.rate, "flood-rate", 200, "open-loop flood case: sign-ins (and control GET /healthz) per second, several times the hashing pool's capacity (0 skips)")
	flag.IntVar(&o.flood.rounds, "flood-rounds", 3, "open-loop flood case: rounds of quiet, sign-in flood and control flood")
	flag.DurationVar(&o.flood.phase, "flood-phase", 4*time.Second, "open-loop flood case: each phase's length")
	flag.IntVar(&o.flood.probeConns, "flood-probe-conns", 4, "open-loop flood case: closed-loop connections measuring the request check")
	flag.BoolVar(&o.floodOnly, "flood-only", false, "measure the floods only (open-loop, then the closed-loop -flood case), and the mixed load unless -mixed 0")
	flag.Parse()
	o.flood.maxFlight, o.flood.seq = 256, new(atomic.Int64)
	if *baseline != "" {
		serveBaseline(*baseline)
		return
	}
	if err := run(*dur, max(1, *rounds), *conns, *flood, *scale, *pgDSN, *checkOnly, o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// serveBaseline answers every request like a successful forward-auth check would.
func serveBaseline(addr string) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Remote-User"] = []string{"alice"}
		h["Remote-Email"] = []string{"alice@example.com"}
		h["Remote-Name"] = []string{"alice"}
		h["Remote-Groups"] = []string{"admin"}
		h["Cache-Control"] = []string{"no-store"}
		w.WriteHeader(http.StatusOK)
	})
	// The same server limits as gatehouse's own (cmd/gatehouse/serve.go), so the comparison is
	// of handlers, not of timeout bookkeeping.
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type report struct{ rows [][]string }

func (r *report) add(cells ...string) { r.rows = append(r.rows, cells) }

func (r *report) print(title string) {
	// The load average with every table: other work on the machine moves these figures more
	// than most changes to gatehouse do.
	fmt.Printf("\n### %s\n\n%s, load average %s\n\n", title, time.Now().UTC().Format(time.TimeOnly), loadAvg())
	for i, row := range r.rows {
		fmt.Println("| " + strings.Join(row, " | ") + " |")
		if i == 0 {
			fmt.Println("|" + strings.Repeat("---|", len(row)))
		}
	}
	r.rows = nil
}

// options are the cases added after run's first signature.
type options struct {
	wrkRounds                  int
	wrkDuration, mixedDuration time.Duration
	cpuProfile, serverProcs    string
	compareBin                 string
	keepDir                    bool
	redisURL                   string
	serverEnv, baselineEnv     envFlag
	provider                   bool
	bin                        string
	flood                      floodPlan
	floodOnly                  bool
}

// envFlag collects repeated KEY=VALUE flags.
type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, " ") }
func (e *envFlag) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	*e = append(*e, strings.Split(v, ",")...)
	return nil
}

func run(dur time.Duration, rounds, conns, flood, scale int, pgDSN string, checkOnly bool, o options) error {
	dir, err := os.MkdirTemp("", "gatehouse-load-")
	if err != nil {
		return err
	}
	if o.keepDir {
		fmt.Printf("working directory (kept): %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(dir, "gatehouse")
		build := exec.Command("go", "build", "-o", bin, "./cmd/gatehouse")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building gatehouse (run from the repository root): %w", err)
		}
	}
	fmt.Printf("# gatehouse load harness\n\n%s, %d CPUs, GOMAXPROCS %d, %s; %d connections, %s per case\n",
		time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), conns, dur)
	var r report

	// Start-up and idle memory on an empty SQLite store.
	// With -server-env too: a setting meant for the request check's server must show its idle
	// memory as well.
	gh, err := startGatehouseWith(bin, filepath.Join(dir, "empty"), "sqlite", "", nil, o.serverEnv)
	if err != nil {
		return err
	}
	r.add("measure", "value", "target")
	r.add("start-up to ready (empty SQLite)", ms(gh.startup), "< 300 ms")
	time.Sleep(500 * time.Millisecond)
	// Both processes map the same program, so RSS counts its pages twice; PSS, like a
	// container's memory accounting, once.
	r.add("idle memory (RSS, server + hash worker)", mib(gh.rss()), "")
	r.add("idle memory (PSS, server + hash worker)", mib(gh.pss()), "")
	r.add("processes (server and children)", strconv.Itoa(len(gh.family())), "")
	// The worker started with the server exits after password.IdleExit without work; an idle
	// server is then one process.
	waitIdleExit(gh)
	r.add("idle memory after the worker's idle exit (RSS)", mib(gh.rss()), "")
	r.add("idle memory after the worker's idle exit (PSS)", mib(gh.pss()), "< 40 MiB")
	r.add("processes after the idle exit", strconv.Itoa(len(gh.family())), "")
	r.print("Start-up")

	// Request check against the baseline, on a server of its own (profiled when asked).
	gh.stop()
	var args, env []string
	if o.cpuProfile != "" {
		abs, err := filepath.Abs(o.cpuProfile)
		if err != nil {
			return err
		}
		args = append(args, "--cpuprofile", abs)
	}
	if o.serverProcs != "" {
		env = append(env, "GOMAXPROCS="+o.serverProcs)
	}
	env = append(env, o.serverEnv...)
	gh, err = startGatehouseWith(bin, filepath.Join(dir, "main"), "sqlite", "", args, env)
	if err != nil {
		return err
	}
	base, err := startBaseline(o.baselineEnv)
	if err != nil {
		gh.stop()
		return err
	}
	defer base.stop()
	access, cookie, err := gh.setup()
	if err != nil {
		gh.stop()
		return err
	}
	if o.floodOnly {
		// Sign-ins next to request checks only: the floods, and the mixed load, whose sign-ins
		// show what the hashing's lower priority costs them while checks keep the cores busy.
		targets := []floodTarget{{"this build", gh, access}}
		if o.compareBin != "" {
			// Another build, measured in the same rounds as this one (the open-loop flood only).
			gh2, err := startGatehouseWith(o.compareBin, filepath.Join(dir, "compare"), "sqlite", "", nil, env)
			if err != nil {
				gh.stop()
				return err
			}
			defer gh2.stop()
			access2, _, err := gh2.setup()
			if err != nil {
				gh.stop()
				return err
			}
			targets = append(targets, floodTarget{"compared: " + o.compareBin, gh2, access2})
		}
		floodCases(&r, targets, flood, o.flood)
		if o.mixedDuration > 0 {
			mixedCase(&r, gh, access, cookie, conns, rounds, o.mixedDuration)
		}
		gh.stop()
		return nil
	}
	verify := gh.url + "/api/auth/verify"
	// The three cases take turns in rounds, so a change in the machine's load while the harness
	// runs falls on all of them alike instead of on whichever case ran at the time.
	var bareR, bearerR, ckR []result
	for range rounds {
		bareR = append(bareR, base.timed(func() result { return load(base.url+"/api/auth/verify", nil, conns, dur/time.Duration(rounds)) }))
		bearerR = append(bearerR, gh.timed(func() result {
			return load(verify, http.Header{"Authorization": {"Bearer " + access}}, conns, dur/time.Duration(rounds))
		}))
		ckR = append(ckR, gh.timed(func() result {
			return load(verify, http.Header{"Cookie": {"gatehouse_session=" + cookie}}, conns, dur/time.Duration(rounds))
		}))
	}
	bare, bearer, ck := merge(bareR), merge(bearerR), merge(ckR)
	r.add("case", "req/s", "p50", "p99", "errors", "req/s vs bare", "p99 vs bare", "server CPU per request", "CPU vs bare", "median of rounds: req/s, p99, CPU vs bare")
	for _, c := range []struct {
		name string
		res  result
		rs   []result
	}{{"bare net/http handler", bare, bareR}, {"verify, Bearer token", bearer, bearerR}, {"verify, session cookie", ck, ckR}} {
		r.add(c.name, fmt.Sprintf("%.0f", c.res.rps), us(c.res.p50), us(c.res.p99), strconv.Itoa(c.res.errors),
			fmt.Sprintf("%.2f", c.res.rps/bare.rps), fmt.Sprintf("%.2f", float64(c.res.p99)/float64(bare.p99)),
			fmt.Sprintf("%.1f µs", c.res.cpuPerReq()), fmt.Sprintf("%.2f", c.res.cpuPerReq()/bare.cpuPerReq()), roundRatios(c.rs, bareR))
	}
	r.print("Request check (target: req/s ratio >= 0.9, p99 ratio <= 1.5)")
	if err := rulesCase(gh, base, &r, access, cookie, conns, rounds, dur); err != nil {
		gh.stop()
		return err
	}
	fmt.Printf("\nserver peak memory (VmHWM) after the request check: %s\n", mib(gh.peak()))
	if o.provider {
		if err := opCases(gh, access, cookie, conns, dur, bearer, &r); err != nil {
			gh.stop()
			return err
		}
	}
	if o.wrkRounds > 0 {
		wrkRounds(&r, base, gh, access, cookie, o.wrkRounds, o.wrkDuration)
	}
	if checkOnly {
		gh.stop()
		return nil
	}

	// Sign-in overhead beyond one Argon2id verification: each sign-in is paired with a hash
	// timed here just before it, and the median of the differences is reported, so a change in
	// the machine's speed during the run falls on both halves of each pair.
	p := password.DefaultParams()
	phc, err := password.Hash(benchPW, p)
	if err != nil {
		gh.stop()
		return err
	}
	var hashes, logins, diffs []time.Duration
	for i := range 31 {
		t0 := time.Now()
		_, _, _ = password.Verify(benchPW, phc, p)
		hd := time.Since(t0)
		t0 = time.Now()
		st, _, err := gh.login("alice", adminPW, ipFor(i))
		if err != nil || st != 200 {
			gh.stop()
			return fmt.Errorf("sign-in %d: status %d %v", i, st, err)
		}
		ld := time.Since(t0)
		hashes, logins, diffs = append(hashes, hd), append(logins, ld), append(diffs, ld-hd)
	}
	r.add("measure", "value")
	r.add("one Argon2id verification (m=19 MiB, t=2, p=1), median", ms(median(hashes)))
	r.add("POST /api/auth/login, median", ms(median(logins)))
	r.add("server overhead beyond the hash (median of 31 paired differences)", ms(median(diffs))+" (target < 5 ms; go test -bench SignInOverhead ./http/ measures it without the hash)")
	r.print("Sign-in")

	if o.mixedDuration > 0 {
		mixedCase(&r, gh, access, cookie, conns, rounds, o.mixedDuration)
	}

	floodCases(&r, []floodTarget{{"this build", gh, access}}, flood, o.flood)
	gh.stop()
	if err := countsCase(&r, bin, dir, o.redisURL); err != nil {
		return err
	}

	if scale > 0 {
		backends := []string{"sqlite"}
		if pgDSN != "" {
			backends = append(backends, "postgres")
		}
		r.add("backend", "users = sessions", "sign-in", "refresh", "check, cold cache", "check, warm cache")
		for _, b := range backends {
			small, err := scaleCase(bin, dir, b, pgDSN, 1000)
			if err != nil {
				return err
			}
			big, err := scaleCase(bin, dir, b, pgDSN, scale)
			if err != nil {
				return err
			}
			r.add(b, "1,000", ms(small.login), ms(small.refresh), us(small.cold), us(small.warm))
			r.add(b, strconv.Itoa(scale), ms(big.login), ms(big.refresh), us(big.cold), us(big.warm))
			r.add(b, "ratio", ratio(big.login, small.login), ratio(big.refresh, small.refresh), ratio(big.cold, small.cold), ratio(big.warm, small.warm))
		}
		r.print("Scale (medians; target: ratios <= 1.3)")
	}
	return nil
}

// floodCases runs the open-loop flood case (unless plan.rate is 0), then the closed-loop one: n
// connections sending sign-ins as fast as answers come back while request checks run.
func floodCases(r *report, targets []floodTarget, flood int, plan floodPlan) {
	if plan.rate > 0 {
		openFloodCase(r, targets, plan)
		signInCapacity(r, targets, plan)
	}
	gh, access := targets[0].gh, targets[0].access
	if flood <= 0 {
		return
	}
	verify := gh.url + "/api/auth/verify"
	probeConns := 4
	quiet := load(verify, http.Header{"Authorization": {"Bearer " + access}}, probeConns, 3*time.Second)
	probe := func() result {
		return load(verify, http.Header{"Authorization": {"Bearer " + access}}, probeConns, 5*time.Second)
	}
	// The control floods the same number of connections with GET /healthz, which costs the
	// server almost nothing: what it does to the probe is what the machine (the load
	// generator shares its cores) imposes on any flood, sign-in or not.
	ctl := gh.flood(flood, 5*time.Second, "/healthz", probe)
	fl := gh.flood(flood, 5*time.Second, "/api/auth/login", probe)
	workers := password.DefaultWorkers()
	bound := uint64(workers)*19<<20 + 100<<20
	r.add("measure", "value", "target")
	r.add("sign-in answers (200 / 401 / 429 / 503 / other)", fmt.Sprintf("%d / %d / %d / %d / %d", fl.status[200], fl.status[401], fl.status[429], fl.status[503], fl.other), "429 or 503 instead of unbounded queueing")
	r.add("slowest sign-in answer", ms(fl.maxLatency), "bounded")
	r.add("peak server memory (VmHWM)", mib(gh.peak()), fmt.Sprintf("<= %s (%d workers x 19 MiB + 100 MiB)", mib(bound), workers))
	r.add("request-check p99, quiet / during flood", us(quiet.p99)+" / "+us(fl.probe.p99), fmt.Sprintf("ratio %.2f (<= 2)", float64(fl.probe.p99)/float64(quiet.p99)))
	r.add("control: request-check p99 during an equal flood of GET /healthz", us(ctl.probe.p99), fmt.Sprintf("ratio %.2f to quiet", float64(ctl.probe.p99)/float64(quiet.p99)))
	r.print(fmt.Sprintf("Flood of %d concurrent sign-ins", flood))
}

const adminPW = "correct horse battery"

// ipFor gives each sign-in its own client address (documentation ranges, never contacted), so
// the per-IP limit does not hide the cost being measured. The server believes X-Forwarded-For
// because the harness connects from loopback, a default trusted proxy.
func ipFor(i int) string { return fmt.Sprintf("198.51.%d.%d", (i/250)%250, i%250+1) }

type proc struct {
	cmd     *exec.Cmd
	url     string
	startup time.Duration
	client  *http.Client
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// status is a /proc/PID/status field in bytes, summed over the server and its children: serve
// hashes in a child process (gatehouse hash-worker), whose memory is the server's cost too.
func (p *proc) status(field string) uint64 { return p.kB("status", field) }

// kB sums a "Field: N kB" line of /proc/PID/<file> over the server and its children.
func (p *proc) kB(file, field string) uint64 {
	var sum uint64
	for _, pid := range p.family() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, field+":"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				sum += kb << 10
			}
		}
	}
	return sum
}

// waitIdleExit waits until p runs without children, at most password.IdleExit and a few seconds.
func waitIdleExit(p *proc) {
	deadline := time.Now().Add(password.IdleExit + 5*time.Second)
	for len(p.family()) > 1 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the memory it gave back settles
}

// family is the server's process id and its children's (/proc/PID/task/TID/children).
func (p *proc) family() []int {
	pid := p.cmd.Process.Pid
	pids := []int{pid}
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				pids = append(pids, c)
			}
		}
	}
	return pids
}

func (p *proc) rss() uint64 { return p.status("VmRSS") }

// pss is the proportional set size of the server and its children (/proc/PID/smaps_rollup):
// the program's pages, which both map, count once between them, where RSS counts them twice.
func (p *proc) pss() uint64 { return p.kB("smaps_rollup", "Pss") }

// cpuTime is the user + system CPU time so far of the server, its children, and its children
// that have ended (/proc/PID/stat, in clock ticks of 10 ms, the USER_HZ of Linux on every
// architecture Go supports).
func (p *proc) cpuTime() time.Duration {
	var ticks int64
	for i, pid := range p.family() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses and may hold spaces.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 15 {
			continue
		}
		fields := []int{11, 12} // utime, stime
		if i == 0 {
			fields = append(fields, 13, 14) // cutime, cstime: children waited for
		}
		for _, k := range fields {
			n, _ := strconv.ParseInt(f[k], 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// threadCPU is each live thread's user + system CPU time (/proc/PID/task/TID/stat).
func (p *proc) threadCPU() map[string]time.Duration {
	dir := fmt.Sprintf("/proc/%d/task", p.cmd.Process.Pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	m := make(map[string]time.Duration, len(ents))
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		m[e.Name()] = time.Duration(ut+st) * 10 * time.Millisecond
	}
	return m
}

// cpuOfLasting is the CPU time between two threadCPU readings of the threads still alive at the
// second: a hashing thread ends with its hash (password.runLowPriority), so this is the
// server's CPU time apart from hashing, to within the one hash running at the second reading.
func cpuOfLasting(before, after map[string]time.Duration) time.Duration {
	var d time.Duration
	for tid, t := range after {
		d += t - before[tid]
	}
	return d
}

// timed runs a load case and records the process's CPU time during it.
func (p *proc) timed(fn func() result) result {
	c0, t0 := p.cpuTime(), p.threadCPU()
	res := fn()
	res.cpu = p.cpuTime() - c0
	res.cpuLasting = cpuOfLasting(t0, p.threadCPU())
	return res
}

func (r result) cpuPerReq() float64 {
	if len(r.lats) == 0 {
		return 0
	}
	return float64(r.cpu) / float64(time.Microsecond) / float64(len(r.lats))
}
func (p *proc) peak() uint64 { return p.status("VmHWM") }

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func startBaseline(env []string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-baseline-listen", addr)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	p := &proc{cmd: cmd, url: "http://" + addr, client: &http.Client{Timeout: 10 * time.Second}}
	return p, p.waitReady("/")
}

// startGatehouse runs `gatehouse serve` in dir; it writes its own config with fresh secrets.
func startGatehouse(bin, dir, driver, dsn string) (*proc, error) {
	return startGatehouseWith(bin, dir, driver, dsn, nil, nil)
}

// startGatehouseWith is startGatehouse with more serve flags and environment.
func startGatehouseWith(bin, dir, driver, dsn string, args, env []string) (*proc, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if dsn == "" {
		dsn = filepath.Join(dir, "gatehouse.db")
	}
	cmd := exec.Command(bin, append([]string{"serve", "--config", filepath.Join(dir, "gatehouse.toml"), "--listen", addr}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GATEHOUSE_LOG_LEVEL=error",
		"GATEHOUSE__SERVER__PUBLIC_URL=http://"+addr,
		"GATEHOUSE__DATABASE__DRIVER="+driver,
		"GATEHOUSE__DATABASE__DSN="+dsn,
		"GATEHOUSE__AUTH__BOOTSTRAP_INSECURE_COOKIES=true",
	)
	cmd.Env = append(cmd.Env, env...)
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	p := &proc{cmd: cmd, url: "http://" + addr, client: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	if err := p.waitReady("/readyz"); err != nil {
		log, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, log)
	}
	return p, nil
}

func (p *proc) waitReady(path string) error {
	t0 := time.Now()
	if err := p.cmd.Start(); err != nil {
		return err
	}
	for time.Since(t0) < 20*time.Second {
		resp, err := p.client.Get(p.url + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				p.startup = time.Since(t0)
				return nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	p.stop()
	return errors.New("the server did not become ready within 20 s")
}

func (p *proc) post(path string, body any, hdr http.Header) (int, map[string]any, http.Header, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", p.url+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, resp.Header, nil
}

// setup creates the first administrator and returns an access token and a session cookie.
func (p *proc) setup() (access, cookie string, err error) {
	st, m, h, err := p.post("/api/setup/admin", map[string]string{"username": "alice", "email": "alice@example.com", "password": adminPW}, nil)
	if err != nil || st != 201 {
		return "", "", fmt.Errorf("setup: status %d %v %v", st, m, err)
	}
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "gatehouse_session" {
			cookie = c.Value
		}
	}
	access, _ = m["access_token"].(string)
	return access, cookie, nil
}

func (p *proc) login(login, pw, ip string) (int, map[string]any, error) {
	st, m, _, err := p.post("/api/auth/login", map[string]string{"login": login, "password": pw}, http.Header{"X-Forwarded-For": {ip}})
	return st, m, err
}

type result struct {
	// cpu is the server process's CPU time (user + system) during the case: on a machine shared
	// with other work, CPU per request moves far less than requests per second do.
	cpu time.Duration
	// cpuLasting is the CPU time of the server's threads alive at the end: without hashing
	// threads (which end with their hash) and without the hash worker process.
	cpuLasting time.Duration
	rps        float64
	p50, p99   time.Duration
	errors     int
	lats       []time.Duration // sorted
	elapsed    time.Duration
}

// roundRatios is the median over rounds of each round's ratios to the bare handler's run in the
// same round: req/s, p99 and server CPU per request. Merged rounds weigh a round by its
// requests, so one round in which the machine favoured one process moves the merged ratio; the
// median of per-round ratios moves less.
func roundRatios(rs, bare []result) string {
	var rps, p99, cpu []float64
	for i, x := range rs {
		b := bare[i]
		if b.rps == 0 || b.p99 == 0 || b.cpuPerReq() == 0 {
			continue
		}
		rps, p99, cpu = append(rps, x.rps/b.rps), append(p99, float64(x.p99)/float64(b.p99)), append(cpu, x.cpuPerReq()/b.cpuPerReq())
	}
	return fmt.Sprintf("%.2f, %.2f, %.2f", medianF(rps), medianF(p99), medianF(cpu))
}

// merge combines rounds of one case: requests over total time, percentiles over all requests.
func merge(rs []result) result {
	var m result
	for _, r := range rs {
		m.lats = append(m.lats, r.lats...)
		m.elapsed += r.elapsed
		m.errors += r.errors
		m.cpu += r.cpu
	}
	slices.Sort(m.lats)
	if len(m.lats) > 0 {
		m.rps = float64(len(m.lats)) / m.elapsed.Seconds()
		m.p50 = m.lats[len(m.lats)/2]
		m.p99 = m.lats[len(m.lats)*99/100]
	}
	return m
}

// load sends GET url over conns keep-alive connections for d and measures every request.
func load(target string, hdr http.Header, conns int, d time.Duration) result {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	u, _ := url.Parse(target)
	var wg sync.WaitGroup
	lats := make([][]time.Duration, conns)
	var errs atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	for c := range conns {
		wg.Go(func() {
			req := &http.Request{Method: "GET", URL: u, Header: hdr.Clone(), Host: u.Host}
			if req.Header == nil {
				req.Header = http.Header{}
			}
			l := make([]time.Duration, 0, 1<<16)
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs.Add(1)
				}
				l = append(l, time.Since(t0))
			}
			lats[c] = l
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lats...)
	slices.Sort(all)
	res := result{errors: int(errs.Load()), lats: all, elapsed: elapsed}
	if len(all) > 0 {
		res.rps = float64(len(all)) / elapsed.Seconds()
		res.p50 = all[len(all)/2]
		res.p99 = all[len(all)*99/100]
	}
	return res
}

type floodResult struct {
	status     map[int]int
	other      int
	maxLatency time.Duration
	probe      result
}

// flood keeps n sign-ins in flight for d (unknown accounts, each from its own address, so
// every attempt costs a hash and no rate limit stops it first) while probe measures request
// checks.
func (p *proc) flood(n int, d time.Duration, path string, probe func() result) floodResult {
	var mu sync.Mutex
	fr := floodResult{status: map[int]int{}}
	var wg sync.WaitGroup
	var seq atomic.Int64
	deadline := time.Now().Add(d)
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	for range n {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				i := int(seq.Add(1))
				var req *http.Request
				if path == "/api/auth/login" {
					b, _ := json.Marshal(map[string]string{"login": fmt.Sprintf("nobody%d", i), "password": "wrong password"})
					req, _ = http.NewRequest("POST", p.url+path, bytes.NewReader(b))
					req.Header.Set("Content-Type", "application/json")
				} else {
					req, _ = http.NewRequest("GET", p.url+path, nil)
				}
				req.Header.Set("X-Forwarded-For", ipFor(i))
				t0 := time.Now()
				resp, err := client.Do(req)
				lat := time.Since(t0)
				mu.Lock()
				if lat > fr.maxLatency {
					fr.maxLatency = lat
				}
				if err != nil {
					fr.other++
				} else {
					fr.status[resp.StatusCode]++
				}
				mu.Unlock()
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // let the flood build up before measuring
	fr.probe = probe()
	wg.Wait()
	return fr
}

type scaleResult struct{ login, refresh, cold, warm time.Duration }

// scaleCase seeds n users with n live sessions straight into a fresh database, starts
// gatehouse on it and measures sign-in, refresh and the cookie check with a cold and a warm
// cache.
func scaleCase(bin, dir, backend, pgDSN string, n int) (scaleResult, error) {
	var res scaleResult
	caseDir := filepath.Join(dir, fmt.Sprintf("scale-%s-%d", backend, n))
	if err := os.MkdirAll(caseDir, 0o700); err != nil {
		return res, err
	}
	dsn := filepath.Join(caseDir, "gatehouse.db")
	ctx := context.Background()
	phc, err := password.Hash(benchPW, password.DefaultParams())
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	switch backend {
	case "sqlite":
		s, err := sqlite.Open(ctx, dsn)
		if err != nil {
			return res, err
		}
		_ = s.Close()
		err = seedSQLite(dsn, n, phc)
		if err != nil {
			return res, err
		}
	case "postgres":
		schema := fmt.Sprintf("gh_load_%d_%d", n, time.Now().UnixNano()%1e6)
		dsn, err = pgSchema(ctx, pgDSN, schema)
		if err != nil {
			return res, err
		}
		defer dropSchema(pgDSN, schema)
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			return res, err
		}
		_ = s.Close()
		if err := seedPostgres(ctx, dsn, n, phc); err != nil {
			return res, err
		}
	}
	fmt.Fprintf(os.Stderr, "seeded %d users and sessions in %s in %s\n", n, backend, time.Since(t0).Round(time.Second))
	gh, err := startGatehouse(bin, caseDir, backend, dsn)
	if err != nil {
		return res, err
	}
	defer gh.stop()

	const samples = 25
	var logins, refreshes []time.Duration
	var refreshTokens []string
	for i := range samples {
		u := rand.IntN(n) + 1
		t0 := time.Now()
		st, m, err := gh.login(fmt.Sprintf("u%d", u), benchPW, ipFor(i))
		if err != nil || st != 200 {
			return res, fmt.Errorf("scale sign-in: %d %v %v", st, m, err)
		}
		logins = append(logins, time.Since(t0))
		rt, _ := m["refresh_token"].(string)
		refreshTokens = append(refreshTokens, rt)
	}
	for _, rt := range refreshTokens {
		t0 := time.Now()
		st, m, _, err := gh.post("/api/auth/refresh", map[string]string{"refresh_token": rt}, nil)
		if err != nil || st != 200 {
			return res, fmt.Errorf("scale refresh: %d %v %v", st, m, err)
		}
		refreshes = append(refreshes, time.Since(t0))
	}
	// Cookies of seeded sessions spread over the whole table, each checked twice: first on a
	// cold cache (a database lookup), then warm.
	picks := make([]int, 200)
	for i := range picks {
		picks[i] = rand.IntN(n) + 1
	}
	check := func() ([]time.Duration, error) {
		var l []time.Duration
		for _, s := range picks {
			req, _ := http.NewRequest("GET", gh.url+"/api/auth/verify", nil)
			req.Header.Set("Cookie", "gatehouse_session="+sessionToken(s))
			t0 := time.Now()
			resp, err := gh.client.Do(req)
			if err != nil {
				return nil, err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return nil, fmt.Errorf("scale check: status %d", resp.StatusCode)
			}
			l = append(l, time.Since(t0))
		}
		return l, nil
	}
	cold, err := check()
	if err != nil {
		return res, err
	}
	warm, err := check()
	if err != nil {
		return res, err
	}
	return scaleResult{login: median(logins), refresh: median(refreshes), cold: median(cold), warm: median(warm)}, nil
}

// sessionToken is the cookie of seeded session i; only its SHA-256 is stored, as for real ones.
func sessionToken(i int) string { return fmt.Sprintf("load-harness-session-%09d", i) }

func tokenHash(i int) []byte {
	h := sha256.Sum256([]byte(sessionToken(i)))
	return h[:]
}

func seedSQLite(path string, n int, phc string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=foreign_keys(OFF)")
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	now := time.Now().UTC()
	us := now.UnixMicro()
	exp := now.Add(13 * 24 * time.Hour).UnixMicro()
	ui, err := tx.Prepare(`INSERT INTO users (id, username, email, role, email_verified, password_hash, created_at, updated_at) VALUES ($1, $2, $3, 'user', 1, $4, $5, $5)`)
	if err != nil {
		return err
	}
	si, err := tx.Prepare(`INSERT INTO sessions (id, user_id, token_hash, auth_method, created_at, last_seen_at, expires_at, access_exp_max) VALUES ($1, $2, $3, 'password', $4, $4, $5, $4)`)
	if err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		if _, err := ui.Exec(i, fmt.Sprintf("u%d", i), fmt.Sprintf("u%d@load.example", i), phc, us); err != nil {
			return err
		}
		if _, err := si.Exec(fmt.Sprintf("load-%d", i), i, tokenHash(i), us, exp); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func pgSchema(ctx context.Context, base, schema string) (string, error) {
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func dropSchema(base, schema string) {
	ctx := context.Background()
	if c, err := pgx.Connect(ctx, base); err == nil {
		_, _ = c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		_ = c.Close(ctx)
	}
}

func seedPostgres(ctx context.Context, dsn string, n int, phc string) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	now := time.Now().UTC()
	exp := now.Add(13 * 24 * time.Hour)
	_, err = c.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "username", "email", "role", "email_verified", "password_hash", "created_at", "updated_at"},
		pgx.CopyFromFunc(rowsOf(n, func(i int) []any {
			return []any{int64(i), fmt.Sprintf("u%d", i), fmt.Sprintf("u%d@load.example", i), "user", true, phc, now, now}
		})))
	if err != nil {
		return err
	}
	if _, err := c.Exec(ctx, fmt.Sprintf("SELECT setval(pg_get_serial_sequence('users', 'id'), %d)", n)); err != nil {
		return err
	}
	_, err = c.CopyFrom(ctx, pgx.Identifier{"sessions"}, []string{"id", "user_id", "token_hash", "auth_method", "created_at", "last_seen_at", "expires_at", "access_exp_max"},
		pgx.CopyFromFunc(rowsOf(n, func(i int) []any {
			return []any{fmt.Sprintf("load-%d", i), int64(i), tokenHash(i), "password", now, now, exp, now}
		})))
	if err != nil {
		return err
	}
	_, err = c.Exec(ctx, "ANALYZE")
	return err
}

func rowsOf(n int, row func(i int) []any) func() ([]any, error) {
	i := 0
	return func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		i++
		return row(i), nil
	}
}

func median(l []time.Duration) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

// loadAvg is the 1, 5 and 15 minute load averages of /proc/loadavg ("?" where unreadable).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
func ratio(a, b time.Duration) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

// rulesCase measures the request check judged by 100 access rules (mixed domains, paths, methods
// and groups) of which only the last matches, for a user in one of 100 groups, against the bare
// baseline in the same rounds. The rules are removed again afterwards: the later cases send no
// original URL, which a server with rules refuses.
func rulesCase(gh, base *proc, r *report, access, cookie string, conns, rounds int, dur time.Duration) error {
	auth := http.Header{"Authorization": {"Bearer " + access}}
	var g99 any
	for i := range 100 {
		st, m, _, err := gh.send("POST", "/api/admin/groups", map[string]string{"name": fmt.Sprintf("g%d", i)}, auth)
		if err != nil || st != 201 {
			return fmt.Errorf("creating group g%d: %d %v %v", i, st, m, err)
		}
		g99 = m["id"]
	}
	_, me, _, err := gh.send("GET", "/api/auth/me", nil, auth)
	if err != nil {
		return err
	}
	uid := me["user"].(map[string]any)["id"]
	if st, m, _, err := gh.send("PUT", "/api/admin/access-rules", map[string]any{"rules": accesstest.HundredRules()}, auth); err != nil || st != 200 {
		return fmt.Errorf("saving the rules: %d %v %v", st, m, err)
	}
	if st, m, _, err := gh.send("PUT", fmt.Sprintf("/api/admin/groups/%v/members/%v", g99, uid), nil, auth); err != nil || st != 200 {
		return fmt.Errorf("joining g99: %d %v %v", st, m, err)
	}
	hdr := http.Header{"Cookie": {"gatehouse_session=" + cookie}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"app99.example.com"},
		"X-Forwarded-Uri": {"/api/v1/items/42?page=2"}, "X-Forwarded-Method": {"GET"}}
	// The bare handler also runs with the proxy's request headers (the cookie and X-Forwarded-*),
	// as a second row: net/http parses them for any handler, so that row shows what the
	// headers cost apart from gatehouse. The target is against the first, header-less row.
	var bareR, bareHdrR, rulesR []result
	for range rounds {
		bareR = append(bareR, base.timed(func() result { return load(base.url+"/api/auth/verify", nil, conns, dur/time.Duration(rounds)) }))
		rulesR = append(rulesR, gh.timed(func() result { return load(gh.url+"/api/auth/verify", hdr, conns, dur/time.Duration(rounds)) }))
		bareHdrR = append(bareHdrR, base.timed(func() result { return load(base.url+"/api/auth/verify", hdr, conns, dur/time.Duration(rounds)) }))
	}
	bare, bareHdr, ru := merge(bareR), merge(bareHdrR), merge(rulesR)
	// Server CPU per request next to throughput: on a machine shared with other work it moves
	// far less than requests per second do.
	r.add("case", "req/s", "p50", "p99", "errors", "req/s vs bare", "p99 vs bare", "server CPU per request", "CPU vs bare", "median of rounds: req/s, p99, CPU vs bare")
	r.add("bare net/http handler", fmt.Sprintf("%.0f", bare.rps), us(bare.p50), us(bare.p99), strconv.Itoa(bare.errors), "1.00", "1.00",
		fmt.Sprintf("%.1f µs", bare.cpuPerReq()), "1.00", roundRatios(bareR, bareR))
	for _, c := range []struct {
		name string
		res  result
		rs   []result
	}{{"bare handler, sent the same request headers", bareHdr, bareHdrR}, {"verify, session cookie, 100 rules, the last matching", ru, rulesR}} {
		r.add(c.name, fmt.Sprintf("%.0f", c.res.rps), us(c.res.p50), us(c.res.p99), strconv.Itoa(c.res.errors),
			fmt.Sprintf("%.2f", c.res.rps/bare.rps), fmt.Sprintf("%.2f", float64(c.res.p99)/float64(bare.p99)),
			fmt.Sprintf("%.1f µs", c.res.cpuPerReq()), fmt.Sprintf("%.2f", c.res.cpuPerReq()/bare.cpuPerReq()), roundRatios(c.rs, bareR))
	}
	r.print("Request check with 100 access rules (target: req/s ratio >= 0.85, p99 ratio <= 1.5)")
	if st, m, _, err := gh.send("PUT", "/api/admin/access-rules", map[string]any{"rules": []any{}}, auth); err != nil || st != 200 {
		return fmt.Errorf("removing the rules: %d %v %v", st, m, err)
	}
	return nil
}

// send is post with any method; a nil body sends none.
func (p *proc) send(method, path string, body any, hdr http.Header) (int, map[string]any, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, resp.Header, nil
}
