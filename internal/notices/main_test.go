package notices_test

import (
	"testing"

	"linli/internal/leakcheck"
)

// TestMain fails the run when a test leaves a goroutine or a pool running.
func TestMain(m *testing.M) { leakcheck.Main(m) }
