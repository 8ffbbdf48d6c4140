package emergency

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/questions"
	"linli/internal/web"
)

// Kinds of work on the 工作台.
const (
	kindPerson    = "emergency.person"
	kindHousehold = "emergency.household"
	kindBoard     = "emergency.board"
	kindOverdue   = "emergency.overdue"
	kindFinding   = "emergency.finding"
)

// activeIncidents is the condition on checks (alias c) of incidents not
// cancelled.
const activeIncidents = `c.incident_id IN (SELECT x.incident_id FROM em_alerts x WHERE x.state = 'active' AND x.msg_type <> 'Cancel')`

// The 工作台's conditions on checks ($1: the worker): the people paired
// with them still waiting, and the households of their grids.
const (
	helperCond = activeIncidents + ` AND c.kind = 'person' AND c.helper = $1 AND c.status IN ('pending', 'unreachable', 'needs_help')`
	gridCond   = activeIncidents + ` AND c.kind = 'household' AND c.status = 'pending' AND c.grid_id IN (SELECT g.grid_id FROM registry_grid_workers g WHERE g.username = $1)`
	// overdueCond ($1, $2: the jurisdiction; $3: the deadline; $4: the
	// worker) finds the vulnerable residents someone else was to reach and
	// who are still not confirmed past the deadline, or could not be
	// reached at all.
	overdueCond = activeIncidents + ` AND c.kind = 'person' AND c.division_code >= $1 AND c.division_code < $2
		AND (c.status = 'pending' AND c.created_at < $3 OR c.status = 'unreachable') AND c.helper <> $4`
	// myHouseholdCond ($1: a household) finds a resident's warnings.
	myHouseholdCond = `c.household_id = $1 AND c.kind = 'household' AND ` + activeIncidents
)

// Work lists, most pressing first: the vulnerable residents paired with
// the worker (or in their grids) still to be reached in a warning in
// force, then the households of their grids, then — for community
// workers and officers — each warning's board.
func (m *emergencyModule) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	return m.store.Work(ctx, p, limit)
}

