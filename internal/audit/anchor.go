package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Checkpoint is one line of the checkpoint file: how many entries the chain
// held at a moment and the hash of the last, under the log's MAC. Whoever
// owns the database cannot take a checkpoint back, so a chain found
// shorter, or different at a checkpointed entry, has been cut or rewritten.
type Checkpoint struct {
	Kind   string    `json:"kind"`   // KindCheckpoint, or KindRebase after a restore
	Seq    int64     `json:"seq"`    // entries in the chain
	Head   string    `json:"head"`   // hash of entry Seq ("" for an empty chain)
	Legacy int64     `json:"legacy"` // entries written before MACs began, let through without one
	At     time.Time `json:"at"`
	MAC    string    `json:"mac"`
}

// Kinds of checkpoint.
const (
	KindCheckpoint = "checkpoint"
	// KindRebase starts over after a restore put an older chain in place:
	// checkpoints before it no longer apply.
	KindRebase = "rebase"
)

// CheckpointFile is the name of the checkpoint file in the data folder.
const CheckpointFile = "audit-checkpoints.jsonl"

// CheckpointEvery is how often a running server writes a checkpoint when
// the chain has grown.
const CheckpointEvery = time.Minute

// checkpointTail is how much of the file's end the writer reads for the
// newest checkpoint: lines are about 250 bytes.
const checkpointTail = 64 << 10

func (l *Log) checkpointMAC(c Checkpoint) string {
	return l.sum("checkpoint", c.Kind, strconv.FormatInt(c.Seq, 10), c.Head, strconv.FormatInt(c.Legacy, 10), c.At.UTC().Format(time.RFC3339Nano))
}

// anchoring tells whether this log writes and checks checkpoints.
func (l *Log) anchoring() bool { return l.Key != nil && l.Checkpoints != "" }

// checkpoints reads the whole file and returns the checkpoints since the
// last rebase. A line that does not parse or whose MAC does not match is
// a tampered file.
func (l *Log) checkpoints() ([]Checkpoint, error) {
	if !l.anchoring() {
		return nil, nil
	}
	b, err := os.ReadFile(l.Checkpoints)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("审计检查点 / audit checkpoints: %w", err)
	}
	return l.parseCheckpoints(b, 1)
}

