package assistance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/questions"
)

// 按月发放: an enrolled household is entitled, every month from the month
// of its enrolment to the month of its exit, to the amount each approved
// programme's rule version computed for it (ast_app_programmes). The
// entitlement is read from those rows, not kept as a second figure. A
// county officer runs a month's batch once: one payment per household and
// programme, covering the month and any earlier month not yet paid (the
// arrears of a household enrolled after a batch, or of a payment the bank
// returned as failed). The batch leaves as a bank file; the bank's return
// file marks each payment paid or failed, and a failed one is a warning
// on the monitoring list until a later payment succeeds.

const paymentsSQL = `
ALTER TABLE ast_applications ADD COLUMN enrolled_month INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ast_applications ADD COLUMN exited_month INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ast_applications ADD COLUMN account_enc TEXT NOT NULL DEFAULT '';
CREATE INDEX ast_applications_payable ON ast_applications (county, enrolled_month) WHERE status IN ('enrolled', 'exited');
CREATE TABLE ast_pay_batches (
	id TEXT PRIMARY KEY,
	county TEXT NOT NULL,
	month INTEGER NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	file_sha256 TEXT NOT NULL DEFAULT '',
	returned_at TIMESTAMPTZ,
	UNIQUE (county, month)
);
CREATE TABLE ast_payments (
	batch_id TEXT NOT NULL REFERENCES ast_pay_batches(id),
	ref INTEGER NOT NULL,
	application_id TEXT NOT NULL REFERENCES ast_applications(id),
	household_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	code TEXT NOT NULL,
	from_month INTEGER NOT NULL,
	to_month INTEGER NOT NULL,
	amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
	account_enc TEXT NOT NULL,
	status TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	returned_at TIMESTAMPTZ,
	PRIMARY KEY (batch_id, ref)
);
CREATE INDEX ast_payments_paid ON ast_payments (application_id, code, to_month);
CREATE INDEX ast_payments_household ON ast_payments (household_id);
CREATE INDEX ast_payments_failed ON ast_payments (division_code) WHERE status = 'failed';
`

// The months of applications enrolled or exited before payments existed
// are read from their events (China time).
const backfillSQLite = `
UPDATE ast_applications SET enrolled_month = COALESCE((SELECT CAST(strftime('%Y', MIN(e.at), '+8 hours') AS INTEGER) * 12 + CAST(strftime('%m', MIN(e.at), '+8 hours') AS INTEGER) - 1
	FROM ast_events e WHERE e.application_id = ast_applications.id AND e.to_status = 'enrolled'), 0) WHERE status IN ('enrolled', 'exited');
UPDATE ast_applications SET exited_month = COALESCE((SELECT CAST(strftime('%Y', MIN(e.at), '+8 hours') AS INTEGER) * 12 + CAST(strftime('%m', MIN(e.at), '+8 hours') AS INTEGER) - 1
	FROM ast_events e WHERE e.application_id = ast_applications.id AND e.to_status = 'exited'), 0) WHERE status = 'exited';
`

const backfillPostgres = `
UPDATE ast_applications SET enrolled_month = COALESCE((SELECT CAST(EXTRACT(YEAR FROM MIN(e.at) AT TIME ZONE 'Asia/Shanghai') AS INTEGER) * 12 + CAST(EXTRACT(MONTH FROM MIN(e.at) AT TIME ZONE 'Asia/Shanghai') AS INTEGER) - 1
	FROM ast_events e WHERE e.application_id = ast_applications.id AND e.to_status = 'enrolled'), 0) WHERE status IN ('enrolled', 'exited');
UPDATE ast_applications SET exited_month = COALESCE((SELECT CAST(EXTRACT(YEAR FROM MIN(e.at) AT TIME ZONE 'Asia/Shanghai') AS INTEGER) * 12 + CAST(EXTRACT(MONTH FROM MIN(e.at) AT TIME ZONE 'Asia/Shanghai') AS INTEGER) - 1
	FROM ast_events e WHERE e.application_id = ast_applications.id AND e.to_status = 'exited'), 0) WHERE status = 'exited';
`

// Month counts months from year 0 (year×12 + month − 1).
type Month int

// MonthOf is the month of t in China time.
func MonthOf(t time.Time) Month {
	c := t.In(questions.CST)
	return Month(c.Year()*12 + int(c.Month()) - 1)
}

