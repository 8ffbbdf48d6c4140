package visits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
)

// Supervision: community workers and township or county officers watch a
// month's visits — completion by worker, grid, group and the divisions
// below — and act on what is late: the overdue and high-risk lists, a
// household's timeline, reassigning visits.

var errNoSupervise = fault.Forbidden(fault.M("只有社区工作者和民政干部可以查看探访督导", "only community workers and officers supervise visits"))

// canSupervise tells whether p watches others' visits.
func canSupervise(p *access.Principal) bool {
	return p != nil && (p.Role == access.CommunityWorker || p.Role == access.Officer)
}

// Tally counts a group's targets in a month: each target (a programme's
// resident or household) once, however many visits it had.
type Tally struct {
	Due      int `json:"due"`       // targets with a visit in the month (not cancelled)
	Done     int `json:"done"`      // of which visited (a done visit)
	Open     int `json:"open"`      // not visited yet, with an open visit
	Overdue  int `json:"overdue"`   // of which past due
	Refused  int `json:"refused"`   // refused and not visited
	HighRisk int `json:"high_risk"` // found at high risk in the month
	// Rate is Done ÷ Due in percent, nil when nothing is due.
	Rate *float64 `json:"rate"`
}

func (t *Tally) add(o Tally) {
	t.Due += o.Due
	t.Done += o.Done
	t.Open += o.Open
	t.Overdue += o.Overdue
	t.Refused += o.Refused
	t.HighRisk += o.HighRisk
}

func (t *Tally) finish() {
	if t.Due > 0 {
		r := float64(t.Done*1000/t.Due) / 10
		t.Rate = &r
	}
}

// CompletionLine is one row of a completion table.
type CompletionLine struct {
	Key   string    `json:"key"` // a username, grid id, rate group or division code
	Label fault.Msg `json:"label"`
	Href  string    `json:"href,omitempty"` // the link down
	Tally
}

// Completion is a month's visit completion within a division.
type Completion struct {
	Division     string           `json:"division"`
	DivisionName string           `json:"division_name"`
	Month        string           `json:"month"`
	Total        Tally            `json:"total"`
	ByGroup      []CompletionLine `json:"by_group"`
	ByDivision   []CompletionLine `json:"by_division,omitempty"` // the divisions one level down (above a community)
	ByWorker     []CompletionLine `json:"by_worker,omitempty"`   // a community's workers
	ByGrid       []CompletionLine `json:"by_grid,omitempty"`     // a community's grids
}

// supervisedDivision is the division a supervisor asked for, defaulting
// to their own, refused outside their jurisdiction.
func supervisedDivision(p *access.Principal, division string) (string, error) {
	if !canSupervise(p) {
		return "", errNoSupervise
	}
	division = strings.TrimSpace(division)
	if division == "" {
		division = p.Division
	}
	if !divisions.ValidCode(division) {
		return "", fault.Invalid(fault.M("区划代码有误", "invalid division code"), fault.Field("division", fault.M("区划代码为 2、4、6、9 或 12 位数字", "a division code has 2, 4, 6, 9 or 12 digits")))
	}
	if !access.BusinessScope(p).Contains(division) {
		return "", fault.Forbidden(fault.M("该区划不在您的管辖范围内", "this division is outside your jurisdiction"))
	}
	return division, nil
}

// Completion counts the month's visits in a division (the caller's own
// when empty): in total, by group, and by the divisions one level down —
// or, for a community, by worker and by grid. Each target counts once
// (see completionSQL).
func (s *Store) Completion(ctx context.Context, division string, month Month) (Completion, error) {
	division, err := supervisedDivision(access.From(ctx), division)
	if err != nil {
		return Completion{}, err
	}
	return s.completion(ctx, division, month)
}

