package volunteers

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Currencies: service hours are kept in minutes (an hour and a half is
// 90), points in whole points.
const (
	Hours  = "hours"
	Points = "points"
)

// Owners of accounts. A volunteer's (or a family member's) accounts may
// not go negative; a community's time bank issues the hours and points
// its volunteers earn, so its accounts run negative by what was issued;
// the shop's points account receives what is redeemed.
const (
	OwnerVolunteer = "volunteer" // owner id: a resident's id
	OwnerBank      = "bank"      // owner id: a division code
	OwnerShop      = "shop"      // owner id: a division code
)

// Transaction kinds.
const (
	KindService  = "service"  // hours for service given (the stars' basis)
	KindAward    = "award"    // points for service or another act
	KindTransfer = "transfer" // time-bank hours given to a family member
	KindRedeem   = "redeem"   // points spent at the shop
	KindReversal = "reversal" // a correction: the exact opposite of a transaction
	KindOpening  = "opening"  // hours and points recorded before, carried over
)

// AccountID is the id of an owner's account in a currency.
func AccountID(owner, ownerID, currency string) string { return owner + ":" + ownerID + ":" + currency }

// Account is one ledger account with its kept balance.
type Account struct {
	ID            string  `json:"id"`
	Currency      string  `json:"currency"`
	Owner         string  `json:"owner"`
	OwnerID       string  `json:"owner_id"`
	Division      string  `json:"division"`
	Balance       int64   `json:"balance"` // minutes for hours, points for points
	Earned        int64   `json:"earned"`  // service minutes recorded (hours accounts of volunteers)
	MayGoNegative bool    `json:"may_go_negative"`
	BalanceHours  float64 `json:"balance_hours,omitempty"`
	Stars         int     `json:"stars"`
}

// Entry is one line of the ledger.
type Entry struct {
	ID          int64     `json:"id"`
	TxnID       string    `json:"txn_id"`
	AccountID   string    `json:"account_id"`
	Currency    string    `json:"currency"`
	Amount      int64     `json:"amount"`
	Kind        string    `json:"kind"`
	ServiceDate string    `json:"service_date,omitempty"`
	Ref         string    `json:"ref,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
}

// KindName is the entry's kind in words.
func (e Entry) KindName() fault.Msg {
	switch e.Kind {
	case KindService:
		return fault.M("志愿服务", "Service")
	case KindAward:
		return fault.M("积分奖励", "Points award")
	case KindTransfer:
		return fault.M("时间转赠", "Transfer")
	case KindRedeem:
		return fault.M("积分兑换", "Redemption")
	case KindReversal:
		return fault.M("冲正", "Reversal")
	case KindOpening:
		return fault.M("历史结转", "Carried over")
	}
	return fault.M(e.Kind, e.Kind)
}

// leg is one side of a transaction; earned also moves the service record.
type leg struct {
	account string
	amount  int64
	earned  bool
}

// posting is a transaction to write: its legs sum to zero per currency.
type posting struct {
	kind, serviceDate, ref, reason, key, by string
	legs                                    []leg
}

var errNoAccount = fault.NotFound(fault.M("找不到这个账户，或不在您的辖区内", "no such account in your jurisdiction"))

func hours(minutes int64) float64 { return math.Round(float64(minutes)/6) / 10 }

func currencyOf(account string) string { return account[strings.LastIndexByte(account, ':')+1:] }

// ensureAccount creates an account if it does not exist yet.
func ensureAccount(ctx context.Context, tx *sql.Tx, owner, ownerID, currency, div string, now time.Time) (string, error) {
	id := AccountID(owner, ownerID, currency)
	_, err := tx.ExecContext(ctx, `INSERT INTO vol_accounts (id, currency, owner_kind, owner_id, division_code, may_go_negative, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (id) DO NOTHING`, id, currency, owner, ownerID, div, owner == OwnerBank, db.T(now))
	return id, err
}

// post writes a transaction: balances first, in account order (so that two
// transactions lock accounts in the same order), each refused when it
// would take an account that may not go negative below zero; then the
// entries. It returns the transaction's id.
func (s *Store) post(ctx context.Context, tx *sql.Tx, p posting) (string, error) {
	sums := map[string]int64{}
	for _, l := range p.legs {
		sums[currencyOf(l.account)] += l.amount
	}
	for c, v := range sums {
		if v != 0 {
			return "", errors.New("volunteers: unbalanced posting in " + c)
		}
	}
	legs := slices.Clone(p.legs)
	slices.SortFunc(legs, func(a, b leg) int { return strings.Compare(a.account, b.account) })
	for _, l := range legs {
		earned := int64(0)
		if l.earned {
			earned = l.amount
		}
		res, err := tx.ExecContext(ctx, `UPDATE vol_accounts SET balance = balance + $1, earned = earned + $2 WHERE id = $3 AND (may_go_negative OR balance + $1 >= 0)`,
			l.amount, earned, l.account)
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var exists int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM vol_accounts WHERE id = $1`, l.account).Scan(&exists); err != nil {
				return "", err
			}
			if exists == 0 {
				return "", errNoAccount
			}
			if currencyOf(l.account) == Points {
				return "", fault.New(fault.CodeConflict, fault.M("积分余额不足", "not enough points"), fault.Field("points", fault.M("超过了账户的积分余额", "more than the account's points balance")))
			}
			return "", fault.New(fault.CodeConflict, fault.M("时间银行余额不足", "not enough time-bank hours"), fault.Field("hours", fault.M("超过了账户的时间余额", "more than the account's hours balance")))
		}
	}
	txn := db.NewID()
	now := db.T(s.Now())
	for i, l := range p.legs {
		key := ""
		if i == 0 {
			key = p.key
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO vol_entries (txn_id, account_id, currency, amount, kind, service_date, ref, reason, entry_key, created_by, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`, txn, l.account, currencyOf(l.account), l.amount, p.kind, p.serviceDate, p.ref, p.reason, key, p.by, now); err != nil {
			if db.IsUniqueViolation(err) {
				return "", errPosted
			}
			return "", err
		}
	}
	return txn, nil
}

var errPosted = fault.Conflict(fault.M("这笔已记账，不会重复记入", "this was posted already; it is not posted twice"))

// StarLevel is a star and the recorded hours it takes.
type StarLevel struct {
	Stars int `json:"stars"`
	Hours int `json:"hours"`
}

// StarLevels are the thresholds, lowest first (data: a deployment may
// change them in vol_star_levels).
func (s *Store) StarLevels(ctx context.Context) ([]StarLevel, error) {
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (StarLevel, error) {
		var l StarLevel
		return l, r.Scan(&l.Stars, &l.Hours)
	}, `SELECT stars, hours FROM vol_star_levels ORDER BY hours`)
}

func starsFor(levels []StarLevel, earnedMinutes int64) int {
	stars := 0
	for _, l := range levels {
		if earnedMinutes >= int64(l.Hours)*60 {
			stars = l.Stars
		}
	}
	return stars
}

// nextLevel is the next star's threshold in hours (0: at the top).
func nextLevel(levels []StarLevel, stars int) int {
	for _, l := range levels {
		if l.Stars > stars {
			return l.Hours
		}
	}
	return 0
}

// figures fills a volunteer's hours, stars and points: two account rows
// and the thresholds, whatever the number of entries behind them.
func (s *Store) figures(ctx context.Context, q rowQuerier, v *Volunteer) error {
	var earned, bank, points int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN currency = 'hours' THEN earned ELSE 0 END), 0), COALESCE(SUM(CASE WHEN currency = 'hours' THEN balance ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN currency = 'points' THEN balance ELSE 0 END), 0) FROM vol_accounts WHERE id IN ($1, $2)`,
		AccountID(OwnerVolunteer, v.ResidentID, Hours), AccountID(OwnerVolunteer, v.ResidentID, Points)).Scan(&earned, &bank, &points)
	if err != nil {
		return err
	}
	var stars int
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(stars), 0) FROM vol_star_levels WHERE hours * 60 <= $1`, earned).Scan(&stars); err != nil {
		return err
	}
	v.Hours, v.Bank, v.Points, v.Stars = hours(earned), hours(bank), points, stars
	return nil
}

// CreditInput credits service hours for service recorded outside an
// activity (a visit, a mutual-aid service), and optionally points.
type CreditInput struct {
	ResidentID  string  `json:"resident_id"`
	Hours       float64 `json:"hours"`
	Points      int64   `json:"points"`
	ServiceDate string  `json:"service_date"` // YYYY-MM-DD, not in the future
	Reason      string  `json:"reason"`
}

// Posted is a transaction written.
type Posted struct {
	TxnID string `json:"txn_id"`
}

func minutesOf(h float64) int64 { return int64(math.Round(h * 60)) }

// checkHours refuses hours a person cannot have served in a day.
func checkHours(field string, h float64) *fault.FieldError {
	if math.IsNaN(h) || h <= 0 || h > 24 || minutesOf(h) == 0 {
		fe := fault.Field(field, fault.M("时长应大于 0 且不超过 24 小时", "hours must be more than 0 and at most 24"))
		return &fe
	}
	return nil
}

// creditService posts hours (and points) from the bank of div to the
// volunteer, refusing a day over 24 hours for the person.
func (s *Store) creditService(ctx context.Context, tx *sql.Tx, v Volunteer, div string, minutes, points int64, day, ref, reason, key, by string) (string, error) {
	now := s.Now()
	vh, err := ensureAccount(ctx, tx, OwnerVolunteer, v.ResidentID, Hours, v.Division, now)
	if err != nil {
		return "", err
	}
	bh, err := ensureAccount(ctx, tx, OwnerBank, div, Hours, div, now)
	if err != nil {
		return "", err
	}
	var that int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM vol_entries WHERE account_id = $1 AND service_date = $2 AND service_date <> ''`, vh, day).Scan(&that); err != nil {
		return "", err
	}
	if that+minutes > 24*60 {
		return "", fault.Invalid(fault.M("一天的服务时长不能超过 24 小时", "no one serves more than 24 hours in a day"),
			fault.Field("hours", fault.M(v.Name+" 在 "+day+" 已记 "+ftoa(hours(that))+" 小时", v.Name+" already has "+ftoa(hours(that))+" hours on "+day)))
	}
	legs := []leg{{vh, minutes, true}, {bh, -minutes, false}}
	if points > 0 {
		vp, err := ensureAccount(ctx, tx, OwnerVolunteer, v.ResidentID, Points, v.Division, now)
		if err != nil {
			return "", err
		}
		bp, err := ensureAccount(ctx, tx, OwnerBank, div, Points, div, now)
		if err != nil {
			return "", err
		}
		legs = append(legs, leg{vp, points, false}, leg{bp, -points, false})
	}
	return s.post(ctx, tx, posting{kind: KindService, serviceDate: day, ref: ref, reason: reason, key: key, by: by, legs: legs})
}