// ParseMonth reads "2026-11".
func ParseMonth(s string) (Month, bool) {
	t, err := time.Parse("2006-01", strings.TrimSpace(s))
	if err != nil || t.Year() < 2000 || t.Year() > 2100 {
		return 0, false
	}
	return Month(t.Year()*12 + int(t.Month()) - 1), true
}

func (m Month) String() string { return fmt.Sprintf("%04d-%02d", int(m)/12, int(m)%12+1) }

// Payment statuses.
const (
	PayPending = "pending"
	PayPaid    = "paid"
	PayFailed  = "failed"
)

var payNames = map[string]fault.Msg{PayPending: fault.M("待银行回盘", "Awaiting the bank"), PayPaid: fault.M("已发放", "Paid"), PayFailed: fault.M("发放失败", "Failed")}

// Account is the bank account a household's payments go to; it is
// sealed on the application.
type Account struct {
	Holder string `json:"holder"`
	Number string `json:"number"`
}

func accountAAD(id string) string { return "ast_applications.account:" + id }

// sealAccount checks and seals the account given at enrolment; none
// given is an empty seal (the payments then wait on the bank file for an
// account).
func (s *Store) sealAccount(id, holder, number string) (string, *fault.FieldError) {
	holder = strings.TrimSpace(holder)
	number = strings.NewReplacer(" ", "", "-", "").Replace(number)
	if holder == "" && number == "" {
		return "", nil
	}
	if holder == "" || utf8.RuneCountInString(holder) > 50 {
		fe := fault.Field("account_holder", fault.M("请填写开户人姓名（不超过 50 字）", "give the account holder's name, 50 characters at most"))
		return "", &fe
	}
	if len(number) < 12 || len(number) > 30 || strings.Trim(number, "0123456789") != "" {
		fe := fault.Field("bank_account", fault.M("银行账号为 12–30 位数字", "the bank account is 12–30 digits"))
		return "", &fe
	}
	raw, _ := json.Marshal(Account{Holder: holder, Number: number})
	return s.Keys.Seal(string(raw), accountAAD(id)), nil
}

func (s *Store) openAccount(applicationID, sealed string) (Account, error) {
	var a Account
	if sealed == "" {
		return a, nil
	}
	raw, err := s.Keys.Open(sealed, accountAAD(applicationID))
	if err != nil {
		return a, err
	}
	return a, json.Unmarshal([]byte(raw), &a)
}

// BankYuan writes fen as the bank reads yuan: two decimals, no
// separators ("1240.00").
func BankYuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// MaskAccount keeps an account's last four digits.
func MaskAccount(n string) string {
	if len(n) <= 4 {
		return strings.Repeat("*", len(n))
	}
	return strings.Repeat("*", len(n)-4) + n[len(n)-4:]
}

// payableSQL is every payment a county ($1) owes for a month ($2): each
// enrolled household's approved programmes with an amount, from the month
// after the last payment not failed (or the enrolment month) to the
// month. A household that exited before the month is owed nothing.
const payableSQL = `SELECT e.application_id, e.household_id, e.division_code, e.code,
	CASE WHEN e.next_month > e.enrolled_month THEN e.next_month ELSE e.enrolled_month END AS from_month, e.monthly_fen, e.account_enc FROM (
	SELECT a.id AS application_id, a.household_id, a.division_code, ap.code, ap.amount_fen AS monthly_fen, a.account_enc, a.enrolled_month,
		COALESCE((SELECT MAX(p.to_month) FROM ast_payments p WHERE p.application_id = a.id AND p.code = ap.code AND p.status <> 'failed'), -1) + 1 AS next_month
	FROM ast_applications a JOIN ast_app_programmes ap ON ap.application_id = a.id
	WHERE a.county = $1 AND a.status IN ('enrolled', 'exited') AND a.enrolled_month > 0 AND a.enrolled_month <= CAST($2 AS INTEGER)
		AND (a.status = 'enrolled' OR a.exited_month >= CAST($2 AS INTEGER))
		AND ap.amount_fen > 0 AND ',' || a.approved || ',' LIKE '%,' || ap.code || ',%'
	) e WHERE e.next_month <= CAST($2 AS INTEGER)`

