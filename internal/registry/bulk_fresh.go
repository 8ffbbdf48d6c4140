package registry

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"linli/internal/db"
)

// A fresh load fills the empty households, residents and tags tables (the
// demo): every id is made here, so no row is read back, no upsert checks a
// conflict that cannot happen and the tag counts are summed in memory.
// PostgreSQL receives each table as one COPY stream; SQLite large
// multi-row INSERTs on its single connection.

// freshBatch is the rows of one SQLite INSERT: 500 rows of 20 values stay
// below SQLite's 32,766 parameters.
const freshBatch = 500

// rowWriter writes whole tables' rows on one connection inside its
// transaction.
type rowWriter struct {
	ctx     context.Context
	conn    *sql.Conn
	tx      *sql.Tx
	dialect db.Dialect
	stmts   map[string]*sql.Stmt
}

func newRowWriter(ctx context.Context, d db.Dialect, conn *sql.Conn, tx *sql.Tx) *rowWriter {
	return &rowWriter{ctx: ctx, conn: conn, tx: tx, dialect: d, stmts: map[string]*sql.Stmt{}}
}

func (w *rowWriter) close() {
	for _, st := range w.stmts {
		st.Close()
	}
}

// time is a timestamp as the writer passes it: COPY takes time.Time,
// INSERTs the fixed text form.
func (w *rowWriter) time(t time.Time) any {
	if w.dialect == db.Postgres {
		return t.UTC().Truncate(time.Microsecond)
	}
	return db.T(t)
}

// write writes the rows next returns (until false) into table's cols.
func (w *rowWriter) write(table string, cols []string, next func() ([]any, bool)) error {
	if w.dialect == db.Postgres {
		_, err := db.CopyFrom(w.ctx, w.conn, table, cols, next)
		if !errors.Is(err, db.ErrNoCopy) {
			return err
		}
	}
	args := make([]any, 0, freshBatch*len(cols))
	for {
		row, ok := next()
		if ok {
			args = append(args, row...)
		}
		n := len(args) / len(cols)
		if n == freshBatch || !ok && n > 0 {
			st, err := w.stmt(table, cols, n)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(w.ctx, args...); err != nil {
				return err
			}
			args = args[:0]
		}
		if !ok {
			return nil
		}
	}
}