// Credit records hours served outside an activity, by the community.
func (s *Store) Credit(ctx context.Context, in CreditInput) (Posted, error) {
	var fields []fault.FieldError
	if fe := checkHours("hours", in.Hours); fe != nil {
		fields = append(fields, *fe)
	}
	if in.Points < 0 || in.Points > 10000 {
		fields = append(fields, fault.Field("points", fault.M("积分应为 0–10000", "points must be 0–10000")))
	}
	if _, err := time.Parse("2006-01-02", in.ServiceDate); err != nil || in.ServiceDate > s.today() {
		fields = append(fields, fault.Field("service_date", fault.M("请填写服务日期（不晚于今天）", "give the service date, not after today")))
	}
	reason := strings.TrimSpace(in.Reason)
	if reason == "" || len([]rune(reason)) > 200 {
		fields = append(fields, fault.Field("reason", fault.M("请写明服务内容（200 字以内）", "say what the service was (at most 200 characters)")))
	}
	if len(fields) > 0 {
		return Posted{}, fault.Invalid(fault.M("记入时长有误", "the credit has errors"), fields...)
	}
	v, err := s.volunteer(ctx, s.DB.R, in.ResidentID)
	if err != nil {
		return Posted{}, err
	}
	p, err := mustManage(ctx, v.Division)
	if err != nil {
		return Posted{}, errNoVolunteer
	}
	if v.Status != StatusVerified {
		return Posted{}, fault.Conflict(fault.M("这位志愿者尚未通过社区认证", "the volunteer is not verified yet"))
	}
	var out Posted
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		txn, err := s.creditService(ctx, tx, v, v.Division, minutesOf(in.Hours), in.Points, in.ServiceDate, "", reason, "", p.Username)
		if err != nil {
			return err
		}
		out.TxnID = txn
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.credit", Object: "txn", ObjectID: txn, Division: v.Division,
			Detail: audit.Detail(map[string]any{"resident": v.ResidentID, "minutes": minutesOf(in.Hours), "points": in.Points, "date": in.ServiceDate})})
	})
	return out, err
}