// completion is Completion of a division the caller may supervise.
func (s *Store) completion(ctx context.Context, division string, month Month) (Completion, error) {
	out := Completion{Division: division, Month: month.String(), ByGroup: []CompletionLine{}}
	if d, err := s.Divs.Get(ctx, division); err == nil {
		out.DivisionName = d.Name
	} else {
		return out, fault.NotFound(fault.M("没有这个区划", "no such division"))
	}
	sc := access.Subtree(division)
	today := day(s.Now().In(cstZone()))
	level := divisions.LevelOf(division)
	childLen := 0
	if level < 5 {
		childLen = divisions.CodeLen[level+1]
	}
	// One pass: each target's flags, then sums per programme, owner, grid
	// and child division.
	childExpr := "v.division_code"
	if childLen > 0 {
		childExpr = fmt.Sprintf("substr(v.division_code, 1, %d)", childLen)
	}
	type cell struct {
		programme, owner, grid, child string
		t                             Tally
	}
	cells, err := db.Collect(ctx, s.DB.R, func(row db.Scanner) (cell, error) {
		var c cell
		err := row.Scan(&c.programme, &c.owner, &c.grid, &c.child, &c.t.Due, &c.t.Done, &c.t.Open, &c.t.Overdue, &c.t.Refused, &c.t.HighRisk)
		return c, err
	}, completionSQL(childExpr, level == 5), month.String(), sc.Lo, sc.Hi, today)
	if err != nil {
		return out, err
	}
	progs, err := s.programmeNames(ctx)
	if err != nil {
		return out, err
	}
	group := map[string]*CompletionLine{}
	child := map[string]*CompletionLine{}
	worker := map[string]*CompletionLine{}
	grid := map[string]*CompletionLine{}
	line := func(m map[string]*CompletionLine, key string) *CompletionLine {
		l, ok := m[key]
		if !ok {
			l = &CompletionLine{Key: key}
			m[key] = l
		}
		return l
	}
	for _, c := range cells {
		out.Total.add(c.t)
		g := progs[c.programme]
		gk := g.group
		if gk == "" {
			gk = "programme:" + c.programme
		}
		gl := line(group, gk)
		gl.Label = g.name
		if g.group != "" {
			gl.Label = groupName(g.group, g.name)
		}
		gl.add(c.t)
		if level < 5 {
			line(child, c.child).add(c.t)
		} else {
			line(worker, c.owner).add(c.t)
			line(grid, c.grid).add(c.t)
		}
	}
	out.Total.finish()
	q := func(k, v string) string { return k + "=" + v }
	mq := q("month", month.String())
	for k, l := range group {
		prog := strings.TrimPrefix(k, "programme:")
		if prog == k {
			prog = groupProgrammeCode(k)
		}
		l.Href = "/visits/overdue?" + q("division", division) + "&" + q("programme", prog)
		l.finish()
		out.ByGroup = append(out.ByGroup, *l)
	}
	if level < 5 {
		kids, _, err := s.Divs.Children(ctx, division, 0, 10000)
		if err != nil {
			return out, err
		}
		names := map[string]string{}
		for _, k := range kids {
			names[k.Code] = k.Name
			if _, ok := child[k.Code]; !ok {
				// A division without targets this month shows as nothing due.
				child[k.Code] = &CompletionLine{Key: k.Code}
			}
		}
		for k, l := range child {
			l.Label = fault.M(names[k], names[k])
			if names[k] == "" {
				l.Label = fault.M(k, k)
			}
			l.Href = "/visits/supervise?" + q("division", k) + "&" + mq
			l.finish()
			out.ByDivision = append(out.ByDivision, *l)
		}
	} else {
		gridNames, err := s.gridNames(ctx, division)
		if err != nil {
			return out, err
		}
		for k, l := range worker {
			l.Label = fault.M(k, k)
			if k == "" {
				l.Label = fault.M("（未分配）", "(unassigned)")
			}
			l.Href = "/visits/overdue?" + q("division", division) + "&" + q("worker", k)
			l.finish()
			out.ByWorker = append(out.ByWorker, *l)
		}
		for k, l := range grid {
			name := gridNames[k]
			if k == "" {
				name = "（未划网格）"
			} else if name == "" {
				name = k
			}
			l.Label = fault.M(name, name)
			if k == "" {
				l.Label.EN = "(no grid)"
			}
			l.Href = "/visits/overdue?" + q("division", division) + "&" + q("grid", k)
			l.finish()
			out.ByGrid = append(out.ByGrid, *l)
		}
	}
	for _, ls := range [][]CompletionLine{out.ByGroup, out.ByDivision, out.ByWorker, out.ByGrid} {
		sort.Slice(ls, func(i, j int) bool { return ls[i].Key < ls[j].Key })
	}
	return out, nil
}

