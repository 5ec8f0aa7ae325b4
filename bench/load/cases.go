package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// wrkRounds measures the request check with Debian's wrk (`wrk -t1 -c32 -d8s --latency`), the
// bare handler, Bearer and cookie taking turns in each round. wrk is a C generator that costs
// the machine less than the harness's own, so its ratios are the stricter ones.
func wrkRounds(r *report, base, gh *proc, access, cookie string, rounds int, d time.Duration) {
	if _, err := exec.LookPath("wrk"); err != nil {
		fmt.Printf("\n(wrk not found: the wrk rounds are skipped; apt-get install wrk)\n")
		return
	}
	verify := gh.url + "/api/auth/verify"
	cases := []struct {
		name, url, hdr string
		p              *proc
	}{{"bare net/http handler", base.url + "/api/auth/verify", "", base}, {"verify, Bearer token", verify, "Authorization: Bearer " + access, gh}, {"verify, session cookie", verify, "Cookie: gatehouse_session=" + cookie, gh}}
	res := make([][]result, len(cases))
	for range rounds {
		for i, c := range cases {
			c0 := c.p.cpuTime()
			w, err := wrk(c.url, c.hdr, d)
			w.cpu = c.p.cpuTime() - c0
			if err != nil {
				fmt.Printf("\nwrk %s: %v\n", c.name, err)
				return
			}
			res[i] = append(res[i], w)
		}
	}
	// Each round's ratios, then their median: one slow round (another process taking a core for
	// a while) moves the median less than the mean, and says so in the rounds shown.
	r.add("case", "req/s (rounds)", "p99 (rounds)", "req/s vs bare (rounds)", "p99 vs bare (rounds)", "CPU per request vs bare (rounds)", "median req/s, p99, CPU vs bare")
	for i, c := range cases {
		var rps, p99, rr, pr, cr []string
		var rrv, prv, crv []float64
		for k, w := range res[i] {
			b := res[0][k]
			rps = append(rps, fmt.Sprintf("%.0f", w.rps))
			p99 = append(p99, us(w.p99))
			rrv = append(rrv, w.rps/b.rps)
			prv = append(prv, float64(w.p99)/float64(b.p99))
			// wrk reports a rate, not a count: CPU per request is CPU / (rate x duration).
			crv = append(crv, (float64(w.cpu)/w.rps)/(float64(b.cpu)/b.rps))
			rr = append(rr, fmt.Sprintf("%.2f", rrv[k]))
			pr = append(pr, fmt.Sprintf("%.2f", prv[k]))
			cr = append(cr, fmt.Sprintf("%.2f", crv[k]))
		}
		r.add(c.name, strings.Join(rps, ", "), strings.Join(p99, ", "), strings.Join(rr, ", "), strings.Join(pr, ", "), strings.Join(cr, ", "),
			fmt.Sprintf("%.2f, %.2f, %.2f", medianF(rrv), medianF(prv), medianF(crv)))
	}
	r.print(fmt.Sprintf("Request check under wrk -t1 -c32 -d%s --latency, %d interleaved rounds (target: req/s >= 0.9, p99 <= 1.3)", d, rounds))
}

var wrkLine = regexp.MustCompile(`(?m)^\s*(Requests/sec|50%|99%|Non-2xx or 3xx responses):?\s+([0-9.]+)(us|ms|s)?`)

func wrk(url, hdr string, d time.Duration) (result, error) {
	args := []string{"-t1", "-c32", "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency"}
	if hdr != "" {
		args = append(args, "-H", hdr)
	}
	out, err := exec.Command("wrk", append(args, url)...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("%w: %s", err, out)
	}
	var res result
	for _, m := range wrkLine.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		dur := time.Duration(v * float64(map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]))
		switch m[1] {
		case "Requests/sec":
			res.rps = v
		case "50%":
			res.p50 = dur
		case "99%":
			res.p99 = dur
		default:
			res.errors = int(v)
		}
	}
	if res.rps == 0 || res.errors > 0 {
		return res, fmt.Errorf("wrk: %d non-2xx answers or no rate in:\n%s", res.errors, out)
	}
	return res, nil
}

// kind is one request kind of the mixed load.
type kind struct {
	name  string
	share int // percent
	send  func(c *http.Client, i int) (int, error)
}

