package assistance

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/module"
	"linli/internal/web"
)

// ListCountCap bounds the count of a list.
const ListCountCap = 1000

const cursorList = "assistance/applications"

// Page is one page of applications, newest first.
type Page struct {
	Items  []Application `json:"items"`
	Total  int           `json:"total"`
	Capped bool          `json:"total_capped"`
	Next   string        `json:"next,omitempty"`
}

// List pages the applications in the principal's jurisdiction by id
// (newest first), optionally of one status.
func (s *Store) List(ctx context.Context, status, cursor string, size int) (Page, error) {
	p := access.From(ctx)
	if p == nil || p.Role == access.Resident || !p.Role.Business() {
		return Page{}, fault.Forbidden(fault.M("只有工作人员可以查看申请列表", "only workers may list applications"))
	}
	if size <= 0 || size > 100 {
		size = 20
	}
	if status != "" {
		if _, ok := statusNames[status]; !ok {
			return Page{}, fault.Invalid(fault.M("筛选条件有误", "bad filter"), fault.Field("status", fault.M("没有这个状态", "no such status")))
		}
	}
	count, countArgs, list, listArgs, err := s.ListSQL(p, status, cursor, size)
	if err != nil {
		return Page{}, err
	}
	var page Page
	if err := s.DB.R.QueryRowContext(ctx, count, countArgs...).Scan(&page.Total); err != nil {
		return page, err
	}
	if page.Total > ListCountCap {
		page.Total, page.Capped = ListCountCap, true
	}
	items, err := db.Collect(ctx, s.DB.R, scanApp, list, listArgs...)
	if err != nil {
		return page, err
	}
	if len(items) > size {
		items = items[:size]
		page.Next = keyset.Seal(s.Keys, cursorList, items[size-1].ID)
	}
	page.Items = items
	return page, nil
}

// ListSQL is a list's two reads: its count (bounded) and its page after
// the cursor, within the principal's jurisdiction. The page's ids are
// picked first, newest first, from the index on (division, id) — without a
// status filter it covers the pick, so a county sorts keys, not rows — and
// only then are those rows read and joined to their households: joining
// first read a county's every application and household to keep twenty.
func (s *Store) ListSQL(p *access.Principal, status, cursor string, size int) (count string, countArgs []any, list string, listArgs []any, err error) {
	sc := access.BusinessScope(p)
	where := `a.division_code >= $1 AND a.division_code < $2`
	args := []any{sc.Lo, sc.Hi}
	if status != "" {
		args = append(args, status)
		where += ` AND a.status = $3`
	}
	count = `SELECT COUNT(*) FROM (SELECT 1 FROM ast_applications a WHERE ` + where + ` LIMIT ` + strconv.Itoa(ListCountCap+1) + `) c`
	countArgs = args
	if cursor != "" {
		key, err := keyset.Open(s.Keys, cursor, cursorList, 1)
		if err != nil {
			return "", nil, "", nil, err
		}
		args = append(append([]any{}, args...), key[0])
		where += ` AND a.id < $` + strconv.Itoa(len(args))
	}
	list = `SELECT ` + appCols + ` FROM (SELECT a.id FROM ast_applications a WHERE ` + where + ` ORDER BY a.id DESC LIMIT ` + strconv.Itoa(size+1) + `) t
		JOIN ast_applications a ON a.id = t.id LEFT JOIN reg_households h ON h.id = a.household_id ORDER BY a.id DESC`
	return count, countArgs, list, args, nil
}

// WorkSQL is the 工作台's read: the principal's applications with a clock
// running, the earliest due first. Enrolled households wait a year for
// their review and are not work yet; the condition is written out so that
// both stores match it to a partial index that holds only the applications
// in progress (ast_applications_open), or for officers only those waiting
// for their decision (ast_applications_decide). The items are picked first
// and joined to their households after.
//
// Officers decide: their items are the notices run out and the appeals.
// Community workers handle the rest.
func WorkSQL(p *access.Principal, limit int) (string, []any) {
	return workSQL(p, "", time.Time{}, limit)
}

// workCond is whose applications are work for p, within $1..$2.
func workCond(p *access.Principal) string {
	if p.Role == access.Officer {
		return `a.division_code >= $1 AND a.division_code < $2 AND a.due_at IS NOT NULL AND a.status IN ('publicity', 'appealed')`
	}
	return `a.division_code >= $1 AND a.division_code < $2 AND a.due_at IS NOT NULL AND a.status <> 'enrolled' AND a.status <> 'appealed'`
}

// workSQL is WorkSQL for one status only (kind, "" for all) and only
// applications due by overdueAt (zero for all).
func workSQL(p *access.Principal, status string, overdueAt time.Time, limit int) (string, []any) {
	sc := access.BusinessScope(p)
	where, args := workCond(p), []any{sc.Lo, sc.Hi}
	if status != "" {
		args = append(args, status)
		where += ` AND a.status = $` + strconv.Itoa(len(args))
	}
	if !overdueAt.IsZero() {
		args = append(args, db.T(overdueAt))
		where += ` AND a.due_at <= $` + strconv.Itoa(len(args))
	}
	return `SELECT ` + appCols + ` FROM (SELECT ` + appRowCols + ` FROM ast_applications a
		WHERE ` + where + ` ORDER BY a.due_at, a.id LIMIT ` + strconv.Itoa(limit) + `) a
		LEFT JOIN reg_households h ON h.id = a.household_id ORDER BY a.due_at, a.id`, args
}

