package requests

import (
	"context"
	"database/sql"
	"sync"

	"linli/internal/audit"
	"linli/internal/fault"
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
	description, address                    string // as submitted, for the submitter's answer
}

type batcher struct {
	once   sync.Once
	mu     sync.RWMutex // held shared while queueing, exclusively to close
	jobs   chan *createJob
	closed bool
	exited chan struct{} // closed when the writer has returned
}

// ErrClosed answers a submission to a store that has been closed (the app
// is shutting down).
var ErrClosed = fault.New(fault.CodeUnavailable, fault.M("服务正在停止，请稍后重试", "the service is stopping; please try again later"))

func (s *Store) commitCreate(ctx context.Context, j *createJob) error {
	if err := s.enqueue(ctx, j); err != nil {
		return err
	}
	// Wait for the outcome even if the caller goes away: once queued, the
	// request is written or not, and the answer must say which.
	return <-j.done
}

func (s *Store) enqueue(ctx context.Context, j *createJob) error {
	b := &s.batch
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	b.once.Do(func() {
		b.jobs = make(chan *createJob, 4*maxBatch)
		b.exited = make(chan struct{})
		// One writer: SQLite has one writer connection, and on PostgreSQL
		// the day's counter row and the audit chain serialise writers anyway.
		go s.writer()
	})
	select {
	case b.jobs <- j:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the writer after it has written every submission already
// queued (their callers wait for that answer); later submissions get
// ErrClosed. It returns when the writer has exited, before the store's
// database may be closed. Closing twice is harmless.
func (s *Store) Close() {
	b := &s.batch
	b.mu.Lock()
	first := !b.closed
	b.closed = true
	b.mu.Unlock()
	if first && b.jobs != nil {
		close(b.jobs)
	}
	if b.exited != nil {
		<-b.exited
	}
}

func (s *Store) writer() {
	defer close(s.batch.exited)
	for j := range s.batch.jobs {
		batch := []*createJob{j}
	drain:
		for len(batch) < maxBatch {
			select {
			case k, ok := <-s.batch.jobs:
				if !ok {
					break drain
				}
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
