package db_test

import (
	"testing"

	"linli/internal/leakcheck"
)

// TestMain fails the run when a store leaves a goroutine running after Close.
func TestMain(m *testing.M) { leakcheck.Main(m) }
