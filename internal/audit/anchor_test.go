package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// anchored is a log with a key and a checkpoint file, its log stream kept
// for reading.
type anchored struct {
	*audit.Log
	clock  *dbtest.Clock
	stream *bytes.Buffer
}

func newAnchored(t *testing.T, d *db.DB, key string) anchored {
	ck := dbtest.NewClock(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC))
	stream := &bytes.Buffer{}
	l := &audit.Log{DB: d, Now: ck.Now, Key: []byte(key), Checkpoints: filepath.Join(t.TempDir(), audit.CheckpointFile),
		Logger: slog.New(slog.NewJSONHandler(stream, nil))}
	return anchored{l, ck, stream}
}

// again is a second log over the same store, key and file, as the next
// command or server start builds.
func (a anchored) again() *audit.Log {
	return &audit.Log{DB: a.DB, Now: a.clock.Now, Key: a.Key, Checkpoints: a.Checkpoints}
}

func (a anchored) record(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := a.Record(asOfficer(), audit.Entry{Action: "registry.resident.update", Object: "resident", ObjectID: fmt.Sprint("r-", i)}); err != nil {
			t.Fatal(err)
		}
		a.clock.Add(time.Second)
	}
}

// lines are the checkpoints in the file, oldest first.
func (a anchored) lines(t *testing.T) []audit.Checkpoint {
	t.Helper()
	b, err := os.ReadFile(a.Checkpoints)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	var out []audit.Checkpoint
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var c audit.Checkpoint
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func (a anchored) head(t *testing.T) (int64, string) {
	t.Helper()
	var seq int64
	var hash string
	if err := a.DB.R.QueryRow(`SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash); err != nil {
		t.Fatal(err)
	}
	return seq, hash
}

// brokenAt verifies with a fresh log and returns the break.
func brokenAt(t *testing.T, l *audit.Log) audit.BrokenError {
	t.Helper()
	_, err := l.Verify(context.Background())
	var be *audit.BrokenError
	if !errors.As(err, &be) {
		t.Fatalf("verify: %v, want a broken chain", err)
	}
	return *be
}

func TestCheckpoints(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, audit.Migrations, func(t *testing.T, d *db.DB) {
		a := newAnchored(t, d, "k-1")
		ctx := context.Background()
		t.Run("an empty chain is checkpointed as empty", func(t *testing.T) {
			if err := a.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			got := a.lines(t)
			if len(got) != 1 || got[0].Kind != audit.KindCheckpoint || got[0].Seq != 0 || got[0].Head != "" || got[0].Legacy != 0 || len(got[0].MAC) != 64 {
				t.Fatalf("checkpoints %+v", got)
			}
		})
		a.record(t, 30)
		seq, hash := a.head(t)
		t.Run("a grown chain is checkpointed once, to the file and the log stream", func(t *testing.T) {
			for range 2 {
				if err := a.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
			}
			got := a.lines(t)
			if len(got) != 2 || got[1].Seq != seq || got[1].Head != hash || !got[1].At.Equal(a.clock.Now()) {
				t.Fatalf("checkpoints %+v, want a second one of %d entries", got, seq)
			}
			var logged struct {
				Msg  string `json:"msg"`
				Seq  int64  `json:"seq"`
				Head string `json:"head"`
				MAC  string `json:"mac"`
			}
			streamLines := strings.Split(strings.TrimSpace(a.stream.String()), "\n")
			if err := json.Unmarshal([]byte(streamLines[len(streamLines)-1]), &logged); err != nil {
				t.Fatal(err)
			}
			if logged.Msg != "audit checkpoint" || logged.Seq != seq || logged.Head != hash || logged.MAC != got[1].MAC {
				t.Errorf("logged %+v, want the file's %+v", logged, got[1])
			}
		})
		t.Run("the file is the owner's only", func(t *testing.T) {
			st, err := os.Stat(a.Checkpoints)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", st.Mode().Perm())
			}
		})
		t.Run("the chain verifies against its checkpoint", func(t *testing.T) {
			v, err := a.again().Check(ctx)
			if err != nil || v.Entries != seq || v.Checkpoint == nil || v.Checkpoint.Seq != seq {
				t.Fatalf("check: %+v %v", v, err)
			}
		})
		t.Run("another key finds every MAC wrong", func(t *testing.T) {
			other := &audit.Log{DB: d, Now: a.clock.Now, Key: []byte("k-2"), Checkpoints: filepath.Join(t.TempDir(), audit.CheckpointFile)}
			if be := brokenAt(t, other); be.Seq != 1 || be.Reason != "校验码不符：条目被改写 / MAC does not match: the entry was rewritten" {
				t.Errorf("got %+v", be)
			}
		})
		t.Run("a checkpoint line altered in the file is found", func(t *testing.T) {
			b, err := os.ReadFile(a.Checkpoints)
			if err != nil {
				t.Fatal(err)
			}
			forged := strings.Replace(string(b), fmt.Sprintf(`"seq":%d`, seq), fmt.Sprintf(`"seq":%d`, seq-5), 1)
			bad := a.again()
			bad.Checkpoints = filepath.Join(t.TempDir(), audit.CheckpointFile)
			if err := os.WriteFile(bad.Checkpoints, []byte(forged), 0o600); err != nil {
				t.Fatal(err)
			}
			want := audit.BrokenError{Seq: 0, Reason: fmt.Sprintf("%s 第 2 行无效或被改动 / line 2 of %s is invalid or altered", bad.Checkpoints, bad.Checkpoints)}
			if be := brokenAt(t, bad); be != want {
				t.Errorf("got %+v, want %+v", be, want)
			}
		})
		dropTriggers(t, d)
		t.Run("a MAC removed after MACs began is found", func(t *testing.T) {
			if _, err := d.W.Exec(`UPDATE audit_log SET mac = '' WHERE seq = 7`); err != nil {
				t.Fatal(err)
			}
			if be := brokenAt(t, a.again()); be.Seq != 7 || be.Reason != "缺少校验码 / MAC missing" {
				t.Errorf("got %+v", be)
			}
		})
	})
}

func TestCheckpointRefusesAChainThatWentBack(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, audit.Migrations, func(t *testing.T, d *db.DB) {
		a := newAnchored(t, d, "k-1")
		ctx := context.Background()
		a.record(t, 40)
		if err := a.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		dropTriggers(t, d)
		if _, err := d.W.Exec(`DELETE FROM audit_log WHERE seq > 30`); err != nil {
			t.Fatal(err)
		}
		t.Run("a cut chain gets no checkpoint that would hide the cut", func(t *testing.T) {
			next := a.again()
			if err := next.Checkpoint(ctx); err == nil {
				t.Fatal("a checkpoint of the cut chain was written")
			}
			if got := a.lines(t); len(got) != 1 || got[0].Seq != 40 {
				t.Fatalf("checkpoints %+v", got)
			}
		})
		t.Run("verify says where the tail was cut", func(t *testing.T) {
			at := a.lines(t)[0].At.Format(time.RFC3339)
			want := audit.BrokenError{Seq: 31, Reason: fmt.Sprintf("链尾被截断：%s 的检查点记录了 40 条，现只有 30 条 / tail cut: the checkpoint of %s records 40 entries, the chain holds 30", at, at)}
			if be := brokenAt(t, a.again()); be != want {
				t.Errorf("got %+v, want %+v", be, want)
			}
		})
		t.Run("a rebase after a restore makes the shorter chain the baseline", func(t *testing.T) {
			c, err := a.again().Rebase(ctx)
			if err != nil || c.Kind != audit.KindRebase || c.Seq != 30 {
				t.Fatalf("rebase: %+v %v", c, err)
			}
			v, err := a.again().Check(ctx)
			if err != nil || v.Entries != 30 || v.Checkpoint.Seq != 30 {
				t.Fatalf("check after rebase: %+v %v", v, err)
			}
		})
		t.Run("a broken chain cannot be rebased", func(t *testing.T) {
			if _, err := d.W.Exec(`UPDATE audit_log SET detail = 'x' WHERE seq = 3`); err != nil {
				t.Fatal(err)
			}
			_, err := a.again().Rebase(ctx)
			var be *audit.BrokenError
			if !errors.As(err, &be) || be.Seq != 3 {
				t.Fatalf("rebase of a broken chain: %v", err)
			}
			if got := a.lines(t); got[len(got)-1].Kind != audit.KindRebase || len(got) != 2 {
				t.Errorf("checkpoints %+v", got)
			}
		})
	})
}

func TestEntriesFromBeforeMACsAreLetThrough(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, audit.Migrations, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		old, _ := newLog(d) // a version without MACs wrote these
		for i := range 5 {
			if err := old.Record(asOfficer(), audit.Entry{Action: "old", ObjectID: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		a := newAnchored(t, d, "k-1")
		t.Run("the first checkpoint marks where MACs began", func(t *testing.T) {
			if err := a.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			a.record(t, 5)
			if err := a.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			got := a.lines(t)
			if len(got) != 2 || got[0].Legacy != 5 || got[0].Seq != 5 || got[1].Legacy != 5 || got[1].Seq != 10 {
				t.Fatalf("checkpoints %+v", got)
			}
			if n, err := a.again().Verify(ctx); err != nil || n != 10 {
				t.Fatalf("verify: %d %v", n, err)
			}
		})
		dropTriggers(t, d)
		t.Run("an entry after the mark without a MAC is found", func(t *testing.T) {
			var mac string
			if err := d.R.QueryRow(`SELECT mac FROM audit_log WHERE seq = 6`).Scan(&mac); err != nil {
				t.Fatal(err)
			}
			if _, err := d.W.Exec(`UPDATE audit_log SET mac = '' WHERE seq = 6`); err != nil {
				t.Fatal(err)
			}
			if be := brokenAt(t, a.again()); be.Seq != 6 || be.Reason != "缺少校验码 / MAC missing" {
				t.Errorf("got %+v", be)
			}
			if _, err := d.W.Exec(`UPDATE audit_log SET mac = $1 WHERE seq = 6`, mac); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("an entry before the mark rewritten and re-hashed is found at the checkpoint", func(t *testing.T) {
			if _, err := d.W.Exec(`UPDATE audit_log SET actor = 'someone.else' WHERE seq = 3`); err != nil {
				t.Fatal(err)
			}
			rehash(t, d, 3, 5)
			at := a.lines(t)[0].At.Format(time.RFC3339)
			want := audit.BrokenError{Seq: 5, Reason: fmt.Sprintf("与 %s 的检查点不符 / differs from the checkpoint of %s", at, at)}
			if be := brokenAt(t, a.again()); be != want {
				t.Errorf("got %+v, want %+v", be, want)
			}
		})
	})
}

func TestRunCheckpointsUntilStopped(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, audit.Migrations, func(t *testing.T, d *db.DB) {
		a := newAnchored(t, d, "k-1")
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { a.Run(ctx); close(done) }()
		a.record(t, 3)
		stop()
		<-done
		got := a.lines(t)
		if len(got) == 0 || got[len(got)-1].Seq != 3 {
			t.Fatalf("checkpoints %+v, want the last of 3 entries", got)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Seq <= got[i-1].Seq {
				t.Errorf("checkpoint %d (%d entries) does not follow %d (%d)", i, got[i].Seq, i-1, got[i-1].Seq)
			}
		}
	})
}

// rehash recomputes the stored hashes of entries from..to, as someone who
// read the source and holds the database could.
func rehash(t *testing.T, d *db.DB, from, to int64) {
	t.Helper()
	prev := ""
	if from > 1 {
		if err := d.R.QueryRow(`SELECT hash FROM audit_log WHERE seq = $1`, from-1).Scan(&prev); err != nil {
			t.Fatal(err)
		}
	}
	for seq := from; seq <= to; seq++ {
		var at db.Time
		f := make([]string, 10)
		if err := d.R.QueryRow(`SELECT at, actor_id, actor, role, ip, action, object, object_id, division_code, result, detail FROM audit_log WHERE seq = $1`, seq).
			Scan(&at, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9]); err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		for _, x := range append([]string{prev, strconv.FormatInt(seq, 10), at.UTC().Format("2006-01-02T15:04:05.000000Z")}, f...) {
			fmt.Fprintf(h, "%d:%s", len(x), x)
		}
		sum := hex.EncodeToString(h.Sum(nil))
		if _, err := d.W.Exec(`UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3`, prev, sum, seq); err != nil {
			t.Fatal(err)
		}
		prev = sum
	}
}
