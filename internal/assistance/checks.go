package assistance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/questions"
	"linli/internal/tabular"
)

// The household economic check (家庭经济状况核对) is the county 核对
// centre's: it looks up the persons of an application in bank, tax,
// vehicle and property records and answers with what it found. Checker
// is that exchange seen from here. FileExchange is the way the centres
// take requests today: a county or township officer exports a batch file
// of the persons to check (only with the household's consent), and
// imports the centre's answer, which moves each application on to the
// home investigation with the check's figures retested against the rules.

const checksSQL = `
CREATE TABLE ast_check_batches (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	status TEXT NOT NULL,
	applications INTEGER NOT NULL,
	persons INTEGER NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	answered_by TEXT NOT NULL DEFAULT '',
	answered_at TIMESTAMPTZ
);
CREATE INDEX ast_check_batches_div ON ast_check_batches (division_code, id);
CREATE TABLE ast_check_rows (
	batch_id TEXT NOT NULL REFERENCES ast_check_batches(id),
	row_no INTEGER NOT NULL,
	application_id TEXT NOT NULL REFERENCES ast_applications(id),
	resident_id TEXT NOT NULL,
	relation TEXT NOT NULL,
	PRIMARY KEY (batch_id, row_no)
);
CREATE INDEX ast_check_rows_app ON ast_check_rows (application_id);
CREATE TABLE ast_check_results (
	id TEXT PRIMARY KEY,
	application_id TEXT NOT NULL REFERENCES ast_applications(id),
	batch_id TEXT NOT NULL,
	income_fen BIGINT,
	assets_fen BIGINT,
	vehicles INTEGER NOT NULL,
	houses INTEGER NOT NULL,
	checked_on TEXT NOT NULL,
	recorded_by TEXT NOT NULL,
	recorded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ast_check_results_app ON ast_check_results (application_id, checked_on);
`

// CheckValidDays is how long a check result counts. The centre reports
// a month's income and balances on a day; after a quarter they no longer
// describe the household a notice or a decision rests on, and the 核对
// centres hold their reports valid for about three months.
const CheckValidDays = 90

// resendAfter frees the applications of a batch the centre has not
// answered: after a month the file is taken as lost and they go into the
// next batch.
const resendAfter = 30 * 24 * time.Hour

// Batch states.
const (
	BatchSent     = "sent"
	BatchAnswered = "answered"
)

// Checker is the household economic check behind the "check" step.
type Checker interface {
	// Send asks for a check of every consenting application waiting in
	// Checking within the principal's jurisdiction: one batch.
	Send(ctx context.Context) (CheckBatch, error)
	// Receive takes the centre's answer: every row right, or nothing.
	Receive(ctx context.Context, answer []byte) (CheckReport, error)
}

// FileExchange is the Checker of the 核对 centres that take and give files.
type FileExchange struct{ Store *Store }

var _ Checker = FileExchange{}

// CheckBatch is one file of persons sent to the centre.
type CheckBatch struct {
	ID           string     `json:"id"`
	Division     string     `json:"division"`
	Status       string     `json:"status"` // sent or answered
	Applications int        `json:"applications"`
	Persons      int        `json:"persons"`
	CreatedBy    string     `json:"created_by"`
	CreatedAt    time.Time  `json:"created_at"`
	AnsweredBy   string     `json:"answered_by"`
	AnsweredAt   *time.Time `json:"answered_at"`
}

// StatusName is the batch's state in words.
func (b CheckBatch) StatusName() fault.Msg {
	if b.Status == BatchAnswered {
		return fault.M("已导入结果", "Answered")
	}
	return fault.M("待核对中心反馈", "Awaiting the centre")
}

// CheckBatchPage is one page of batches, newest first.
type CheckBatchPage struct {
	Items  []CheckBatch `json:"items"`
	Total  int          `json:"total"`
	Capped bool         `json:"total_capped"`
	Next   string       `json:"next,omitempty"`
}

// CheckResult is what a check found for a household: the members'
// totals (fen), and the date of the centre's result.
type CheckResult struct {
	BatchID   string `json:"batch_id,omitempty"` // empty: recorded by hand
	IncomeFen *int64 `json:"income_fen"`         // monthly
	AssetsFen *int64 `json:"assets_fen"`
	Vehicles  int    `json:"vehicles"`
	Houses    int    `json:"houses"`
	CheckedOn string `json:"checked_on"` // YYYY-MM-DD
}