// completionSQL sums each target's flags per programme, worker, grid and
// child division ($1 month, $2–$3 the subtree, $4 today). A target is
// one line however many visits it had, under the smallest of its visits'
// owners, grids and divisions (nearly always it has one of each), so the
// lines add up to the total. Above a community no page shows workers or
// grids: they are left out (as empty strings), which spares every visit
// two string minima and the outer grouping its thousands of (worker,
// grid) lines. It reads only vis_visits_supervision, an index that holds
// every column it needs.
//
// The figures are read, not kept: a target's flags depend on all its
// visits, written in bulk by the schedule, and "overdue" changes with the
// day without any write, so counts kept beside the visits would need
// every writer's transaction (and the clock) to maintain them. Read once
// per page, they are exact by construction.
func completionSQL(childExpr string, byWorker bool) string {
	who := `MIN(v.owner) AS owner, MIN(v.grid_id) AS grid_id`
	if !byWorker {
		who = `'' AS owner, '' AS grid_id`
	}
	return `SELECT programme_id, owner, grid_id, child, COUNT(*), SUM(done), SUM(open * (1 - done)), SUM(overdue * (1 - done)), SUM(refused * (1 - done)), SUM(high)
		FROM (SELECT v.programme_id, v.subject_id, ` + who + `, MIN(` + childExpr + `) AS child,
			MAX(CASE WHEN v.status = 'done' THEN 1 ELSE 0 END) AS done,
			MAX(CASE WHEN v.status = 'open' THEN 1 ELSE 0 END) AS open,
			MAX(CASE WHEN v.status = 'open' AND v.due_date < $4 THEN 1 ELSE 0 END) AS overdue,
			MAX(CASE WHEN v.status = 'refused' THEN 1 ELSE 0 END) AS refused,
			MAX(CASE WHEN v.risk = 'high' THEN 1 ELSE 0 END) AS high
			FROM vis_visits v WHERE v.month = $1 AND v.division_code >= $2 AND v.division_code < $3 AND v.status <> 'cancelled'
			GROUP BY v.programme_id, v.subject_id) t
		GROUP BY programme_id, owner, grid_id, child`
}

type progName struct {
	group string
	name  fault.Msg
}

func (s *Store) programmeNames(ctx context.Context) (map[string]progName, error) {
	out := map[string]progName{}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, rate_group, name_zh, name_en FROM vis_programmes`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var p progName
		if err := rows.Scan(&id, &p.group, &p.name.ZH, &p.name.EN); err != nil {
			return nil, err
		}
		out[id] = p
	}
	return out, rows.Err()
}

func (s *Store) gridNames(ctx context.Context, community string) (map[string]string, error) {
	out := map[string]string{}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, name FROM reg_grids WHERE division_code = $1`, community)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, rows.Err()
}

// groupName names a rate group as the plan does.
func groupName(group string, fallback fault.Msg) fault.Msg {
	switch group {
	case GroupSpecialElderly:
		return fault.M("特殊困难老年人", "Elderly people in special difficulty")
	case GroupChildren:
		return fault.M("孤儿和困境儿童", "Orphans and children in difficulty")
	case GroupAssistedFamilies:
		return fault.M("救助家庭", "Assisted families")
	}
	return fallback
}

// groupProgrammeCode is the provincial programme of a rate group (the
// list filters by programme).
func groupProgrammeCode(group string) string {
	for _, p := range DefaultProgrammes {
		if p.RateGroup == group {
			return p.Code
		}
	}
	return group
}

