package visits

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/questions"
	"linli/internal/web"
)

// The visits' kinds of work on the 工作台, most pressing first.
var workKinds = []struct {
	kind string
	name fault.Msg
}{
	{kindEscalated, fault.M("逾期探访督办", "Escalated overdue visits")},
	{kindOverdue, fault.M("逾期探访", "Overdue visits")},
	{kindRetry, fault.M("未遇待再访", "Visits to retry")},
	{kindHighRisk, fault.M("高风险跟进", "High-risk follow-ups")},
	{kindDue, fault.M("本周待探访", "Visits due this week")},
	{kindAsked, fault.M("居民申请探访", "Visits residents asked for")},
}

const (
	kindEscalated = "visit.escalated"
	kindOverdue   = "visit.overdue"
	kindRetry     = "visit.retry"
	kindHighRisk  = "visit.high_risk"
	kindDue       = "visit.due"
	kindAsked     = "visit.asked"
	// askedLate counts the asks waiting past their 72 hours: overdue
	// items of kind visit.asked.
	askedLate = "visit.asked.late"
)

func kindName(kind string) fault.Msg {
	for _, k := range workKinds {
		if k.kind == kind {
			return k.name
		}
	}
	return fault.M(kind, kind)
}

// askWithin is how soon a resident's request for a visit is due.
const askWithin = 72 * time.Hour

// workMigration indexes what the 工作台 reads. The open escalated visits
// (few beside the history of visits escalated and done since) twice: in
// due order by level, with the division to pick a subtree's from the
// index, for the items — a county officer's most overdue are the first
// entries, a township's a few hundred in; and by level and division,
// for the counts. And the residents' requests for a visit still waiting,
// by community.
var workMigration = db.Migration{ID: "visits/008_work", SQL: `
CREATE INDEX vis_visits_escalated_due ON vis_visits (escalated_to, due_date, id, division_code) WHERE status = 'open' AND escalated_to <> '';
CREATE INDEX vis_visits_escalated_open ON vis_visits (escalated_to, division_code) WHERE status = 'open' AND escalated_to <> '';
CREATE INDEX vis_asks_waiting ON vis_asks (division_code, created_at) WHERE visit_id IS NULL;
`}

// escalatedSQL is the condition on the open visits escalated to a level,
// as the partial indexes above are defined (both stores use a partial
// index only for a query that names its condition).
const escalatedSQL = `v.status = 'open' AND v.escalated_to <> '' AND v.escalated_to = `

// Work lists the most pressing visits waiting for p (see WorkBoard).
func (m *visitsModule) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	return m.store.Work(ctx, p, limit)
}

// Work lists the most pressing visits waiting for p, at most limit.
func (s *Store) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	b, err := s.WorkBoard(ctx, p, module.WorkQuery{Limit: limit})
	return b.Items, err
}

// WorkBoard is the visits' part of the 工作台 (see Store.WorkBoard).
func (m *visitsModule) WorkBoard(ctx context.Context, p *access.Principal, q module.WorkQuery) (module.WorkBoard, error) {
	return m.store.WorkBoard(ctx, p, q)
}

// sqlArgs numbers a statement's arguments as they are first named, so a
// value used twice is passed once and every one passed is used (as
// PostgreSQL requires).
type sqlArgs struct {
	args  []any
	named map[string]string
}

func (a *sqlArgs) ph(name string, v any) string {
	if a.named == nil {
		a.named = map[string]string{}
	}
	if ph, ok := a.named[name]; ok {
		return ph
	}
	a.args = append(a.args, v)
	a.named[name] = fmt.Sprintf("$%d", len(a.args))
	return a.named[name]
}

// workPlan is what the 工作台 reads for one worker: the level whose
// escalations reach them (none for a grid worker), whether they own
// visits (officers do not: they get their subtree's escalations only) and
// whether their community's residents' requests for a visit are theirs.
type workPlan struct {
	p                 *access.Principal
	sqlite            bool
	level             string
	own, unowned      bool // their own visits; a community worker's also the community's nobody owns
	asks              bool
	today, week, late any
}