// runSQL writes the month's payments of payableSQL into batch $3.
const runSQL = `INSERT INTO ast_payments (batch_id, ref, application_id, household_id, division_code, code, from_month, to_month, amount_fen, account_enc, status)
	SELECT CAST($3 AS TEXT), ROW_NUMBER() OVER (ORDER BY x.division_code, x.household_id, x.code), x.application_id, x.household_id, x.division_code, x.code,
		x.from_month, CAST($2 AS INTEGER), (CAST($2 AS INTEGER) - x.from_month + 1) * x.monthly_fen, x.account_enc, 'pending' FROM (` + payableSQL + `) x`

// Batch is one county's payments for a month, with its totals.
type Batch struct {
	ID          string     `json:"id"`
	County      string     `json:"county"`
	Month       Month      `json:"-"`
	Period      string     `json:"month"` // "2026-11"
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	Rows        int        `json:"rows"`
	TotalFen    int64      `json:"total_fen"`
	PaidRows    int        `json:"paid_rows"`
	PaidFen     int64      `json:"paid_fen"`
	FailedRows  int        `json:"failed_rows"`
	FailedFen   int64      `json:"failed_fen"`
	PendingRows int        `json:"pending_rows"`
	NoAccount   int        `json:"rows_without_account"`
	FileSHA256  string     `json:"bank_file_sha256,omitempty"` // of the last bank file exported
	ReturnedAt  *time.Time `json:"returned_at,omitempty"`
}

// Payment is one row of a batch: a household's programme for the months
// from…to.
type Payment struct {
	BatchID     string    `json:"batch_id"`
	Ref         int       `json:"ref"`
	Application string    `json:"application_id"`
	HouseholdID string    `json:"household_id"`
	Division    string    `json:"division_code"`
	Code        string    `json:"programme"`
	From        Month     `json:"from_month"`
	To          Month     `json:"to_month"`
	AmountFen   int64     `json:"amount_fen"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	Month       Month     `json:"batch_month"`
	Address     string    `json:"address,omitempty"`
	CreatedAt   time.Time `json:"-"`
}

// StatusName is the payment's status in words.
func (p Payment) StatusName() fault.Msg { return payNames[p.Status] }

// Months is the months paid: "2026-11" or "2026-10 至 2026-11".
func (p Payment) Months() string {
	if p.From == p.To {
		return p.To.String()
	}
	return p.From.String() + "—" + p.To.String()
}

// AmountYuan is the payment in yuan.
func (p Payment) AmountYuan() string { return Yuan(p.AmountFen) }

// Arrears tells whether the payment covers earlier months too.
func (p Payment) Arrears() bool { return p.From < p.To }

var (
	errPayForbidden = fault.Forbidden(fault.M("按月发放由县级民政干部办理", "monthly payments are run by county officers"))
	errNoPayBatch   = fault.NotFound(fault.M("没有这个发放批次，或不在您的县（市、区）", "no such payment batch in your county"))
)

// payer is the county a principal runs payments for: a county officer's.
func payer(p *access.Principal) (string, error) {
	if p == nil || p.Role != access.Officer || len(p.Division) != 6 {
		return "", errPayForbidden
	}
	return p.Division, nil
}

// PaymentPreview is what a month's run would write.
type PaymentPreview struct {
	Month    Month
	Rows     int
	TotalFen int64
	Arrears  int // rows paying earlier months too
}

// TotalYuan is the total in yuan.
func (v PaymentPreview) TotalYuan() string { return Yuan(v.TotalFen) }

func (s *Store) checkMonth(ctx context.Context, county string, month Month) (*Batch, error) {
	if month > MonthOf(s.Now()) {
		return nil, invalid(fault.Field("month", fault.M("不能为将来的月份发放", "a future month cannot be paid")))
	}
	var id string
	err := s.DB.R.QueryRowContext(ctx, `SELECT id FROM ast_pay_batches WHERE county = $1 AND month = $2`, county, int(month)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	b, err := s.payBatch(ctx, id)
	return &b, err
}

func batchExists(b Batch) error {
	return &fault.Error{Code: fault.CodeConflict,
		Msg: fault.M(fmt.Sprintf("%s 的发放批次已经生成（批次 %s，%s 生成），不能重复发放", b.Month, b.ID, b.CreatedBy),
			fmt.Sprintf("the payments of %s are already in batch %s (run by %s): a month is paid once", b.Month, b.ID, b.CreatedBy)),
		Fields: []fault.FieldError{fault.Field("month", fault.M("已有批次 "+b.ID, "batch "+b.ID))}}
}

// PreviewPayments counts what a month's run would pay, for the officer
// to confirm.
func (s *Store) PreviewPayments(ctx context.Context, month Month) (PaymentPreview, error) {
	county, err := payer(access.From(ctx))
	if err != nil {
		return PaymentPreview{}, err
	}
	if b, err := s.checkMonth(ctx, county, month); err != nil {
		return PaymentPreview{}, err
	} else if b != nil {
		return PaymentPreview{}, batchExists(*b)
	}
	v := PaymentPreview{Month: month}
	err = s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM((CAST($2 AS INTEGER) - x.from_month + 1) * x.monthly_fen), 0), COALESCE(SUM(CASE WHEN x.from_month < CAST($2 AS INTEGER) THEN 1 ELSE 0 END), 0) FROM (`+payableSQL+`) x`,
		county, int(month)).Scan(&v.Rows, &v.TotalFen, &v.Arrears)
	return v, err
}

