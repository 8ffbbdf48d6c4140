// Command testprogress reads `go test -json` and prints progress: one line
// per finished top-level test with its time, the whole output of each test
// that fails or skips, and go test's own lines for each package (the closing
// "ok"/"FAIL" lines, build errors, output outside tests such as a leak
// check's or a timeout's). It exits 1 when anything failed.
//
//	go test -json ./... | go run ./.ci/testprogress
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// event is one line of `go test -json` (see go doc test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// progress is what a run has printed and still holds.
type progress struct {
	out    io.Writer
	held   map[string][]string // package + top-level test → its output so far
	failed []string
}

func main() {
	p := &progress{out: os.Stdout, held: map[string][]string{}}
	start := time.Now()
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Fprintln(p.out, sc.Text()) // not an event: go test's own message
			continue
		}
		p.handle(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "testprogress:", err)
		os.Exit(2)
	}
	fmt.Fprintf(p.out, "\n%d failed, %s in all\n", len(p.failed), time.Since(start).Round(time.Second))
	for _, f := range p.failed {
		fmt.Fprintln(p.out, "FAILED", f)
	}
	if len(p.failed) > 0 {
		os.Exit(1)
	}
}

func (p *progress) handle(e event) {
	top, _, sub := strings.Cut(e.Test, "/")
	key := e.Package + " " + top
	switch {
	case e.Action == "build-output":
		fmt.Fprint(p.out, e.Output) // the package's "FAIL … [build failed]" follows
	case e.Test == "":
		p.packageEvent(e)
	case e.Action == "output":
		p.held[key] = append(p.held[key], e.Output)
	case sub || e.Action != "pass" && e.Action != "fail" && e.Action != "skip":
		// Subtests and test starts: their output is held with the top test.
	default:
		fmt.Fprintf(p.out, "%-4s %7.2fs  %s %s\n", e.Action, e.Elapsed, e.Package, e.Test)
		if e.Action != "pass" {
			fmt.Fprint(p.out, strings.Join(p.held[key], ""))
		}
		if e.Action == "fail" {
			p.failed = append(p.failed, key)
		}
		delete(p.held, key)
	}
}

// packageEvent prints go test's lines for a package; when the package ends,
// it first prints what its unfinished tests wrote (a timeout's or a panic's
// victims).
func (p *progress) packageEvent(e event) {
	switch e.Action {
	case "output":
		if e.Output != "PASS\n" { // go test without -v does not print it either
			fmt.Fprint(p.out, e.Output)
		}
	case "pass", "fail", "skip":
		for key, out := range p.held {
			if strings.HasPrefix(key, e.Package+" ") {
				fmt.Fprintf(p.out, "unfinished %s:\n%s", key, strings.Join(out, ""))
				delete(p.held, key)
			}
		}
		if e.Action == "fail" {
			p.failed = append(p.failed, e.Package)
		}
	}
}