func (s *Store) workPlan(p *access.Principal) (workPlan, bool) {
	w := workPlan{p: p, sqlite: s.DB.Dialect == db.SQLite}
	switch {
	case p == nil:
		return w, false
	case p.Role == access.Officer:
		w.level = LevelTownship
	case p.Role == access.CommunityWorker:
		w.level = LevelCommunity
	case p.Role != access.GridWorker:
		return w, false
	}
	now := s.Now()
	w.today, w.week = day(now.In(questions.CST)), day(now.In(questions.CST).AddDate(0, 0, 7))
	w.late = db.T(now.Add(-askWithin))
	w.own, w.asks = canWork(p), canWork(p)
	w.unowned = p.Role == access.CommunityWorker
	return w, true
}

// indexed names the index SQLite is to read vis_visits by: its planner
// has only average rows per key, which cannot tell the open escalated
// visits of a level from its history, nor one worker's visits from a
// community's. PostgreSQL chooses by its statistics.
func (w workPlan) indexed(index string) string {
	if w.sqlite {
		return ` INDEXED BY ` + index
	}
	return ``
}

// scope is the subtree condition on v.
func (w workPlan) scope(a *sqlArgs) string {
	sc := access.BusinessScope(w.p)
	return `v.division_code >= ` + a.ph("lo", sc.Lo) + ` AND v.division_code < ` + a.ph("hi", sc.Hi)
}

// ownSQL selects cols of the worker's open visits matching cond as one
// compound select, a branch per index: those they own, and for a
// community worker the community's nobody owns.
func (w workPlan) ownSQL(a *sqlArgs, cols, cond string) string {
	owners := []string{w.indexed("vis_visits_owner") + ` WHERE v.owner = ` + a.ph("user", w.p.Username)}
	if w.unowned {
		owners = append(owners, w.indexed("vis_visits_overdue")+` WHERE v.owner = '' AND v.division_code = `+a.ph("division", w.p.Division))
	}
	var parts []string
	for _, o := range owners {
		parts = append(parts, `SELECT `+cols+` FROM vis_visits v`+o+` AND v.status = 'open' AND `+w.scope(a)+` AND `+cond)
	}
	return strings.Join(parts, ` UNION ALL `)
}

// weekKindSQL sorts an open visit due within the week into its kind: a
// retry after nobody was home, a follow-up of a high-risk finding, or
// simply due.
const weekKindSQL = `CASE WHEN v.origin LIKE 'r:%' THEN 'visit.retry'
	WHEN EXISTS (SELECT 1 FROM vis_risk k WHERE k.programme_id = v.programme_id AND k.subject_id = v.subject_id AND k.risk = 'high') THEN 'visit.high_risk'
	ELSE 'visit.due' END`

// WorkBoard is the visits waiting for p: escalated visits of their
// subtree that reached their level, the visits they own (overdue ones
// first, then retries, high-risk follow-ups and those due within the
// week) and their community's residents' requests for a visit. One
// statement counts each kind up to q.Bound+1, reading by index no more
// than that of each; one reads the visits' items and one the requests',
// each at most q.Limit, and the most pressing q.Limit are kept.
func (s *Store) WorkBoard(ctx context.Context, p *access.Principal, q module.WorkQuery) (module.WorkBoard, error) {
	var b module.WorkBoard
	w, ok := s.workPlan(p)
	if !ok {
		return b, nil
	}
	if q.Bound > 0 {
		counts, err := s.workCounts(ctx, w, q.Bound)
		if err != nil {
			return b, err
		}
		for _, k := range workKinds {
			if n := counts[k.kind]; n > 0 {
				b.Counts = append(b.Counts, module.WorkCount{Kind: k.kind, Name: k.name, Count: n})
			}
		}
		b.Overdue = counts[kindEscalated] + counts[kindOverdue] + counts[askedLate]
	}
	if q.Limit <= 0 {
		return b, nil
	}
	wants := func(kind string, overdue bool) bool {
		return (q.Kind == "" || q.Kind == kind) && (!q.Overdue || overdue)
	}
	items, err := s.workVisits(ctx, w, q.Limit, wants)
	if err != nil {
		return b, err
	}
	if w.asks && (q.Kind == "" || q.Kind == kindAsked) {
		asks, err := s.workAsks(ctx, p, q.Limit, q.Overdue)
		if err != nil {
			return b, err
		}
		items = append(items, asks...)
	}
	now := s.Now()
	rank := func(it module.WorkItem) int {
		r := 0
		if it.Urgent {
			r += 2
		}
		if !now.Before(it.Due) {
			r++
		}
		return r
	}
	slices.SortStableFunc(items, func(x, y module.WorkItem) int {
		if c := cmp.Compare(rank(y), rank(x)); c != 0 {
			return c
		}
		return x.Due.Compare(y.Due)
	})
	b.Items = items[:min(len(items), q.Limit)]
	return b, nil
}

