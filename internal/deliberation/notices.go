package deliberation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Notice categories of the 村(居)务公开 board.
var noticeCategories = map[string]fault.Msg{
	"party":    fault.M("党务", "Party affairs"),
	"affairs":  fault.M("村务/居务", "Village or community affairs"),
	"finance":  fault.M("财务", "Finances"),
	"policy":   fault.M("惠民政策", "Benefit policies"),
	"guide":    fault.M("办事指南", "Service guides"),
	"decision": fault.M("议事结果", "Deliberation results"),
}

// NoticeCategories lists the categories in the board's order.
var NoticeCategories = []string{"party", "affairs", "finance", "policy", "guide", "decision"}

// CategoryName is a category in words.
func CategoryName(c string) fault.Msg { return noticeCategories[c] }

// openEnd stands for a notice with no end date, so that the board's
// window reads as one range on the index.
const openEnd = "9999-12-31"

// Notice is one notice on a community's board; a financial statement
// carries its lines (amounts in fen) and stated total.
type Notice struct {
	ID          string      `json:"id"`
	Division    string      `json:"division_code"`
	Category    string      `json:"category"`
	Title       string      `json:"title"`
	Body        string      `json:"body"`
	From        string      `json:"publish_from"`
	Until       string      `json:"publish_until,omitempty"`
	AckRequired bool        `json:"ack_required"`
	Period      string      `json:"period,omitempty"`
	Lines       []AmountRow `json:"lines,omitempty"`
	Total       int64       `json:"total"`
	Acks        int         `json:"acks"`
	Acked       bool        `json:"acked"` // the reader's household has acknowledged it
	CreatedAt   time.Time   `json:"created_at"`
}

// CategoryLabel is the notice's category in words.
func (n Notice) CategoryLabel() fault.Msg { return CategoryName(n.Category) }

// Income sums the statement's income lines, in fen.
func (n Notice) Income() int64 { return sumLines(n.Lines, "income") }

// Expense sums the statement's expense lines, in fen.
func (n Notice) Expense() int64 { return sumLines(n.Lines, "expense") }

// IncomeYuan, ExpenseYuan and TotalYuan are the sums in yuan.
func (n Notice) IncomeYuan() string  { return Yuan(n.Income()) }
func (n Notice) ExpenseYuan() string { return Yuan(n.Expense()) }
func (n Notice) TotalYuan() string   { return Yuan(n.Total) }

// AmountRow is a line of a financial statement.
type AmountRow struct {
	Kind   string `json:"kind"` // income or expense
	Item   string `json:"item"`
	Amount int64  `json:"amount"` // fen
}

// Yuan is the line's amount in yuan.
func (l AmountRow) Yuan() string { return Yuan(l.Amount) }

func sumLines(ls []AmountRow, kind string) int64 {
	var s int64
	for _, l := range ls {
		if l.Kind == kind {
			s += l.Amount
		}
	}
	return s
}

// NoticeInput publishes a notice. For a financial statement, total is
// the balance in fen: income lines less expense lines.
type NoticeInput struct {
	Division    string      `json:"division_code"`
	Category    string      `json:"category"`
	Title       string      `json:"title"`
	Body        string      `json:"body"`
	From        string      `json:"publish_from"`
	Until       string      `json:"publish_until,omitempty"`
	AckRequired bool        `json:"ack_required,omitempty"`
	Period      string      `json:"period,omitempty"`
	Lines       []AmountRow `json:"lines,omitempty"`
	Total       int64       `json:"total,omitempty"`
}

// NoticePage is a page of a board.
type NoticePage struct {
	Items []Notice `json:"items"`
	Next  string   `json:"next_cursor,omitempty"`
}

// Yuan shows fen as yuan with two decimals.
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// today is the date in China, which the board's windows are in.
func (s *Store) today() string { return s.Now().In(cst).Format("2006-01-02") }