// WorkCountSQL counts p's work by status, with how many are overdue at $3,
// from the same partial index (the status is in it).
func WorkCountSQL(p *access.Principal, now time.Time) (string, []any) {
	sc := access.BusinessScope(p)
	return `SELECT a.status, COUNT(*), SUM(CASE WHEN a.due_at <= $3 THEN 1 ELSE 0 END) FROM ast_applications a
		WHERE ` + workCond(p) + ` GROUP BY a.status ORDER BY MIN(a.due_at), a.status`, []any{sc.Lo, sc.Hi, db.T(now)}
}

// Work is the 工作台's share: applications waiting for a move in the
// worker's jurisdiction, the most overdue first.
func (s *Store) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	if p == nil || (p.Role != access.CommunityWorker && p.Role != access.Officer) {
		return nil, nil
	}
	q, args := WorkSQL(p, limit)
	return s.workItems(ctx, q, args)
}

// WorkBoard is the 工作台's share read in two statements: the page of
// items the filter asks for, and the counts by status from the index.
func (s *Store) WorkBoard(ctx context.Context, p *access.Principal, wq module.WorkQuery) (module.WorkBoard, error) {
	var b module.WorkBoard
	if p == nil || (p.Role != access.CommunityWorker && p.Role != access.Officer) {
		return b, nil
	}
	now := s.Now()
	cq, cargs := WorkCountSQL(p, now)
	err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var status string
		var n, late int
		if err := r.Scan(&status, &n, &late); err != nil {
			return err
		}
		st := StatusName(status)
		b.Counts = append(b.Counts, module.WorkCount{Kind: "assistance." + status, Name: fault.M("救助申请："+st.ZH, "Assistance: "+st.EN), Count: min(n, wq.Bound+1)})
		b.Overdue += late
		return nil
	}, cq, cargs...)
	if err != nil {
		return b, err
	}
	b.Overdue = min(b.Overdue, wq.Bound+1)
	// A community worker's board also lists the households the other
	// loops found (动态监测), each a tap from its application.
	var watch []module.WorkItem
	if p.Role == access.CommunityWorker {
		items, n, err := s.watchWork(ctx, p, wq.Limit)
		if err != nil {
			return b, err
		}
		if n > 0 {
			b.Counts = append(b.Counts, module.WorkCount{Kind: "assistance.watch", Name: fault.M("主动发现：待核实救助需求", "Found: assistance needs to review"), Count: min(n, wq.Bound+1)})
		}
		for _, it := range items {
			if it.Urgent || !wq.Overdue {
				watch = append(watch, it)
			}
		}
	}
	status, _ := strings.CutPrefix(wq.Kind, "assistance.")
	switch {
	case wq.Kind != "" && status == wq.Kind:
		return b, nil // another module's kind
	case status == "watch":
		b.Items = watch
		return b, nil
	case wq.Kind != "":
		watch = nil
	}
	var overdueAt time.Time
	if wq.Overdue {
		overdueAt = now
	}
	q, args := workSQL(p, status, overdueAt, wq.Limit)
	b.Items, err = s.workItems(ctx, q, args)
	if len(watch) > 0 {
		b.Items = append(b.Items, watch...)
		slices.SortStableFunc(b.Items, func(x, y module.WorkItem) int { return x.Due.Compare(y.Due) })
		b.Items = b.Items[:min(len(b.Items), wq.Limit)]
	}
	return b, err
}

func (s *Store) workItems(ctx context.Context, q string, args []any) ([]module.WorkItem, error) {
	apps, err := db.Collect(ctx, s.DB.R, scanApp, q, args...)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	out := make([]module.WorkItem, 0, len(apps))
	for _, a := range apps {
		st := StatusName(a.Status)
		out = append(out, module.WorkItem{Module: "assistance", Kind: "assistance." + a.Status,
			KindName: fault.M("救助申请："+st.ZH, "Assistance: "+st.EN),
			Title:    fault.M("救助申请（"+st.ZH+"）", "Assistance application ("+st.EN+")"),
			Whose:    a.Address, Href: "/assistance/applications/" + a.ID, Due: *a.Due, Urgent: a.Overdue(now)})
	}
	return out, nil
}

// Mine shows a resident their household's applications.
func (s *Store) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
	if p == nil || p.Role != access.Resident {
		return nil, nil
	}
	apps, err := db.Collect(ctx, s.DB.R, scanApp, `SELECT `+appCols+` FROM ast_applications a LEFT JOIN reg_households h ON h.id = a.household_id
		WHERE a.household_id = (SELECT household_id FROM reg_residents WHERE username = $1 AND username <> '') ORDER BY a.id DESC LIMIT 5`, p.Username)
	if err != nil {
		return nil, err
	}
	sec := module.MineSection{Module: "assistance", Order: 30, Title: fault.M("社会救助", "Social assistance"),
		Empty:  fault.M("您家还没有救助申请。", "Your household has no assistance application."),
		Action: &module.MineItem{Label: fault.M("申请救助（一件事）", "Apply for assistance"), Href: "/assistance/apply"}}
	for _, a := range apps {
		st := StatusName(a.Status)
		sec.Items = append(sec.Items, module.MineItem{Label: fault.M(strconv.Itoa(a.Year)+" 年救助申请", "Application of "+strconv.Itoa(a.Year)), When: a.CreatedAt,
			Href: "/assistance/applications/" + a.ID, Status: &web.Tag{Tone: tone(a.Status), Label: st}})
	}
	return []module.MineSection{sec}, nil
}

func tone(status string) web.Tone {
	switch status {
	case Approved, Enrolled:
		return web.ToneOK
	case Refused:
		return web.ToneBad
	case Exited:
		return web.ToneMuted
	}
	return web.ToneInfo
}