// workCounts counts each kind of p's visit work up to bound+1 in one
// statement; askedLate counts the requests for a visit waiting too long.
func (s *Store) workCounts(ctx context.Context, w workPlan, bound int) (map[string]int, error) {
	q, args := w.countsSQL(bound)
	counts := map[string]int{}
	if q == "" {
		return counts, nil
	}
	err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var kind string
		var n int
		if err := r.Scan(&kind, &n); err != nil {
			return err
		}
		counts[kind] = min(n, bound+1)
		return nil
	}, q, args...)
	return counts, err
}

// countsSQL is workCounts' statement: a count per kind, each reading by
// index no more than bound+1 rows, except the week's, which a worker's
// schedule bounds.
func (w workPlan) countsSQL(bound int) (string, []any) {
	var a sqlArgs
	limit := fmt.Sprint(bound + 1)
	var parts []string
	if w.level != "" {
		parts = append(parts, `SELECT 'visit.escalated', COUNT(*) FROM (SELECT 1 FROM vis_visits v`+w.indexed("vis_visits_escalated_open")+` WHERE `+
			escalatedSQL+a.ph("level", w.level)+` AND `+w.scope(&a)+` LIMIT `+limit+`) escalated`)
	}
	if w.own {
		parts = append(parts, `SELECT 'visit.overdue', COUNT(*) FROM (`+w.ownSQL(&a, `1`, `v.due_date < `+a.ph("today", w.today))+` LIMIT `+limit+`) overdue`,
			`SELECT x.kind, COUNT(*) FROM (`+w.ownSQL(&a, weekKindSQL+` AS kind`, `v.due_date >= `+a.ph("today", w.today)+` AND v.due_date <= `+a.ph("week", w.week))+`) x GROUP BY x.kind`)
	}
	if w.asks {
		div := a.ph("division", w.p.Division)
		parts = append(parts, `SELECT 'visit.asked', COUNT(*) FROM (SELECT 1 FROM vis_asks a WHERE a.division_code = `+div+` AND a.visit_id IS NULL LIMIT `+limit+`) asked`,
			`SELECT 'visit.asked.late', COUNT(*) FROM (SELECT 1 FROM vis_asks a WHERE a.division_code = `+div+` AND a.visit_id IS NULL AND a.created_at <= `+
				a.ph("late", w.late)+` LIMIT `+limit+`) late`)
	}
	return strings.Join(parts, ` UNION ALL `), a.args
}

// workVisits reads the most pressing visits of each kind wanted (at most
// limit of each group: escalated, overdue, due within the week), then
// names them: the programme, and the resident or household masked.
func (s *Store) workVisits(ctx context.Context, w workPlan, limit int, wants func(kind string, overdue bool) bool) ([]module.WorkItem, error) {
	q, args := w.visitsSQL(limit, wants)
	if q == "" {
		return nil, nil
	}
	type row struct {
		kind, due, owner string
		id               int64
		name, address    string
		prog             fault.Msg
	}
	rows, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (row, error) {
		var x row
		err := r.Scan(&x.kind, &x.id, &x.due, &x.owner, &x.name, &x.address, &x.prog.ZH, &x.prog.EN)
		return x, err
	}, q, args...)
	if err != nil {
		return nil, err
	}
	out := make([]module.WorkItem, 0, len(rows))
	for _, x := range rows {
		whose := MaskName(x.name)
		if x.name == "" {
			whose = MaskAddress(x.address)
		}
		due, _ := time.ParseInLocation("2006-01-02", x.due, questions.CST)
		it := module.WorkItem{Module: "visits", Kind: x.kind, KindName: kindName(x.kind), Title: x.prog, Whose: whose,
			Href: fmt.Sprintf("/visits/%d", x.id), Due: due.Add(24*time.Hour - time.Second), Urgent: x.kind != kindRetry && x.kind != kindDue}
		if x.kind == kindEscalated {
			it.Title = fault.M("逾期未探访（负责人 "+ownerName(x.owner)+"）", "Overdue visit (owner "+ownerName(x.owner)+")")
			it.Due = due.AddDate(0, 0, 1)
		}
		out = append(out, it)
	}
	return out, nil
}