// TransferInput gives time-bank hours to a member of one's household.
type TransferInput struct {
	To    string  `json:"to"` // the family member's resident id
	Hours float64 `json:"hours"`
}

// Transfer moves time-bank hours from the signed-in volunteer to a member
// of the same household (for their care); to anyone else it is refused.
// The giver's recorded service hours, and stars, stay theirs.
func (s *Store) Transfer(ctx context.Context, in TransferInput) (Posted, error) {
	if math.IsNaN(in.Hours) || in.Hours <= 0 || in.Hours > 100000 || minutesOf(in.Hours) == 0 {
		return Posted{}, fault.Invalid(fault.M("转赠时长有误", "the transfer has errors"), fault.Field("hours", fault.M("时长应大于 0", "hours must be more than 0")))
	}
	from, err := s.Mine(ctx)
	if err != nil {
		return Posted{}, err
	}
	var toHousehold, toDiv string
	err = s.DB.R.QueryRowContext(ctx, `SELECT household_id, division_code FROM registry_people WHERE id = $1`, in.To).Scan(&toHousehold, &toDiv)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (toHousehold != from.HouseholdID || in.To == from.ResidentID) {
		return Posted{}, fault.New(fault.CodeConflict, fault.M("时间只能转赠给同一户的家庭成员", "hours go only to a member of your own household"),
			fault.Field("to", fault.M("不是您同户的家庭成员", "not a member of your household")))
	}
	if err != nil {
		return Posted{}, err
	}
	minutes := minutesOf(in.Hours)
	var out Posted
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		fromAcct, err := ensureAccount(ctx, tx, OwnerVolunteer, from.ResidentID, Hours, from.Division, s.Now())
		if err != nil {
			return err
		}
		toAcct, err := ensureAccount(ctx, tx, OwnerVolunteer, in.To, Hours, toDiv, s.Now())
		if err != nil {
			return err
		}
		txn, err := s.post(ctx, tx, posting{kind: KindTransfer, ref: in.To, reason: "家庭成员转赠 / to a family member", by: access.From(ctx).Username,
			legs: []leg{{fromAcct, -minutes, false}, {toAcct, minutes, false}}})
		if err != nil {
			return err
		}
		out.TxnID = txn
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.transfer", Object: "txn", ObjectID: txn, Division: from.Division,
			Detail: audit.Detail(map[string]any{"from": from.ResidentID, "to": in.To, "minutes": minutes})})
	})
	return out, err
}