// Publish puts a notice on a community's board in the worker's
// jurisdiction; a financial statement's total must equal its lines.
func (s *Store) Publish(ctx context.Context, in NoticeInput) (Notice, error) {
	p := access.From(ctx)
	if !worker(p) {
		return Notice{}, fault.Forbidden(fault.M("只有社区工作者或干部可以发布公开事项", "only community workers and officers publish notices"))
	}
	var fields []fault.FieldError
	if len(in.Division) != 12 || !access.BusinessScope(p).Contains(in.Division) {
		fields = append(fields, fault.Field("division_code", fault.M("请选择辖区内的村（社区）", "choose a community in your jurisdiction")))
	}
	if _, ok := noticeCategories[in.Category]; !ok {
		fields = append(fields, fault.Field("category", fault.M("请选择类别：党务、村务/居务、财务、惠民政策、办事指南或议事结果", "choose a category: party, affairs, finance, policy, guide or decision")))
	}
	in.Title = text("title", in.Title, 80, true, &fields)
	in.Body = text("body", in.Body, 5000, in.Category != "finance", &fields)
	if !validDate(in.From) {
		fields = append(fields, fault.Field("publish_from", fault.M("请填写公开起始日期（YYYY-MM-DD）", "give the first day (YYYY-MM-DD)")))
	}
	until := in.Until
	switch {
	case until == "":
		until = openEnd
	case !validDate(until):
		fields = append(fields, fault.Field("publish_until", fault.M("截止日期格式为 YYYY-MM-DD", "the last day is YYYY-MM-DD")))
	case validDate(in.From) && until < in.From:
		fields = append(fields, fault.Field("publish_until", fault.M("公开截止日期不能早于起始日期", "the last day cannot be before the first")))
	}
	if in.Category == "finance" {
		if _, err := time.Parse("2006-01", in.Period); err != nil {
			fields = append(fields, fault.Field("period", fault.M("请填写账期（YYYY-MM）", "give the period (YYYY-MM)")))
		}
		if len(in.Lines) == 0 || len(in.Lines) > 200 {
			fields = append(fields, fault.Field("lines", fault.M("财务公开须有 1–200 行收支明细", "a financial statement has 1–200 lines")))
		}
		var sum int64
		for i, l := range in.Lines {
			in.Lines[i].Item = text(fmt.Sprintf("lines[%d].item", i), l.Item, 60, true, &fields)
			switch l.Kind {
			case "income":
				sum += l.Amount
			case "expense":
				sum -= l.Amount
			default:
				fields = append(fields, fault.Field(fmt.Sprintf("lines[%d].kind", i), fault.M("请选择收入或支出", "choose income or expense")))
			}
			if l.Amount <= 0 || l.Amount > 1e12 {
				fields = append(fields, fault.Field(fmt.Sprintf("lines[%d].amount", i), fault.M("金额须大于 0（单位：分）", "the amount is more than 0 (fen)")))
			}
		}
		if len(in.Lines) > 0 && sum != in.Total {
			fields = append(fields, fault.Field("total", fault.M(fmt.Sprintf("合计应为收入减支出 %s 元，与填写的 %s 元不符", Yuan(sum), Yuan(in.Total)),
				fmt.Sprintf("the total is income less expense, %s yuan, not the %s yuan stated", Yuan(sum), Yuan(in.Total)))))
		}
	} else if len(in.Lines) > 0 || in.Period != "" || in.Total != 0 {
		fields = append(fields, fault.Field("lines", fault.M("只有财务类公开可以有收支明细", "only a financial notice has lines")))
	}
	if len(fields) > 0 {
		return Notice{}, invalid(fields...)
	}
	now := s.Now()
	id := db.NewID()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_notices (id, division_code, category, title, body, publish_from, publish_until, ack_required, period, total, created_by, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`, id, in.Division, in.Category, in.Title, in.Body, in.From, until, in.AckRequired, in.Period, in.Total, p.Username, db.T(now)); err != nil {
			return err
		}
		for i, l := range in.Lines {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_notice_lines (notice_id, seq, kind, item, amount) VALUES ($1,$2,$3,$4,$5)`, id, i+1, l.Kind, l.Item, l.Amount); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.notice_publish", Object: "notice", ObjectID: id, Division: in.Division,
			Detail: fmt.Sprintf("%s %s–%s", in.Category, in.From, until)})
	})
	if err != nil {
		return Notice{}, err
	}
	return s.Notice(ctx, id)
}

const noticeCols = `id, division_code, category, title, body, publish_from, publish_until, ack_required, period, total, created_at,
	(SELECT COUNT(*) FROM dlb_notice_acks a WHERE a.notice_id = dlb_notices.id)`

