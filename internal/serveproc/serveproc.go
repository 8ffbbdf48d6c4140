// Package serveproc runs `linli serve` as a child process, for the
// benchmarks that must kill the server with -9 and start it again.
package serveproc

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Proc is a running server.
type Proc struct {
	cmd *exec.Cmd
	URL string // http://host:port, as the server printed it
}

// Start runs the running binary with args (beginning with "serve") and the
// extra environment, and waits up to wait for it to say where it listens.
func Start(args, env []string, wait time.Duration) (*Proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(append(os.Environ(), "LINLI_LOG_LEVEL=error"), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	go func() { // reads the whole output so the server never blocks on it
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "listening on "); ok && strings.HasPrefix(u, "http://") {
				select {
				case found <- strings.Fields(u)[0]:
				default:
				}
			}
		}
	}()
	select {
	case u := <-found:
		return &Proc{cmd: cmd, URL: u}, nil
	case <-time.After(wait):
		p := &Proc{cmd: cmd}
		return nil, errors.Join(errors.New("server did not start"), p.Kill())
	}
}

// Kill ends the server with SIGKILL and waits for it.
func (p *Proc) Kill() error {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	p.cmd.Wait() // a killed process always "fails": its exit status says only that
	return nil
}

// Stop shuts the server down with SIGTERM and waits for it.
func (p *Proc) Stop() {
	if p.cmd.Process.Signal(syscall.SIGTERM) == nil {
		p.cmd.Wait() // its exit status after the signal tells nothing more
	}
}
