package http

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStoreAndRedisCounts(t *testing.T) {
	m := NewMetrics(func() (int, int) { return 0, 0 }, nil, nil, nil)
	m.WatchStore(func() (uint64, uint64, uint64) { return 7, 3, 2 })
	m.WatchRedis(func() uint64 { return 11 })
	w := httptest.NewRecorder()
	m.handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`gatehouse_store_statements_total{kind="read"} 7`, `gatehouse_store_statements_total{kind="write"} 3`,
		`gatehouse_store_statements_total{kind="transaction"} 2`, `gatehouse_redis_commands_total 11`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
