package registry

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
)

// HouseholdFilter narrows a household list.
type HouseholdFilter struct {
	Division string
	Grid     string
	Q        string // address or household number contains
}

const householdCols = `h.id, h.division_code, h.household_no, COALESCE(h.grid_id, ''), h.address, h.note,
	(SELECT COUNT(*) FROM reg_residents r WHERE r.household_id = h.id), h.created_at, h.updated_at`

func scanHousehold(row db.Scanner) (Household, error) {
	var h Household
	var c, u db.Time
	err := row.Scan(&h.ID, &h.Division, &h.HouseholdNo, &h.GridID, &h.Address, &h.Note, &h.Members, &c, &u)
	h.CreatedAt, h.UpdatedAt = c.Time, u.Time
	return h, err
}

// householdWhere applies the caller's scope and the filter: a resident
// sees their own household, a grid worker those of their grids.
func (s *Store) householdWhere(ctx context.Context, f HouseholdFilter) (*where, error) {
	p := access.From(ctx)
	w := &where{}
	switch {
	case p != nil && p.Role == access.Resident:
		w.add("h.id IN (SELECT household_id FROM reg_residents WHERE username = ?)", p.Username)
	case !canReadPeople(p):
		return nil, errNoRead
	case p.Role == access.GridWorker:
		w.add("h.grid_id IN (SELECT grid_id FROM reg_grid_workers WHERE username = ?)", p.Username)
	}
	if err := checkFilterDivision(f.Division); err != nil {
		return nil, err
	}
	w.scope(ctx, "h.division_code", f.Division)
	if f.Grid != "" {
		w.add("h.grid_id = ?", f.Grid)
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		w.add(`(h.address LIKE ? ESCAPE '\' OR h.household_no = ?)`, "%"+likeEscape(q)+"%", q)
	}
	return w, nil
}

// HouseholdPage is one page of a household list; see ResidentPage.
type HouseholdPage struct {
	Items  []Household
	Total  int
	Capped bool
	Next   string
}

