package care

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/tabular"
)

// Settlement statuses: drafted by the provider or the county, checked by
// the community or township, approved by the county (the statement is
// issued with its hash), then paid.
const (
	SettleDraft    = "draft"
	SettleChecked  = "checked"
	SettleApproved = "approved"
	SettlePaid     = "paid"
)

var settleNames = map[string]fault.Msg{SettleDraft: fault.M("待核对", "To check"), SettleChecked: fault.M("已核对", "Checked"),
	SettleApproved: fault.M("已审批", "Approved"), SettlePaid: fault.M("已支付", "Paid")}

// Settlement is a payee's month: a provider's services confirmed in it
// and the meals of its canteens, or the meals of a community-run canteen
// (paid to its community); what they cost, the subsidy due from the
// county and the co-payments.
type Settlement struct {
	ID           string    `json:"id"`
	ProviderID   string    `json:"provider_id"` // "" for a community-run canteen's
	ProviderName string    `json:"provider_name"`
	CanteenID    string    `json:"canteen_id,omitempty"` // a community-run canteen's
	CanteenName  string    `json:"canteen_name,omitempty"`
	Community    string    `json:"community,omitempty"` // the canteen's community, the payee
	County       string    `json:"county"`
	Month        string    `json:"month"`
	Status       string    `json:"status"`
	Services     int       `json:"services"`
	Meals        int       `json:"meals"` // meals served at the provider's canteens
	AmountFen    int64     `json:"amount_fen"`
	SubsidyFen   int64     `json:"subsidy_fen"` // due from the county
	CopayFen     int64     `json:"copay_fen"`
	OpenDisputes int       `json:"open_disputes"`
	CheckedBy    string    `json:"checked_by,omitempty"`
	ApprovedBy   string    `json:"approved_by,omitempty"`
	PaidBy       string    `json:"paid_by,omitempty"`
	PaidRef      string    `json:"paid_ref,omitempty"`
	SHA256       string    `json:"sha256,omitempty"` // of the statement
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// StatusName is the status in words.
func (st Settlement) StatusName() fault.Msg { return settleNames[st.Status] }

// Payee is whom the settlement pays, in words.
func (st Settlement) Payee() string {
	if st.CanteenID != "" {
		return st.CanteenName + "（社区自办）"
	}
	return st.ProviderName
}

// SettlementInput drafts a provider's month, or a community-run canteen's
// (one of the two).
type SettlementInput struct {
	ProviderID string `json:"provider_id,omitempty"`
	CanteenID  string `json:"canteen_id,omitempty"`
	Month      string `json:"month"`
}

// PayInput marks a settlement paid.
type PayInput struct {
	Reference string `json:"reference"`
}

var errNoSettlement = fault.NotFound(fault.M("找不到该结算单，或您无权查看", "no such settlement, or not yours to see"))

const settleCols = `x.id, x.provider_id, COALESCE(pr.name, ''), x.canteen_id, COALESCE(c.name, ''), COALESCE(c.division_code, ''), x.county, x.month, x.status, x.services, x.meals, x.amount_fen, x.subsidy_fen, x.copay_fen, x.open_disputes,
	x.checked_by, x.approved_by, x.paid_by, x.paid_ref, x.sha256, x.created_by, x.created_at, x.updated_at`

func scanSettlement(r db.Scanner) (Settlement, error) {
	var st Settlement
	var c, u db.Time
	err := r.Scan(&st.ID, &st.ProviderID, &st.ProviderName, &st.CanteenID, &st.CanteenName, &st.Community, &st.County, &st.Month, &st.Status, &st.Services, &st.Meals, &st.AmountFen, &st.SubsidyFen, &st.CopayFen, &st.OpenDisputes,
		&st.CheckedBy, &st.ApprovedBy, &st.PaidBy, &st.PaidRef, &st.SHA256, &st.CreatedBy, &c, &u)
	st.CreatedAt, st.UpdatedAt = c.Time, u.Time
	return st, err
}

const settleFrom = ` FROM care_settlements x LEFT JOIN care_providers pr ON pr.id = x.provider_id LEFT JOIN care_canteens c ON c.id = x.canteen_id`

// settleVisible: a provider its own; workers and officers those of the
// providers and of the community-run canteens they may see.
func (s *Store) settleVisible(ctx context.Context, p *access.Principal, next int) (string, []any, error) {
	if p != nil && p.Role == access.Resident {
		return "1 = 0", nil, nil
	}
	cond, args, err := s.providerVisible(ctx, p, next)
	if err != nil {
		return "", nil, err
	}
	if p == nil || p.Role == access.Provider {
		return strings.ReplaceAll(cond, "x.", "pr."), args, nil
	}
	canteens, more, err := s.canteenVisible(ctx, p, next+len(args))
	if err != nil {
		return "", nil, err
	}
	return "(x.canteen_id = '' AND " + strings.ReplaceAll(cond, "x.", "pr.") + " OR x.canteen_id <> '' AND " + canteens + ")", append(args, more...), nil
}

// Settlements lists the settlements the principal may see, newest month
// first (at most 100; a month filter narrows).
func (s *Store) Settlements(ctx context.Context, m string) ([]Settlement, error) {
	cond, args, err := s.settleVisible(ctx, access.From(ctx), 1)
	if err != nil {
		return nil, err
	}
	if m != "" {
		if err := validMonth("month", m); err != nil {
			return nil, err
		}
		args = append(args, m)
		cond += " AND x.month = " + ph(len(args))
	}
	out, err := db.Collect(ctx, s.DB.R, scanSettlement, `SELECT `+settleCols+` `+settleFrom+` WHERE `+cond+` ORDER BY x.month DESC, COALESCE(pr.name, c.name), x.id LIMIT 100`, args...)
	if out == nil {
		out = []Settlement{}
	}
	return out, err
}

// Settlement reads one the principal may see.
func (s *Store) Settlement(ctx context.Context, id string) (Settlement, error) {
	return s.settlement(ctx, s.DB.R, id)
}

func (s *Store) settlement(ctx context.Context, q rowQuerier, id string) (Settlement, error) {
	cond, args, err := s.settleVisible(ctx, access.From(ctx), 2)
	if err != nil {
		return Settlement{}, err
	}
	st, err := scanSettlement(q.QueryRowContext(ctx, `SELECT `+settleCols+` `+settleFrom+` WHERE x.id = $1 AND `+cond, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return st, errNoSettlement
	}
	return st, err
}

// Draft settles a provider's month: every service confirmed in the month
// and not yet settled joins it, in one statement, and so does every meal
// served at the provider's canteens in the month; anything unconfirmed
// stays out. The provider's manager or a county officer drafts it, once
// the month has ended.
func (s *Store) Draft(ctx context.Context, in SettlementInput) (Settlement, error) {
	p := access.From(ctx)
	if err := validMonth("month", in.Month); err != nil {
		return Settlement{}, err
	}
	if in.Month >= month(s.Now()) {
		return Settlement{}, bad("month", "只能结算已结束的月份", "only a month that has ended can be settled")
	}
	if in.CanteenID != "" {
		if in.ProviderID != "" {
			return Settlement{}, bad("canteen_id", "结算单的收款方是服务机构或社区自办助餐点，二者选一", "a settlement pays a provider or a community-run canteen, not both")
		}
		return s.draftCanteen(ctx, in)
	}
	id := db.NewID()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var county, div string
		if err := tx.QueryRowContext(ctx, `SELECT county, division_code FROM care_providers WHERE id = $1`, in.ProviderID).Scan(&county, &div); errors.Is(err, sql.ErrNoRows) {
			return bad("provider_id", "找不到该服务机构", "no such provider")
		} else if err != nil {
			return err
		}
		allowed := countyOfficer(p, county)
		if !allowed && p != nil && p.Role == access.Provider {
			me, err := s.memberOf(ctx, p)
			if err != nil {
				return err
			}
			allowed = me.Manager && me.ProviderID == in.ProviderID
		}
		if !allowed {
			return fault.Forbidden(fault.M("只有本机构负责人或县级干部可以发起结算", "only the provider's manager or a county officer drafts a settlement"))
		}
		now := db.T(s.Now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_settlements (id, provider_id, canteen_id, county, month, status, services, amount_fen, subsidy_fen, copay_fen, open_disputes,
			checked_by, approved_by, paid_by, paid_ref, statement, sha256, created_by, created_at, updated_at) VALUES ($1,$2,'',$3,$4,$5,0,0,0,0,0,'','','','','','',$6,$7,$7)`,
			id, in.ProviderID, county, in.Month, SettleDraft, p.Username, now); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("该机构这个月已有结算单", "the provider's month already has a settlement"))
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE care_orders SET settlement_id = $1 WHERE provider_id = $2 AND month = $3 AND status = $4 AND settlement_id = ''`,
			id, in.ProviderID, in.Month, StatusConfirmed); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE care_meals SET settlement_id = $1 WHERE provider_id = $2 AND month = $3 AND settlement_id = ''`, id, in.ProviderID, in.Month); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE care_settlements SET
			services = (SELECT COUNT(*) FROM care_orders o WHERE o.settlement_id = $1),
			meals = (SELECT COUNT(*) FROM care_meals m WHERE m.settlement_id = $1),
			amount_fen = (SELECT COALESCE(SUM(amount_fen), 0) FROM care_orders o WHERE o.settlement_id = $1) + (SELECT COALESCE(SUM(amount_fen), 0) FROM care_meals m WHERE m.settlement_id = $1),
			subsidy_fen = (SELECT COALESCE(SUM(subsidy_fen), 0) FROM care_orders o WHERE o.settlement_id = $1) + (SELECT COALESCE(SUM(subsidy_fen), 0) FROM care_meals m WHERE m.settlement_id = $1),
			copay_fen = (SELECT COALESCE(SUM(copay_fen), 0) FROM care_orders o WHERE o.settlement_id = $1) + (SELECT COALESCE(SUM(copay_fen), 0) FROM care_meals m WHERE m.settlement_id = $1),
			open_disputes = (SELECT COUNT(*) FROM care_orders o WHERE o.provider_id = $2 AND o.status = $3)
			WHERE id = $1`, id, in.ProviderID, StatusDisputed); err != nil {
			return err
		}
		return s.record(ctx, tx, "care.settlement.draft", "care_settlement", id, div, in.Month)
	})
	if err != nil {
		return Settlement{}, err
	}
	return s.Settlement(ctx, id)
}

