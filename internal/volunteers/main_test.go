package volunteers_test

import (
	"testing"

	"linli/internal/leakcheck"
)

// TestMain fails the run when a test leaves a store's writer, a notifier
// or a database pool running.
func TestMain(m *testing.M) { leakcheck.Main(m) }
