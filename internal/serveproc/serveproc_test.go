package serveproc_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"linli/internal/serveproc"
)

// The test binary stands in for linli: run with SERVEPROC_CHILD set, it
// serves like `linli serve`, printing where it listens.
func TestMain(m *testing.M) {
	switch os.Getenv("SERVEPROC_CHILD") {
	case "serve":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(3)
		}
		fmt.Println("linli: listening on http://" + ln.Addr().String() + " (test)")
		http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
		os.Exit(0)
	case "mute":
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestAServerIsStartedReachedAndKilled(t *testing.T) {
	var p *serveproc.Proc
	t.Run("it starts and says where it listens", func(t *testing.T) {
		var err error
		if p, err = serveproc.Start([]string{"-test.run=^$"}, []string{"SERVEPROC_CHILD=serve"}, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(p.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
	t.Run("after kill -9 nothing answers there", func(t *testing.T) {
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
		c := http.Client{Timeout: 2 * time.Second}
		if resp, err := c.Get(p.URL); err == nil {
			resp.Body.Close()
			t.Fatal("the killed server still answers")
		}
	})
	t.Run("a server that never says where it listens is killed and reported", func(t *testing.T) {
		start := time.Now()
		if _, err := serveproc.Start([]string{"-test.run=^$"}, []string{"SERVEPROC_CHILD=mute"}, 500*time.Millisecond); err == nil {
			t.Fatal("no error")
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("it waited for the child to end by itself")
		}
	})
	t.Run("a stopped server ends", func(t *testing.T) {
		q, err := serveproc.Start([]string{"-test.run=^$"}, []string{"SERVEPROC_CHILD=serve"}, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		q.Stop()
		c := http.Client{Timeout: 2 * time.Second}
		if resp, err := c.Get(q.URL); err == nil {
			resp.Body.Close()
			t.Fatal("the stopped server still answers")
		}
	})
}