// workAsks reads the community's oldest requests for a visit still
// waiting (only those past their 72 hours when overdue).
func (s *Store) workAsks(ctx context.Context, p *access.Principal, limit int, overdue bool) ([]module.WorkItem, error) {
	late := ``
	args := []any{p.Division}
	if overdue {
		late = ` AND a.created_at <= $2`
		args = append(args, db.T(s.Now().Add(-askWithin)))
	}
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (module.WorkItem, error) {
		var id, name, note string
		var at db.Time
		err := r.Scan(&id, &name, &note, &at)
		return module.WorkItem{Module: "visits", Kind: kindAsked, KindName: kindName(kindAsked),
			Title: fault.M("居民申请探访："+note, "A resident asks for a visit: "+note), Whose: MaskName(name), Href: "/visits?status=open", Due: at.Add(askWithin)}, err
	}, `SELECT a.id, COALESCE(r.name, ''), a.note, a.created_at FROM (SELECT a.id, a.resident_id, a.note, a.created_at FROM vis_asks a
		WHERE a.division_code = $1 AND a.visit_id IS NULL`+late+` ORDER BY a.created_at LIMIT `+fmt.Sprint(limit)+`) a
		LEFT JOIN reg_residents r ON r.id = a.resident_id ORDER BY a.created_at`, args...)
}

// visitsSQL is workVisits' statement: the most pressing limit visits of
// each group wanted (escalated, overdue, due within the week: each read
// in due order by index), with the names to show.
func (w workPlan) visitsSQL(limit int, wants func(kind string, overdue bool) bool) (string, []any) {
	var a sqlArgs
	n := fmt.Sprint(limit)
	const cols = `v.id, v.due_date, v.owner, v.programme_id, v.resident_id, v.household_id`
	var parts []string
	if w.level != "" && wants(kindEscalated, true) {
		parts = append(parts, `SELECT * FROM (SELECT 'visit.escalated' AS kind, 0 AS grp, `+cols+` FROM vis_visits v`+w.indexed("vis_visits_escalated_due")+` WHERE `+
			escalatedSQL+a.ph("level", w.level)+` AND `+w.scope(&a)+` ORDER BY v.due_date, v.id LIMIT `+n+`) escalated`)
	}
	if w.own && wants(kindOverdue, true) {
		parts = append(parts, `SELECT * FROM (`+w.ownSQL(&a, `'visit.overdue' AS kind, 0 AS grp, `+cols, `v.due_date < `+a.ph("today", w.today))+
			` ORDER BY due_date, id LIMIT `+n+`) overdue`)
	}
	var week []string
	for _, k := range []string{kindRetry, kindHighRisk, kindDue} {
		if wants(k, false) {
			week = append(week, `'`+k+`'`)
		}
	}
	if w.own && len(week) > 0 {
		// High-risk follow-ups are urgent: they come first.
		parts = append(parts, `SELECT * FROM (SELECT x.kind, CASE WHEN x.kind = 'visit.high_risk' THEN 0 ELSE 1 END AS grp, x.id, x.due_date, x.owner, x.programme_id, x.resident_id, x.household_id FROM (`+
			w.ownSQL(&a, weekKindSQL+` AS kind, `+cols, `v.due_date >= `+a.ph("today", w.today)+` AND v.due_date <= `+a.ph("week", w.week))+
			`) x WHERE x.kind IN (`+strings.Join(week, ", ")+`) ORDER BY grp, x.due_date, x.id LIMIT `+n+`) week`)
	}
	if len(parts) == 0 {
		return "", nil
	}
	// Every visit has its programme: the join is LEFT only so that the few
	// visits chosen are read first and the programmes by key.
	return `SELECT s.kind, s.id, s.due_date, s.owner, COALESCE(r.name, ''), COALESCE(h.address, ''), COALESCE(p.name_zh, ''), COALESCE(p.name_en, '')
		FROM (` + strings.Join(parts, ` UNION ALL `) + `) s LEFT JOIN vis_programmes p ON p.id = s.programme_id
		LEFT JOIN reg_residents r ON r.id = s.resident_id LEFT JOIN reg_households h ON h.id = s.household_id`, a.args
}

var _ module.WorkBoarder = (*visitsModule)(nil)

