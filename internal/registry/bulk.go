package registry

import (
	"context"
	"database/sql"
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

// LoadResidents writes validated rows inside tx: households created as
// needed (natural key: community + household number), residents upserted by
// ID-number blind index, tags added once. progress, if set, is told how many
// rows are done. Rows whose ID number is registered in another community
// come back as errors (the caller rolls back).
func (s *Store) LoadResidents(ctx context.Context, tx *sql.Tx, rows []ResidentRow, progress func(int)) (BulkResult, []RowError, error) {
	l, err := s.newLoader(ctx, tx)
	if err != nil {
		return BulkResult{}, nil, err
	}
	defer l.close()
	batch := 1
	if s.DB.Dialect == db.Postgres {
		batch = 250
	}
	// Stopping the sealing goroutine when the load ends early.
	sealCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := 0
	for c := range s.sealChunks(sealCtx, rows) {
		for i := 0; i < len(c.rows); i += batch {
			end := min(i+batch, len(c.rows))
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
	s             *Store
	ctx           context.Context
	tx            *sql.Tx
	now           db.Time
	insHH, insTag *sql.Stmt
	upserts       map[int]*sql.Stmt // by batch size
	households    map[string]string // community + "\x00" + household number → id
	loaded        map[string]bool   // communities whose households are in the map
	res           BulkResult
	errs          []RowError
	deltas        tagDeltas
}

func (s *Store) newLoader(ctx context.Context, tx *sql.Tx) (*loader, error) {
	l := &loader{s: s, ctx: ctx, tx: tx, now: db.T(s.Now()), upserts: map[int]*sql.Stmt{},
		households: map[string]string{}, loaded: map[string]bool{}, deltas: tagDeltas{}}
	var err error
	l.insHH, err = tx.PrepareContext(ctx, `INSERT INTO reg_households (id, division_code, household_no, grid_id, address, note, created_at, updated_at) VALUES `+s.DB.Values(0, 8))
	if err != nil {
		return nil, err
	}
	// Tags find their resident by the blind index: no round trip for the id.
	l.insTag, err = tx.PrepareContext(ctx, strings.Replace(`INSERT INTO reg_resident_tags (id, resident_id, division_code, tag, since_date, until_date, source, note, detail, active, created_at)
		SELECT $1, id, division_code, $2, '', '', 'import', '', '', TRUE, $3 FROM reg_residents WHERE id_idx = $4
		ON CONFLICT (resident_id, tag, since_date) DO NOTHING`, "$", sqlitePH(s.DB.Dialect), -1))
	if err != nil {
		l.insHH.Close()
		return nil, err
	}
	return l, nil
}

func (l *loader) close() {
	l.insHH.Close()
	l.insTag.Close()
	for _, st := range l.upserts {
		st.Close()
	}
}

// upsert is the prepared statement writing n residents at once.
func (l *loader) upsert(n int) (*sql.Stmt, error) {
	if st := l.upserts[n]; st != nil {
		return st, nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO reg_residents (` + residentInsertCols + `) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.s.DB.Values(i*20, 20))
	}
	b.WriteString(upsertTail)
	st, err := l.tx.PrepareContext(l.ctx, b.String())
	if err != nil {
		return nil, err
	}
	l.upserts[n] = st
	return st, nil
}

// household returns the id of a row's household, creating it if new.
func (l *loader) household(r ResidentRow) (string, error) {
	if !l.loaded[r.Division] {
		l.loaded[r.Division] = true
		if err := l.s.loadHouseholds(l.ctx, l.tx, r.Division, l.households); err != nil {
			return "", err
		}
	}
	key := r.Division + "\x00" + r.HouseholdNo
	if id := l.households[key]; id != "" {
		return id, nil
	}
	id := db.NewID()
	if _, err := l.insHH.ExecContext(l.ctx, id, r.Division, r.HouseholdNo, nullable(r.GridID), r.Address, "", l.now, l.now); err != nil {
		return "", err
	}
	l.households[key] = id
	l.res.Households++
	return id, nil
}

// write upserts one batch of residents and adds their tags; a row whose
// ID number is registered in another community becomes a row error.
func (l *loader) write(part []ResidentRow, z []sealed) error {
	args := make([]any, 0, 20*len(part))
	for j, r := range part {
		hid, err := l.household(r)
		if err != nil {
			return err
		}
		args = append(args, db.NewID(), r.Division, hid, r.Name, r.Gender, r.Birth, r.Relation, r.Residence, z[j].idEnc, z[j].idIdx, z[j].idMask,
			z[j].phoneEnc, z[j].phoneIdx, z[j].phoneMask, z[j].health, z[j].disability, z[j].income, "", l.now, l.now)
	}
	st, err := l.upsert(len(part))
	if err != nil {
		return err
	}
	x, err := st.ExecContext(l.ctx, args...)
	if err != nil {
		return err
	}
	written, codes, err := writtenRows(l.ctx, l.tx, x, part, z)
	if err != nil {
		return err
	}
	scope := access.ScopeOf(l.ctx)
	for j, r := range part {
		if !written[j] {
			m := errDuplicateID.Msg
			l.errs = append(l.errs, RowError{Row: r.Line, Column: "身份证号", ZH: m.ZH, EN: m.EN, elsewhere: !scope.Contains(codes[j])})
			continue
		}
		l.res.Residents++
		if err := l.tag(r, z[j].idIdx); err != nil {
			return err
		}
	}
	return nil
}

// tag adds a written row's tags, counting those that are new.
func (l *loader) tag(r ResidentRow, idIdx string) error {
	for _, t := range r.Tags {
		x, err := l.insTag.ExecContext(l.ctx, db.NewID(), t, l.now, idIdx)
		if err != nil {
			return err
		}
		n, err := x.RowsAffected()
		if err != nil {
			return err
		}
		if n > 0 {
			l.deltas.add(r.Division, t, 1)
			l.res.Tags++
		}
	}
	return nil
}

// writtenRows tells which rows of a batch upsert were written: all when
// every row counts, else a row whose ID number is registered in another
// community was left alone, and each row is looked up to find which —
// and where that community is (codes).
func writtenRows(ctx context.Context, tx *sql.Tx, x sql.Result, part []ResidentRow, z []sealed) (written []bool, codes []string, err error) {
	written, codes = make([]bool, len(part)), make([]string, len(part))
	n, err := x.RowsAffected()
	if err != nil {
		return nil, nil, err
	}
	for j, r := range part {
		if int(n) == len(part) {
			written[j] = true
			continue
		}
		ok, err := found(tx.QueryRowContext(ctx, `SELECT division_code FROM reg_residents WHERE id_idx = $1`, z[j].idIdx), &codes[j])
		if err != nil {
			return nil, nil, err
		}
		written[j] = ok && codes[j] == r.Division
	}
	return written, codes, nil
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

// sqlitePH is the placeholder prefix to use: "?" numbering ("?NNN") on
// SQLite avoids the driver's by-name search of "$N".
func sqlitePH(d db.Dialect) string {
	if d == db.SQLite {
		return "?"
	}
	return "$"
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
