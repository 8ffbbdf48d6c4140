package registry

import (
	"context"
	"database/sql"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
)

// Grid is a 网格 inside one community, with its assigned grid workers
// (login accounts).
type Grid struct {
	ID         string    `json:"id"`
	Division   string    `json:"division"`
	Code       string    `json:"code"`
	Name       string    `json:"name"`
	Note       string    `json:"note"`
	Workers    []string  `json:"workers"`
	Households int       `json:"households"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// GridInput creates or replaces a grid.
type GridInput struct {
	Division string   `json:"division"`
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	Note     string   `json:"note,omitempty"`
	Workers  []string `json:"workers,omitempty"`
}

// gridCols read a grid with its household count (a look-up, an export
// row); gridPageCols leave the count to householdCounts, one grouped read
// a page.
const (
	gridCols     = `g.id, g.division_code, g.code, g.name, g.note, (SELECT COUNT(*) FROM reg_households h WHERE h.grid_id = g.id), g.created_at, g.updated_at`
	gridPageCols = `g.id, g.division_code, g.code, g.name, g.note, 0, g.created_at, g.updated_at`
)

// householdCountsQuery counts the households of the grids whose ids are
// the placeholders, in one grouped read of the grid index.
func householdCountsQuery(placeholders []string) string {
	return `SELECT grid_id, COUNT(*) FROM reg_households WHERE grid_id IN (` + strings.Join(placeholders, ",") + `) GROUP BY grid_id`
}

// householdCounts fills in a page's household counts.
func householdCounts(ctx context.Context, q *sql.DB, gs []Grid) error {
	if len(gs) == 0 {
		return nil
	}
	idx := map[string]int{}
	ph := make([]string, len(gs))
	args := make([]any, len(gs))
	for i, g := range gs {
		idx[g.ID], ph[i], args[i] = i, "$"+itoa(i+1), g.ID
	}
	return db.EachRow(ctx, q, func(row db.Scanner) error {
		var id string
		var n int
		if err := row.Scan(&id, &n); err != nil {
			return err
		}
		gs[idx[id]].Households = n
		return nil
	}, householdCountsQuery(ph), args...)
}

func scanGrid(row db.Scanner) (Grid, error) {
	var g Grid
	var c, u db.Time
	err := row.Scan(&g.ID, &g.Division, &g.Code, &g.Name, &g.Note, &g.Households, &c, &u)
	g.CreatedAt, g.UpdatedAt, g.Workers = c.Time, u.Time, []string{}
	return g, err
}

var errGridNotFound = notFound(fault.M("网格不存在或不在您的管辖范围内", "grid not found or outside your jurisdiction"))

// grids are read by the roles that read residents, a grid worker's own
// grids only; their filter has no category.
var grids = table[Grid]{name: "reg_grids", alias: "g", cols: gridCols, pageCols: gridPageCols, attach: householdCounts,
	keys: []string{"g.division_code", "g.code"}, key: func(g Grid) []string { return []string{g.Division, g.Code} },
	scan: scanGrid, readable: canReadPeople, missing: errGridNotFound, narrow: ownGrids}

func ownGrids(w *where, p *access.Principal) {
	if p.Role == access.GridWorker {
		w.add("g.id IN (SELECT grid_id FROM reg_grid_workers WHERE username = ?)", p.Username)
	}
}

// withWorkers fills in the workers assigned to each grid, in one read.
func (s *Store) withWorkers(ctx context.Context, gs []Grid) ([]Grid, error) {
	if len(gs) == 0 {
		return gs, nil
	}
	idx := map[string]int{}
	ph := make([]string, len(gs))
	args := make([]any, len(gs))
	for i, g := range gs {
		idx[g.ID], ph[i], args[i] = i, "$"+itoa(i+1), g.ID
	}
	err := db.EachRow(ctx, s.DB.R, func(row db.Scanner) error {
		var grid, user string
		if err := row.Scan(&grid, &user); err != nil {
			return err
		}
		gs[idx[grid]].Workers = append(gs[idx[grid]].Workers, user)
		return nil
	}, `SELECT grid_id, username FROM reg_grid_workers WHERE grid_id IN (`+strings.Join(ph, ",")+`) ORDER BY grid_id, username`, args...)
	return gs, err
}

// PageGrids returns the page of grids in scope after cursor ("" for the
// first page), in (division, code) order — the unique key — with their
// workers.
func (s *Store) PageGrids(ctx context.Context, f Filter, cursor string, limit int) (Page[Grid], error) {
	p, err := grids.page(ctx, s, f, cursor, limit)
	if err != nil {
		return p, err
	}
	p.Items, err = s.withWorkers(ctx, p.Items)
	return p, err
}

// ListGrids returns the first limit grids of a list and its count as
// PageGrids gives it.
func (s *Store) ListGrids(ctx context.Context, f Filter, limit int) ([]Grid, int, error) {
	p, err := s.PageGrids(ctx, f, "", limit)
	return p.Items, p.Total, err
}

// GetGrid returns one grid in scope.
func (s *Store) GetGrid(ctx context.Context, id string) (Grid, error) {
	g, err := grids.get(ctx, s.DB.R, id)
	if err != nil {
		return g, err
	}
	out, err := s.withWorkers(ctx, []Grid{g})
	if err != nil {
		return Grid{}, err
	}
	return out[0], nil
}

// MyGrids lists the grids the calling grid worker is assigned to.
func (s *Store) MyGrids(ctx context.Context) ([]Grid, error) {
	p := access.From(ctx)
	if !canReadPeople(p) {
		return nil, errNoRead
	}
	sc := access.ScopeOf(ctx)
	gs, err := db.Collect(ctx, s.DB.R, scanGrid, `SELECT `+gridCols+` FROM reg_grids g WHERE g.division_code >= $1 AND g.division_code < $2
		AND g.id IN (SELECT grid_id FROM reg_grid_workers WHERE username = $3) ORDER BY g.code`, sc.Lo, sc.Hi, p.Username)
	if err != nil {
		return nil, err
	}
	return s.withWorkers(ctx, gs)
}

func (s *Store) validGrid(ctx context.Context, in *GridInput) error {
	if err := s.checkDivision(ctx, "division", in.Division); err != nil {
		return err
	}
	var errs []fault.FieldError
	in.Code, in.Name = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name)
	if in.Code == "" || len(in.Code) > 40 {
		errs = append(errs, fault.Field("code", fault.M("请填写网格编码（不超过 40 字符）", "enter a grid code of at most 40 characters")))
	}
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 60 {
		errs = append(errs, fault.Field("name", fault.M("请填写网格名称（不超过 60 字）", "enter a grid name of at most 60 characters")))
	}
	for _, u := range in.Workers {
		var role, div string
		ok, err := found(s.DB.R.QueryRowContext(ctx, `SELECT role, division_code FROM users WHERE username = $1`, u), &role, &div)
		if err != nil {
			return err
		}
		if !ok || role != string(access.GridWorker) || div != in.Division {
			errs = append(errs, fault.Field("workers", fault.M("账号 "+u+" 不是本社区的网格员", "account "+u+" is not a grid worker of this community")))
		}
	}
	if len(errs) > 0 {
		return fault.Invalid(fault.M("网格信息有误", "the grid has errors"), errs...)
	}
	return nil
}

var errDupGrid = fault.Invalid(fault.M("该社区已有相同网格编码", "this community already has that grid code"), fault.Field("code", fault.M("网格编码在社区内须唯一", "grid codes are unique within a community")))

func setWorkers(ctx context.Context, tx *sql.Tx, id, code string, workers []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM reg_grid_workers WHERE grid_id = $1`, id); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, u := range workers {
		if seen[u] {
			continue
		}
		seen[u] = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO reg_grid_workers (grid_id, division_code, username) VALUES ($1,$2,$3)`, id, code, u); err != nil {
			return err
		}
	}
	return nil
}

// CreateGrid adds a grid.
func (s *Store) CreateGrid(ctx context.Context, in GridInput) (Grid, error) {
	if !canWrite(access.From(ctx)) {
		return Grid{}, errNoWrite
	}
	if err := s.validGrid(ctx, &in); err != nil {
		return Grid{}, err
	}
	id := db.NewID()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := execUnique(ctx, tx, errDupGrid, `INSERT INTO reg_grids (id, division_code, code, name, note, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$6)`,
			id, in.Division, in.Code, in.Name, in.Note, db.T(s.Now())); err != nil {
			return err
		}
		if err := setWorkers(ctx, tx, id, in.Division, in.Workers); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.grid.create", "grid", id, in.Division, map[string]any{"workers": in.Workers})
	})
	if err != nil {
		return Grid{}, err
	}
	return s.GetGrid(ctx, id)
}

// UpdateGrid replaces a grid's fields and workers; it stays in its community.
func (s *Store) UpdateGrid(ctx context.Context, id string, in GridInput) (Grid, error) {
	if !canWrite(access.From(ctx)) {
		return Grid{}, errNoWrite
	}
	cur, err := s.GetGrid(ctx, id)
	if err != nil {
		return cur, err
	}
	if in.Division == "" {
		in.Division = cur.Division
	}
	if in.Division != cur.Division {
		return cur, fault.Invalid(fault.M("网格不能改属其他社区", "a grid cannot move to another community"), fault.Field("division", fault.M("不能修改", "cannot be changed")))
	}
	if err := s.validGrid(ctx, &in); err != nil {
		return cur, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := execUnique(ctx, tx, errDupGrid, `UPDATE reg_grids SET code=$1, name=$2, note=$3, updated_at=$4 WHERE id=$5 AND division_code=$6`, in.Code, in.Name, in.Note, db.T(s.Now()), id, cur.Division); err != nil {
			return err
		}
		if err := setWorkers(ctx, tx, id, cur.Division, in.Workers); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.grid.update", "grid", id, cur.Division, map[string]any{"workers": in.Workers})
	})
	if err != nil {
		return cur, err
	}
	return s.GetGrid(ctx, id)
}

// DeleteGrid removes a grid in scope; its households stay, unassigned
// (the foreign key sets their grid to NULL).
func (s *Store) DeleteGrid(ctx context.Context, id string) error {
	return s.deleteScoped(ctx, grids.name, "grid", id, errGridNotFound)
}

// Account is a login account that can be assigned to a grid.
type Account struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

// GridWorkerAccounts lists the grid-worker accounts of a community in
// the caller's scope, for the grid form (writers only).
func (s *Store) GridWorkerAccounts(ctx context.Context, division string) ([]Account, error) {
	if !canWrite(access.From(ctx)) {
		return nil, errNoWrite
	}
	sc := access.ScopeOf(ctx)
	if division == "" || division < sc.Lo || division >= sc.Hi {
		return nil, nil
	}
	return db.Collect(ctx, s.DB.R, func(row db.Scanner) (Account, error) {
		var a Account
		err := row.Scan(&a.Username, &a.DisplayName)
		return a, err
	}, `SELECT username, display_name FROM users WHERE role = $1 AND division_code = $2 AND NOT disabled ORDER BY username`, string(access.GridWorker), division)
}
