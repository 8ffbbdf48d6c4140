package requests

import (
	"context"
	"database/sql"

	"linli/internal/audit"
	"sync"
)

// Group commit: submissions are written by one goroutine per store that
// takes every submission waiting at that moment (up to maxBatch) into one
// transaction. Under load this shares the commit (WAL write on SQLite,
// fsync and the audit chain's lock on PostgreSQL) among many requests; when
// idle a batch is a single request, so nothing waits for a timer. Each caller
// gets its answer only after its transaction committed.

const maxBatch = 128

type createJob struct {
	ctx                                     context.Context
	r                                       *Request
	name, phone, email, phoneIdx, sourceKey string
	photo                                   *Photo
	actor                                   actor
	done                                    chan error
}

type batcher struct {
	once sync.Once
	jobs chan *createJob
}

func (s *Store) commitCreate(ctx context.Context, j *createJob) error {
	s.batch.once.Do(func() {
		s.batch.jobs = make(chan *createJob, 4*maxBatch)
		// One writer: SQLite has one writer connection, and on PostgreSQL
		// the day's counter row and the audit chain serialise writers anyway.
		go s.writer()
	})
	select {
	case s.batch.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Wait for the outcome even if the caller goes away: once queued, the
	// request is written or not, and the answer must say which.
	return <-j.done
}

func (s *Store) writer() {
	for j := range s.batch.jobs {
		batch := []*createJob{j}
	drain:
		for len(batch) < maxBatch {
			select {
			case k := <-s.batch.jobs:
				batch = append(batch, k)
			default:
				break drain
			}
		}
		s.writeBatch(batch)
	}
}

func (s *Store) writeBatch(batch []*createJob) {
	if len(batch) > 1 {
		err := s.DB.Tx(context.Background(), func(tx *sql.Tx) error {
			if err := s.writeCreates(tx, batch); err != nil {
				return err
			}
			items := make([]audit.Item, len(batch))
			for i, j := range batch {
				items[i] = audit.Item{Ctx: j.ctx, Entry: createEntry(j)}
			}
			return s.Audit.RecordAllTx(context.Background(), tx, items)
		})
		if err == nil {
			for _, j := range batch {
				j.done <- nil
			}
			return
		}
		// One bad submission must not sink the others: write each alone.
	}
	for _, j := range batch {
		j.done <- s.DB.Tx(context.Background(), func(tx *sql.Tx) error {
			if err := s.writeCreates(tx, []*createJob{j}); err != nil {
				return err
			}
			return s.auditCreate(tx, j)
		})
	}
}