// mixedKinds is the mix: 80% request checks (session cookie), 15% GET /api/auth/me
// (Bearer), 5% sign-ins of which half are wrong (an unknown login, which costs a hash like a
// wrong password does, without locking the account the right half signs in to). Each sign-in
// comes from its own address, so the per-address budget does not stop it before the hash.
func mixedKinds(p *proc, access, cookie string) []kind {
	get := func(path, hk, hv string) func(c *http.Client, _ int) (int, error) {
		return func(c *http.Client, _ int) (int, error) {
			req, _ := http.NewRequest("GET", p.url+path, nil)
			req.Header.Set(hk, hv)
			return do(c, req)
		}
	}
	signIn := func(c *http.Client, i int) (int, error) {
		login, pw := "alice", adminPW
		if i%2 == 1 {
			login, pw = fmt.Sprintf("nobody%d", i), "wrong password"
		}
		b, _ := json.Marshal(map[string]string{"login": login, "password": pw})
		req, _ := http.NewRequest("POST", p.url+"/api/auth/login", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", ipFor(i))
		return do(c, req)
	}
	return []kind{
		{"request check (cookie)", 80, get("/api/auth/verify", "Cookie", "gatehouse_session="+cookie)},
		{"GET /api/auth/me (Bearer)", 15, get("/api/auth/me", "Authorization", "Bearer "+access)},
		{"sign-in (half wrong)", 5, signIn},
	}
}

func do(c *http.Client, req *http.Request) (int, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

type kindResult struct {
	lats   []time.Duration
	status map[int]int
}

// mixed runs kinds over conns keep-alive connections for d, each request drawn by share.
func mixed(kinds []kind, conns int, d time.Duration) ([]kindResult, time.Duration) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var mu sync.Mutex
	out := make([]kindResult, len(kinds))
	for i := range out {
		out[i].status = map[int]int{}
	}
	var seq atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				x, k := rand.IntN(100), 0
				for x >= kinds[k].share {
					x -= kinds[k].share
					k++
				}
				t0 := time.Now()
				st, err := kinds[k].send(client, int(seq.Add(1)))
				lat := time.Since(t0)
				mu.Lock()
				if err != nil {
					st = 0
				}
				out[k].status[st]++
				out[k].lats = append(out[k].lats, lat)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, time.Since(start)
}

// mixedCase runs the verify-only load and the 80/15/5 mix in turns and reports per kind.
func mixedCase(r *report, p *proc, access, cookie string, conns, rounds int, d time.Duration) {
	kinds := mixedKinds(p, access, cookie)
	only := []kind{{kinds[0].name, 100, kinds[0].send}}
	var onlyR, mixR [][]kindResult
	var onlyT, mixT time.Duration
	for range rounds {
		o, t := mixed(only, conns, d/time.Duration(rounds))
		onlyR, onlyT = append(onlyR, o), onlyT+t
		m, t := mixed(kinds, conns, d/time.Duration(rounds))
		mixR, mixT = append(mixR, m), mixT+t
	}
	r.add("load", "kind", "req/s", "p50", "p99", "answers by status")
	row := func(load string, k kind, rs [][]kindResult, i int, t time.Duration) result {
		var lats []time.Duration
		st := map[int]int{}
		for _, x := range rs {
			lats = append(lats, x[i].lats...)
			for s, n := range x[i].status {
				st[s] += n
			}
		}
		slices.Sort(lats)
		var res result
		if len(lats) > 0 {
			res = result{rps: float64(len(lats)) / t.Seconds(), p50: lats[len(lats)/2], p99: lats[len(lats)*99/100]}
		}
		var codes []string
		for _, s := range slices.Sorted(maps.Keys(st)) {
			codes = append(codes, fmt.Sprintf("%d: %d", s, st[s]))
		}
		r.add(load, k.name, fmt.Sprintf("%.0f", res.rps), us(res.p50), us(res.p99), strings.Join(codes, ", "))
		return res
	}
	alone := row("verify only", only[0], onlyR, 0, onlyT)
	var inMix result
	for i, k := range kinds {
		res := row("80/15/5 mix", k, mixR, i, mixT)
		if i == 0 {
			inMix = res
		}
	}
	r.print(fmt.Sprintf("Mixed load, %d connections, %d interleaved rounds", conns, rounds))
	fmt.Printf("\nrequest check in the mix vs alone: p99 %.2fx; its req/s %.2fx (the mix's total req/s: %.2fx)\n",
		float64(inMix.p99)/float64(alone.p99), inMix.rps/alone.rps, total(mixR, mixT)/alone.rps)
}

func total(rs [][]kindResult, t time.Duration) float64 {
	n := 0
	for _, x := range rs {
		for _, k := range x {
			n += len(k.lats)
		}
	}
	return float64(n) / t.Seconds()
}

// metricCounts reads the store's statement counters and the Redis command counter.
func (p *proc) metricCounts() (map[string]float64, error) {
	resp, err := p.client.Get(p.url + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, name := range []string{`gatehouse_store_statements_total{kind="read"}`, `gatehouse_store_statements_total{kind="write"}`, `gatehouse_store_statements_total{kind="transaction"}`, "gatehouse_redis_commands_total"} {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				m[name], _ = strconv.ParseFloat(v, 64)
			}
		}
	}
	return m, sc.Err()
}

// opCounts is the database and Redis work of one operation, from the server's own counters.
type opCounts struct {
	name               string
	n                  int
	reads, writes, txs float64
	redis              float64
	note               string
}

