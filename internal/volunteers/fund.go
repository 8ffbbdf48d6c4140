package volunteers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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

// 社区基金: a community's charity fund keeps a public ledger of the
// donations it received and the grants it gave. Entries are never
// edited: a correction is a reversing entry with a reason. The fund row
// holds the running totals, so that a grant is checked against the
// balance by one conditional update (serialised by its row).

var fundsMigration = db.Migration{ID: "volunteers/009_funds", SQL: `
CREATE TABLE vol_fund_funds (
	division_code TEXT PRIMARY KEY,
	donated BIGINT NOT NULL,
	granted BIGINT NOT NULL,
	entries INTEGER NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	CHECK (granted <= donated) -- the balance, donated − granted, never below zero
);
CREATE TABLE vol_fund_entries (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL REFERENCES vol_fund_funds(division_code),
	seq INTEGER NOT NULL,
	kind TEXT NOT NULL,
	amount BIGINT NOT NULL,
	party TEXT NOT NULL,
	purpose TEXT NOT NULL,
	entry_date TEXT NOT NULL,
	channel TEXT NOT NULL,
	approved_by TEXT NOT NULL,
	reverses TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (division_code, seq)
);
CREATE UNIQUE INDEX vol_fund_entries_reverses ON vol_fund_entries (reverses) WHERE reverses <> '';
`}

// Fund entry kinds.
const (
	FundDonation = "donation" // 捐赠
	FundGrant    = "grant"    // 支出（资助）
)

// Anonymous is how a donor who gives no name is shown.
const Anonymous = "匿名"

// FundChannels are how a donation may arrive.
var FundChannels = []option{
	{"cash", "现金", "Cash"},
	{"bank", "银行转账", "Bank transfer"},
	{"wechat", "微信", "WeChat Pay"},
	{"alipay", "支付宝", "Alipay"},
	{"goods", "物资折价", "Goods (valued)"},
}

// FundEntry is one line of a community fund's public ledger. Amount is
// in fen, positive; a reversal carries the kind of the entry it reverses
// and takes its amount back.
type FundEntry struct {
	ID         string    `json:"id"`
	Community  string    `json:"community"`
	Seq        int64     `json:"seq"`
	Kind       string    `json:"kind"`
	AmountFen  int64     `json:"amount_fen"`
	Party      string    `json:"party"` // the donor as given or 匿名; a grant's recipient
	Purpose    string    `json:"purpose,omitempty"`
	Date       string    `json:"date"`
	Channel    string    `json:"channel,omitempty"`
	ApprovedBy string    `json:"approved_by,omitempty"`
	Reverses   string    `json:"reverses,omitempty"`    // the entry this one reverses
	Reason     string    `json:"reason,omitempty"`      // why it was reversed
	ReversedBy string    `json:"reversed_by,omitempty"` // the entry that reversed this one
	Created    time.Time `json:"created_at"`
}

// Yuan is the entry's amount in yuan.
func (e FundEntry) Yuan() string { return FenYuan(e.AmountFen) }

// KindName names the entry's kind.
func (e FundEntry) KindName() fault.Msg {
	switch {
	case e.Reverses != "" && e.Kind == FundDonation:
		return fault.M("冲正捐赠", "Donation reversed")
	case e.Reverses != "":
		return fault.M("冲正支出", "Grant reversed")
	case e.Kind == FundDonation:
		return fault.M("捐赠", "Donation")
	}
	return fault.M("支出", "Grant")
}

// ChannelName names the donation's channel.
func (e FundEntry) ChannelName() fault.Msg {
	for _, c := range FundChannels {
		if c.Key == e.Channel {
			return fault.M(c.ZH, c.EN)
		}
	}
	return fault.M("", "")
}

// Sign is how the entry moves the balance: "+" or "−".
func (e FundEntry) Sign() string {
	if (e.Kind == FundDonation) == (e.Reverses == "") {
		return "+"
	}
	return "−"
}

// FundInput records a donation or a grant; the amount is in fen.
type FundInput struct {
	Kind       string `json:"kind"` // donation or grant
	AmountFen  int64  `json:"amount_fen"`
	Party      string `json:"party"` // donor (empty: 匿名) or recipient
	Purpose    string `json:"purpose"`
	Date       string `json:"date"`        // YYYY-MM-DD, China time, not in the future
	Channel    string `json:"channel"`     // a donation's: cash, bank, wechat, alipay, goods
	ApprovedBy string `json:"approved_by"` // a grant's approval
}

