package app_test

import (
	"testing"

	"linli/internal/leakcheck"
)

// TestMain fails the run when a test leaves a goroutine of the app running.
func TestMain(m *testing.M) { leakcheck.Main(m) }