// PageHouseholds returns the page of households after cursor ("" for the
// first page) in (division, household number) order — the key of the
// unique index that also serves the scope's range — counted up to CountCap.
func (s *Store) PageHouseholds(ctx context.Context, f HouseholdFilter, cursor string, limit int) (HouseholdPage, error) {
	w, err := s.householdWhere(ctx, f)
	if err != nil {
		return HouseholdPage{}, err
	}
	var page HouseholdPage
	var after []any
	if cursor != "" {
		if after, err = s.openKey(cursor, "households", 2); err != nil {
			return page, err
		}
	}
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM reg_households h WHERE `+w.sql()+` LIMIT `+itoa(CountCap+1)+`) x`, w.args...).Scan(&page.Total); err != nil {
		return page, err
	}
	page.Capped = page.Total > CountCap
	if page.Total == 0 {
		return page, nil
	}
	query, args := householdPageQuery(w, after, limit+1)
	out, err := db.Collect(ctx, s.DB.R, scanHousehold, query, args...)
	if err != nil {
		return page, err
	}
	if len(out) > limit {
		out = out[:limit]
		page.Next = s.sealKey("households", out[limit-1].Division, out[limit-1].HouseholdNo)
	}
	page.Items = out
	return page, nil
}

// householdPageQuery reads limit households after the key after (nil
// for the first page).
func householdPageQuery(w *where, after []any, limit int) (string, []any) {
	k := &where{conds: append([]string(nil), w.conds...), args: append([]any(nil), w.args...)}
	if after != nil {
		// First, so that SQLite starts its range at the key (see pageQuery).
		k.add("(h.division_code, h.household_no) > (?, ?)", after...)
		k.conds = append(k.conds[len(k.conds)-1:], k.conds[:len(k.conds)-1]...)
	}
	return `SELECT ` + householdCols + ` FROM reg_households h WHERE ` + k.sql() + ` ORDER BY h.division_code, h.household_no LIMIT ` + itoa(limit), k.args
}

// ListHouseholds returns the first limit households of a list (a grid's)
// and the count as PageHouseholds gives it.
func (s *Store) ListHouseholds(ctx context.Context, f HouseholdFilter, limit int) ([]Household, int, error) {
	p, err := s.PageHouseholds(ctx, f, "", limit)
	return p.Items, p.Total, err
}

var errHouseholdNotFound = notFound(fault.M("户不存在或不在您的管辖范围内", "household not found or outside your jurisdiction"))

// GetHousehold returns one household in scope.
func (s *Store) GetHousehold(ctx context.Context, id string) (Household, error) {
	w, err := s.householdWhere(ctx, HouseholdFilter{})
	if err != nil {
		return Household{}, err
	}
	w.add("h.id = ?", id)
	h, err := scanHousehold(s.DB.R.QueryRowContext(ctx, `SELECT `+householdCols+` FROM reg_households h WHERE `+w.sql(), w.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return h, errHouseholdNotFound
	}
	return h, err
}

func (s *Store) validHousehold(ctx context.Context, in *HouseholdInput) error {
	in.HouseholdNo = strings.TrimSpace(in.HouseholdNo)
	in.Address = strings.TrimSpace(in.Address)
	if err := s.checkDivision(ctx, "division", in.Division); err != nil {
		return err
	}
	var errs []fault.FieldError
	if in.HouseholdNo == "" || utf8.RuneCountInString(in.HouseholdNo) > 40 {
		errs = append(errs, fault.Field("household_no", fault.M("请填写户编号（不超过 40 字）", "enter a household number of at most 40 characters")))
	}
	if in.Address == "" || utf8.RuneCountInString(in.Address) > 200 {
		errs = append(errs, fault.Field("address", fault.M("请填写地址（不超过 200 字）", "enter an address of at most 200 characters")))
	}
	if len(errs) > 0 {
		return fault.Invalid(fault.M("户信息有误", "the household has errors"), errs...)
	}
	if in.GridID != "" {
		var code string
		ok, err := found(s.DB.R.QueryRowContext(ctx, `SELECT division_code FROM reg_grids WHERE id = $1`, in.GridID), &code)
		if err != nil {
			return err
		}
		if !ok || code != in.Division {
			return fault.Invalid(fault.M("网格不存在或不属于该社区", "grid not found in this community"), fault.Field("grid_id", fault.M("网格不存在或不属于该社区", "grid not found in this community")))
		}
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

var errDupHousehold = fault.Invalid(fault.M("该社区已有相同户编号", "this community already has that household number"),
	fault.Field("household_no", fault.M("户编号在社区内须唯一", "household numbers are unique within a community")))

// CreateHousehold adds a household.
func (s *Store) CreateHousehold(ctx context.Context, in HouseholdInput) (Household, error) {
	if !canWrite(access.From(ctx)) {
		return Household{}, errNoWrite
	}
	if err := s.validHousehold(ctx, &in); err != nil {
		return Household{}, err
	}
	id := db.NewID()
	now := db.T(s.Now())
	err := s.writeRecorded(ctx, errDupHousehold, "registry.household.create", "household", id, in.Division,
		`INSERT INTO reg_households (id, division_code, household_no, grid_id, address, note, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$7)`,
		id, in.Division, in.HouseholdNo, nullable(in.GridID), in.Address, in.Note, now)
	if err != nil {
		return Household{}, err
	}
	return s.GetHousehold(ctx, id)
}

// UpdateHousehold replaces a household's fields; it stays in its community.
func (s *Store) UpdateHousehold(ctx context.Context, id string, in HouseholdInput) (Household, error) {
	if !canWrite(access.From(ctx)) {
		return Household{}, errNoWrite
	}
	cur, err := s.GetHousehold(ctx, id)
	if err != nil {
		return cur, err
	}
	if in.Division == "" {
		in.Division = cur.Division
	}
	if in.Division != cur.Division {
		return cur, fault.Invalid(fault.M("户不能改属其他社区；请在新社区新建户", "a household cannot move to another community; create it there"), fault.Field("division", fault.M("不能修改", "cannot be changed")))
	}
	if err := s.validHousehold(ctx, &in); err != nil {
		return cur, err
	}
	sc := access.ScopeOf(ctx)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := execUnique(ctx, tx, errDupHousehold, `UPDATE reg_households SET household_no = $1, grid_id = $2, address = $3, note = $4, updated_at = $5
			WHERE id = $6 AND division_code >= $7 AND division_code < $8`, in.HouseholdNo, nullable(in.GridID), in.Address, in.Note, db.T(s.Now()), id, sc.Lo, sc.Hi)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errHouseholdNotFound
		}
		return s.record(ctx, tx, "registry.household.update", "household", id, cur.Division, nil)
	})
	if err != nil {
		return cur, err
	}
	return s.GetHousehold(ctx, id)
}

// DeleteHousehold removes an empty household.
func (s *Store) DeleteHousehold(ctx context.Context, id string) error {
	if !canWrite(access.From(ctx)) {
		return errNoWrite
	}
	cur, err := s.GetHousehold(ctx, id)
	if err != nil {
		return err
	}
	if cur.Members > 0 {
		return fault.Conflict(fault.M("户内还有居民，请先迁出或删除居民", "the household still has residents; move or delete them first"))
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM reg_households WHERE id = $1 AND division_code = $2`, id, cur.Division); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.household.delete", "household", id, cur.Division, nil)
	})
}