// ReverseFundInput reverses an entry.
type ReverseFundInput struct {
	Reason string `json:"reason"`
}

// FundLedger is a community fund's totals and one page of its entries,
// newest first.
type FundLedger struct {
	Community  string      `json:"community"`
	Name       string      `json:"name"`
	DonatedFen int64       `json:"donated_fen"`
	GrantedFen int64       `json:"granted_fen"`
	BalanceFen int64       `json:"balance_fen"`
	Entries    int64       `json:"entries"`
	Items      []FundEntry `json:"items"`
	Next       string      `json:"next,omitempty"`
}

// Donated, Granted and Balance are the totals in yuan.
func (l FundLedger) Donated() string { return FenYuan(l.DonatedFen) }
func (l FundLedger) Granted() string { return FenYuan(l.GrantedFen) }
func (l FundLedger) Balance() string { return FenYuan(l.BalanceFen) }

// FenYuan writes fen as yuan with two decimals.
func FenYuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// ParseYuan reads "200", "12.5" or "12.50" as fen (false for anything
// else, a negative amount or more than 100 million yuan).
func ParseYuan(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" || len(frac) > 2 || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, false
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 100_000_000 {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	return w*100 + f, true
}

var (
	errNoFund        = fault.NotFound(fault.M("找不到这个村（社区），或不在您的辖区内", "no such community in your jurisdiction"))
	errNoFundEntry   = fault.NotFound(fault.M("找不到这笔基金账目，或不在您的辖区内", "no such fund entry in your jurisdiction"))
	errNotFundKeeper = fault.Forbidden(fault.M("只有本社区的社区工作者或上级干部可以记账", "only the community's workers and officers above it keep its fund"))
	errReversed      = fault.Conflict(fault.M("这笔账目已冲正过", "this entry is already reversed"))
)

// community12 tells whether c is a village or community code.
func community12(c string) bool { return len(c) == 12 && strings.Trim(c, "0123456789") == "" }

// fundKeeper checks that the principal keeps the fund of community c: a
// community worker or officer over it. Others of the business roles get
// 404 (the community is outside their jurisdiction); residents 403.
func (s *Store) fundKeeper(ctx context.Context, c string) (*access.Principal, error) {
	p := access.From(ctx)
	if p == nil || p.Role == access.Resident {
		return p, errNotFundKeeper
	}
	if !community12(c) || !manager(p, c) {
		return p, errNoFund
	}
	if _, err := s.Divs.Get(ctx, c); err != nil {
		return p, errNoFund
	}
	return p, nil
}

const fundEntryCols = `e.id, e.division_code, e.seq, e.kind, e.amount, e.party, e.purpose, e.entry_date, e.channel, e.approved_by, e.reverses, e.reason, e.created_at,
	COALESCE((SELECT r.id FROM vol_fund_entries r WHERE r.reverses = e.id), '')`

func scanFundEntry(r db.Scanner) (FundEntry, error) {
	var e FundEntry
	var c db.Time
	err := r.Scan(&e.ID, &e.Community, &e.Seq, &e.Kind, &e.AmountFen, &e.Party, &e.Purpose, &e.Date, &e.Channel, &e.ApprovedBy, &e.Reverses, &e.Reason, &c, &e.ReversedBy)
	e.Created = c.Time
	return e, err
}

// Ledger reads a community fund's public ledger, open to anyone: the
// totals and the entries before seq (0: from the newest), at most limit.
// A community without a fund has an empty ledger.
func (s *Store) Ledger(ctx context.Context, c string, before int64, limit int) (FundLedger, error) {
	if !community12(c) {
		return FundLedger{}, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("community", fault.M("应为 12 位村（社区）代码", "must be a 12-digit community code")))
	}
	dv, err := s.Divs.Get(ctx, c)
	if err != nil {
		return FundLedger{}, errNoFund
	}
	l := FundLedger{Community: c, Name: dv.Name}
	err = s.DB.R.QueryRowContext(ctx, `SELECT donated, granted, donated - granted, entries FROM vol_fund_funds WHERE division_code = $1`, c).Scan(&l.DonatedFen, &l.GrantedFen, &l.BalanceFen, &l.Entries)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return l, err
	}
	if limit <= 0 || limit > 200 {
		limit = 20
	}
	args := []any{c}
	q := ``
	if before > 0 {
		args = append(args, before)
		q = ` AND e.seq < $2`
	}
	l.Items, err = db.Collect(ctx, s.DB.R, scanFundEntry, `SELECT `+fundEntryCols+` FROM vol_fund_entries e WHERE e.division_code = $1`+q+` ORDER BY e.seq DESC LIMIT `+itoa(limit), args...)
	if l.Items == nil {
		l.Items = []FundEntry{}
	}
	return l, err
}

