package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/password"
)

// The open-loop flood: sign-ins sent at a fixed rate, whatever the server answers, instead of by
// 200 connections each sending the next as soon as an answer comes back. On a machine where the
// generator shares the server's cores, the closed-loop flood sends 5,000-11,000 refused
// requests a second, and what it measures is mostly the generator's own CPU (its control flood
// of GET /healthz, which hashes nothing, already raised the check's p99 8-19x). A rate a few
// times the hashing pool's capacity keeps the pool full and its queue refusing the rest, which is
// what a flood does to the server, at a cost to the machine a control flood of the same rate
// can show.

// floodPlan is the open-loop flood case's settings.
type floodPlan struct {
	rate       int           // flood requests per second
	rounds     int           // quiet, sign-in flood and control flood take turns this many times
	phase      time.Duration // each phase's length
	probeConns int           // closed-loop connections measuring the request check
	maxFlight  int           // flood requests in flight at most; beyond, a request is counted missed
	seq        *atomic.Int64 // numbers the flood's requests across phases, so each comes from a fresh address
}

// openFloodResult is one phase: the probe's figures and the flood's answers.
type openFloodResult struct {
	probe   result
	status  map[int]int
	other   int // transport errors and timeouts
	missed  int // not sent: maxFlight requests were already in flight
	sent    int
	elapsed time.Duration
	gc      gcStats
}

// gcStats is the server's garbage collection during a phase, from its Go collector's metrics:
// a hash allocates its 19 MiB afresh, and every collection stops the world twice, which waits
// for the hashing thread too, running below everyone else's priority.
type gcStats struct {
	cycles  float64
	pauseS  float64 // seconds the world was stopped, in all
	seconds float64 // the phase's length, for rates
}

func (p *proc) gcCounters() gcStats {
	resp, err := p.client.Get(p.url + "/metrics")
	if err != nil {
		return gcStats{}
	}
	defer resp.Body.Close()
	var g gcStats
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_gc_duration_seconds_count "); ok {
			g.cycles, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(sc.Text(), "go_gc_duration_seconds_sum "); ok {
			g.pauseS, _ = strconv.ParseFloat(v, 64)
		}
	}
	return g
}

// gcDuring runs fn and reports the server's collections meanwhile.
func (p *proc) gcDuring(fn func()) gcStats {
	t0, g0 := time.Now(), p.gcCounters()
	fn()
	g1 := p.gcCounters()
	return gcStats{cycles: g1.cycles - g0.cycles, pauseS: g1.pauseS - g0.pauseS, seconds: time.Since(t0).Seconds()}
}

// openFlood sends GET or POST path at plan.rate per second for d, each request on its own
// goroutine (up to maxFlight in flight), from its own address.
func (p *proc) openFlood(plan floodPlan, path string, d time.Duration, probe func() result) openFloodResult {
	res := openFloodResult{status: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var inFlight atomic.Int64
	tr := &http.Transport{MaxIdleConnsPerHost: plan.maxFlight, MaxConnsPerHost: plan.maxFlight, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: 30 * time.Second, Transport: tr}
	send := func(i int) {
		defer wg.Done()
		defer inFlight.Add(-1)
		st, err := do(client, floodRequest(p.url, path, i))
		mu.Lock()
		if err != nil {
			res.other++
		} else {
			res.status[st]++
		}
		mu.Unlock()
	}
	stop := make(chan struct{})
	dispatched := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(dispatched)
		// Wake every 5 ms and send what is due: a timer per request would cost the generator
		// more than the requests at a few hundred a second.
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				due := int(now.Sub(start).Seconds()*float64(plan.rate)) - res.sent - res.missed
				for range due {
					if inFlight.Load() >= int64(plan.maxFlight) {
						res.missed++
						continue
					}
					inFlight.Add(1)
					wg.Add(1)
					res.sent++
					go send(int(plan.seq.Add(1)))
				}
			}
		}
	}()
	time.Sleep(300 * time.Millisecond) // the pool fills and its queue starts refusing
	res.gc = p.gcDuring(func() { res.probe = probe() })
	close(stop)
	<-dispatched
	res.elapsed = time.Since(start)
	wg.Wait()
	return res
}