// Mine shows a resident their next visits (the date, and the worker's
// name when the programme allows telling) and a way to ask for a visit.
func (m *visitsModule) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
	if p == nil || p.Role != access.Resident {
		return nil, nil
	}
	ups, err := m.store.Upcoming(ctx, p)
	if err != nil {
		return nil, err
	}
	sec := module.MineSection{Module: "visits", Order: 20, Title: fault.M("探访关爱", "Care visits"),
		Empty: fault.M("近期没有安排探访。需要时可以申请。", "No visit is scheduled. You can ask for one."),
		More:  "/visits/mine", Action: &module.MineItem{Label: fault.M("申请上门探访", "Ask for a visit"), Href: "/visits/mine#ask"}}
	for _, u := range ups {
		label := fault.M("计划探访："+u.ProgrammeZH, "Visit planned: "+u.ProgrammeEN)
		if u.Worker != "" {
			label = fault.M(label.ZH+"（"+u.Worker+"）", label.EN+" ("+u.Worker+")")
		}
		due, _ := time.ParseInLocation("2006-01-02", u.Due, questions.CST)
		sec.Items = append(sec.Items, module.MineItem{Label: label, When: due, Href: "/visits/mine",
			Status: &web.Tag{Tone: web.ToneInfo, Label: fault.M(u.Due+" 前", "by "+u.Due)}})
	}
	return []module.MineSection{sec}, nil
}

// Upcoming is a visit a resident is told of.
type Upcoming struct {
	Due         string `json:"due_date"`
	ProgrammeZH string `json:"programme_zh"`
	ProgrammeEN string `json:"programme_en"`
	Worker      string `json:"worker,omitempty"` // the worker's name, when the programme allows telling
}

// residentOf is the registry record linked to a resident's account.
func (s *Store) residentOf(ctx context.Context, p *access.Principal) (id, household, division string, err error) {
	if p == nil || p.Role != access.Resident {
		return "", "", "", fault.Forbidden(fault.M("只有居民本人可以查看", "only the resident may see this"))
	}
	err = s.DB.R.QueryRowContext(ctx, `SELECT id, household_id, division_code FROM reg_residents WHERE username = $1`, p.Username).Scan(&id, &household, &division)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", "", nil
	}
	return id, household, division, err
}

// Upcoming lists the resident's open visits (theirs and their household's).
func (s *Store) Upcoming(ctx context.Context, p *access.Principal) ([]Upcoming, error) {
	rid, hid, _, err := s.residentOf(ctx, p)
	if err != nil || rid == "" {
		return nil, err
	}
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Upcoming, error) {
		var u Upcoming
		var tell bool
		var worker string
		err := r.Scan(&u.Due, &u.ProgrammeZH, &u.ProgrammeEN, &tell, &worker)
		if tell {
			u.Worker = worker
		}
		return u, err
	}, `SELECT v.due_date, p.name_zh, p.name_en, p.tell_resident, COALESCE(u.display_name, '') FROM vis_visits v
		JOIN vis_programmes p ON p.id = v.programme_id LEFT JOIN users u ON u.username = v.owner
		WHERE (v.resident_id = $1 OR (v.resident_id = '' AND v.household_id = $2)) AND v.status = 'open' AND p.tell_resident
		ORDER BY v.due_date LIMIT 3`, rid, hid)
}

// Ask records a resident's request for a visit; the community's workers
// see it on their 工作台.
func (s *Store) Ask(ctx context.Context, note string) error {
	p := access.From(ctx)
	rid, hid, div, err := s.residentOf(ctx, p)
	if err != nil {
		return err
	}
	if rid == "" {
		return fault.Conflict(fault.M("您的账号还没有关联居民登记信息，请联系社区", "your account is not linked to a registry record yet: contact your community"))
	}
	note = strings.TrimSpace(note)
	if note == "" || utf8.RuneCountInString(note) > 200 {
		return fault.Invalid(fault.M("申请有误", "the request has errors"), fault.Field("note", fault.M("请简述希望探访的原因（不超过 200 字）", "say briefly why you would like a visit (200 characters at most)")))
	}
	var open int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM vis_asks WHERE resident_id = $1 AND visit_id IS NULL`, rid).Scan(&open); err != nil {
		return err
	}
	if open > 0 {
		return fault.Conflict(fault.M("您已有一条待处理的探访申请", "you already have a request for a visit waiting"))
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		id := db.NewID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO vis_asks (id, resident_id, household_id, division_code, username, note, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
			id, rid, hid, div, p.Username, note, db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "visits.ask", Object: "visit_ask", ObjectID: id, Division: div})
	})
}