// FundEntry reads one entry of a fund the principal keeps.
func (s *Store) FundEntry(ctx context.Context, c, id string) (FundEntry, error) {
	if _, err := s.fundKeeper(ctx, c); err != nil {
		return FundEntry{}, err
	}
	e, err := scanFundEntry(s.DB.R.QueryRowContext(ctx, `SELECT `+fundEntryCols+` FROM vol_fund_entries e WHERE e.id = $1 AND e.division_code = $2`, id, c))
	if errors.Is(err, sql.ErrNoRows) {
		return e, errNoFundEntry
	}
	return e, err
}

// RecordFund records a donation or a grant in community c's fund (opened
// by its first entry). A grant beyond the balance is refused with 409 and
// nothing is written.
func (s *Store) RecordFund(ctx context.Context, c string, in FundInput) (FundEntry, error) {
	p, err := s.fundKeeper(ctx, c)
	if err != nil {
		return FundEntry{}, err
	}
	e := FundEntry{ID: db.NewID(), Community: c, Kind: in.Kind, AmountFen: in.AmountFen, Party: strings.TrimSpace(in.Party), Purpose: strings.TrimSpace(in.Purpose),
		Date: strings.TrimSpace(in.Date), Created: s.Now()}
	var fields []fault.FieldError
	switch in.Kind {
	case FundDonation:
		if e.Party == "" {
			e.Party = Anonymous
		}
		if !slices.Contains(keys(FundChannels), in.Channel) {
			fields = append(fields, fault.Field("channel", fault.M("请选择捐赠方式", "choose how the donation came")))
		}
		e.Channel = in.Channel
	case FundGrant:
		if e.Party == "" {
			fields = append(fields, fault.Field("party", fault.M("请填写资助对象", "give the grant's recipient")))
		}
		if e.Purpose == "" {
			fields = append(fields, fault.Field("purpose", fault.M("请填写资助用途", "give the grant's purpose")))
		}
		e.ApprovedBy = strings.TrimSpace(in.ApprovedBy)
		if e.ApprovedBy == "" || utf8.RuneCountInString(e.ApprovedBy) > 100 {
			fields = append(fields, fault.Field("approved_by", fault.M("请填写批准人或批准会议（不超过 100 字）", "give who approved the grant (at most 100 characters)")))
		}
	default:
		fields = append(fields, fault.Field("kind", fault.M("请选择捐赠或支出", "choose a donation or a grant")))
	}
	if in.AmountFen <= 0 || in.AmountFen > 100_000_000_00 {
		fields = append(fields, fault.Field("amount_fen", fault.M("金额应大于 0 元、不超过 1 亿元，最多两位小数", "the amount is above 0 and at most 100 million yuan, with at most two decimals")))
	}
	if utf8.RuneCountInString(e.Party) > 100 {
		fields = append(fields, fault.Field("party", fault.M("名称不超过 100 字", "the name is at most 100 characters")))
	}
	if utf8.RuneCountInString(e.Purpose) > 200 {
		fields = append(fields, fault.Field("purpose", fault.M("用途不超过 200 字", "the purpose is at most 200 characters")))
	}
	if _, derr := time.ParseInLocation("2006-01-02", e.Date, questions.CST); derr != nil || e.Date > s.today() {
		fields = append(fields, fault.Field("date", fault.M("请填写日期（不晚于今天）", "give the date, not after today")))
	}
	if len(fields) > 0 {
		return FundEntry{}, fault.Invalid(fault.M("基金账目有误", "the fund entry has errors"), fields...)
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if e.Kind == FundDonation {
			if _, err := tx.ExecContext(ctx, `INSERT INTO vol_fund_funds (division_code, donated, granted, entries, created_at) VALUES ($1, 0, 0, 0, $2) ON CONFLICT (division_code) DO NOTHING`,
				c, db.T(e.Created)); err != nil {
				return err
			}
		}
		if err := s.moveFund(ctx, tx, &e, p.Username); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.fund." + e.Kind, Object: "fund_entry", ObjectID: e.ID, Division: c,
			Detail: audit.Detail(map[string]any{"amount_fen": e.AmountFen, "date": e.Date, "seq": e.Seq})})
	})
	if err != nil {
		return FundEntry{}, err
	}
	return e, nil
}