// CheckReport says what an answer file did, or why nothing was written.
type CheckReport struct {
	Rows         int                 `json:"rows"`
	Applications int                 `json:"applications"`
	Batches      []string            `json:"batches"`
	Errors       divisions.RowErrors `json:"errors"`
}

// checkColumns are a batch file's columns; the centre fills the last five.
var checkColumns = []struct{ key, zh string }{
	{"batch_id", "批次号"}, {"row", "序号"}, {"application_id", "申请编号"}, {"name", "姓名"}, {"id_number", "身份证号"}, {"relation", "与户主关系"},
	{"income_yuan", "月收入（元）"}, {"assets_yuan", "金融资产（元）"}, {"vehicles", "车辆（辆）"}, {"houses", "房产（套）"}, {"checked_on", "核对日期"},
}

func checkOfficer(p *access.Principal) error {
	if p == nil || p.Role != access.Officer || (len(p.Division) != 6 && len(p.Division) != 9) {
		return fault.Forbidden(fault.M("只有县级或乡镇（街道）民政干部可以办理核对文件交换", "only county or township officers exchange check files"))
	}
	return nil
}

var errNoBatch = fault.NotFound(fault.M("没有这个核对批次，或不在您的辖区", "no such check batch in your jurisdiction"))

// waitingSQL picks the applications a new batch takes, within $1..$2:
// in Checking, with consent, and in no batch sent since $4 and not answered.
const waitingSQL = `FROM ast_applications a WHERE a.division_code >= $1 AND a.division_code < $2 AND a.status = $3 AND a.consent_at IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM ast_check_rows r JOIN ast_check_batches b ON b.id = r.batch_id WHERE r.application_id = a.id AND b.status = 'sent' AND b.created_at > $4)`