// floodRequest is a sign-in for an unknown account (which costs a hash, like a wrong password)
// from address i, or a GET of path from address i.
func floodRequest(base, path string, i int) *http.Request {
	var req *http.Request
	if path == "/api/auth/login" {
		b, _ := json.Marshal(map[string]string{"login": fmt.Sprintf("nobody%d", i), "password": "wrong password"})
		req, _ = http.NewRequest("POST", base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req, _ = http.NewRequest("GET", base+path, nil)
	}
	req.Header.Set("X-Forwarded-For", ipFor(i))
	return req
}

// floodTarget is a server the open-loop flood case measures, with an access token of its own.
type floodTarget struct {
	name   string
	gh     *proc
	access string
}

var floodPhases = []string{"quiet", "sign-in flood", "control flood (GET /healthz)"}

// openFloodCase measures the request check quiet, during an open-loop sign-in flood and during
// a control flood of GET /healthz at the same rate, the three taking turns in rounds (the order
// rotating, so neither flood always follows the other), and reports each round's ratios to
// that round's quiet phase. With two targets (two builds, -compare-bin), each round measures
// both, one after the other, so a change in the machine's load falls on both alike.
func openFloodCase(r *report, targets []floodTarget, plan floodPlan) {
	paths := []string{"", "/api/auth/login", "/healthz"}
	res := make([][][]openFloodResult, len(targets)) // target, phase, round
	for t := range res {
		res[t] = make([][]openFloodResult, len(floodPhases))
	}
	loads := make([]string, 0, plan.rounds)
	for k := range plan.rounds {
		for t, tg := range targets {
			verify := tg.gh.url + "/api/auth/verify"
			hdr := http.Header{"Authorization": {"Bearer " + tg.access}}
			probe := func() result {
				return tg.gh.timed(func() result { return load(verify, hdr, plan.probeConns, plan.phase) })
			}
			for j := range floodPhases {
				i := (j + k) % len(floodPhases)
				if paths[i] == "" {
					var x openFloodResult
					x.gc = tg.gh.gcDuring(func() { x.probe = probe() })
					res[t][i] = append(res[t][i], x)
					continue
				}
				res[t][i] = append(res[t][i], tg.gh.openFlood(plan, paths[i], plan.phase, probe))
			}
		}
		loads = append(loads, loadAvg())
	}
	for t, tg := range targets {
		reportOpenFlood(r, tg.name, res[t], plan, loads)
	}
}

// signInCapacity measures how many sign-ins each target answers a second under the open-loop
// flood with no request check beside it, in plan.rounds rounds taking turns: what the flood
// table's "sign-ins answered" would be if the hashes had the machine to themselves (the pool's
// pacing, password.Hasher, slows hashes only while the server is busy with other work).
func signInCapacity(r *report, targets []floodTarget, plan floodPlan) {
	rates := make([][]float64, len(targets))
	for range plan.rounds {
		for t, tg := range targets {
			idle := func() result { time.Sleep(plan.phase); return result{} }
			x := tg.gh.openFlood(plan, "/api/auth/login", plan.phase, idle)
			answered := 0
			for st, n := range x.status {
				if st != http.StatusServiceUnavailable && st != http.StatusTooManyRequests {
					answered += n
				}
			}
			rates[t] = append(rates[t], float64(answered)/x.elapsed.Seconds())
		}
	}
	r.add("build", "sign-ins answered (not 503 or 429) per second, rounds", "median")
	for t, tg := range targets {
		var rs []string
		for _, v := range rates[t] {
			rs = append(rs, fmt.Sprintf("%.1f", v))
		}
		r.add(tg.name, strings.Join(rs, ", "), fmt.Sprintf("%.1f", medianF(rates[t])))
	}
	r.print(fmt.Sprintf("Sign-in capacity: the open-loop flood at %d/s with no request checks, %d rounds of %s", plan.rate, plan.rounds, plan.phase))
}

// reportOpenFlood prints one target's table (res: phase, round) and its ratios' ranges.
func reportOpenFlood(r *report, name string, res [][]openFloodResult, plan floodPlan, loads []string) {
	workers, queue := password.DefaultWorkers(), 4*password.DefaultWorkers()
	r.add("phase", "check req/s (rounds)", "check p99 (rounds)", "req/s vs quiet", "p99 vs quiet", "server CPU per check: all, without hashing threads", "server GCs/s, stopped ms/s", "flood answers (all rounds)", "flood sent/s, missed")
	for i, phase := range floodPhases {
		var rps, p99, rr, pr, cpu, gcs []string
		for k, x := range res[i] {
			q := res[0][k].probe
			rps = append(rps, fmt.Sprintf("%.0f", x.probe.rps))
			p99 = append(p99, us(x.probe.p99))
			rr = append(rr, fmt.Sprintf("%.2f", x.probe.rps/q.rps))
			pr = append(pr, fmt.Sprintf("%.2f", float64(x.probe.p99)/float64(q.p99)))
			cpu = append(cpu, fmt.Sprintf("%.0f/%.0f µs", x.probe.cpuPerReq(), float64(x.probe.cpuLasting)/float64(time.Microsecond)/float64(max(1, len(x.probe.lats)))))
			gcs = append(gcs, fmt.Sprintf("%.1f, %.2f", x.gc.cycles/x.gc.seconds, 1000*x.gc.pauseS/x.gc.seconds))
		}
		answers, rate := "-", "-"
		if i > 0 {
			answers, rate = floodAnswers(res[i])
		}
		r.add(phase, strings.Join(rps, ", "), strings.Join(p99, ", "), strings.Join(rr, ", "), strings.Join(pr, ", "), strings.Join(cpu, ", "), strings.Join(gcs, "; "), answers, rate)
	}
	r.print(fmt.Sprintf("Open-loop flood (%s) at %d requests/s (pool: %d workers, queue %d), %d rounds of %s per phase, check probed by %d connections; load average after each round: %s (targets: p99 <= 3x quiet, req/s >= 0.8x)",
		name, plan.rate, workers, queue, plan.rounds, plan.phase, plan.probeConns, strings.Join(loads, "; ")))
	summary := func(i int) string {
		var p, q []float64
		for k, x := range res[i] {
			p = append(p, float64(x.probe.p99)/float64(res[0][k].probe.p99))
			q = append(q, x.probe.rps/res[0][k].probe.rps)
		}
		return fmt.Sprintf("p99 %.2f-%.2fx (median %.2f), req/s %.2f-%.2fx (median %.2f)", slices.Min(p), slices.Max(p), medianF(p), slices.Min(q), slices.Max(q), medianF(q))
	}
	fmt.Printf("\n%s: sign-in flood vs quiet: %s\n%s: control flood vs quiet: %s\n", name, summary(1), name, summary(2))
}

// floodAnswers sums a flood phase's answers by status over the rounds, and its sending rate.
func floodAnswers(rs []openFloodResult) (answers, rate string) {
	st, other, sent, missed, el := map[int]int{}, 0, 0, 0, time.Duration(0)
	for _, x := range rs {
		for s, n := range x.status {
			st[s] += n
		}
		other, sent, missed, el = other+x.other, sent+x.sent, missed+x.missed, el+x.elapsed
	}
	var codes []string
	for _, s := range slices.Sorted(maps.Keys(st)) {
		codes = append(codes, fmt.Sprintf("%d: %d", s, st[s]))
	}
	if other > 0 {
		codes = append(codes, fmt.Sprintf("errors: %d", other))
	}
	return strings.Join(codes, ", "), fmt.Sprintf("%.0f, %d", float64(sent)/el.Seconds(), missed)
}