func (p *proc) measure(name string, n int, note string, fn func(i int) error) (opCounts, error) {
	before, err := p.metricCounts()
	if err != nil {
		return opCounts{}, err
	}
	for i := range n {
		if err := fn(i); err != nil {
			return opCounts{}, fmt.Errorf("%s %d: %w", name, i, err)
		}
	}
	after, err := p.metricCounts()
	if err != nil {
		return opCounts{}, err
	}
	per := func(k string) float64 { return (after[k] - before[k]) / float64(n) }
	return opCounts{name: name, n: n, note: note, reads: per(`gatehouse_store_statements_total{kind="read"}`), writes: per(`gatehouse_store_statements_total{kind="write"}`),
		txs: per(`gatehouse_store_statements_total{kind="transaction"}`), redis: per("gatehouse_redis_commands_total")}, nil
}

// countsCase counts the statements and Redis commands per sign-in, refresh and request check
// on a fresh server (SQLite; the SQL is the same on PostgreSQL), with Redis when redisURL is set.
func countsCase(r *report, bin, dir, redisURL string) error {
	var env []string
	if redisURL != "" {
		env = append(env, "GATEHOUSE__REDIS__URL="+redisURL)
	}
	dir = dir + "/counts"
	gh, err := startGatehouseWith(bin, dir, "sqlite", "", nil, env)
	if err != nil {
		return err
	}
	access, cookie, err := gh.setup()
	if err != nil {
		gh.stop()
		return err
	}
	var cookies, refresh []string
	var ops []opCounts
	add := func(o opCounts, err error) error {
		ops = append(ops, o)
		return err
	}
	login := func(login, pw string, want int, i int) error {
		st, m, h, err := gh.post("/api/auth/login", map[string]string{"login": login, "password": pw}, http.Header{"X-Forwarded-For": {ipFor(1000 + i)}})
		if err != nil || st != want {
			return fmt.Errorf("status %d (want %d) %v %v", st, want, m, err)
		}
		if st == 200 {
			rt, _ := m["refresh_token"].(string)
			refresh = append(refresh, rt)
			for _, c := range (&http.Response{Header: h}).Cookies() {
				if c.Name == "gatehouse_session" {
					cookies = append(cookies, c.Value)
				}
			}
		}
		return nil
	}
	get := func(path, hk, hv string) func(int) error {
		return func(int) error {
			req, _ := http.NewRequest("GET", gh.url+path, nil)
			req.Header.Set(hk, hv)
			st, err := do(gh.client, req)
			if err != nil || st != 200 {
				return fmt.Errorf("status %d %v", st, err)
			}
			return nil
		}
	}
	err = errors.Join(
		add(gh.measure("sign-in, right password", 20, "", func(i int) error { return login("alice", adminPW, 200, i) })),
		add(gh.measure("sign-in, wrong password", 5, "", func(i int) error { return login("alice", "wrong password", 401, 100+i) })),
		add(gh.measure("sign-in, unknown login", 20, "", func(i int) error { return login(fmt.Sprintf("nobody%d", i), "wrong password", 401, 200+i) })),
		add(gh.measure("refresh", 10, "", func(i int) error {
			st, m, _, err := gh.post("/api/auth/refresh", map[string]string{"refresh_token": refresh[i]}, nil)
			if err != nil || st != 200 {
				return fmt.Errorf("status %d %v %v", st, m, err)
			}
			return nil
		})),
		add(gh.measure("request check, session cookie, cached", 2000, "", get("/api/auth/verify", "Cookie", "gatehouse_session="+cookie))),
		add(gh.measure("request check, Bearer", 2000, "", get("/api/auth/verify", "Authorization", "Bearer "+access))),
		add(gh.measure("GET /api/auth/me, Bearer", 1000, "", get("/api/auth/me", "Authorization", "Bearer "+access))),
	)
	gh.stop()
	if err != nil {
		return err
	}
	// Cold: a restarted server has an empty session cache; each session's first check reads it.
	gh, err = startGatehouseWith(bin, dir, "sqlite", "", nil, env)
	if err != nil {
		return err
	}
	o, err := gh.measure("request check, session cookie, first after start", len(cookies), "", func(i int) error {
		return get("/api/auth/verify", "Cookie", "gatehouse_session="+cookies[i])(i)
	})
	gh.stop()
	if err != nil {
		return err
	}
	ops = append(ops, o)
	r.add("operation", "n", "reads", "writes", "transactions", "Redis commands")
	for _, o := range ops {
		r.add(o.name, strconv.Itoa(o.n), fmt.Sprintf("%.2f", o.reads), fmt.Sprintf("%.2f", o.writes), fmt.Sprintf("%.2f", o.txs), fmt.Sprintf("%.2f", o.redis))
	}
	r.print("Database and Redis work per operation (the server's own counters; statements outside transactions, and transactions)")
	return nil
}

// medianF is the median of l (the mean of the middle two for an even count).
func medianF(l []float64) float64 {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}
