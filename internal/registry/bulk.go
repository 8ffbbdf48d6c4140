package registry

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"time"

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
	var res BulkResult
	var rowErrs []RowError
	now := db.T(s.Now())
	hh := map[string]string{}
	seenDiv := map[string]bool{}
	insHH, err := tx.PrepareContext(ctx, `INSERT INTO reg_households (id, division_code, household_no, grid_id, address, note, created_at, updated_at) VALUES `+s.DB.Values(0, 8))
	if err != nil {
		return res, nil, err
	}
	defer insHH.Close()
	// Tags find their resident by the blind index: no round trip for the id.
	insTag, err := tx.PrepareContext(ctx, strings.Replace(`INSERT INTO reg_resident_tags (id, resident_id, division_code, tag, since_date, until_date, source, note, detail, active, created_at)
		SELECT $1, id, division_code, $2, '', '', 'import', '', '', TRUE, $3 FROM reg_residents WHERE id_idx = $4
		ON CONFLICT (resident_id, tag, since_date) DO NOTHING`, "$", sqlitePH(s.DB.Dialect), -1))
	if err != nil {
		return res, nil, err
	}
	defer insTag.Close()
	batch := 1
	if s.DB.Dialect == db.Postgres {
		batch = 250
	}
	stmts := map[int]*sql.Stmt{}
	stmtFor := func(n int) (*sql.Stmt, error) {
		if st := stmts[n]; st != nil {
			return st, nil
		}
		var b strings.Builder
		b.WriteString(`INSERT INTO reg_residents (` + residentInsertCols + `) VALUES `)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(s.DB.Values(i*20, 20))
		}
		b.WriteString(upsertTail)
		st, err := tx.PrepareContext(ctx, b.String())
		stmts[n] = st
		return st, err
	}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	deltas := tagDeltas{}
	done := 0
	for c := range s.sealChunks(ctx, rows) {
		for i := 0; i < len(c.rows); i += batch {
			part := c.rows[i:min(i+batch, len(c.rows))]
			args := make([]any, 0, 20*len(part))
			for j, r := range part {
				if !seenDiv[r.Division] {
					seenDiv[r.Division] = true
					if err := s.loadHouseholds(ctx, tx, r.Division, hh); err != nil {
						return res, nil, err
					}
				}
				key := r.Division + "\x00" + r.HouseholdNo
				hid := hh[key]
				if hid == "" {
					hid = db.NewID()
					if _, err := insHH.ExecContext(ctx, hid, r.Division, r.HouseholdNo, nullable(r.GridID), r.Address, "", now, now); err != nil {
						return res, nil, err
					}
					hh[key] = hid
					res.Households++
				}
				z := c.z[i+j]
				args = append(args, db.NewID(), r.Division, hid, r.Name, r.Gender, r.Birth, r.Relation, r.Residence, z.idEnc, z.idIdx, z.idMask,
					z.phoneEnc, z.phoneIdx, z.phoneMask, z.health, z.disability, z.income, "", now, now)
			}
			st, err := stmtFor(len(part))
			if err != nil {
				return res, nil, err
			}
			x, err := st.ExecContext(ctx, args...)
			if err != nil {
				return res, nil, err
			}
			written := make([]bool, len(part))
			if n, _ := x.RowsAffected(); int(n) == len(part) {
				for j := range written {
					written[j] = true
				}
			} else {
				// Some rows hit an ID registered in another community: find which.
				for j, r := range part {
					var code string
					err := tx.QueryRowContext(ctx, `SELECT division_code FROM reg_residents WHERE id_idx = $1`, c.z[i+j].idIdx).Scan(&code)
					written[j] = err == nil && code == r.Division
				}
			}
			for j, r := range part {
				if !written[j] {
					rowErrs = append(rowErrs, RowError{Row: r.Line, Column: "身份证号", ZH: "该身份证号已在其他村(社区)登记，请先在原社区办理迁出", EN: "this ID number is registered in another community; move the resident there first"})
					continue
				}
				res.Residents++
				for _, t := range r.Tags {
					x, err := insTag.ExecContext(ctx, db.NewID(), t, now, c.z[i+j].idIdx)
					if err != nil {
						return res, nil, err
					}
					if n, _ := x.RowsAffected(); n > 0 {
						deltas.add(r.Division, t, 1)
						res.Tags++
					}
				}
			}
		}
		done += len(c.rows)
		if progress != nil {
			progress(done)
		}
	}
	if len(rowErrs) > 0 {
		return res, rowErrs, nil
	}
	return res, nil, s.applyDeltas(ctx, tx, deltas)
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
	if e, ok := err.(*idno.Error); ok {
		bad("身份证号", fault.M(e.ZH, e.EN))
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
		if e, ok := err.(*idno.Error); ok {
			bad("手机号", fault.M(e.ZH, e.EN))
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
