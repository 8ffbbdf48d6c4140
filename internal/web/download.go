package web

import (
	"io"
	"net/http"
	"time"
)

// DownloadIdle is how long a download may wait for its client to take the
// next bytes before the connection is cut.
const DownloadIdle = 2 * time.Minute

// Download is a writer onto w for a long download (an export of a
// county): before a write it moves the connection's write deadline
// DownloadIdle ahead, so that the server's fixed write timeout cuts a
// client that stopped reading, never a file still on its way, however
// long the whole takes. The first write moves it too, so an answer whose
// first byte comes late (a zip is sent when complete) is not cut either.
// It counts what it has written: Sent tells whether the answer has begun.
type Download struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	moved time.Time // when the deadline was last moved
	n     int64
	now   func() time.Time
}

// NewDownload wraps w.
func NewDownload(w http.ResponseWriter) *Download {
	return &Download{w: w, rc: http.NewResponseController(w), now: time.Now}
}

func (d *Download) Write(p []byte) (int, error) {
	// Moving the deadline once a second is enough: it stays at least
	// DownloadIdle - 1 s ahead of every write.
	if t := d.now(); t.Sub(d.moved) >= time.Second {
		// A writer that cannot move it (ErrNotSupported) keeps the
		// server's own deadline.
		_ = d.rc.SetWriteDeadline(t.Add(DownloadIdle))
		d.moved = t
	}
	n, err := d.w.Write(p)
	d.n += int64(n)
	return n, err
}

// Sent is the number of bytes written so far.
func (d *Download) Sent() int64 { return d.n }

var _ io.Writer = (*Download)(nil)