// draftCanteen settles a community-run canteen's month: every meal
// recorded there in the month joins it; the community (the village or
// residents' committee) is paid. The community's workers, who run the
// canteen, or a county officer draft it.
func (s *Store) draftCanteen(ctx context.Context, in SettlementInput) (Settlement, error) {
	p := access.From(ctx)
	id := db.NewID()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var county, div, provider string
		if err := tx.QueryRowContext(ctx, `SELECT county, division_code, provider_id FROM care_canteens WHERE id = $1`, in.CanteenID).Scan(&county, &div, &provider); errors.Is(err, sql.ErrNoRows) {
			return bad("canteen_id", "找不到该助餐点", "no such canteen")
		} else if err != nil {
			return err
		}
		if provider != "" {
			return bad("canteen_id", "机构运营的助餐点随该机构的月度结算一并结算", "a provider-run canteen's meals are settled with the provider's month")
		}
		if !countyOfficer(p, county) && !(p != nil && p.Role == access.CommunityWorker && access.Encloses(p.Division, div)) {
			return fault.Forbidden(fault.M("只有助餐点所在社区的工作者或县级干部可以发起结算", "only the canteen's community workers or a county officer draft its settlement"))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_settlements (id, provider_id, canteen_id, county, month, status, services, amount_fen, subsidy_fen, copay_fen, open_disputes,
			checked_by, approved_by, paid_by, paid_ref, statement, sha256, created_by, created_at, updated_at) VALUES ($1,'',$2,$3,$4,$5,0,0,0,0,0,'','','','','','',$6,$7,$7)`,
			id, in.CanteenID, county, in.Month, SettleDraft, p.Username, db.T(s.Now())); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("该助餐点这个月已有结算单", "the canteen's month already has a settlement"))
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE care_meals SET settlement_id = $1 WHERE canteen_id = $2 AND month = $3 AND settlement_id = ''`, id, in.CanteenID, in.Month); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE care_settlements SET
			meals = (SELECT COUNT(*) FROM care_meals m WHERE m.settlement_id = $1),
			amount_fen = (SELECT COALESCE(SUM(amount_fen), 0) FROM care_meals m WHERE m.settlement_id = $1),
			subsidy_fen = (SELECT COALESCE(SUM(subsidy_fen), 0) FROM care_meals m WHERE m.settlement_id = $1),
			copay_fen = (SELECT COALESCE(SUM(copay_fen), 0) FROM care_meals m WHERE m.settlement_id = $1)
			WHERE id = $1`, id); err != nil {
			return err
		}
		return s.record(ctx, tx, "care.settlement.draft", "care_settlement", id, div, in.Month)
	})
	if err != nil {
		return Settlement{}, err
	}
	return s.Settlement(ctx, id)
}

// MayCheck tells whether p checks the settlement: for a provider's, a
// community worker or a township officer where it serves; for a
// community-run canteen's, the township over the canteen — the community
// is the payee and does not check its own claim.
func MayCheck(p *access.Principal, st Settlement) bool {
	switch {
	case p == nil:
		return false
	case st.CanteenID != "":
		return p.Role == access.Officer && len(p.Division) == 9 && access.Encloses(p.Division, st.Community)
	}
	return p.Role == access.CommunityWorker || p.Role == access.Officer && len(p.Division) == 9
}

// Check is the community's or township's check of a draft (see MayCheck).
func (s *Store) Check(ctx context.Context, id string) (Settlement, error) {
	return s.settleStep(ctx, id, SettleDraft, SettleChecked, func(p *access.Principal, st Settlement) error {
		if st.CanteenID != "" && !MayCheck(p, st) {
			return fault.Forbidden(fault.M("社区自办助餐点的结算由助餐点所在街道（乡镇）核对", "the township over a community-run canteen checks its settlement"))
		}
		if !MayCheck(p, st) {
			return fault.Forbidden(fault.M("由社区或街道（乡镇）核对", "a community or township checks a settlement"))
		}
		return nil // settleVisible kept it to the providers serving there
	}, func(tx *sql.Tx, st *Settlement, by string) error {
		_, err := tx.ExecContext(ctx, `UPDATE care_settlements SET checked_by = $1 WHERE id = $2`, by, id)
		return err
	})
}

// Approve is the county's approval: the statement is written (xlsx) and
// its SHA-256 kept, so that the file paid against can be proved.
func (s *Store) Approve(ctx context.Context, id string) (Settlement, error) {
	return s.settleStep(ctx, id, SettleChecked, SettleApproved, func(p *access.Principal, st Settlement) error {
		if !countyOfficer(p, st.County) {
			return errOfficer
		}
		return nil
	}, func(tx *sql.Tx, st *Settlement, by string) error {
		st.ApprovedBy = by
		file, err := s.statement(ctx, tx, *st)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(file)
		_, err = tx.ExecContext(ctx, `UPDATE care_settlements SET approved_by = $1, statement = $2, sha256 = $3 WHERE id = $4`, by, base64.StdEncoding.EncodeToString(file), hex.EncodeToString(sum[:]), id)
		return err
	})
}

// Pay marks an approved settlement paid (county officers).
func (s *Store) Pay(ctx context.Context, id string, in PayInput) (Settlement, error) {
	in.Reference = strings.TrimSpace(in.Reference)
	if in.Reference == "" || len(in.Reference) > 100 {
		return Settlement{}, bad("reference", "请填写支付凭证号", "give the payment reference")
	}
	return s.settleStep(ctx, id, SettleApproved, SettlePaid, func(p *access.Principal, st Settlement) error {
		if !countyOfficer(p, st.County) {
			return errOfficer
		}
		return nil
	}, func(tx *sql.Tx, st *Settlement, by string) error {
		_, err := tx.ExecContext(ctx, `UPDATE care_settlements SET paid_by = $1, paid_ref = $2 WHERE id = $3`, by, in.Reference, id)
		return err
	})
}

func (s *Store) settleStep(ctx context.Context, id, from, to string, may func(*access.Principal, Settlement) error, act func(*sql.Tx, *Settlement, string) error) (Settlement, error) {
	p := access.From(ctx)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		st, err := s.settlement(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := may(p, st); err != nil {
			return err
		}
		if st.Status != from {
			return fault.Conflict(fault.M("结算单当前为「"+settleNames[st.Status].ZH+"」，不能这样操作", "the settlement is "+settleNames[st.Status].EN+"; this step does not apply"))
		}
		if err := act(tx, &st, p.Username); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE care_settlements SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4`, to, db.T(s.Now()), id, from)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fault.Conflict(fault.M("结算单刚被他人处理，请刷新", "the settlement was just changed; reload"))
		}
		return s.record(ctx, tx, "care.settlement."+to, "care_settlement", id, st.County, st.Month)
	})
	if err != nil {
		return Settlement{}, err
	}
	return s.Settlement(ctx, id)
}

