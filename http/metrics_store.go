package http

import "github.com/prometheus/client_golang/prometheus"

// WatchStore exports the statements the store has sent (reads and writes outside transactions,
// and transactions), so an operator can see the database work per request kind and
// bench/README.md can count it per sign-in and per request check.
func (m *Metrics) WatchStore(counts func() (reads, writes, transactions uint64)) {
	help := "Statements the store sent to the database: reads and writes outside transactions, and transactions."
	for i, kind := range []string{"read", "write", "transaction"} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_store_statements_total", Help: help, ConstLabels: prometheus.Labels{"kind": kind}},
			func() float64 {
				r, w, t := counts()
				return float64([]uint64{r, w, t}[i])
			}))
	}
}

// WatchRedis exports the commands sent to Redis (rate limits shared between instances).
func (m *Metrics) WatchRedis(commands func() uint64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_redis_commands_total", Help: "Commands sent to Redis (shared rate limits)."},
		func() float64 { return float64(commands()) }))
}