// RunPayments writes a month's batch for the officer's county, once: a
// second run for the month is a 409 naming the batch.
func (s *Store) RunPayments(ctx context.Context, month Month) (Batch, error) {
	p := access.From(ctx)
	county, err := payer(p)
	if err != nil {
		return Batch{}, err
	}
	if b, err := s.checkMonth(ctx, county, month); err != nil {
		return Batch{}, err
	} else if b != nil {
		return Batch{}, batchExists(*b)
	}
	id := db.NewID()
	now := s.Now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// The unique (county, month) decides two runs at once.
		if _, err := tx.ExecContext(ctx, `INSERT INTO ast_pay_batches (id, county, month, created_by, created_at) VALUES ($1, $2, $3, $4, $5)`,
			id, county, int(month), p.Username, db.T(now)); err != nil {
			if db.IsUniqueViolation(err) {
				return errBatchRace
			}
			return err
		}
		res, err := tx.ExecContext(ctx, runSQL, county, int(month), id)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "assistance.pay_run", Object: "payment_batch", ObjectID: id, Division: county,
			Detail: fmt.Sprintf("%s: %d payments", month, n)})
	})
	if errors.Is(err, errBatchRace) {
		b, err := s.checkMonth(ctx, county, month)
		if err != nil || b == nil {
			return Batch{}, fault.Conflict(fault.M("该月发放批次已经生成", "the month's batch already exists"))
		}
		return Batch{}, batchExists(*b)
	}
	if err != nil {
		return Batch{}, err
	}
	return s.payBatch(ctx, id)
}

var errBatchRace = errors.New("assistance: the month's batch exists")

