package web_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/testdb"
)

// Most tests here wait on PostgreSQL or loopback HTTP; more of them run at once than CPUs.
func TestMain(m *testing.M) { testdb.Main(m) }