// ReversalInput corrects a transaction.
type ReversalInput struct {
	TxnID  string `json:"txn_id"`
	Reason string `json:"reason"`
}

// Reverse posts the exact opposite of a service, award or transfer
// transaction, with a reason; nothing is edited. A transaction is reversed
// at most once, and a reversal that would take a volunteer's balance
// below zero (the hours already given away, the points spent) is refused.
func (s *Store) Reverse(ctx context.Context, in ReversalInput) (Posted, error) {
	reason := strings.TrimSpace(in.Reason)
	if reason == "" || len([]rune(reason)) > 200 {
		return Posted{}, fault.Invalid(fault.M("冲正有误", "the reversal has errors"), fault.Field("reason", fault.M("请写明冲正原因（200 字以内）", "give the reason (at most 200 characters)")))
	}
	es, err := db.Collect(ctx, s.DB.R, scanEntry, `SELECT `+entryCols+` FROM vol_entries e WHERE e.txn_id = $1 ORDER BY e.id`, in.TxnID)
	if err != nil {
		return Posted{}, err
	}
	if len(es) == 0 {
		return Posted{}, fault.NotFound(fault.M("找不到这笔账", "no such transaction"))
	}
	var div string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT division_code FROM vol_accounts WHERE id = $1`, es[0].AccountID).Scan(&div); err != nil {
		return Posted{}, err
	}
	p, err := mustManage(ctx, div)
	if err != nil {
		return Posted{}, fault.NotFound(fault.M("找不到这笔账", "no such transaction"))
	}
	switch es[0].Kind {
	case KindService, KindAward, KindTransfer:
	default:
		return Posted{}, fault.Conflict(fault.M("只能冲正服务时长、积分奖励和转赠", "only service, awards and transfers are reversed"))
	}
	legs := make([]leg, len(es))
	for i, e := range es {
		legs[i] = leg{e.AccountID, -e.Amount, e.Kind == KindService && e.Currency == Hours && strings.HasPrefix(e.AccountID, OwnerVolunteer+":")}
	}
	var out Posted
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		txn, err := s.post(ctx, tx, posting{kind: KindReversal, serviceDate: es[0].ServiceDate, ref: in.TxnID, reason: reason, key: "reverse:" + in.TxnID, by: p.Username, legs: legs})
		if errors.Is(err, errPosted) {
			return fault.Conflict(fault.M("这笔账已冲正过", "this transaction was reversed already"))
		}
		if err != nil {
			return err
		}
		out.TxnID = txn
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.reverse", Object: "txn", ObjectID: txn, Division: div,
			Detail: audit.Detail(map[string]any{"reverses": in.TxnID, "reason": reason})})
	})
	return out, err
}

const entryCols = `e.id, e.txn_id, e.account_id, e.currency, e.amount, e.kind, e.service_date, e.ref, e.reason, e.created_by, e.created_at`

func scanEntry(r db.Scanner) (Entry, error) {
	var e Entry
	var at db.Time
	err := r.Scan(&e.ID, &e.TxnID, &e.AccountID, &e.Currency, &e.Amount, &e.Kind, &e.ServiceDate, &e.Ref, &e.Reason, &e.CreatedBy, &at)
	e.CreatedAt = at.Time
	return e, err
}

// account reads an account the principal may see: their own, or one in
// a worker's jurisdiction.
func (s *Store) account(ctx context.Context, id string) (Account, error) {
	var a Account
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, currency, owner_kind, owner_id, division_code, balance, earned, may_go_negative FROM vol_accounts WHERE id = $1`, id).
		Scan(&a.ID, &a.Currency, &a.Owner, &a.OwnerID, &a.Division, &a.Balance, &a.Earned, &a.MayGoNegative)
	if errors.Is(err, sql.ErrNoRows) {
		return a, errNoAccount
	}
	if err != nil {
		return a, err
	}
	p := access.From(ctx)
	switch {
	case p == nil:
		return Account{}, errNoAccount
	case p.Role == access.Resident:
		me, err := s.Mine(ctx)
		if err != nil || a.Owner != OwnerVolunteer || a.OwnerID != me.ResidentID {
			return Account{}, errNoAccount
		}
	case !p.Role.Business() || !access.BusinessScope(p).Contains(a.Division):
		return Account{}, errNoAccount
	}
	if a.Currency == Hours {
		a.BalanceHours = hours(a.Balance)
		if a.Owner == OwnerVolunteer {
			levels, err := s.StarLevels(ctx)
			if err != nil {
				return a, err
			}
			a.Stars = starsFor(levels, a.Earned)
		}
	}
	return a, nil
}