// payBatch reads a payment batch with its totals by status.
func (s *Store) payBatch(ctx context.Context, id string) (Batch, error) {
	var b Batch
	var created, returned db.Time
	var month int
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, county, month, created_by, created_at, file_sha256, returned_at FROM ast_pay_batches WHERE id = $1`, id).
		Scan(&b.ID, &b.County, &month, &b.CreatedBy, &created, &b.FileSHA256, &returned)
	if errors.Is(err, sql.ErrNoRows) {
		return b, errNoPayBatch
	} else if err != nil {
		return b, err
	}
	b.Month, b.Period, b.CreatedAt = Month(month), Month(month).String(), created.Time
	if !returned.IsZero() {
		b.ReturnedAt = &returned.Time
	}
	err = db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var st string
		var n, none int
		var sum int64
		if err := r.Scan(&st, &n, &sum, &none); err != nil {
			return err
		}
		b.Rows, b.TotalFen, b.NoAccount = b.Rows+n, b.TotalFen+sum, b.NoAccount+none
		switch st {
		case PayPaid:
			b.PaidRows, b.PaidFen = n, sum
		case PayFailed:
			b.FailedRows, b.FailedFen = n, sum
		default:
			b.PendingRows += n
		}
		return nil
	}, `SELECT status, COUNT(*), SUM(amount_fen), SUM(CASE WHEN account_enc = '' THEN 1 ELSE 0 END) FROM ast_payments WHERE batch_id = $1 GROUP BY status`, id)
	return b, err
}

// Batch reads one of the officer's county's batches.
func (s *Store) Batch(ctx context.Context, id string) (Batch, error) {
	county, err := payer(access.From(ctx))
	if err != nil {
		return Batch{}, err
	}
	b, err := s.payBatch(ctx, id)
	if err == nil && b.County != county {
		return Batch{}, errNoPayBatch
	}
	return b, err
}

// TotalYuan, PaidYuan and FailedYuan are the batch's sums in yuan.
func (b Batch) TotalYuan() string  { return Yuan(b.TotalFen) }
func (b Batch) PaidYuan() string   { return Yuan(b.PaidFen) }
func (b Batch) FailedYuan() string { return Yuan(b.FailedFen) }

// BatchPage is a page of batches, the newest month first.
type BatchPage struct {
	Items []Batch `json:"items"`
	Next  string  `json:"next_cursor,omitempty"`
}

// Batches lists the county's batches before the cursor month.
func (s *Store) PayBatches(ctx context.Context, cursor string, size int) (BatchPage, error) {
	county, err := payer(access.From(ctx))
	if err != nil {
		return BatchPage{}, err
	}
	before := 1 << 30
	if cursor != "" {
		m, ok := ParseMonth(cursor)
		if !ok {
			return BatchPage{}, invalid(fault.Field("cursor", fault.M("翻页参数应为 YYYY-MM", "the cursor is YYYY-MM")))
		}
		before = int(m)
	}
	ids, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT id FROM ast_pay_batches WHERE county = $1 AND month < $2 ORDER BY month DESC LIMIT `+strconv.Itoa(size+1), county, before)
	if err != nil {
		return BatchPage{}, err
	}
	pg := BatchPage{Items: []Batch{}}
	for i, id := range ids {
		if i == size {
			pg.Next = pg.Items[size-1].Month.String()
			break
		}
		b, err := s.payBatch(ctx, id)
		if err != nil {
			return pg, err
		}
		pg.Items = append(pg.Items, b)
	}
	return pg, nil
}

// BatchPayments lists a batch's payments of a status ("" for all), at
// most limit, with the households' addresses.
func (s *Store) BatchPayments(ctx context.Context, id, status string, limit int) ([]Payment, error) {
	if _, err := s.Batch(ctx, id); err != nil {
		return nil, err
	}
	return db.Collect(ctx, s.DB.R, scanPayment, `SELECT `+payCols+` FROM ast_payments p JOIN ast_pay_batches b ON b.id = p.batch_id LEFT JOIN reg_households h ON h.id = p.household_id
		WHERE p.batch_id = $1 AND ($2 = '' OR p.status = $2) ORDER BY p.ref LIMIT `+strconv.Itoa(limit), id, status)
}

const payCols = `p.batch_id, p.ref, p.application_id, p.household_id, p.division_code, p.code, p.from_month, p.to_month, p.amount_fen, p.status, p.reason, b.month, COALESCE(h.address, ''), b.created_at`

func scanPayment(r db.Scanner) (Payment, error) {
	var p Payment
	var from, to, month int
	var created db.Time
	err := r.Scan(&p.BatchID, &p.Ref, &p.Application, &p.HouseholdID, &p.Division, &p.Code, &from, &to, &p.AmountFen, &p.Status, &p.Reason, &month, &p.Address, &created)
	p.From, p.To, p.Month, p.CreatedAt = Month(from), Month(to), Month(month), created.Time
	return p, err
}

// HouseholdPayments is a household's payment history, the newest first
// (at most three years of monthly rows per programme).
func (s *Store) HouseholdPayments(ctx context.Context, household string) ([]Payment, error) {
	return db.Collect(ctx, s.DB.R, scanPayment, `SELECT `+payCols+` FROM ast_payments p JOIN ast_pay_batches b ON b.id = p.batch_id LEFT JOIN reg_households h ON h.id = p.household_id
		WHERE p.household_id = $1 ORDER BY b.month DESC, p.code LIMIT 72`, household)
}