// Waiting counts the applications a new batch would take.
func (s *Store) Waiting(ctx context.Context) (int, error) {
	p := access.From(ctx)
	if err := checkOfficer(p); err != nil {
		return 0, err
	}
	sc := access.BusinessScope(p)
	var n int
	err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) `+waitingSQL, sc.Lo, sc.Hi, Checking, db.T(s.Now().Add(-resendAfter))).Scan(&n)
	return n, err
}

// Send records a batch of the persons of every waiting application: the
// members the application counts (its facts), each a numbered row.
func (x FileExchange) Send(ctx context.Context) (CheckBatch, error) {
	s := x.Store
	p := access.From(ctx)
	if err := checkOfficer(p); err != nil {
		return CheckBatch{}, err
	}
	now := s.Now()
	sc := access.BusinessScope(p)
	b := CheckBatch{ID: db.NewID(), Division: p.Division, Status: BatchSent, CreatedBy: p.Username, CreatedAt: db.T(now).Time}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		type app struct{ id, facts string }
		apps, err := db.Collect(ctx, tx, func(r db.Scanner) (app, error) {
			var a app
			return a, r.Scan(&a.id, &a.facts)
		}, `SELECT a.id, a.facts_enc `+waitingSQL+` ORDER BY a.id`, sc.Lo, sc.Hi, Checking, db.T(now.Add(-resendAfter)))
		if err != nil {
			return err
		}
		if len(apps) == 0 {
			return fault.Conflict(fault.M("辖区内没有待核对的申请（核对中、已授权、尚未发出）", "no application waits for the check in your jurisdiction (in Checking, with consent, not yet sent)"))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ast_check_batches (id, division_code, status, applications, persons, created_by, created_at) VALUES ($1,$2,$3,0,0,$4,$5)`,
			b.ID, b.Division, b.Status, b.CreatedBy, db.T(now)); err != nil {
			return err
		}
		for _, a := range apps {
			raw, err := s.Keys.Open(a.facts, factsAAD(a.id))
			if err != nil {
				return err
			}
			var f Facts
			if err := json.Unmarshal([]byte(raw), &f); err != nil {
				return err
			}
			counted := 0
			for _, m := range f.Members {
				var relation string
				if err := tx.QueryRowContext(ctx, `SELECT relation FROM reg_residents WHERE id = $1`, m.ResidentID).Scan(&relation); errors.Is(err, sql.ErrNoRows) {
					continue // no longer registered: the investigation finds out
				} else if err != nil {
					return err
				}
				b.Persons++
				counted++
				if _, err := tx.ExecContext(ctx, `INSERT INTO ast_check_rows (batch_id, row_no, application_id, resident_id, relation) VALUES ($1,$2,$3,$4,$5)`,
					b.ID, b.Persons, a.id, m.ResidentID, relation); err != nil {
					return err
				}
			}
			if counted > 0 {
				b.Applications++
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ast_check_batches SET applications = $1, persons = $2 WHERE id = $3`, b.Applications, b.Persons, b.ID); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "assistance.check.export", Object: "check_batch", ObjectID: b.ID, Division: b.Division,
			Detail: fmt.Sprintf("%d applications, %d persons", b.Applications, b.Persons)})
	})
	return b, err
}

const batchCols = `id, division_code, status, applications, persons, created_by, created_at, answered_by, answered_at`

func scanBatch(r db.Scanner) (CheckBatch, error) {
	var b CheckBatch
	var created, answered db.Time
	err := r.Scan(&b.ID, &b.Division, &b.Status, &b.Applications, &b.Persons, &b.CreatedBy, &created, &b.AnsweredBy, &answered)
	b.CreatedAt = created.Time
	if !answered.IsZero() {
		b.AnsweredAt = &answered.Time
	}
	return b, err
}

const cursorChecks = "assistance/checks"

// Batches pages the batches of the principal's jurisdiction, newest first.
func (s *Store) Batches(ctx context.Context, cursor string, size int) (CheckBatchPage, error) {
	p := access.From(ctx)
	if err := checkOfficer(p); err != nil {
		return CheckBatchPage{}, err
	}
	if size <= 0 || size > 100 {
		size = 20
	}
	sc := access.BusinessScope(p)
	where, args := `division_code >= $1 AND division_code < $2`, []any{sc.Lo, sc.Hi}
	var page CheckBatchPage
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM ast_check_batches WHERE `+where+` LIMIT `+strconv.Itoa(ListCountCap+1)+`) c`, args...).Scan(&page.Total); err != nil {
		return page, err
	}
	if page.Total > ListCountCap {
		page.Total, page.Capped = ListCountCap, true
	}
	if cursor != "" {
		key, err := keyset.Open(s.Keys, cursor, cursorChecks, 1)
		if err != nil {
			return page, err
		}
		args = append(args, key[0])
		where += ` AND id < $3`
	}
	items, err := db.Collect(ctx, s.DB.R, scanBatch, `SELECT `+batchCols+` FROM ast_check_batches WHERE `+where+` ORDER BY id DESC LIMIT `+strconv.Itoa(size+1), args...)
	if err != nil {
		return page, err
	}
	if len(items) > size {
		items = items[:size]
		page.Next = keyset.Seal(s.Keys, cursorChecks, items[size-1].ID)
	}
	page.Items = items
	if page.Items == nil {
		page.Items = []CheckBatch{}
	}
	return page, nil
}

