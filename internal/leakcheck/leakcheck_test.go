package leakcheck

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLeakedGoroutineIsFound(t *testing.T) {
	stop := make(chan struct{})
	started := make(chan struct{})
	go blockUntil(started, stop)
	<-started
	t.Run("a running goroutine of this module is reported with its stack", func(t *testing.T) {
		leaks := Leaked(50 * time.Millisecond)
		if len(leaks) != 1 || !strings.Contains(leaks[0], "linli/internal/leakcheck.blockUntil") {
			t.Fatalf("leaks: %q", leaks)
		}
	})
	close(stop)
	t.Run("a goroutine that ends within the grace is no leak", func(t *testing.T) {
		if leaks := Leaked(2 * time.Second); len(leaks) != 0 {
			t.Fatalf("leaks after stop: %q", leaks)
		}
	})
}

func TestUnclosedPoolIsFound(t *testing.T) {
	pool := sql.OpenDB(noConnector{})
	t.Run("an open pool is reported", func(t *testing.T) {
		leaks := Leaked(50 * time.Millisecond)
		if len(leaks) != 1 || !strings.Contains(leaks[0], "database/sql.") {
			t.Fatalf("leaks: %q", leaks)
		}
	})
	pool.Close()
	t.Run("a closed pool is not", func(t *testing.T) {
		if leaks := Leaked(2 * time.Second); len(leaks) != 0 {
			t.Fatalf("leaks after close: %q", leaks)
		}
	})
}

func blockUntil(started, stop chan struct{}) {
	close(started)
	<-stop
}

// noConnector is a pool's connector that never connects: opening a pool
// starts its goroutine without any database.
type noConnector struct{}

func (noConnector) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("no database")
}
func (noConnector) Driver() driver.Driver { return nil }