// BankFile is the batch as the bank receives it: a CSV (UTF-8 with a
// byte-order mark) of the payments with the holders' names and accounts,
// amounts in yuan, and a totals line; or, masked, the copy printed for
// review. The file's SHA-256 goes with it, and every export is audited;
// the bank copy's hash is kept on the batch.
func (s *Store) BankFile(ctx context.Context, id string, masked bool) ([]byte, string, Batch, error) {
	b, err := s.Batch(ctx, id)
	if err != nil {
		return nil, "", b, err
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"序号 ref", "户名 holder", "账号 account", "金额（元）amount", "救助项目 programme", "所属月份 months", "行政区划 division"})
	err = db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var p Payment
		var from, to int
		var app, sealed string
		if err := r.Scan(&p.Ref, &app, &p.Division, &p.Code, &from, &to, &p.AmountFen, &sealed); err != nil {
			return err
		}
		p.From, p.To = Month(from), Month(to)
		acc, err := s.openAccount(app, sealed)
		if err != nil {
			return err
		}
		if masked {
			acc.Holder, acc.Number = MaskName(acc.Holder), MaskAccount(acc.Number)
		}
		return w.Write([]string{strconv.Itoa(p.Ref), acc.Holder, acc.Number, BankYuan(p.AmountFen), p.Code, p.Months(), p.Division})
	}, `SELECT ref, application_id, division_code, code, from_month, to_month, amount_fen, account_enc FROM ast_payments WHERE batch_id = $1 ORDER BY ref`, id)
	if err != nil {
		return nil, "", b, err
	}
	_ = w.Write([]string{"合计 total", strconv.Itoa(b.Rows) + " 笔 rows", "", BankYuan(b.TotalFen), "", b.Month.String(), b.County})
	w.Flush()
	sum := sha256.Sum256(buf.Bytes())
	hash := hex.EncodeToString(sum[:])
	kind := "bank file"
	if masked {
		kind = "review copy"
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if !masked {
			if _, err := tx.ExecContext(ctx, `UPDATE ast_pay_batches SET file_sha256 = $1 WHERE id = $2`, hash, id); err != nil {
				return err
			}
			b.FileSHA256 = hash
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "assistance.pay_export", Object: "payment_batch", ObjectID: id, Division: b.County,
			Detail: fmt.Sprintf("%s, %d rows, sha256 %s", kind, b.Rows, hash)})
	})
	return buf.Bytes(), hash, b, err
}

// ReturnRow is one line of the bank's return file.
type ReturnRow struct {
	Ref       int
	Account   string
	AmountFen int64
	Status    string
	Reason    string
}

// returnStatus reads the bank's word for a row's outcome.
func returnStatus(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "成功", "ok", "success", "paid":
		return PayPaid
	case "失败", "failed", "fail", "error":
		return PayFailed
	}
	return ""
}

