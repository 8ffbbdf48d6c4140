package module

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Fail prints a one-line reason and returns the exit code 1: never a
// panic trace.
func Fail(c CLI, err error) int {
	fmt.Fprintln(c.Stderr, "错误 / error: "+strings.ReplaceAll(err.Error(), "\n", "; "))
	return 1
}

// Bar is a throttled one-line terminal progress bar for long commands.
type Bar struct {
	w     io.Writer
	label string
	mu    sync.Mutex
	last  time.Time
	start time.Time
}

func NewBar(w io.Writer, label string) *Bar { return &Bar{w: w, label: label, start: time.Now()} }

func (b *Bar) Set(done, total int) {
	if total <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if done < total && time.Since(b.last) < 200*time.Millisecond {
		return
	}
	b.last = time.Now()
	const width = 30
	fill := done * width / total
	fmt.Fprintf(b.w, "\r%s [%s%s] %3d%% (%d/%d) %.1fs", b.label, strings.Repeat("#", fill), strings.Repeat(" ", width-fill), done*100/total, done, total, time.Since(b.start).Seconds())
	if done >= total {
		fmt.Fprintln(b.w)
	}
}