func scanNotice(r db.Scanner) (Notice, error) {
	var n Notice
	var at db.Time
	err := r.Scan(&n.ID, &n.Division, &n.Category, &n.Title, &n.Body, &n.From, &n.Until, &n.AckRequired, &n.Period, &n.Total, &at, &n.Acks)
	if n.Until == openEnd {
		n.Until = ""
	}
	n.CreatedAt = at.Time
	return n, err
}

// Notice reads a notice: public once its window has begun; before that
// only workers over its community read it.
func (s *Store) Notice(ctx context.Context, id string) (Notice, error) {
	n, err := scanNotice(s.DB.R.QueryRowContext(ctx, `SELECT `+noticeCols+` FROM dlb_notices WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return n, errNotFound
	} else if err != nil {
		return n, err
	}
	p := access.From(ctx)
	if n.From > s.today() && !(worker(p) && access.BusinessScope(p).Contains(n.Division)) {
		return Notice{}, errNotFound
	}
	n.Lines, err = db.Collect(ctx, s.DB.R, func(r db.Scanner) (AmountRow, error) {
		var l AmountRow
		return l, r.Scan(&l.Kind, &l.Item, &l.Amount)
	}, `SELECT kind, item, amount FROM dlb_notice_lines WHERE notice_id = $1 ORDER BY seq`, id)
	if err != nil {
		return n, err
	}
	if p != nil && p.Role == access.Resident {
		if hh, div, err := s.household(ctx, p); err == nil && div == n.Division {
			var k int
			if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM dlb_notice_acks WHERE notice_id = $1 AND household_id = $2`, id, hh).Scan(&k); err != nil {
				return n, err
			}
			n.Acked = k > 0
		}
	}
	return n, nil
}

// Board is a community's current notices (window includes today), or
// with archive its expired ones, newest first; open to anyone.
func (s *Store) Board(ctx context.Context, division string, archive bool, cursor string, size int) (NoticePage, error) {
	today := s.today()
	if cursor == "" {
		cursor = "~"
	}
	q := `SELECT ` + noticeCols + ` FROM dlb_notices WHERE division_code = $1 AND publish_until >= $2 AND publish_from <= $2 AND id < $3 ORDER BY id DESC LIMIT $4`
	if archive {
		q = `SELECT ` + noticeCols + ` FROM dlb_notices WHERE division_code = $1 AND publish_until < $2 AND id < $3 ORDER BY id DESC LIMIT $4`
	}
	items, err := db.Collect(ctx, s.DB.R, scanNotice, q, division, today, cursor, size+1)
	pg := NoticePage{Items: items}
	if pg.Items == nil {
		pg.Items = []Notice{}
	}
	if len(pg.Items) > size {
		pg.Items = pg.Items[:size]
		pg.Next = pg.Items[size-1].ID
	}
	return pg, err
}

// Acknowledge records that the resident's household has read a notice
// that asks for it, once per household.
func (s *Store) Acknowledge(ctx context.Context, id string) (Notice, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident {
		return Notice{}, fault.Forbidden(fault.M("只有居民可以确认已阅", "only residents acknowledge a notice"))
	}
	n, err := s.Notice(ctx, id)
	if err != nil {
		return n, err
	}
	hh, div, err := s.household(ctx, p)
	if err != nil {
		return Notice{}, err
	}
	switch {
	case div != n.Division:
		return Notice{}, fault.Forbidden(fault.M("这不是您所在村（社区）的公开事项", "the notice is not your community's"))
	case !n.AckRequired:
		return Notice{}, fault.Conflict(fault.M("这条公开事项不需要确认", "the notice asks for no acknowledgement"))
	case n.Until != "" && n.Until < s.today():
		return Notice{}, fault.Conflict(fault.M("这条公开事项已过期", "the notice has expired"))
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO dlb_notice_acks (notice_id, household_id, acked_by, at) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`, id, hh, p.Username, db.T(s.Now()))
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return fault.Conflict(fault.M("您家已经确认过", "your household has already acknowledged it"))
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.notice_ack", Object: "notice", ObjectID: id, Division: n.Division})
	})
	if err != nil {
		return Notice{}, err
	}
	return s.Notice(ctx, id)
}