// ImportReturn marks a batch's payments paid or failed from the bank's
// return file (columns: ref, account, amount, status, reason; a header
// line and a totals line are skipped). A row the batch does not hold, or
// whose account or amount differs from what was sent, refuses the whole
// file, each error named by its line and column; nothing is written.
func (s *Store) ImportReturn(ctx context.Context, id string, file io.Reader) (Batch, error) {
	b, err := s.Batch(ctx, id)
	if err != nil {
		return b, err
	}
	raw, err := io.ReadAll(io.LimitReader(file, 20<<20))
	if err != nil {
		return b, err
	}
	raw = bytes.TrimPrefix(raw, []byte("\ufeff"))
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = -1
	records, err := cr.ReadAll()
	if err != nil {
		return b, invalid(fault.Field("file", fault.M("回盘文件不是有效的 CSV："+err.Error(), "the return file is not valid CSV: "+err.Error())))
	}
	type sent struct {
		app, sealed string
		amount      int64
		status      string
	}
	rows := map[int]sent{}
	err = db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var ref int
		var x sent
		if err := r.Scan(&ref, &x.app, &x.sealed, &x.amount, &x.status); err != nil {
			return err
		}
		rows[ref] = x
		return nil
	}, `SELECT ref, application_id, account_enc, amount_fen, status FROM ast_payments WHERE batch_id = $1`, id)
	if err != nil {
		return b, err
	}
	var fields []fault.FieldError
	var got []ReturnRow
	seen := map[int]int{}
	for i, rec := range records {
		line := i + 1
		if len(rec) == 0 || (len(rec) == 1 && strings.TrimSpace(rec[0]) == "") {
			continue
		}
		first := strings.TrimSpace(rec[0])
		if _, err := strconv.Atoi(first); err != nil && (i == 0 || strings.HasPrefix(first, "合计")) {
			continue // the header or the totals line
		}
		name := func(col string) string { return fmt.Sprintf("rows[%d].%s", line, col) }
		if len(rec) < 4 {
			fields = append(fields, fault.Field(name("ref"), fault.M(fmt.Sprintf("第 %d 行应有序号、账号、金额、状态、原因五列", line), fmt.Sprintf("line %d: want ref, account, amount, status, reason", line))))
			continue
		}
		ref, err := strconv.Atoi(first)
		x, ok := rows[ref]
		if err != nil || !ok {
			fields = append(fields, fault.Field(name("ref"), fault.M(fmt.Sprintf("第 %d 行序号“%s”不在本批次中", line, first), fmt.Sprintf("line %d: ref %q is not in the batch", line, first))))
			continue
		}
		if prev, dup := seen[ref]; dup {
			fields = append(fields, fault.Field(name("ref"), fault.M(fmt.Sprintf("第 %d 行序号 %d 与第 %d 行重复", line, ref, prev), fmt.Sprintf("line %d: ref %d repeats line %d", line, ref, prev))))
			continue
		}
		seen[ref] = line
		acc, err := s.openAccount(x.app, x.sealed)
		if err != nil {
			return b, err
		}
		if number := strings.ReplaceAll(strings.TrimSpace(rec[1]), " ", ""); number != acc.Number {
			fields = append(fields, fault.Field(name("account"), fault.M(fmt.Sprintf("第 %d 行账号与发出的不一致", line), fmt.Sprintf("line %d: the account differs from the one sent", line))))
		}
		amount, _, ok := parseYuan(rec[2])
		if !ok || amount != x.amount {
			fields = append(fields, fault.Field(name("amount"), fault.M(fmt.Sprintf("第 %d 行金额“%s”与发出的 %s 元不一致", line, strings.TrimSpace(rec[2]), BankYuan(x.amount)),
				fmt.Sprintf("line %d: amount %q differs from the %s yuan sent", line, strings.TrimSpace(rec[2]), BankYuan(x.amount)))))
		}
		st := returnStatus(rec[3])
		if st == "" {
			fields = append(fields, fault.Field(name("status"), fault.M(fmt.Sprintf("第 %d 行状态应为“成功”或“失败”", line), fmt.Sprintf("line %d: the status is ok or failed", line))))
		}
		reason := ""
		if len(rec) > 4 {
			reason = strings.TrimSpace(rec[4])
		}
		if st == PayFailed && reason == "" {
			fields = append(fields, fault.Field(name("reason"), fault.M(fmt.Sprintf("第 %d 行发放失败须写明原因", line), fmt.Sprintf("line %d: a failed payment gives its reason", line))))
		}
		if utf8.RuneCountInString(reason) > 200 {
			fields = append(fields, fault.Field(name("reason"), fault.M(fmt.Sprintf("第 %d 行原因不超过 200 字", line), fmt.Sprintf("line %d: the reason is 200 characters at most", line))))
		}
		got = append(got, ReturnRow{Ref: ref, AmountFen: amount, Status: st, Reason: reason})
	}
	if len(got) == 0 && len(fields) == 0 {
		fields = append(fields, fault.Field("file", fault.M("回盘文件没有数据行", "the return file has no rows")))
	}
	if len(fields) > 0 {
		return b, &fault.Error{Code: fault.CodeInvalid, Msg: fault.M(fmt.Sprintf("回盘文件有 %d 处错误，未导入任何一行", len(fields)), fmt.Sprintf("the return file has %d errors: nothing was imported", len(fields))), Fields: fields}
	}
	now := db.T(s.Now())
	paid, failed := 0, 0
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, g := range got {
			if g.Status == PayPaid {
				paid++
			} else {
				failed++
			}
			if _, err := tx.ExecContext(ctx, `UPDATE ast_payments SET status = $1, reason = $2, returned_at = $3 WHERE batch_id = $4 AND ref = $5`,
				g.Status, g.Reason, now, id, g.Ref); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ast_pay_batches SET returned_at = $1 WHERE id = $2`, now, id); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "assistance.pay_return", Object: "payment_batch", ObjectID: id, Division: b.County,
			Detail: fmt.Sprintf("%d paid, %d failed", paid, failed)})
	})
	if err != nil {
		return b, err
	}
	return s.payBatch(ctx, id)
}
