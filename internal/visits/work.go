package visits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// Work kinds on the 工作台.
var workKinds = map[string]fault.Msg{
	"visit.overdue":   fault.M("逾期探访", "Overdue visits"),
	"visit.retry":     fault.M("未遇待再访", "Visits to retry"),
	"visit.high_risk": fault.M("高风险跟进", "High-risk follow-ups"),
	"visit.due":       fault.M("本周待探访", "Visits due this week"),
	"visit.asked":     fault.M("居民申请探访", "Visits residents asked for"),
}

// Work lists the visits waiting for a worker: overdue first, then
// retries, high-risk follow-ups and those due within the week; and the
// visits residents of the worker's community asked for. Officers get
// nothing here: their subtree's escalations are the supervision's.
func (m *visitsModule) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	// Escalated visits come first: they are the next level's (escalate.go).
	esc, err := m.store.EscalatedWork(ctx, p, limit)
	if err != nil {
		return nil, err
	}
	own, err := m.store.Work(ctx, p, limit-len(esc))
	return append(esc, own...), err
}

// Work is the worker's visit items (see visitsModule.Work).
func (s *Store) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	if !canWork(p) || limit <= 0 {
		return nil, nil
	}
	now := s.Now()
	today := day(now.In(questions.CST))
	week := day(now.In(questions.CST).AddDate(0, 0, 7))
	// Owned by the worker; a community worker also sees the community's
	// visits nobody owns.
	cond := "(v.owner = $1 OR (1 = 0 AND v.division_code = $4))"
	if p.Role == access.CommunityWorker {
		cond = "(v.owner = $1 OR (v.owner = '' AND v.division_code = $4))"
	}
	type row struct {
		v          Visit
		prog       fault.Msg
		parentHigh bool
	}
	rows, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (row, error) {
		var x row
		var name, address, zh, en, parentRisk string
		err := r.Scan(&x.v.ID, &x.v.Due, &x.v.Origin, &name, &address, &zh, &en, &parentRisk)
		x.v.Whose = MaskName(name)
		if name == "" {
			x.v.Whose = MaskAddress(address)
		}
		x.prog = fault.M(zh, en)
		x.parentHigh = parentRisk == RiskHigh
		return x, err
	}, `SELECT v.id, v.due_date, v.origin, COALESCE(r.name, ''), COALESCE(h.address, ''), p.name_zh, p.name_en, COALESCE(k.risk, '')
		FROM vis_visits v JOIN vis_programmes p ON p.id = v.programme_id
		LEFT JOIN reg_residents r ON r.id = v.resident_id LEFT JOIN reg_households h ON h.id = v.household_id
		LEFT JOIN vis_risk k ON k.programme_id = v.programme_id AND k.subject_id = v.subject_id
		WHERE `+cond+` AND v.status = 'open' AND v.due_date <= $2 AND v.division_code >= $3 AND v.division_code < $5
		ORDER BY v.due_date, v.id LIMIT `+fmt.Sprint(limit), p.Username, week, access.BusinessScope(p).Lo, p.Division, access.BusinessScope(p).Hi)
	if err != nil {
		return nil, err
	}
	var out []module.WorkItem
	for _, x := range rows {
		kind := "visit.due"
		switch {
		case x.v.Due < today:
			kind = "visit.overdue"
		case strings.HasPrefix(x.v.Origin, originRetry):
			kind = "visit.retry"
		case x.parentHigh:
			kind = "visit.high_risk"
		}
		due, _ := time.ParseInLocation("2006-01-02", x.v.Due, questions.CST)
		out = append(out, module.WorkItem{Module: "visits", Kind: kind, KindName: workKinds[kind], Title: x.prog, Whose: x.v.Whose,
			Href: fmt.Sprintf("/visits/%d", x.v.ID), Due: due.Add(24*time.Hour - time.Second), Urgent: kind == "visit.overdue" || kind == "visit.high_risk"})
	}
	if len(out) < limit {
		asks, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (module.WorkItem, error) {
			var id, name, note string
			var at db.Time
			err := r.Scan(&id, &name, &note, &at)
			return module.WorkItem{Module: "visits", Kind: "visit.asked", KindName: workKinds["visit.asked"],
				Title: fault.M("居民申请探访："+note, "A resident asks for a visit: "+note), Whose: MaskName(name), Href: "/visits?status=open", Due: at.Add(72 * time.Hour)}, err
		}, `SELECT a.id, COALESCE(r.name, ''), a.note, a.created_at FROM vis_asks a LEFT JOIN reg_residents r ON r.id = a.resident_id
			WHERE a.division_code = $1 AND a.visit_id IS NULL ORDER BY a.created_at LIMIT `+fmt.Sprint(limit-len(out)), p.Division)
		if err != nil {
			return nil, err
		}
		out = append(out, asks...)
	}
	return out, nil
}

// Mine shows a resident their next visits (the date, and the worker's
// name when the programme allows telling) and a way to ask for a visit.
func (m *visitsModule) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
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
