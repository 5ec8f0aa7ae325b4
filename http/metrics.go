package http

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds gatehouse's Prometheus collectors in their own registry (no global state).
type Metrics struct {
	reg         *prometheus.Registry
	revocations func() int
	cached      func() int
	active      func() float64

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	signIns  *prometheus.CounterVec
	revoked  *prometheus.CounterVec
}

// NewMetrics registers the collectors. poolStats reports the hashing pool. The gauges that read
// the auth service are bound later with Bind, because the service itself reports into Metrics.
func NewMetrics(poolStats func() (running, waiting int), revocations, cached func() int, activeSessions func() float64) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.Bind(revocations, cached, activeSessions)
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_http_requests_total", Help: "HTTP requests by route and status class."}, []string{"route", "status"})
	// Buckets from 100 µs: a request check answers in well under a millisecond, a sign-in in
	// tens of milliseconds (one Argon2id hash), a flood's refused sign-ins anywhere between.
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_http_request_duration_seconds", Help: "Time from the handler's start to its return, by route and status code.",
		Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}}, []string{"route", "code"})
	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_sign_ins_total", Help: "Sign-in attempts by outcome."}, []string{"outcome"})
	m.revoked = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_sessions_ended_total", Help: "Sessions ended, by reason."}, []string{"reason"})
	m.reg.MustRegister(m.requests, m.latency, m.signIns, m.revoked,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_hash_pool_running", Help: "Password hashes being computed."}, func() float64 { r, _ := poolStats(); return float64(r) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_hash_pool_waiting", Help: "Password hashes waiting for a worker."}, func() float64 { _, w := poolStats(); return float64(w) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_revoked_sessions", Help: "Revoked sessions held in memory (tokens that could still be presented)."}, func() float64 { return float64(m.revocations()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_sessions_cached", Help: "Sessions in the request-check cache."}, func() float64 { return float64(m.cached()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_sessions_active", Help: "Sessions neither revoked nor expired (refreshed at most every 15 s)."}, func() float64 { return m.active() }),
	)
	return m
}

// Bind sets the functions the service gauges read; nil ones read zero.
func (m *Metrics) Bind(revocations, cached func() int, activeSessions func() float64) {
	zero := func() int { return 0 }
	if revocations == nil {
		revocations = zero
	}
	if cached == nil {
		cached = zero
	}
	if activeSessions == nil {
		activeSessions = func() float64 { return 0 }
	}
	m.revocations, m.cached, m.active = revocations, cached, activeSessions
}

// SignIn implements auth.Observer.
func (m *Metrics) SignIn(outcome string) { m.signIns.WithLabelValues(outcome).Inc() }

// Revoked implements auth.Observer.
func (m *Metrics) Revoked(reason string) { m.revoked.WithLabelValues(reason).Inc() }

func (m *Metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// routeMetrics are one route's request counters (by status class) and latency histograms (by
// status code), resolved once so that the hot path does no label lookup and allocates nothing:
// the class counters when the route is registered, each code's histogram the first time the
// route answers with it.
type routeMetrics struct {
	route   string
	latency *prometheus.HistogramVec
	class   [6]prometheus.Counter
	codes   [500]atomic.Pointer[observer] // status 100-599
}

type observer struct{ prometheus.Observer }

func (m *Metrics) forRoute(route string) *routeMetrics {
	rm := &routeMetrics{route: route, latency: m.latency}
	for i, class := range []string{"1xx", "1xx", "2xx", "3xx", "4xx", "5xx"} {
		rm.class[i] = m.requests.WithLabelValues(route, class)
	}
	return rm
}

// observe counts one answer with status that took d.
func (rm *routeMetrics) observe(status int, d time.Duration) {
	if status < 100 || status > 599 {
		status = 500 // net/http refuses such codes; count it as the failure it is
	}
	rm.class[status/100].Inc()
	slot := &rm.codes[status-100]
	o := slot.Load()
	if o == nil {
		slot.CompareAndSwap(nil, &observer{rm.latency.WithLabelValues(rm.route, strconv.Itoa(status))})
		o = slot.Load()
	}
	o.Observe(d.Seconds())
}