// Timeline is every visit of a household's members, newest first.
type Timeline struct {
	HouseholdID string  `json:"household_id"`
	Address     string  `json:"address"` // masked
	Division    string  `json:"division"`
	Visits      []Visit `json:"visits"`
}

// HouseholdTimeline returns the visits of a household and its present
// members in the caller's scope, names masked; opening it is audited.
func (s *Store) HouseholdTimeline(ctx context.Context, household string, limit int) (Timeline, error) {
	p := access.From(ctx)
	if !canRead(p) {
		return Timeline{}, errNoRole
	}
	sc := access.BusinessScope(p)
	var t Timeline
	// A grid worker opens the households of their grids only.
	grids := ""
	args := []any{household, sc.Lo, sc.Hi}
	if p.Role == access.GridWorker {
		grids = ` AND grid_id IN (SELECT grid_id FROM reg_grid_workers WHERE username = $4)`
		args = append(args, p.Username)
	}
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, address, division_code FROM reg_households WHERE id = $1 AND division_code >= $2 AND division_code < $3`+grids,
		args...).Scan(&t.HouseholdID, &t.Address, &t.Division)
	if errors.Is(err, sql.ErrNoRows) {
		return t, fault.NotFound(fault.M("户不存在或不在您的管辖范围内", "household not found or outside your jurisdiction"))
	} else if err != nil {
		return t, err
	}
	t.Address = MaskAddress(t.Address)
	cond, args := scopeSQL(p, 2)
	vs, err := db.Collect(ctx, s.DB.R, scanListed, `SELECT `+visitCols+visitFrom+`
		WHERE (v.household_id = $1 OR v.resident_id IN (SELECT m.id FROM reg_residents m WHERE m.household_id = $1)) AND v.status <> 'cancelled' AND `+cond+`
		ORDER BY v.month DESC, v.due_date DESC, v.id DESC LIMIT `+fmt.Sprint(max(limit, 1)), append([]any{household}, args...)...)
	if err != nil {
		return t, err
	}
	// Newest first: a recorded visit by the day it took place, an open
	// one by its due day.
	when := func(v Visit) string {
		if !v.VisitedAt.IsZero() {
			return day(v.VisitedAt.In(cstZone()))
		}
		return v.Due
	}
	sort.SliceStable(vs, func(i, j int) bool {
		if a, b := when(vs[i]), when(vs[j]); a != b {
			return a > b
		}
		return vs[i].ID > vs[j].ID
	})
	t.Visits = append([]Visit{}, vs...)
	err = s.Audit.Record(ctx, audit.Entry{Action: "visits.household.timeline", Object: "household", ObjectID: household, Division: t.Division,
		Detail: audit.Detail(map[string]int{"visits": len(vs)})})
	return t, err
}

// Worker is an account visits may be given to.
type Worker struct {
	Username string `json:"username"`
	Name     string `json:"name"`
	Role     string `json:"role"`
}

// CommunityWorkers are the grid and community workers of a community, to
// reassign its visits to.
func (s *Store) CommunityWorkers(ctx context.Context, community string) ([]Worker, error) {
	return db.Collect(ctx, s.DB.R, func(row db.Scanner) (Worker, error) {
		var w Worker
		return w, row.Scan(&w.Username, &w.Name, &w.Role)
	}, `SELECT username, display_name, role FROM users WHERE division_code = $1 AND role IN ('grid_worker', 'community_worker') AND NOT disabled ORDER BY role, username`, community)
}

// ReassignBatch gives one or many open visits to another worker.
type ReassignBatch struct {
	IDs   []int64 `json:"ids"`
	Owner string  `json:"owner"` // a grid or community worker of the visits' community
}

// ReassignResult is what a reassignment changed.
type ReassignResult struct {
	Owner      string  `json:"owner"`
	Reassigned []int64 `json:"reassigned"`
}

// MaxReassign bounds one reassignment.
const MaxReassign = 200

// ReassignMany gives open visits in the caller's scope to a worker of
// their community, all or none, each change audited. Visits outside the
// caller's scope are not found; recorded ones cannot be reassigned; a
// worker of another community is refused.
func (s *Store) ReassignMany(ctx context.Context, in ReassignBatch) (ReassignResult, error) {
	defer s.wrote()
	p := access.From(ctx)
	if !canSupervise(p) {
		return ReassignResult{}, fault.Forbidden(fault.M("只有社区工作者和民政干部可以改派探访", "only community workers and officers reassign visits"))
	}
	in.Owner = strings.TrimSpace(in.Owner)
	var errs []fault.FieldError
	if len(in.IDs) == 0 {
		errs = append(errs, fault.Field("id", fault.M("请选择要改派的探访", "choose the visits to reassign")))
	} else if len(in.IDs) > MaxReassign {
		errs = append(errs, fault.Field("id", fault.M(fmt.Sprintf("一次最多改派 %d 次探访", MaxReassign), fmt.Sprintf("reassign at most %d visits at once", MaxReassign))))
	}
	if in.Owner == "" {
		errs = append(errs, fault.Field("owner", fault.M("请选择接手的工作人员", "choose who takes the visits")))
	}
	if len(errs) > 0 {
		return ReassignResult{}, fault.Invalid(fault.M("无法改派", "cannot reassign"), errs...)
	}
	ids := slicesUnique(in.IDs)
	var role, div string
	err := s.DB.R.QueryRowContext(ctx, `SELECT role, division_code FROM users WHERE username = $1 AND NOT disabled`, in.Owner).Scan(&role, &div)
	badOwner := fault.Invalid(fault.M("无法改派", "cannot reassign"), fault.Field("owner", fault.M("须为该社区的网格员或社区工作者", "must be a grid or community worker of the visits' community")))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && role != string(access.GridWorker) && role != string(access.CommunityWorker)) {
		return ReassignResult{}, badOwner
	} else if err != nil {
		return ReassignResult{}, err
	}
	cond, args := scopeSQL(p, 1)
	ph := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	type cur struct {
		id                     int64
		owner, status, divcode string
	}
	found, err := db.Collect(ctx, s.DB.R, func(row db.Scanner) (cur, error) {
		var c cur
		return c, row.Scan(&c.id, &c.owner, &c.status, &c.divcode)
	}, `SELECT v.id, v.owner, v.status, v.division_code FROM vis_visits v WHERE `+cond+` AND v.id IN (`+strings.Join(ph, ",")+`)`, args...)
	if err != nil {
		return ReassignResult{}, err
	}
	if len(found) != len(ids) {
		return ReassignResult{}, errNotFound
	}
	for _, c := range found {
		if c.status != StatusOpen {
			return ReassignResult{}, fault.Conflict(fault.M(fmt.Sprintf("探访 %d 已记录，不能改派", c.id), fmt.Sprintf("visit %d is already recorded and cannot be reassigned", c.id)))
		}
		if c.divcode != div {
			return ReassignResult{}, badOwner
		}
	}
	now := s.Now()
	res := ReassignResult{Owner: in.Owner, Reassigned: []int64{}}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res.Reassigned = res.Reassigned[:0]
		for _, c := range found {
			r, err := tx.ExecContext(ctx, `UPDATE vis_visits SET owner = $1, updated_at = $2 WHERE id = $3 AND status = 'open' AND owner = $4`, in.Owner, db.T(now), c.id, c.owner)
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n != 1 {
				return fault.Conflict(fault.M("探访刚被他人修改，请刷新后重试", "a visit was changed meanwhile; reload and try again"))
			}
			if err := s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "visits.visit.reassign", Object: "visit", ObjectID: fmt.Sprint(c.id), Division: c.divcode,
				Detail: audit.Detail(map[string]string{"from": c.owner, "to": in.Owner})}); err != nil {
				return err
			}
			res.Reassigned = append(res.Reassigned, c.id)
		}
		return nil
	})
	if err != nil {
		return ReassignResult{}, err
	}
	sort.Slice(res.Reassigned, func(i, j int) bool { return res.Reassigned[i] < res.Reassigned[j] })
	return res, nil
}

func slicesUnique(ids []int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
