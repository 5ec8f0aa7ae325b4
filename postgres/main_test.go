package postgres_test

import (
	"os"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testdb"
)

func TestMain(m *testing.M) {
	testdb.WaitBound()
	os.Exit(m.Run())
}