// parseCheckpoints reads lines of checkpoints; first is the number of the
// first line (for messages).
func (l *Log) parseCheckpoints(b []byte, first int) ([]Checkpoint, error) {
	var out []Checkpoint
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := first; sc.Scan(); n++ {
		var c Checkpoint
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil || (c.Kind != KindCheckpoint && c.Kind != KindRebase) ||
			!hmac.Equal([]byte(c.MAC), []byte(l.checkpointMAC(c))) {
			return nil, &BrokenError{Reason: fmt.Sprintf("%s 第 %d 行无效或被改动 / line %d of %s is invalid or altered", l.Checkpoints, n, n, l.Checkpoints)}
		}
		if c.Kind == KindRebase {
			out = out[:0]
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// newest is the checkpoint with the most entries.
func newest(cps []Checkpoint) *Checkpoint {
	var n *Checkpoint
	for i := range cps {
		if n == nil || cps[i].Seq > n.Seq {
			n = &cps[i]
		}
	}
	return n
}

// lastCheckpoint is the newest checkpoint since the last rebase, read once
// from the end of the file and then kept up to date by this log.
func (l *Log) lastCheckpoint() (*Checkpoint, error) {
	if l.loaded {
		return l.anchored, nil
	}
	f, err := os.Open(l.Checkpoints)
	if errors.Is(err, os.ErrNotExist) {
		l.loaded = true
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	from := max(0, st.Size()-checkpointTail)
	b := make([]byte, st.Size()-from)
	if _, err := f.ReadAt(b, from); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if from > 0 { // the first line is cut: start after it
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	cps, err := l.parseCheckpoints(b, 1)
	if err != nil {
		return nil, err
	}
	l.anchored, l.loaded = newest(cps), true
	return l.anchored, nil
}

// head is the newest committed entry (seq 0 for an empty chain).
func (l *Log) head(ctx context.Context) (Entry, error) {
	var e Entry
	err := l.DB.R.QueryRowContext(ctx, `SELECT seq, hash, mac FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&e.Seq, &e.Hash, &e.MAC)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, nil
	}
	return e, err
}

// KeyFits tells whether the log's key made the MAC of the newest entry
// that carries one: a store opened with another data key fails it. checked
// is false when no entry has a MAC (an empty or a legacy chain) or the log
// has no key.
func (l *Log) KeyFits(ctx context.Context) (checked, fits bool, err error) {
	if l.Key == nil {
		return false, false, nil
	}
	var e Entry
	err = l.DB.R.QueryRowContext(ctx, `SELECT hash, mac FROM audit_log WHERE mac <> '' ORDER BY seq DESC LIMIT 1`).Scan(&e.Hash, &e.MAC)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	} else if err != nil {
		return false, false, err
	}
	return true, hmac.Equal([]byte(e.MAC), []byte(l.mac(e.Hash))), nil
}

// legacyMark is the last entry written without a MAC (0: none).
func (l *Log) legacyMark(ctx context.Context) (int64, error) {
	var n int64
	err := l.DB.R.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_log WHERE mac = ''`).Scan(&n)
	return n, err
}

// Checkpoint appends a checkpoint of the committed chain to the file and
// the log stream, when the chain has grown since the last one (or none
// exists). It refuses — and says why — when the chain no longer matches
// the last checkpoint: shorter, or another hash at its entry, or a head
// without a valid MAC. It does nothing without a key and a file.
func (l *Log) Checkpoint(ctx context.Context) error {
	if !l.anchoring() {
		return nil
	}
	l.anchorMu.Lock()
	defer l.anchorMu.Unlock()
	last, err := l.lastCheckpoint()
	if err != nil {
		return err
	}
	h, err := l.head(ctx)
	if err != nil {
		return err
	}
	legacy := int64(0)
	if last != nil {
		legacy = last.Legacy
		if err := l.follows(ctx, h, last); err != nil || h.Seq == last.Seq {
			return err
		}
	} else if legacy, err = l.legacyMark(ctx); err != nil {
		return err
	}
	if h.Seq > legacy && !hmac.Equal([]byte(h.MAC), []byte(l.mac(h.Hash))) {
		return fmt.Errorf("审计链最新一条（第 %d 条）校验码不符，未写检查点 / the chain's newest entry (%d) has no valid MAC: no checkpoint written", h.Seq, h.Seq)
	}
	return l.appendCheckpoint(Checkpoint{Kind: KindCheckpoint, Seq: h.Seq, Head: h.Hash, Legacy: legacy})
}

// follows checks that the chain whose newest entry is h extends the
// checkpoint last.
func (l *Log) follows(ctx context.Context, h Entry, last *Checkpoint) error {
	at := last.At.Format(time.RFC3339)
	if h.Seq < last.Seq {
		return fmt.Errorf("审计链只有 %d 条，少于 %s 的检查点记录的 %d 条，未写检查点 / the audit chain holds %d entries, fewer than the %d of the checkpoint of %s: no checkpoint written",
			h.Seq, at, last.Seq, h.Seq, last.Seq, at)
	}
	if last.Seq == 0 {
		return nil
	}
	var hash string
	err := l.DB.R.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE seq = $1`, last.Seq).Scan(&hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if hash != last.Head {
		return fmt.Errorf("审计链第 %d 条与 %s 的检查点不符，未写检查点 / entry %d differs from the checkpoint of %s: no checkpoint written", last.Seq, at, last.Seq, at)
	}
	return nil
}

// Rebase makes the current chain the new baseline after a restore put an
// older one in place: the chain must verify on its own, and checkpoints
// written before no longer apply.
func (l *Log) Rebase(ctx context.Context) (Checkpoint, error) {
	if !l.anchoring() {
		return Checkpoint{}, errors.New("audit: rebase needs a key and a checkpoint file")
	}
	l.anchorMu.Lock()
	defer l.anchorMu.Unlock()
	v, err := l.check(ctx, nil)
	if err != nil {
		return Checkpoint{}, err
	}
	h, err := l.head(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	legacy, err := l.legacyMark(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	if h.Seq != v.Entries {
		return Checkpoint{}, fmt.Errorf("audit: the chain grew while it was checked (%d, now %d)", v.Entries, h.Seq)
	}
	c := Checkpoint{Kind: KindRebase, Seq: h.Seq, Head: h.Hash, Legacy: legacy}
	if err := l.appendCheckpoint(c); err != nil {
		return Checkpoint{}, err
	}
	return *l.anchored, nil
}

// appendCheckpoint dates and MACs c, appends it to the file as one line
// (O_APPEND, 0600, synced) and copies it to the log stream.
func (l *Log) appendCheckpoint(c Checkpoint) error {
	c.At = l.Now().UTC().Truncate(time.Microsecond)
	c.MAC = l.checkpointMAC(c)
	line, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(l.Checkpoints), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(l.Checkpoints, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("无法写审计检查点 / cannot write audit checkpoint: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	l.anchored, l.loaded = &c, true
	if l.Logger != nil {
		l.Logger.Info("audit checkpoint", "kind", c.Kind, "seq", c.Seq, "head", c.Head, "legacy", c.Legacy, "at", c.At.Format(time.RFC3339Nano), "mac", c.MAC)
	}
	return nil
}

// Run writes checkpoints and closes the counts of repeated refusals every
// CheckpointEvery until ctx ends, and once more then.
func (l *Log) Run(ctx context.Context) {
	t := time.NewTicker(CheckpointEvery)
	defer t.Stop()
	l.tick(ctx, false)
	for {
		select {
		case <-ctx.Done():
			l.tick(context.WithoutCancel(ctx), true)
			return
		case <-t.C:
			l.tick(ctx, false)
		}
	}
}

// tick is one round of Run; its errors go to the log stream, where an
// operator watches (a refused checkpoint is a tampered chain).
func (l *Log) tick(ctx context.Context, all bool) {
	for _, err := range []error{l.Flush(ctx, all), l.Checkpoint(ctx)} {
		if err != nil && l.Logger != nil {
			l.Logger.Error("audit", "err", err.Error())
		}
	}
}

// Close writes the counts of repeated refusals still open and a last
// checkpoint; the store must still be open.
func (l *Log) Close(ctx context.Context) error {
	return errors.Join(l.Flush(ctx, true), l.Checkpoint(ctx))
}