// moveFund moves the fund's totals by e and writes e with the fund's next
// number; a move that would take the balance below zero is refused.
func (s *Store) moveFund(ctx context.Context, tx *sql.Tx, e *FundEntry, by string) error {
	var donated, granted int64
	if e.Kind == FundDonation {
		donated = e.AmountFen
	} else {
		granted = e.AmountFen
	}
	if e.Reverses != "" {
		donated, granted = -donated, -granted
	}
	err := tx.QueryRowContext(ctx, `UPDATE vol_fund_funds SET donated = donated + $1, granted = granted + $2, entries = entries + 1
		WHERE division_code = $3 AND donated + $1 >= granted + $2 RETURNING entries`, donated, granted, e.Community).Scan(&e.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		var balance int64
		if err := tx.QueryRowContext(ctx, `SELECT donated - granted FROM vol_fund_funds WHERE division_code = $1`, e.Community).Scan(&balance); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return fault.New(fault.CodeConflict, fault.M("基金余额不足，当前余额 "+FenYuan(balance)+" 元", "the fund's balance is "+FenYuan(balance)+" yuan, not enough"),
			fault.Field("amount_fen", fault.M("金额超过基金余额 "+FenYuan(balance)+" 元", "the amount is more than the balance of "+FenYuan(balance)+" yuan")))
	} else if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO vol_fund_entries (id, division_code, seq, kind, amount, party, purpose, entry_date, channel, approved_by, reverses, reason, created_by, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`,
		e.ID, e.Community, e.Seq, e.Kind, e.AmountFen, e.Party, e.Purpose, e.Date, e.Channel, e.ApprovedBy, e.Reverses, e.Reason, by, db.T(e.Created))
	if db.IsUniqueViolation(err) && e.Reverses != "" {
		return errReversed
	}
	return err
}

// ReverseFund reverses an entry of community c's fund with a reason: a
// new entry takes its amount back, once. Reversing a donation the fund
// has already spent is refused like a grant beyond the balance.
func (s *Store) ReverseFund(ctx context.Context, c, id string, in ReverseFundInput) (FundEntry, error) {
	orig, err := s.FundEntry(ctx, c, id)
	if err != nil {
		return FundEntry{}, err
	}
	p := access.From(ctx)
	reason := strings.TrimSpace(in.Reason)
	if reason == "" || utf8.RuneCountInString(reason) > 200 {
		return FundEntry{}, fault.Invalid(fault.M("请填写冲正原因", "give the reason for the reversal"),
			fault.Field("reason", fault.M("请填写冲正原因（不超过 200 字）", "give the reason (at most 200 characters)")))
	}
	if orig.Reverses != "" {
		return FundEntry{}, fault.Conflict(fault.M("冲正分录不能再冲正，请重新记一笔", "a reversal is not reversed; record a new entry"))
	}
	if orig.ReversedBy != "" {
		return FundEntry{}, errReversed
	}
	e := FundEntry{ID: db.NewID(), Community: c, Kind: orig.Kind, AmountFen: orig.AmountFen, Party: orig.Party, Purpose: orig.Purpose, Date: s.today(),
		Channel: orig.Channel, ApprovedBy: orig.ApprovedBy, Reverses: orig.ID, Reason: reason, Created: s.Now()}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.moveFund(ctx, tx, &e, p.Username); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.fund.reverse", Object: "fund_entry", ObjectID: orig.ID, Division: c,
			Detail: audit.Detail(map[string]any{"reversal": e.ID, "amount_fen": e.AmountFen, "reason": reason})})
	})
	if err != nil {
		return FundEntry{}, err
	}
	return e, nil
}