// Work is the module's part of the 工作台 for p.
func (s *Store) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	if p == nil || p.Role != access.GridWorker && p.Role != access.CommunityWorker && p.Role != access.Officer {
		return nil, nil
	}
	var out []module.WorkItem
	persons, err := s.checks(ctx, helperCond, limit, p.Username)
	if err != nil {
		return nil, err
	}
	for _, c := range persons {
		out = append(out, module.WorkItem{Module: "emergency", Kind: kindPerson, KindName: fault.M("预警：确认结对对象安全", "Warning: check on the people paired with you"),
			Title: fault.M("确认安全 / 协助转移（"+statusWords(c.Status).ZH+"）", "Confirm safe / help move ("+statusWords(c.Status).EN+")"),
			Whose: c.Whose, Href: "/emergency/checks/" + itoa64(c.ID), Urgent: true})
	}
	if len(out) < limit {
		shelters, err := s.shelterWork(ctx, p.Username, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, shelters...)
	}
	if p.Role != access.GridWorker && len(out) < limit {
		after := s.EscalateAfter
		if after <= 0 {
			after = EscalateAfter
		}
		sc := access.BusinessScope(p)
		// In the order of the checks' index, so that a county's first
		// items are read without sorting all of its late ones.
		late, err := s.checksBy(ctx, checksInOrder(overdueCond, `c.incident_id, c.division_code, c.kind, c.status`, limit-len(out)),
			sc.Lo, sc.Hi, db.T(s.Now().Add(-after)), p.Username)
		if err != nil {
			return nil, err
		}
		for _, c := range late {
			helper := c.Helper
			if helper == "" {
				helper = "未结对 / none"
			}
			out = append(out, module.WorkItem{Module: "emergency", Kind: kindOverdue, KindName: fault.M("预警：超时未确认的重点人员", "Warning: vulnerable residents not reached in time"),
				Title: fault.M(statusWords(c.Status).ZH+"，帮扶人 "+helper, statusWords(c.Status).EN+", helper "+helper),
				Whose: c.Whose, Href: "/emergency/checks/" + itoa64(c.ID), Urgent: true})
		}
	}
	if p.Role == access.GridWorker && len(out) < limit {
		hs, err := s.checks(ctx, gridCond, limit-len(out), p.Username)
		if err != nil {
			return nil, err
		}
		for _, c := range hs {
			out = append(out, module.WorkItem{Module: "emergency", Kind: kindHousehold, KindName: fault.M("预警：逐户确认", "Warning: households to reach"),
				Title: fault.M("逐户确认安全", "Confirm the household is safe"), Whose: "住户 #" + itoa64(c.ID), Href: "/emergency/checks/" + itoa64(c.ID), Urgent: true})
		}
	}
	if p.Role != access.GridWorker && len(out) < limit {
		as, err := s.List(ctx, time.Time{}, limit-len(out))
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if a.State != StateActive || a.MsgType == "Cancel" || a.expired(s.Now()) {
				continue
			}
			out = append(out, module.WorkItem{Module: "emergency", Kind: kindBoard, KindName: fault.M("生效中的预警", "Warnings in force"),
				Title: fault.M(a.ColourName().ZH+"："+a.Headline, a.ColourName().EN+": "+a.Headline), Whose: a.AreaDesc, Href: "/emergency/alerts/" + a.ID, Urgent: true})
		}
	}
	if len(out) < limit {
		// A review's findings stay with their owner until done.
		fs, err := s.findingsWork(ctx, p.Username, limit-len(out))
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			due, _ := time.ParseInLocation("2006-01-02", f.DueOn, questions.CST)
			out = append(out, module.WorkItem{Module: "emergency", Kind: kindFinding, KindName: fault.M("复盘整改事项", "Findings of reviews"),
				Title: fault.M(f.Text, f.Text), Whose: f.Owner, Href: "/emergency/reviews/" + f.ReviewID + "#finding-" + f.ID, Due: due.AddDate(0, 0, 1), Urgent: f.Overdue})
		}
	}
	if len(out) < limit {
		ds, err := s.drillWork(ctx, p, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	return s.hazardWork(ctx, p, out, limit)
}

// Mine shows a resident the warnings in force where they live, each with
// its instruction and their check-in.
func (m *emergencyModule) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
	if p == nil || p.Role != access.Resident {
		return nil, nil
	}
	ws, err := m.store.MyWarnings(ctx, p)
	if err != nil || len(ws) == 0 {
		return nil, err
	}
	sec := module.MineSection{Module: "emergency", Order: 1, Title: fault.M("应急预警", "Warnings"), More: "/emergency/mine",
		Action: &module.MineItem{Label: fault.M("报平安", "Check in as safe"), Href: "/emergency/mine"}}
	for _, w := range ws {
		tag := web.Tag{Tone: web.ToneBad, Label: statusWords(w.Status)}
		if w.Status == StatusSafe {
			tag.Tone = web.ToneOK
		}
		sec.Items = append(sec.Items, module.MineItem{Label: fault.M(w.Alert.ColourName().ZH+"："+w.Alert.Headline+"。"+w.Alert.Instruction,
			w.Alert.ColourName().EN+": "+w.Alert.Headline+". "+w.Alert.Instruction), When: w.Alert.Sent, Href: "/emergency/mine", Status: &tag})
	}
	return []module.MineSection{sec}, nil
}

const mySQL = `SELECT c.incident_id, c.status FROM em_checks c WHERE ` + myHouseholdCond + ` ORDER BY c.id DESC LIMIT 10`

// MyWarning is a warning in force where a resident lives, with their
// household's status.
type MyWarning struct {
	Alert  Alert
	Status string
}

// MyWarnings are the warnings in force whose area holds the resident's
// household.
func (s *Store) MyWarnings(ctx context.Context, p *access.Principal) ([]MyWarning, error) {
	_, hh, err := s.residentOf(ctx, p)
	if err != nil || hh == "" {
		return nil, err
	}
	type row struct{ incident, status string }
	rows, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (row, error) {
		var x row
		return x, r.Scan(&x.incident, &x.status)
	}, mySQL, hh)
	if err != nil {
		return nil, err
	}
	var out []MyWarning
	for _, x := range rows {
		a, err := s.latest(ctx, s.DB.R, x.incident)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if a.expired(s.Now()) {
			continue
		}
		out = append(out, MyWarning{Alert: a, Status: x.status})
	}
	return out, nil
}
