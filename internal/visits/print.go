package visits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// The printable monthly visit sheet: many workers still carry paper. One
// sheet lists a worker's visits of a month — the resident's name masked
// as paper forms allow, the address to find them, the due date and the
// programme — with blank boxes for the date, method, outcome and the
// signature of the one visited.

// SheetLine is one visit on a worker's sheet.
type SheetLine struct {
	ID        int64     `json:"id"`
	Whose     string    `json:"whose"`   // masked name, or the household's head's for a household visit
	Address   string    `json:"address"` // the full address: the worker needs it at the door
	GridName  string    `json:"grid"`
	Due       string    `json:"due_date"`
	Programme fault.Msg `json:"programme"`
	Status    string    `json:"status"`
	Method    string    `json:"method,omitempty"`
	VisitedOn string    `json:"visited_on,omitempty"`
	// In words, for the page.
	MethodName fault.Msg `json:"-"`
	StatusName fault.Msg `json:"-"`
}

// Sheet is a worker's visits of a month, for paper.
type Sheet struct {
	Worker     string      `json:"worker"`
	WorkerName string      `json:"worker_name"`
	Division   string      `json:"division"`
	Month      string      `json:"month"`
	Lines      []SheetLine `json:"lines"`
}

// MonthSheet lists every visit (not cancelled) a worker owns in a month,
// by grid, address and due date. A grid worker prints their own sheet;
// community workers and officers print the sheets of workers in their
// scope. Printing is a read of personal data and is audited.
func (s *Store) MonthSheet(ctx context.Context, worker string, month Month) (Sheet, error) {
	p := access.From(ctx)
	if !canRead(p) {
		return Sheet{}, errNoRole
	}
	worker = strings.TrimSpace(worker)
	if worker == "" {
		worker = p.Username
	}
	if p.Role == access.GridWorker && worker != p.Username {
		return Sheet{}, fault.Forbidden(fault.M("网格员只能打印自己的探访表", "grid workers print their own sheet only"))
	}
	sh := Sheet{Worker: worker, Month: month.String(), Lines: []SheetLine{}}
	sc := access.BusinessScope(p)
	err := s.DB.R.QueryRowContext(ctx, `SELECT display_name, division_code FROM users WHERE username = $1 AND division_code >= $2 AND division_code < $3`,
		worker, sc.Lo, sc.Hi).Scan(&sh.WorkerName, &sh.Division)
	if errors.Is(err, sql.ErrNoRows) {
		return sh, fault.Invalid(fault.M("无法打印", "cannot print"), fault.Field("worker", fault.M("不是您管辖范围内的工作人员", "not a worker within your jurisdiction")))
	} else if err != nil {
		return sh, err
	}
	lines, err := db.Collect(ctx, s.DB.R, func(row db.Scanner) (SheetLine, error) {
		var l SheetLine
		var name, head string
		var visited db.Time
		err := row.Scan(&l.ID, &name, &head, &l.Address, &l.GridName, &l.Due, &l.Programme.ZH, &l.Programme.EN, &l.Status, &l.Method, &visited)
		if name == "" {
			name = head
		}
		l.Whose = MaskName(name)
		l.MethodName, l.StatusName = methodWords(l.Method), statusWords(l.Status)
		if !visited.Time.IsZero() {
			l.VisitedOn = day(visited.Time.In(cstZone()))
		}
		return l, err
	}, `SELECT v.id, COALESCE(r.name, ''),
		COALESCE((SELECT MIN(m.name) FROM reg_residents m WHERE m.household_id = v.household_id AND v.resident_id = '' AND m.relation = '户主'), ''),
		COALESCE(h.address, ''), COALESCE(g.name, ''), v.due_date, p.name_zh, p.name_en, v.status, v.method, v.visited_at
		FROM vis_visits v JOIN vis_programmes p ON p.id = v.programme_id
		LEFT JOIN reg_residents r ON r.id = v.resident_id LEFT JOIN reg_households h ON h.id = v.household_id
		LEFT JOIN reg_grids g ON g.id = v.grid_id
		WHERE v.owner = $1 AND v.month = $2 AND v.status <> 'cancelled' AND v.division_code >= $3 AND v.division_code < $4
		ORDER BY COALESCE(g.name, ''), COALESCE(h.address, ''), v.due_date, v.id`, worker, month.String(), sc.Lo, sc.Hi)
	if err != nil {
		return sh, err
	}
	sh.Lines = append(sh.Lines, lines...)
	err = s.Audit.Record(ctx, audit.Entry{Action: "visits.sheet.print", Object: "user", ObjectID: worker, Division: sh.Division,
		Detail: audit.Detail(map[string]any{"month": sh.Month, "visits": len(lines)})})
	return sh, err
}

// methodWords, statusWords and riskWords are the one place visits name their methods, statuses and risks.
func methodWords(m string) fault.Msg {
	switch m {
	case MethodHome:
		return fault.M("入户", "Home visit")
	case MethodPhone:
		return fault.M("电话", "Phone call")
	case MethodVideo:
		return fault.M("视频", "Video call")
	}
	return fault.M("", "")
}

// statusWords is a visit status in words.
func statusWords(st string) fault.Msg {
	switch st {
	case StatusOpen:
		return fault.M("待探访", "Due")
	case StatusDone:
		return fault.M("已完成", "Done")
	case StatusNotHome:
		return fault.M("未遇", "Not home")
	case StatusRefused:
		return fault.M("拒访", "Refused")
	case StatusCancelled:
		return fault.M("已取消", "Cancelled")
	}
	return fault.M(st, st)
}

// riskWords is a risk level in words.
func riskWords(r string) fault.Msg {
	switch r {
	case RiskNormal:
		return fault.M("正常", "Normal")
	case RiskAttention:
		return fault.M("关注", "Attention")
	case RiskHigh:
		return fault.M("高风险", "High risk")
	}
	return fault.M("", "")
}

func sheetTitle(sh Sheet) fault.Msg {
	return fault.M(fmt.Sprintf("%s 探访登记表 · %s", sh.Month, sh.WorkerName), fmt.Sprintf("Visit sheet %s · %s", sh.Month, sh.WorkerName))
}
