package http

import "github.com/prometheus/client_golang/prometheus"

// WatchLimiter exports the shared rate limiter's state: whether Redis is in use, and how many
// limiter calls were answered by this instance alone because Redis failed.
func (m *Metrics) WatchLimiter(shared func() bool, fallbacks func() uint64) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_ratelimit_shared", Help: "1 while rate limits are shared through Redis, 0 while this instance counts alone (Redis failing)."}, func() float64 {
			if shared() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_ratelimit_fallbacks_total", Help: "Rate-limit checks answered from this instance's memory because Redis failed."}, func() float64 { return float64(fallbacks()) }),
	)
}