func yuan(fen int64) float64 { return float64(fen) / 100 }

// statement writes the settlement's xlsx: one row per service (residents
// by surname only), then the totals.
func (s *Store) statement(ctx context.Context, q rowQuerier, st Settlement) ([]byte, error) {
	var buf bytes.Buffer
	payee := st.ProviderName
	if st.CanteenID != "" {
		payee = st.Community + " 村（居）民委员会 · " + st.CanteenName
	}
	w, err := tabular.New(&buf, "xlsx", tabular.Options{Sheet: "结算单 Statement", Stamp: [][]string{
		{"结算单 / Settlement", st.ID}, {"收款方 / Payee", payee}, {"审批人 / Approved by", st.ApprovedBy}, {"生成时间 / Written at", s.Now().In(cstZone()).Format("2006-01-02 15:04")}}})
	if err != nil {
		return nil, err
	}
	fail := func(err error) ([]byte, error) { w.Discard(); return nil, err }
	// One row per service under the header, then the totals: the
	// columns add up to the settlement's figures.
	if err := w.Values("订单 Order", "社区 Community", "居民 Resident", "项目 Item", "签到 Check-in", "签退 Check-out", "分钟 Minutes",
		"金额（元）Amount (yuan)", "补贴（元）Subsidy (yuan)", "自付（元）Co-payment (yuan)"); err != nil {
		return fail(err)
	}
	err = db.EachRow(ctx, q, func(r db.Scanner) error {
		var id, div, name, item string
		var cin, cout db.Time
		var minutes int
		var amount, subsidy, copay int64
		if err := r.Scan(&id, &div, &name, &item, &cin, &cout, &minutes, &amount, &subsidy, &copay); err != nil {
			return err
		}
		return w.Values(id, div, name+"**", item, cin.In(cstZone()).Format("2006-01-02 15:04"), cout.In(cstZone()).Format("2006-01-02 15:04"), minutes, yuan(amount), yuan(subsidy), yuan(copay))
	}, `SELECT o.id, o.division_code, o.surname, i.name_zh, o.checkin_at, o.checkout_at, o.minutes, o.amount_fen, o.subsidy_fen, o.copay_fen
		FROM care_orders o JOIN care_items i ON i.id = o.item_id WHERE o.settlement_id = $1 ORDER BY o.checkout_at, o.id`, st.ID)
	if err != nil {
		return fail(err)
	}
	// Then one row per meal of the provider's canteens.
	err = db.EachRow(ctx, q, func(r db.Scanner) error {
		var id, div, name, canteen, day, sitting string
		var amount, subsidy, copay int64
		if err := r.Scan(&id, &div, &name, &canteen, &day, &sitting, &amount, &subsidy, &copay); err != nil {
			return err
		}
		return w.Values(id, div, name+"**", "助餐 Meal · "+canteen, day, sittingNames[sitting].ZH, "", yuan(amount), yuan(subsidy), yuan(copay))
	}, `SELECT m.id, m.division_code, m.surname, c.name, m.served_on, m.sitting, m.amount_fen, m.subsidy_fen, m.copay_fen
		FROM care_meals m JOIN care_canteens c ON c.id = m.canteen_id WHERE m.settlement_id = $1 ORDER BY m.served_on, m.sitting DESC, m.id`, st.ID)
	if err != nil {
		return fail(err)
	}
	count := fmt.Sprintf("%d 次 services", st.Services)
	if st.Meals > 0 {
		count += fmt.Sprintf(", %d 餐 meals", st.Meals)
	}
	if err := w.Values("合计 Total", st.Month, st.Payee(), count, "", "", "", yuan(st.AmountFen), yuan(st.SubsidyFen), yuan(st.CopayFen)); err != nil {
		return fail(err)
	}
	if err := w.Values("未结异议 Open disputes", "", "", strconv.Itoa(st.OpenDisputes), "", "", "", "", "", ""); err != nil {
		return fail(err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Statement is the approved settlement's xlsx file and its SHA-256; the
// download is audited.
func (s *Store) Statement(ctx context.Context, id string) ([]byte, Settlement, error) {
	st, err := s.Settlement(ctx, id)
	if err != nil {
		return nil, st, err
	}
	if st.SHA256 == "" {
		return nil, st, fault.Conflict(fault.M("结算单审批后才有结算文件", "the statement is issued when the settlement is approved"))
	}
	var enc string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT statement FROM care_settlements WHERE id = $1`, id).Scan(&enc); err != nil {
		return nil, st, err
	}
	file, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, st, fmt.Errorf("statement of %s: %w", id, err)
	}
	return file, st, s.Audit.Record(ctx, auditEntry("care.settlement.statement", "care_settlement", id, st.County, st.SHA256))
}

// Unsettled are the confirmed services not yet in a settlement, by
// provider and month, that the principal may see: what a month's
// settlement will list when it is drafted.
func (s *Store) Unsettled(ctx context.Context) ([]Settlement, []Order, error) {
	cond, args, err := s.orderVisible(ctx, access.From(ctx), 3)
	if err != nil {
		return nil, nil, err
	}
	sums, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Settlement, error) {
		var st Settlement
		err := r.Scan(&st.ProviderID, &st.ProviderName, &st.County, &st.Month, &st.Services, &st.AmountFen, &st.SubsidyFen, &st.CopayFen)
		return st, err
	}, `SELECT o.provider_id, pr.name, pr.county, o.month, COUNT(*), SUM(o.amount_fen), SUM(o.subsidy_fen), SUM(o.copay_fen)
		FROM care_orders o JOIN care_providers pr ON pr.id = o.provider_id
		WHERE o.status = $1 AND o.settlement_id = $2 AND `+cond+` GROUP BY o.provider_id, pr.name, pr.county, o.month ORDER BY o.month DESC, pr.name LIMIT 50`,
		append([]any{StatusConfirmed, ""}, args...)...)
	if err != nil {
		return nil, nil, err
	}
	var lines []Order
	if p := access.From(ctx); p != nil && p.Role == access.Provider && len(sums) > 0 {
		lines, err = db.Collect(ctx, s.DB.R, scanOrder, `SELECT `+orderCols+orderFrom+` WHERE o.status = $1 AND o.settlement_id = $2 AND `+cond+` ORDER BY o.checkout_at DESC, o.id LIMIT 50`,
			append([]any{StatusConfirmed, ""}, args...)...)
	}
	return sums, lines, err
}
