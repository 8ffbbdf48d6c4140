// Package leakcheck fails a test binary that leaves goroutines running:
// those running Linli's code (or created by it), and those of unclosed
// database pools. Use it from a package's TestMain:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Grace is how long goroutines may take to finish after the tests (a closed
// server's connections, a closed store's writer).
const Grace = 5 * time.Second

// Main runs the tests, then fails the run when goroutines leaked.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the tests, checks for leaks and returns the exit code, for a
// TestMain with more to do after the tests.
func Run(m *testing.M) int {
	code := m.Run()
	if code == 0 {
		if leaks := Leaked(Grace); len(leaks) > 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) still running after the tests:\n\n%s\n", len(leaks), strings.Join(leaks, "\n\n"))
			code = 1
		}
	}
	return code
}

// Leaked returns the stacks of the goroutines, other than the caller's, that
// run Linli's code or hold a database pool open, polling until there are
// none or grace has passed.
func Leaked(grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		leaks := suspects()
		if len(leaks) == 0 || time.Now().After(deadline) {
			return leaks
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func suspects() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	// Goroutines are separated by blank lines; the caller's comes first.
	stacks := strings.Split(string(buf), "\n\n")
	var out []string
	for _, g := range stacks[1:] {
		if suspect(g) {
			out = append(out, g)
		}
	}
	return out
}

// suspect tells whether a goroutine's stack names a function of this module
// (package main is the linli command) or database/sql (a pool's goroutines
// live until it is closed). The testing package's own goroutines are
// not suspects.
func suspect(stack string) bool {
	if strings.Contains(stack, "\ntesting.tRunner(") || strings.Contains(stack, "\ntesting.(*M).Run(") {
		return false // a test still running (when called from one), or the test binary's main
	}
	for _, line := range strings.Split(stack, "\n") {
		if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "goroutine ") {
			continue // file positions and the header
		}
		fn := strings.TrimPrefix(line, "created by ")
		if strings.HasPrefix(fn, "linli/") || strings.HasPrefix(fn, "main.") || strings.HasPrefix(fn, "database/sql.") {
			return true
		}
	}
	return false
}
