package circlecli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progressBar draws a one-line bar on a terminal stream, throttled so that
// a redirected stderr does not fill with thousands of lines.
type progressBar struct {
	w     io.Writer
	label string
	mu    sync.Mutex
	last  time.Time
	start time.Time
	done  bool
}

func newProgress(w io.Writer, label string) *progressBar {
	return &progressBar{w: w, label: label, start: time.Now()}
}

// set shows k of n done.
func (p *progressBar) set(k, n int) {
	if p == nil || p.w == nil || n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || (k < n && time.Since(p.last) < 200*time.Millisecond) {
		return
	}
	p.last = time.Now()
	const width = 30
	fill := k * width / n
	fmt.Fprintf(p.w, "\r%s [%s%s] %3d%% (%d/%d) %.1fs", p.label, strings.Repeat("#", fill), strings.Repeat(" ", width-fill),
		k*100/n, k, n, time.Since(p.start).Seconds())
	if k >= n {
		fmt.Fprintln(p.w)
		p.done = true
	}
}