// Account reads an account and its balance (one row).
func (s *Store) Account(ctx context.Context, id string) (Account, error) { return s.account(ctx, id) }

// Entries reads an account's entries, newest first, before the given id
// (0: from the newest).
func (s *Store) Entries(ctx context.Context, accountID string, beforeID int64, limit int) ([]Entry, error) {
	if _, err := s.account(ctx, accountID); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	q := `SELECT ` + entryCols + ` FROM vol_entries e WHERE e.account_id = $1`
	args := []any{accountID}
	if beforeID > 0 {
		q += ` AND e.id < $2`
		args = append(args, beforeID)
	}
	q += ` ORDER BY e.id DESC LIMIT ` + itoa(limit)
	return db.Collect(ctx, s.DB.R, scanEntry, q, args...)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Accounts lists accounts by id (keyset): the signed-in resident's own,
// or those of a worker's jurisdiction, with their balances.
func (s *Store) Accounts(ctx context.Context, after string, limit int) ([]Account, error) {
	p := access.From(ctx)
	if p == nil || !p.Role.Business() {
		return nil, errNoAccount
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	q := `SELECT id, currency, owner_kind, owner_id, division_code, balance, earned, may_go_negative FROM vol_accounts WHERE id > $1 AND `
	args := []any{after}
	if p.Role == access.Resident {
		me, err := s.Mine(ctx)
		if errors.Is(err, errNoVolunteer) {
			return []Account{}, nil
		}
		if err != nil {
			return nil, err
		}
		q += `id IN ($2, $3)`
		args = append(args, AccountID(OwnerVolunteer, me.ResidentID, Hours), AccountID(OwnerVolunteer, me.ResidentID, Points))
	} else {
		sc := access.BusinessScope(p)
		q += `division_code >= $2 AND division_code < $3`
		args = append(args, sc.Lo, sc.Hi)
	}
	q += ` ORDER BY id LIMIT ` + itoa(limit)
	levels, err := s.StarLevels(ctx)
	if err != nil {
		return nil, err
	}
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Account, error) {
		var a Account
		err := r.Scan(&a.ID, &a.Currency, &a.Owner, &a.OwnerID, &a.Division, &a.Balance, &a.Earned, &a.MayGoNegative)
		if a.Currency == Hours {
			a.BalanceHours = hours(a.Balance)
			if a.Owner == OwnerVolunteer {
				a.Stars = starsFor(levels, a.Earned)
			}
		}
		return a, err
	}, q, args...)
}