// stmt is the prepared INSERT of n rows into table, kept for the next
// batch of the same size.
func (w *rowWriter) stmt(table string, cols []string, n int) (*sql.Stmt, error) {
	key := table + "\x00" + strconv.Itoa(n)
	if st := w.stmts[key]; st != nil {
		return st, nil
	}
	var b strings.Builder
	// OR FAIL: a conflict ends the load (its transaction is rolled back)
	// without SQLite journalling every page each statement touches so that
	// the statement alone could be undone.
	b.WriteString("INSERT OR FAIL INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	k := 0
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteByte(',')
			}
			k++
			if w.dialect == db.Postgres {
				b.WriteString("$" + strconv.Itoa(k))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	st, err := w.tx.PrepareContext(w.ctx, b.String())
	if err != nil {
		return nil, err
	}
	w.stmts[key] = st
	return st, nil
}

var (
	freshHouseholdCols = []string{"id", "division_code", "household_no", "grid_id", "address", "note", "created_at", "updated_at"}
	freshResidentCols  = strings.Fields(strings.ReplaceAll(residentInsertCols, ",", " "))
	freshTagCols       = []string{"id", "resident_id", "division_code", "tag", "created_at", "since_date", "until_date", "source", "note", "detail", "active"}
)

// freshTables are the tables a fresh load fills.
var freshTables = []string{"reg_households", "reg_residents", "reg_resident_tags"}

// loadFresh loads rows into the empty households, residents and tags
// tables inside tx (begun on conn): their indexes and constraints are set
// aside, the rows streamed in, then everything is rebuilt and checked and
// the tag counts added. SQLite's connection must be in bulkMode with
// foreign keys off.
func (s *Store) loadFresh(ctx context.Context, conn *sql.Conn, tx *sql.Tx, rows []ResidentRow, progress func(int)) (BulkResult, error) {
	rebuild, err := dropForLoad(ctx, s.DB.Dialect, tx, freshTables...)
	if err != nil {
		return BulkResult{}, err
	}
	w := newRowWriter(ctx, s.DB.Dialect, conn, tx)
	defer w.close()
	res, deltas, err := s.freshLoad(ctx, w, rows, progress)
	if err != nil {
		return res, err
	}
	if err := rebuild(); err != nil {
		return res, err
	}
	if err := checkForeignKeys(ctx, s.DB.Dialect, tx, freshTables...); err != nil {
		return res, err
	}
	return res, s.applyDeltas(ctx, tx, deltas)
}

// freshLoad writes rows into the empty households, residents and tags
// tables through w; progress, if set, is told how many residents are done.
// Rows must be valid and their ID numbers distinct (a repeat fails the
// load on the unique blind index).
func (s *Store) freshLoad(ctx context.Context, w *rowWriter, rows []ResidentRow, progress func(int)) (BulkResult, tagDeltas, error) {
	var res BulkResult
	deltas := tagDeltas{}
	now := w.time(s.Now())
	seq := newIDSeq()
	ids := seq.take(len(rows))

	// Households: the first row of each names it.
	hids := make([]string, len(rows))
	byKey := map[string]string{}
	var firsts []int
	for i, r := range rows {
		key := r.Division + "\x00" + r.HouseholdNo
		if id, ok := byKey[key]; ok {
			hids[i] = id
			continue
		}
		id := seq.next()
		byKey[key], hids[i] = id, id
		firsts = append(firsts, i)
	}
	k := 0
	if err := w.write("reg_households", freshHouseholdCols, func() ([]any, bool) {
		if k == len(firsts) {
			return nil, false
		}
		r := rows[firsts[k]]
		k++
		return []any{hids[firsts[k-1]], r.Division, r.HouseholdNo, nullable(r.GridID), r.Address, "", now, now}, true
	}); err != nil {
		return res, nil, err
	}
	res.Households = len(firsts)

	// Residents, sealed on the other cores while the previous chunk is
	// written.
	sealCtx, stop := context.WithCancel(ctx)
	defer stop()
	chunks := s.sealChunks(sealCtx, rows)
	var c bulkChunk
	done, j := 0, 0
	row := make([]any, len(freshResidentCols))
	if err := w.write("reg_residents", freshResidentCols, func() ([]any, bool) {
		if j == len(c.rows) {
			done += len(c.rows)
			if progress != nil && len(c.rows) > 0 {
				progress(done)
			}
			var ok bool
			if c, ok = <-chunks; !ok {
				return nil, false
			}
			j = 0
		}
		i, r, z := done+j, c.rows[j], c.z[j]
		j++
		row = append(row[:0], ids[i], r.Division, hids[i], r.Name, r.Gender, r.Birth, r.Relation, r.Residence, z.idEnc, z.idIdx, z.idMask,
			z.phoneEnc, z.phoneIdx, z.phoneMask, z.health, z.disability, z.income, "", now, now)
		return row, true
	}); err != nil {
		return res, nil, err
	}
	res.Residents = len(rows)

	// Tags, counted here for the per-division totals.
	i, t := 0, 0
	if err := w.write("reg_resident_tags", freshTagCols, func() ([]any, bool) {
		for i < len(rows) && t == len(rows[i].Tags) {
			i, t = i+1, 0
		}
		if i == len(rows) {
			return nil, false
		}
		r := rows[i]
		tag := r.Tags[t]
		t++
		deltas.add(r.Division, tag, 1)
		res.Tags++
		return []any{seq.next(), ids[i], r.Division, tag, now, "", "", "import", "", "", true}, true
	}); err != nil {
		return res, nil, err
	}
	return res, deltas, nil
}

// idSeq hands out the ids of a load: one db.NewID, then counted up from
// it, so that the ids sort in the order the rows are written (the indexes
// on them are filled at their end) and no random bytes are drawn per row.
type idSeq struct {
	prefix string
	n      uint64
}

func newIDSeq() *idSeq {
	id := db.NewID()
	n, _ := strconv.ParseUint(id[16:], 16, 64)
	// Room to count up without wrapping.
	return &idSeq{prefix: id[:16], n: n &^ (1 << 63)}
}

func (q *idSeq) next() string {
	q.n++
	s := strconv.FormatUint(q.n, 16)
	return q.prefix + strings.Repeat("0", 16-len(s)) + s
}

// take returns the next n ids.
func (q *idSeq) take(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = q.next()
	}
	return out
}
