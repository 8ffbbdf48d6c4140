package projects_test

import (
	"testing"

	"linli/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
