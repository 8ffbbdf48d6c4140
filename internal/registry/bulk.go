package registry

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/registry/idno"
)

// ResidentRow is one resident of a bulk load (import, demo, benchmark),
// already validated: Gender and Birth come from the ID number.
type ResidentRow struct {
	Line                           int
	Division, HouseholdNo, Address string
	GridID                         string
	Name, IDNumber, Relation       string
	Residence, Phone               string
	Health, Disability, Income     string
	Gender, Birth                  string
	Tags                           []string
}

// BulkResult counts what a bulk load did.
type BulkResult struct {
	Households int `json:"households_created"`
	Residents  int `json:"residents_written"`
	Tags       int `json:"tags_added"`
}

// RowError is one problem of an import, located by row and column.
type RowError struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	ZH     string `json:"message"`
	EN     string `json:"message_en"`
	// elsewhere marks an ID number registered outside the caller's
	// jurisdiction (counted against the account, never shown).
	elsewhere bool
}

// bulkChunk is the unit the sealing goroutine hands to the writer.
type bulkChunk struct {
	rows []ResidentRow
	z    []sealed
}

const chunkSize = 4096

// sealChunks encrypts rows in chunks on every core while the caller writes
// the previous chunk: the cipher work overlaps the database work.
func (s *Store) sealChunks(ctx context.Context, rows []ResidentRow) <-chan bulkChunk {
	out := make(chan bulkChunk, 2)
	go func() {
		defer close(out)
		for i := 0; i < len(rows); i += chunkSize {
			c := bulkChunk{rows: rows[i:min(i+chunkSize, len(rows))]}
			c.z = make([]sealed, len(c.rows))
			var wg sync.WaitGroup
			const workers = 2
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for j := w; j < len(c.rows); j += workers {
						r := c.rows[j]
						c.z[j] = s.seal(ResidentInput{IDNumber: r.IDNumber, Phone: &r.Phone, Health: &r.Health, Disability: &r.Disability, Income: &r.Income})
					}
				}(w)
			}
			wg.Wait()
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

const residentInsertCols = `id, division_code, household_id, name, gender, birth_date, relation, residence, id_enc, id_idx, id_mask,
	phone_enc, phone_idx, phone_mask, health_enc, disability_enc, income_enc, username, created_at, updated_at`

// upsertTail makes a re-import idempotent: the blind index of the ID
// number is the natural key; a resident registered in another community is
// not touched (and reported).
const upsertTail = ` ON CONFLICT (id_idx) DO UPDATE SET household_id = excluded.household_id, name = excluded.name, relation = excluded.relation,
	residence = excluded.residence, phone_enc = excluded.phone_enc, phone_idx = excluded.phone_idx, phone_mask = excluded.phone_mask,
	health_enc = excluded.health_enc, disability_enc = excluded.disability_enc, income_enc = excluded.income_enc, updated_at = excluded.updated_at
	WHERE reg_residents.division_code = excluded.division_code`

// bulkMode readies SQLite's single writer connection for a load of a
// million rows: a page cache that holds the indexes being filled (random
// keys such as the blind indexes otherwise evict and rewrite pages for
// every batch), temporary data in memory instead of files, and, when
// checkFKs is set, foreign keys unchecked row by row (a multi-row INSERT
// that checks them also journals every page it touches): the caller runs
// checkForeignKeys on the loaded tables before it commits. The returned
// func puts the previous settings back. PostgreSQL needs nothing here.
func (s *Store) bulkMode(ctx context.Context, checkFKs bool) (func(), error) {
	if s.DB.Dialect != db.SQLite {
		return func() {}, nil
	}
	var cache, temp, fks int
	for _, p := range []struct {
		name string
		into *int
	}{{"cache_size", &cache}, {"temp_store", &temp}, {"foreign_keys", &fks}} {
		if err := s.DB.W.QueryRowContext(ctx, `PRAGMA `+p.name).Scan(p.into); err != nil {
			return nil, err
		}
	}
	set := `PRAGMA cache_size = -524288; PRAGMA temp_store = MEMORY`
	if checkFKs {
		set += `; PRAGMA foreign_keys = OFF`
	}
	if _, err := s.DB.W.ExecContext(ctx, set); err != nil {
		return nil, err
	}
	return func() {
		// Best effort: a failure leaves a larger cache, not a wrong result;
		// foreign keys are on in every new connection.
		s.DB.W.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA cache_size = %d; PRAGMA temp_store = %d; PRAGMA foreign_keys = %d`, cache, temp, fks))
	}, nil
}

// checkForeignKeys fails when a row of the tables refers to a row that is
// not there: the check of a load written with foreign keys off (SQLite's
// bulk mode), one pass over each table. PostgreSQL checks its foreign
// keys itself when dropForLoad's rebuild adds them back.
func checkForeignKeys(ctx context.Context, d db.Dialect, tx *sql.Tx, tables ...string) error {
	if d != db.SQLite {
		return nil
	}
	for _, t := range tables {
		rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check(`+t+`)`)
		if err != nil {
			return err
		}
		bad := rows.Next()
		rows.Close()
		if bad {
			return fmt.Errorf("registry: a loaded row of %s refers to a missing row", t)
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// dropForLoad readies empty tables for a bulk load inside tx and returns
// the function that puts back what it took away, from the definitions the
// store itself reports — whatever the migrations made. Building an index
// once from sorted rows costs far less than keeping it through a million
// random inserts, and checking a foreign key once with a join less than a
// trigger call per row.
//
// SQLite: the indexes that neither back a constraint nor enforce
// uniqueness. PostgreSQL: every index and constraint but the primary keys
// (unique ones, foreign keys) — the load itself writes new rows only, and
// the unique constraints, put back at the end, still refuse a repeat.
func dropForLoad(ctx context.Context, d db.Dialect, tx *sql.Tx, tables ...string) (func() error, error) {
	type object struct{ table, name, def string }
	read := func(q string, t string) ([]object, error) {
		return db.Collect(ctx, tx, func(r db.Scanner) (object, error) {
			o := object{table: t}
			err := r.Scan(&o.name, &o.def)
			return o, err
		}, q, t)
	}
	var indexes, constraints []object
	for _, t := range tables {
		iq := `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'`
		if d == db.Postgres {
			iq = `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1
				AND indexname NOT IN (SELECT conname FROM pg_constraint)`
		}
		ix, err := read(iq, t)
		if err != nil {
			return nil, err
		}
		indexes = append(indexes, ix...)
		if d == db.Postgres {
			cs, err := read(`SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
				WHERE t.relname = $1 AND t.relnamespace = current_schema()::regnamespace AND c.contype IN ('u', 'f')`, t)
			if err != nil {
				return nil, err
			}
			constraints = append(constraints, cs...)
		}
	}
	// Foreign keys go first (a unique constraint may back one) and come
	// back last.
	slices.SortStableFunc(constraints, func(a, b object) int {
		return strings.Compare(strings.SplitN(a.def, " ", 2)[0], strings.SplitN(b.def, " ", 2)[0])
	})
	for _, c := range constraints {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+c.table+` DROP CONSTRAINT `+c.name); err != nil {
			return nil, err
		}
	}
	for _, i := range indexes {
		if _, err := tx.ExecContext(ctx, `DROP INDEX `+i.name); err != nil {
			return nil, err
		}
	}
	return func() error {
		if d == db.Postgres {
			// Index builds sort in memory rather than in temporary files.
			if _, err := tx.ExecContext(ctx, `SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
				return err
			}
		}
		for _, i := range indexes {
			if _, err := tx.ExecContext(ctx, i.def); err != nil {
				return err
			}
		}
		for k := len(constraints) - 1; k >= 0; k-- {
			c := constraints[k]
			if _, err := tx.ExecContext(ctx, `ALTER TABLE `+c.table+` ADD CONSTRAINT `+c.name+` `+c.def); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// bulkBatch is how many residents one statement writes: multi-row
// statements on both stores (20 parameters a row stays far below either
// store's limit), so that a load costs one round trip, one statement journal
// and one index descent per batch instead of per row.
const bulkBatch = 200

// LoadResidents writes validated rows inside tx: households created as
// needed (natural key: community + household number), residents upserted by
// ID-number blind index, tags added once. progress, if set, is told how many
// rows are done. Rows whose ID number is registered in another community
// come back as errors (the caller rolls back).
func (s *Store) LoadResidents(ctx context.Context, tx *sql.Tx, rows []ResidentRow, progress func(int)) (BulkResult, []RowError, error) {
	l := s.newLoader(ctx, tx)
	defer l.close()
	// Stopping the sealing goroutine when the load ends early.
	sealCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := 0
	for c := range s.sealChunks(sealCtx, rows) {
		for i := 0; i < len(c.rows); i += bulkBatch {
			end := min(i+bulkBatch, len(c.rows))
			if err := l.write(c.rows[i:end], c.z[i:end]); err != nil {
				return l.res, nil, err
			}
		}
		done += len(c.rows)
		if progress != nil {
			progress(done)
		}
	}
	if len(l.errs) > 0 {
		return l.res, l.errs, nil
	}
	return l.res, nil, s.applyDeltas(ctx, tx, l.deltas)
}

// loader writes the batches of one bulk load inside its transaction.
type loader struct {
	s          *Store
	ctx        context.Context
	tx         *sql.Tx
	now        db.Time
	stmts      map[string]*sql.Stmt // by kind and batch size
	households map[string]string    // community + "\x00" + household number → id
	loaded     map[string]bool      // communities whose households are in the map
	res        BulkResult
	errs       []RowError
	deltas     tagDeltas
}

func (s *Store) newLoader(ctx context.Context, tx *sql.Tx) *loader {
	return &loader{s: s, ctx: ctx, tx: tx, now: db.T(s.Now()), stmts: map[string]*sql.Stmt{},
		households: map[string]string{}, loaded: map[string]bool{}, deltas: tagDeltas{}}
}

func (l *loader) close() {
	for _, st := range l.stmts {
		st.Close()
	}
}

// stmt is the prepared statement head + n rows + tail, each row the
// template with its "?" marks numbered for the store; it is kept for the
// next batch of the same size.
func (l *loader) stmt(head, row string, n int, tail string) (*sql.Stmt, error) {
	key := head + "\x00" + strconv.Itoa(n)
	if st := l.stmts[key]; st != nil {
		return st, nil
	}
	marks := strings.Count(row, "?")
	var b strings.Builder
	b.WriteString(head)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		k := i * marks
		for _, part := range strings.SplitAfter(row, "?") {
			if l.s.DB.Dialect == db.Postgres && strings.HasSuffix(part, "?") {
				k++
				part = part[:len(part)-1] + "$" + strconv.Itoa(k)
			}
			b.WriteString(part)
		}
		b.WriteByte(')')
	}
	b.WriteString(tail)
	st, err := l.tx.PrepareContext(l.ctx, b.String())
	if err != nil {
		return nil, err
	}
	l.stmts[key] = st
	return st, nil
}

// query runs a prepared statement returning rows, scanning each with fn.
func (l *loader) query(st *sql.Stmt, args []any, fn func(db.Scanner) error) error {
	rows, err := st.QueryContext(l.ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// households returns the id of each row's household, creating the new
// ones with one statement.
func (l *loader) householdIDs(part []ResidentRow) ([]string, error) {
	ids := make([]string, len(part))
	var args []any
	for j, r := range part {
		if !l.loaded[r.Division] {
			l.loaded[r.Division] = true
			if err := l.s.loadHouseholds(l.ctx, l.tx, r.Division, l.households); err != nil {
				return nil, err
			}
		}
		key := r.Division + "\x00" + r.HouseholdNo
		if id := l.households[key]; id != "" {
			ids[j] = id
			continue
		}
		id := db.NewID()
		args = append(args, id, r.Division, r.HouseholdNo, nullable(r.GridID), r.Address, "", l.now, l.now)
		l.households[key] = id
		ids[j] = id
		l.res.Households++
	}
	if n := len(args) / 8; n > 0 {
		st, err := l.stmt(`INSERT INTO reg_households (id, division_code, household_no, grid_id, address, note, created_at, updated_at) VALUES `, "?,?,?,?,?,?,?,?", n, "")
		if err != nil {
			return nil, err
		}
		if _, err := st.ExecContext(l.ctx, args...); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// write upserts one batch of residents and adds their tags; a row whose
// ID number is registered in another community becomes a row error.
func (l *loader) write(part []ResidentRow, z []sealed) error {
	hids, err := l.householdIDs(part)
	if err != nil {
		return err
	}
	args := make([]any, 0, 20*len(part))
	for j, r := range part {
		args = append(args, db.NewID(), r.Division, hids[j], r.Name, r.Gender, r.Birth, r.Relation, r.Residence, z[j].idEnc, z[j].idIdx, z[j].idMask,
			z[j].phoneEnc, z[j].phoneIdx, z[j].phoneMask, z[j].health, z[j].disability, z[j].income, "", l.now, l.now)
	}
	st, err := l.stmt(`INSERT INTO reg_residents (`+residentInsertCols+`) VALUES `, strings.Repeat("?,", 19)+"?", len(part), upsertTail+` RETURNING id, id_idx`)
	if err != nil {
		return err
	}
	// The rows written come back with their id (new or kept): the tags
	// need no look-up by blind index.
	ids := make(map[string]string, len(part))
	if err := l.query(st, args, func(row db.Scanner) error {
		var id, idx string
		err := row.Scan(&id, &idx)
		ids[idx] = id
		return err
	}); err != nil {
		return err
	}
	scope := access.ScopeOf(l.ctx)
	var tagArgs []any
	for j, r := range part {
		id := ids[z[j].idIdx]
		if id == "" {
			var code string
			if _, err := found(l.tx.QueryRowContext(l.ctx, `SELECT division_code FROM reg_residents WHERE id_idx = $1`, z[j].idIdx), &code); err != nil {
				return err
			}
			m := errDuplicateID.Msg
			l.errs = append(l.errs, RowError{Row: r.Line, Column: "身份证号", ZH: m.ZH, EN: m.EN, elsewhere: !scope.Contains(code)})
			continue
		}
		l.res.Residents++
		for _, t := range r.Tags {
			tagArgs = append(tagArgs, db.NewID(), id, r.Division, t, l.now)
		}
	}
	return l.tags(tagArgs)
}

// tags adds the tags of a batch in statements of at most bulkBatch rows,
// counting those that are new (a tag already held is left as it is).
func (l *loader) tags(args []any) error {
	const cols = 5
	for len(args) > 0 {
		n := min(len(args)/cols, bulkBatch)
		st, err := l.stmt(`INSERT INTO reg_resident_tags (id, resident_id, division_code, tag, created_at, since_date, until_date, source, note, detail, active) VALUES `,
			"?,?,?,?,?,'','','import','','',TRUE", n, ` ON CONFLICT (resident_id, tag, since_date) DO NOTHING RETURNING division_code, tag`)
		if err != nil {
			return err
		}
		if err := l.query(st, args[:n*cols], func(row db.Scanner) error {
			var code, tag string
			if err := row.Scan(&code, &tag); err != nil {
				return err
			}
			l.deltas.add(code, tag, 1)
			l.res.Tags++
			return nil
		}); err != nil {
			return err
		}
		args = args[n*cols:]
	}
	return nil
}

func (s *Store) loadHouseholds(ctx context.Context, tx *sql.Tx, code string, into map[string]string) error {
	return db.EachRow(ctx, tx, func(row db.Scanner) error {
		var no, id string
		err := row.Scan(&no, &id)
		into[code+"\x00"+no] = id
		return err
	}, `SELECT household_no, id FROM reg_households WHERE division_code = $1`, code)
}

// CheckResidentRow validates one row and fills Gender, Birth and the
// normalised values. Column names in errors are the template's Chinese headers.
func (s *Store) CheckResidentRow(r *ResidentRow, now time.Time) []RowError {
	var errs []RowError
	bad := func(col string, m fault.Msg) {
		errs = append(errs, RowError{Row: r.Line, Column: col, ZH: m.ZH, EN: m.EN})
	}
	if r.Name == "" {
		bad("姓名", fault.M("姓名不能为空", "name is required"))
	}
	if r.HouseholdNo == "" {
		bad("户编号", fault.M("户编号不能为空", "household number is required"))
	}
	info, err := idno.Parse(r.IDNumber, now)
	if err != nil {
		bad("身份证号", idnoMsg(err))
	} else {
		r.IDNumber, r.Gender, r.Birth = info.Number, info.Gender, info.Birth.Format("2006-01-02")
	}
	if r.Relation == "" {
		r.Relation = "其他"
	}
	if !contains(relations, r.Relation) {
		bad("与户主关系", fault.M("须为："+strings.Join(relations, "、"), "must be one of: "+strings.Join(relations, ", ")))
	}
	if r.Residence == "" {
		r.Residence = "registered"
	}
	if k, ok := residenceKey(r.Residence); ok {
		r.Residence = k
	} else {
		bad("户籍类型", fault.M("须为 户籍/常住/流动", "must be 户籍, 常住 or 流动"))
	}
	if r.Phone != "" {
		p, err := idno.NormalisePhone(r.Phone)
		if err != nil {
			bad("手机号", idnoMsg(err))
		}
		r.Phone = p
	}
	return errs
}

// bulkTables are the tables a bulk load fills.
var bulkTables = []string{"reg_households", "reg_residents", "reg_resident_tags", "reg_tag_counts", "reg_grids",
	"reg_facilities", "reg_organizations", "reg_personnel"}

// analyze refreshes the planner's statistics after a bulk load has
// committed: without them the stores pick a scan over the wrong index for
// the lists (a tag read through the expiry index, a county's residents
// sorted whole).
func (s *Store) analyze(ctx context.Context) error {
	return db.Analyze(ctx, s.DB, bulkTables...)
}