// batch reads a batch within the principal's jurisdiction.
func (s *Store) batch(ctx context.Context, q rowQuerier, id string) (CheckBatch, error) {
	b, err := scanBatch(q.QueryRowContext(ctx, `SELECT `+batchCols+` FROM ast_check_batches WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !access.ScopeOf(ctx).Contains(b.Division)) {
		return CheckBatch{}, errNoBatch
	}
	return b, err
}

// CheckFile is a batch's file, checked and audited, ready to write.
type CheckFile struct {
	Name   string
	Format string
	batch  CheckBatch
	rows   [][]any
}

// File readies a batch's file in format csv or xlsx. The centre matches
// persons by their full name and identity number, so the file carries
// both (opened from the registry's sealed column); every download is
// audited.
func (x FileExchange) File(ctx context.Context, id, format string) (*CheckFile, error) {
	s := x.Store
	p := access.From(ctx)
	if err := checkOfficer(p); err != nil {
		return nil, err
	}
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "xlsx" {
		return nil, fault.Invalid(fault.M("格式须为 csv 或 xlsx", "format must be csv or xlsx"), fault.Field("format", fault.M("须为 csv 或 xlsx", "must be csv or xlsx")))
	}
	b, err := s.batch(ctx, s.DB.R, id)
	if err != nil {
		return nil, err
	}
	f := &CheckFile{Format: format, batch: b, Name: "linli-check-" + b.ID + "." + format}
	err = db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var row int
		var app, name, idEnc, relation string
		if err := r.Scan(&row, &app, &name, &idEnc, &relation); err != nil {
			return err
		}
		number := ""
		if idEnc != "" {
			if number, err = s.Keys.Open(idEnc, "reg_residents/id_number"); err != nil {
				return err
			}
		}
		f.rows = append(f.rows, []any{b.ID, row, app, name, number, relation, "", "", "", "", ""})
		return nil
	}, `SELECT c.row_no, c.application_id, COALESCE(r.name, ''), COALESCE(r.id_enc, ''), c.relation FROM ast_check_rows c LEFT JOIN reg_residents r ON r.id = c.resident_id
		WHERE c.batch_id = $1 ORDER BY c.row_no`, b.ID)
	if err != nil {
		return nil, err
	}
	if err := s.Audit.Record(ctx, audit.Entry{Action: "assistance.check.file", Object: "check_batch", ObjectID: b.ID, Division: b.Division,
		Detail: fmt.Sprintf("%s, %d persons, identity numbers in full", format, len(f.rows))}); err != nil {
		return nil, err
	}
	return f, nil
}

// Write writes the file: a header row, then a row per person.
func (f *CheckFile) Write(w io.Writer) error {
	tw, err := tabular.New(w, f.Format, tabular.Options{Sheet: "核对名单 Persons", Stamp: [][]string{{"批次号 / batch", f.batch.ID},
		{"导出人 / exported by", f.batch.CreatedBy}, {"时间 / time", f.batch.CreatedAt.In(questions.CST).Format("2006-01-02 15:04:05 CST")}}})
	if err != nil {
		return err
	}
	header := make([]string, len(checkColumns))
	for i, c := range checkColumns {
		header[i] = c.zh + " [" + c.key + "]"
	}
	if err := tw.Row(header...); err != nil {
		tw.Discard()
		return err
	}
	for _, r := range f.rows {
		if err := tw.Values(r...); err != nil {
			tw.Discard()
			return err
		}
	}
	return tw.Close()
}

// columnKey reads a header cell: "批次号 [batch_id]", "批次号" or "batch_id".
func columnKey(h string) string {
	h = strings.TrimSpace(h)
	if i := strings.LastIndex(h, "["); i >= 0 && strings.HasSuffix(h, "]") {
		h = strings.TrimSpace(h[i+1 : len(h)-1])
	}
	for _, c := range checkColumns {
		if h == c.key || h == c.zh {
			return c.key
		}
	}
	return ""
}

// parseYuan reads yuan with at most two decimals as fen, exactly.
func parseYuan(v string) (int64, fault.Msg, bool) {
	v = strings.ReplaceAll(strings.TrimSpace(v), ",", "")
	if strings.HasPrefix(v, "-") {
		return 0, fault.M("金额不能为负数", "the amount cannot be negative"), false
	}
	whole, frac, _ := strings.Cut(v, ".")
	bad := fault.M("应为金额（元，最多两位小数）", "give an amount in yuan with at most two decimals")
	if whole == "" || len(whole) > 10 || len(frac) > 2 || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" {
		return 0, bad, false
	}
	n, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "00")[:2], 10, 64)
	return n*100 + f, fault.Msg{}, true
}

// answerRow is one checked row of an answer file.
type answerRow struct {
	line           int
	batch, app     string
	income, assets int64
	vehicles       int
	houses         int
	on             string
}

// batchRow is one person of a batch as recorded.
type batchRow struct {
	app, idIdx string
}

type batchInfo struct {
	CheckBatch
	rows map[int]batchRow
}

// Receive checks every row of the centre's answer and, when all are
// right, stores each application's household totals and moves it on to
// the home investigation, all in one transaction.
func (x FileExchange) Receive(ctx context.Context, answer []byte) (CheckReport, error) {
	s := x.Store
	p := access.From(ctx)
	rep := CheckReport{Batches: []string{}, Errors: divisions.RowErrors{}}
	if err := checkOfficer(p); err != nil {
		return rep, err
	}
	t, err := tabular.Read(answer)
	if err != nil {
		var te *tabular.Error
		if errors.As(err, &te) {
			return rep, fault.Invalid(fault.M(te.ZH, te.EN), fault.Field("file", fault.M(te.ZH, te.EN)))
		}
		return rep, err
	}
	col := map[string]int{}
	for i, h := range t.Header {
		if k := columnKey(h); k != "" {
			if _, dup := col[k]; !dup {
				col[k] = i
			}
		}
	}
	for _, c := range checkColumns {
		if _, ok := col[c.key]; !ok && c.key != "name" && c.key != "relation" {
			rep.Errors = append(rep.Errors, divisions.RowError{Row: 1, Column: c.zh, ZH: "缺少此列", EN: "the column " + c.key + " is missing"})
		}
	}
	if len(rep.Errors) > 0 {
		return rep, nil
	}
	now := s.Now()
	today := now.In(questions.CST).Format("2006-01-02")
	batches := map[string]*batchInfo{}
	seen := map[[2]string]int{} // (batch, row) → line
	appBatch := map[string]string{}
	byApp := map[string][]answerRow{}
	var order []string
	fail := func(line int, key string, zh, en string) {
		name := key
		for _, c := range checkColumns {
			if c.key == key {
				name = c.zh
			}
		}
		rep.Errors = append(rep.Errors, divisions.RowError{Row: line, Column: name, ZH: zh, EN: en})
	}
	for i, rec := range t.Rows {
		if rec == nil {
			continue
		}
		line := i + 2
		rep.Rows++
		cell := func(k string) string { return strings.TrimSpace(rec[col[k]]) }
		before := len(rep.Errors)
		bid := cell("batch_id")
		b, ok := batches[bid]
		if !ok {
			b, err = s.batchWithRows(ctx, bid)
			if err != nil && !errors.Is(err, errNoBatch) {
				return rep, err
			}
			batches[bid] = b // nil when unknown
		}
		if b == nil {
			fail(line, "batch_id", "没有这个核对批次，或不在您的辖区", "no such check batch in your jurisdiction")
			continue
		}
		rowNo, err := strconv.Atoi(cell("row"))
		br, inBatch := b.rows[rowNo]
		if err != nil || !inBatch {
			fail(line, "row", "批次中没有这一序号", "the batch has no such row")
			continue
		}
		key := [2]string{bid, strconv.Itoa(rowNo)}
		if first, dup := seen[key]; dup {
			fail(line, "row", fmt.Sprintf("与第 %d 行重复", first), fmt.Sprintf("repeats row %d", first))
			continue
		}
		seen[key] = line
		if cell("application_id") != br.app {
			fail(line, "application_id", "申请编号与批次记录不符", "the application does not match the batch's row")
		}
		if number := strings.ToUpper(cell("id_number")); number == "" || s.Keys.Index("id_number", number) != br.idIdx {
			fail(line, "id_number", "此人不在本批次的这一行（身份证号不符）", "the person is not the batch's on this row (identity number differs)")
		}
		r := answerRow{line: line, batch: bid, app: br.app}
		var msg fault.Msg
		if r.income, msg, ok = parseYuan(cell("income_yuan")); !ok {
			fail(line, "income_yuan", msg.ZH, msg.EN)
		}
		if r.assets, msg, ok = parseYuan(cell("assets_yuan")); !ok {
			fail(line, "assets_yuan", msg.ZH, msg.EN)
		}
		for _, k := range []string{"vehicles", "houses"} {
			n, err := strconv.Atoi(cell(k))
			if err != nil || n < 0 || n > 1000 {
				fail(line, k, "应为 0 或正整数", "give a whole number, 0 or more")
			}
			if k == "vehicles" {
				r.vehicles = n
			} else {
				r.houses = n
			}
		}
		on := strings.ReplaceAll(cell("checked_on"), "/", "-")
		if d, err := time.ParseInLocation("2006-01-02", on, questions.CST); err != nil {
			fail(line, "checked_on", "日期格式应为 YYYY-MM-DD", "the date is YYYY-MM-DD")
		} else if on = d.Format("2006-01-02"); on > today {
			fail(line, "checked_on", "核对日期不能晚于今天", "the result date cannot be after today")
		} else if on < b.CreatedAt.In(questions.CST).Format("2006-01-02") {
			fail(line, "checked_on", "核对日期早于批次导出日期", "the result date is before the batch was exported")
		}
		r.on = on
		if other, ok := appBatch[r.app]; ok && other != bid {
			fail(line, "batch_id", "同一申请在文件中出现于两个批次", "the application appears in two batches of the file")
		}
		if len(rep.Errors) > before {
			continue
		}
		appBatch[r.app] = bid
		if _, ok := byApp[r.app]; !ok {
			order = append(order, r.app)
		}
		byApp[r.app] = append(byApp[r.app], r)
	}
	if rep.Rows == 0 {
		rep.Errors = append(rep.Errors, divisions.RowError{Row: 2, Column: "-", ZH: "文件没有数据行", EN: "the file has no data row"})
	}
	// A household's totals need every member: a part answer is refused.
	for _, app := range order {
		rows := byApp[app]
		b := batches[rows[0].batch]
		var missing []string
		for no, br := range b.rows {
			if br.app == app && seen[[2]string{b.ID, strconv.Itoa(no)}] == 0 {
				missing = append(missing, strconv.Itoa(no))
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			fail(rows[0].line, "row", "该申请的家庭成员未全部返回，缺少序号 "+strings.Join(missing, "、"), "not every member of the application is answered: rows "+strings.Join(missing, ", ")+" are missing")
		}
	}
	if len(rep.Errors) > 0 {
		slices.SortStableFunc(rep.Errors, func(a, b divisions.RowError) int { return a.Row - b.Row })
		return rep, nil
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, app := range order {
			res := CheckResult{BatchID: appBatch[app]}
			var income, assets int64
			for _, r := range byApp[app] {
				income += r.income
				assets += r.assets
				res.Vehicles += r.vehicles
				res.Houses += r.houses
				// The oldest figure of the household dates the whole result.
				if res.CheckedOn == "" || r.on < res.CheckedOn {
					res.CheckedOn = r.on
				}
			}
			res.IncomeFen, res.AssetsFen = &income, &assets
			in := Input{IncomeFen: &income, AssetsFen: &assets, Note: "核对批次 / check batch " + res.BatchID, found: &res}
			if err := s.move(ctx, tx, app, "checked", in); err != nil {
				if we, ok := fault.As(err); ok {
					return &fault.Error{Code: we.Code, Msg: fault.M("申请 "+app+"："+we.Msg.ZH, "application "+app+": "+we.Msg.EN), Fields: we.Fields}
				}
				return err
			}
		}
		for bid := range batches {
			if batches[bid] == nil {
				continue
			}
			rep.Batches = append(rep.Batches, bid)
			if _, err := tx.ExecContext(ctx, `UPDATE ast_check_batches SET status = $1, answered_by = $2, answered_at = $3 WHERE id = $4`, BatchAnswered, p.Username, db.T(now), bid); err != nil {
				return err
			}
		}
		slices.Sort(rep.Batches)
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "assistance.check.import", Object: "check_batch", ObjectID: strings.Join(rep.Batches, ","), Division: p.Division,
			Detail: fmt.Sprintf("%d rows, %d applications", rep.Rows, len(order))})
	})
	if err != nil {
		return CheckReport{Batches: []string{}, Errors: divisions.RowErrors{}}, err
	}
	rep.Applications = len(order)
	return rep, nil
}

// batchWithRows reads a batch within the jurisdiction with its persons
// and their identity numbers' index (the registry's keyed hash).
func (s *Store) batchWithRows(ctx context.Context, id string) (*batchInfo, error) {
	b, err := s.batch(ctx, s.DB.R, id)
	if err != nil {
		return nil, err
	}
	bi := &batchInfo{CheckBatch: b, rows: map[int]batchRow{}}
	err = db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var no int
		var br batchRow
		if err := r.Scan(&no, &br.app, &br.idIdx); err != nil {
			return err
		}
		bi.rows[no] = br
		return nil
	}, `SELECT c.row_no, c.application_id, COALESCE(r.id_idx, '') FROM ast_check_rows c LEFT JOIN reg_residents r ON r.id = c.resident_id WHERE c.batch_id = $1`, id)
	return bi, err
}

// recordCheck stores a check's result for the application: the file's,
// or one recorded by hand (the figures given, else the declared ones the
// check confirmed), dated today.
func (s *Store) recordCheck(ctx context.Context, tx *sql.Tx, a Application, factsEnc string, in Input, now time.Time) error {
	r := in.found
	if r == nil {
		raw, err := s.Keys.Open(factsEnc, factsAAD(a.ID))
		if err != nil {
			return err
		}
		var f Facts
		if err := json.Unmarshal([]byte(raw), &f); err != nil {
			return err
		}
		r = &CheckResult{IncomeFen: f.IncomeFen, AssetsFen: f.AssetsFen, CheckedOn: now.In(questions.CST).Format("2006-01-02")}
		if in.IncomeFen != nil {
			r.IncomeFen = in.IncomeFen
		}
		if in.AssetsFen != nil {
			r.AssetsFen = in.AssetsFen
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO ast_check_results (id, application_id, batch_id, income_fen, assets_fen, vehicles, houses, checked_on, recorded_by, recorded_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, db.NewID(), a.ID, r.BatchID, r.IncomeFen, r.AssetsFen, r.Vehicles, r.Houses, r.CheckedOn, access.From(ctx).Username, db.T(now))
	return err
}

// latestCheck is the application's freshest check result (nil if none).
func (s *Store) latestCheck(ctx context.Context, q rowQuerier, id string) (*CheckResult, error) {
	var r CheckResult
	var income, assets sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT batch_id, income_fen, assets_fen, vehicles, houses, checked_on FROM ast_check_results WHERE application_id = $1
		ORDER BY checked_on DESC, recorded_at DESC LIMIT 1`, id).Scan(&r.BatchID, &income, &assets, &r.Vehicles, &r.Houses, &r.CheckedOn)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if income.Valid {
		r.IncomeFen = &income.Int64
	}
	if assets.Valid {
		r.AssetsFen = &assets.Int64
	}
	return &r, nil
}

// freshCheck refuses a notice or a decision without a check result
// within CheckValidDays of now.
func (s *Store) freshCheck(ctx context.Context, tx *sql.Tx, a Application, now time.Time) error {
	r, err := s.latestCheck(ctx, tx, a.ID)
	if err != nil {
		return err
	}
	if r == nil {
		return fault.Conflict(fault.M("还没有家庭经济状况核对结果，请先发起核对", "no result of the economic check yet: start the check first"))
	}
	on, err := time.ParseInLocation("2006-01-02", r.CheckedOn, questions.CST)
	if err != nil {
		return err
	}
	if now.Sub(on) > CheckValidDays*24*time.Hour {
		return fault.Conflict(fault.M(fmt.Sprintf("家庭经济状况核对结果（%s）已超过 %d 天有效期，请重新发起核对", r.CheckedOn, CheckValidDays),
			fmt.Sprintf("the economic check's result (%s) is older than its %d days: start a new check", r.CheckedOn, CheckValidDays)))
	}
	return nil
}

// Valid tells whether the result still counts at now.
func (r CheckResult) Valid(now time.Time) bool {
	on, err := time.ParseInLocation("2006-01-02", r.CheckedOn, questions.CST)
	return err == nil && now.Sub(on) <= CheckValidDays*24*time.Hour
}

// IncomeYuan and AssetsYuan are the household totals in yuan ("" when unknown).
func (r CheckResult) IncomeYuan() string { return yuanOf(r.IncomeFen) }

// AssetsYuan is the household's financial assets in yuan.
func (r CheckResult) AssetsYuan() string { return yuanOf(r.AssetsFen) }

func yuanOf(v *int64) string {
	if v == nil {
		return ""
	}
	return Yuan(*v)
}
