package care

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
)

// Order statuses.
const (
	StatusOrdered   = "ordered"    // 待接单
	StatusAccepted  = "accepted"   // 已接单
	StatusAssigned  = "assigned"   // 已派人
	StatusInService = "in_service" // 服务中（已签到）
	StatusServed    = "served"     // 待确认（已签退）
	StatusConfirmed = "confirmed"  // 已确认
	StatusDisputed  = "disputed"   // 有异议（或未上门）
	StatusCancelled = "cancelled"  // 已作废
)

// DisputeHours is the clock of a dispute: the provider and the community
// answer within it.
const DisputeHours = 72

var statusNames = map[string]fault.Msg{
	StatusOrdered: fault.M("待接单", "Ordered"), StatusAccepted: fault.M("已接单", "Accepted"), StatusAssigned: fault.M("已派人", "Assigned"),
	StatusInService: fault.M("服务中", "In service"), StatusServed: fault.M("待确认", "To confirm"), StatusConfirmed: fault.M("已确认", "Confirmed"),
	StatusDisputed: fault.M("有异议", "Disputed"), StatusCancelled: fault.M("已作废", "Void"),
}

// Order is one service ordered for a resident.
type Order struct {
	ID           string    `json:"id"`
	Division     string    `json:"division"`
	ResidentID   string    `json:"resident_id"`
	Name         string    `json:"name"` // 张**
	ProviderID   string    `json:"provider_id"`
	ProviderName string    `json:"provider_name"`
	ItemID       string    `json:"item_id"`
	ItemName     string    `json:"item_name"`
	Unit         string    `json:"unit"`
	PriceFen     int64     `json:"price_fen"`
	Status       string    `json:"status"`
	WantedAt     string    `json:"wanted_at"`
	Note         string    `json:"note"`
	OrderedBy    string    `json:"ordered_by"`
	StaffID      string    `json:"staff_id,omitempty"`
	StaffName    string    `json:"staff_name,omitempty"`
	CheckinAt    time.Time `json:"checkin_at,omitzero"`
	CheckinLon   *float64  `json:"checkin_lon,omitempty"`
	CheckinLat   *float64  `json:"checkin_lat,omitempty"`
	CheckoutAt   time.Time `json:"checkout_at,omitzero"`
	Minutes      int       `json:"minutes"`
	Month        string    `json:"month"`
	AmountFen    int64     `json:"amount_fen"`
	SubsidyFen   int64     `json:"subsidy_fen"`
	CopayFen     int64     `json:"copay_fen"`
	Rating       int       `json:"rating"`
	RatingNote   string    `json:"rating_note"`
	DisputeNote  string    `json:"dispute_note"`
	DisputeDue   time.Time `json:"dispute_due,omitzero"`
	SettlementID string    `json:"settlement_id,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// StatusName is the status in words.
func (o Order) StatusName() fault.Msg { return statusNames[o.Status] }

// OrderInput orders an item: a resident for themself (ResidentID empty) or
// a worker on a resident's behalf.
type OrderInput struct {
	ResidentID string `json:"resident_id,omitempty"`
	ProviderID string `json:"provider_id"`
	ItemID     string `json:"item_id"`
	WantedAt   string `json:"wanted_at"` // 2026-11-30T09:00
	Note       string `json:"note,omitempty"`
}

// CheckInput is a check-in or check-out from the staff member's phone.
type CheckInput struct {
	Lon *float64 `json:"lon,omitempty"`
	Lat *float64 `json:"lat,omitempty"`
	// At is when the service ended (check-out only; default now), for a
	// phone that was offline at the door.
	At string `json:"at,omitempty"`
}

// RateInput rates a confirmed service.
type RateInput struct {
	Rating int    `json:"rating"`
	Note   string `json:"note,omitempty"`
}

// NoteInput is a reason (a dispute, a resolution).
type NoteInput struct {
	Note string `json:"note"`
	// Outcome of a resolution: "redo" (the service is done again) or
	// "void" (nothing is paid).
	Outcome string `json:"outcome,omitempty"`
}

var errNoOrder = fault.NotFound(fault.M("找不到该服务订单，或您无权查看", "no such order, or not yours to see"))

const orderCols = `o.id, o.division_code, o.resident_id, o.surname, o.provider_id, pr.name, o.item_id, i.name_zh, i.unit, i.price_fen, o.status, o.wanted_at, o.note, o.ordered_by,
	o.staff_id, COALESCE(st.surname, ''), o.checkin_at, o.checkin_lon, o.checkin_lat, o.checkout_at, o.minutes, o.month, o.amount_fen, o.subsidy_fen, o.copay_fen,
	o.rating, o.rating_note, o.dispute_note, o.dispute_due, o.settlement_id, o.created_at, o.updated_at`

const orderFrom = ` FROM care_orders o JOIN care_providers pr ON pr.id = o.provider_id JOIN care_items i ON i.id = o.item_id LEFT JOIN care_staff st ON st.id = o.staff_id`

func scanOrder(r db.Scanner) (Order, error) {
	var o Order
	var cin, cout, due, created, updated db.Time
	var lon, lat sql.NullFloat64
	err := r.Scan(&o.ID, &o.Division, &o.ResidentID, &o.Name, &o.ProviderID, &o.ProviderName, &o.ItemID, &o.ItemName, &o.Unit, &o.PriceFen, &o.Status, &o.WantedAt, &o.Note, &o.OrderedBy,
		&o.StaffID, &o.StaffName, &cin, &lon, &lat, &cout, &o.Minutes, &o.Month, &o.AmountFen, &o.SubsidyFen, &o.CopayFen,
		&o.Rating, &o.RatingNote, &o.DisputeNote, &due, &o.SettlementID, &created, &updated)
	o.CheckinAt, o.CheckoutAt, o.DisputeDue, o.CreatedAt, o.UpdatedAt = cin.Time, cout.Time, due.Time, created.Time, updated.Time
	if lon.Valid {
		o.CheckinLon, o.CheckinLat = &lon.Float64, &lat.Float64
	}
	o.Name += "**"
	if o.StaffName != "" && !strings.HasSuffix(o.StaffName, "**") && o.StaffName != "负责人" {
		o.StaffName += "**"
	}
	return o, err
}

// orderVisible restricts orders (alias o) to what p may see: a resident
// their household's; a provider's manager the provider's, its staff the
// ones assigned to them; a worker or officer those in their subtree.
func (s *Store) orderVisible(ctx context.Context, p *access.Principal, next int) (string, []any, error) {
	switch {
	case p == nil || !p.Role.Business():
		return "1 = 0", nil, nil
	case p.Role == access.Resident:
		r, err := s.residentOf(ctx, p)
		if err != nil {
			return "", nil, err
		}
		return "o.household_id = " + ph(next), []any{r.Household}, nil
	case p.Role == access.Provider:
		me, err := s.memberOf(ctx, p)
		if err != nil {
			return "", nil, err
		}
		if me.Manager {
			return "o.provider_id = " + ph(next), []any{me.ProviderID}, nil
		}
		return "o.provider_id = " + ph(next) + " AND o.staff_id = " + ph(next+1), []any{me.ProviderID, me.ID}, nil
	default:
		sc := access.Subtree(p.Division)
		return "o.division_code >= " + ph(next) + " AND o.division_code < " + ph(next+1), []any{sc.Lo, sc.Hi}, nil
	}
}

// Order reads one order the principal may see.
func (s *Store) Order(ctx context.Context, id string) (Order, error) {
	return s.order(ctx, s.DB.R, id)
}

func (s *Store) order(ctx context.Context, q rowQuerier, id string) (Order, error) {
	cond, args, err := s.orderVisible(ctx, access.From(ctx), 2)
	if err != nil {
		return Order{}, err
	}
	o, err := scanOrder(q.QueryRowContext(ctx, `SELECT `+orderCols+orderFrom+` WHERE o.id = $1 AND `+cond, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return o, errNoOrder
	}
	return o, err
}

// OrderFilter narrows the order list.
type OrderFilter struct {
	Status string
	// Before pages: the created time and id of the last row shown.
	BeforeAt time.Time
	BeforeID string
	Limit    int
}

// Orders lists the orders the principal may see, newest first.
func (s *Store) Orders(ctx context.Context, f OrderFilter) ([]Order, error) {
	q, args, err := s.ordersQuery(ctx, &f)
	if err != nil {
		return nil, err
	}
	os, err := db.Collect(ctx, s.DB.R, scanOrder, q, args...)
	if os == nil {
		os = []Order{}
	}
	return os, err
}

// ordersQuery is the list's statement: by (created_at, id) after the
// principal's restriction, so that each role reads its own index.
func (s *Store) ordersQuery(ctx context.Context, f *OrderFilter) (string, []any, error) {
	cond, args, err := s.orderVisible(ctx, access.From(ctx), 1)
	if err != nil {
		return "", nil, err
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 20
	}
	if f.Status != "" {
		if statusNames[f.Status] == (fault.Msg{}) {
			return "", nil, bad("status", "状态无效", "unknown status")
		}
		args = append(args, f.Status)
		cond += " AND o.status = " + ph(len(args))
	}
	if !f.BeforeAt.IsZero() {
		args = append(args, db.T(f.BeforeAt), f.BeforeID)
		cond += " AND (o.created_at < " + ph(len(args)-1) + " OR o.created_at = " + ph(len(args)-1) + " AND o.id < " + ph(len(args)) + ")"
	}
	// The page's ids are picked from the index alone, then joined: an
	// officer's area may hold a county's orders.
	return `SELECT ` + orderCols + orderFrom + ` WHERE o.id IN (SELECT o.id FROM care_orders o WHERE ` + cond + ` ORDER BY o.created_at DESC, o.id DESC LIMIT ` + itoa(f.Limit) +
		`) ORDER BY o.created_at DESC, o.id DESC`, args, nil
}

// PlaceOrder orders an item from a provider that serves the resident's
// community and delivers the item there under a contract in force.
func (s *Store) PlaceOrder(ctx context.Context, in OrderInput) (Order, error) {
	p := access.From(ctx)
	in.Note = strings.TrimSpace(in.Note)
	if len(in.Note) > 500 {
		return Order{}, bad("note", "备注不超过 500 字节", "the note is at most 500 bytes")
	}
	wanted, err := time.ParseInLocation("2006-01-02T15:04", in.WantedAt, cstZone())
	if err != nil {
		return Order{}, bad("wanted_at", "请填写上门时间，如 2026-11-30T09:00", "give the visit time, like 2026-11-30T09:00")
	}
	res, err := s.beneficiary(ctx, p, in.ResidentID,
		fault.M("只能为本户家人下单", "you may order for your own household only"),
		fault.M("居民本人、家人或社区工作人员才能下单", "only the resident, the family or a community worker may order"))
	if err != nil {
		return Order{}, err
	}
	now := s.Now()
	today := now.In(cstZone()).Format("2006-01-02")
	o := Order{ID: db.NewID(), Division: res.Division, ResidentID: res.ID, Name: res.Surname, ProviderID: in.ProviderID, ItemID: in.ItemID, Status: StatusOrdered,
		WantedAt: wanted.Format("2006-01-02T15:04"), Note: in.Note, OrderedBy: p.Username, CreatedAt: now, UpdatedAt: now}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var from, to string
		err := tx.QueryRowContext(ctx, `SELECT pr.contract_from, pr.contract_to FROM care_providers pr JOIN care_provider_areas a ON a.provider_id = pr.id AND a.community = $2 WHERE pr.id = $1`,
			in.ProviderID, res.Division).Scan(&from, &to)
		if errors.Is(err, sql.ErrNoRows) {
			return bad("provider_id", "该服务机构不服务您所在的社区", "the provider does not serve the resident's community")
		} else if err != nil {
			return err
		}
		if today < from || today > to {
			return bad("provider_id", "该服务机构的合同不在有效期内", "the provider's contract is not in force")
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM care_provider_items WHERE provider_id = $1 AND item_id = $2`, in.ProviderID, in.ItemID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return bad("item_id", "该服务机构在此不提供这个项目", "the provider does not deliver this item there")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_orders (id, division_code, resident_id, household_id, surname, provider_id, item_id, status, wanted_at, note, ordered_by, staff_id,
			minutes, month, amount_fen, subsidy_fen, copay_fen, rating, rating_note, dispute_note, settlement_id, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,'',0,'',0,0,0,0,'','','',$12,$12)`,
			o.ID, o.Division, o.ResidentID, res.Household, res.Surname, o.ProviderID, o.ItemID, o.Status, o.WantedAt, o.Note, o.OrderedBy, db.T(now)); err != nil {
			return err
		}
		if err := s.event(ctx, tx, o.ID, "", StatusOrdered, ""); err != nil {
			return err
		}
		return s.record(ctx, tx, "care.order.create", "care_order", o.ID, o.Division, in.ItemID)
	})
	if err != nil {
		return Order{}, err
	}
	s.notifyProvider(ctx, o.ProviderID, o.ID, "ordered", fault.M("新的居家服务订单", "A new home-care order"))
	return s.Order(ctx, o.ID)
}

func cstZone() *time.Location { return time.FixedZone("CST", 8*3600) }

func (s *Store) event(ctx context.Context, tx *sql.Tx, order, from, to, note string) error {
	by := ""
	if p := access.From(ctx); p != nil {
		by = p.Username
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO care_order_events (id, order_id, from_status, to_status, note, by_user, at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		db.NewID(), order, from, to, note, by, db.T(s.Now()))
	return err
}

// notifyProvider tells the provider's managers of an order's event; a
// failed notice is logged, never the order's failure.
func (s *Store) notifyProvider(ctx context.Context, providerID, orderID, event string, title fault.Msg) {
	if s.Notices == nil {
		return
	}
	users, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT u.id FROM care_staff st JOIN users u ON u.username = st.username WHERE st.provider_id = $1 AND st.manager`, providerID)
	for _, u := range users {
		if err == nil {
			err = s.Notices.Notify(ctx, module.Notice{UserID: u, Kind: "care." + event, Key: "care." + event + "." + orderID, Title: title, Href: "/care/orders/" + orderID})
		}
	}
	if err != nil && s.Log != nil {
		s.Log.Warn("care notice", "err", err.Error())
	}
}

// step moves an order the principal may act on from one of the given
// statuses, in one transaction: act checks and writes the rest.
func (s *Store) step(ctx context.Context, id string, from []string, to string, may func(p *access.Principal, o Order) error, act func(tx *sql.Tx, o *Order) error) (Order, error) {
	p := access.From(ctx)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		o, err := s.order(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := may(p, o); err != nil {
			return err
		}
		ok := false
		for _, f := range from {
			ok = ok || o.Status == f
		}
		if !ok {
			return fault.Conflict(fault.M("订单当前状态为「"+statusNames[o.Status].ZH+"」，不能这样操作", "the order is "+statusNames[o.Status].EN+"; this step does not apply"))
		}
		prev := o.Status
		if act != nil {
			if err := act(tx, &o); err != nil {
				return err
			}
		}
		// The status guard makes a repeated or concurrent step a conflict:
		// only one of two confirmations moves the order and draws the quota.
		res, err := tx.ExecContext(ctx, `UPDATE care_orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4`, to, db.T(s.Now()), id, prev)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fault.Conflict(fault.M("订单刚被他人处理，请刷新", "the order was just changed; reload"))
		}
		if err := s.event(ctx, tx, id, prev, to, o.DisputeNote); err != nil {
			return err
		}
		return s.record(ctx, tx, "care.order."+to, "care_order", id, o.Division, prev+" → "+to)
	})
	if err != nil {
		return Order{}, err
	}
	return s.Order(ctx, id)
}

func (s *Store) providerManager(ctx context.Context) func(p *access.Principal, o Order) error {
	return func(p *access.Principal, o Order) error {
		if p == nil || p.Role != access.Provider {
			return fault.Forbidden(fault.M("只有服务机构可以接单派人", "only the provider accepts and assigns"))
		}
		me, err := s.memberOf(ctx, p)
		if err != nil {
			return err
		}
		if !me.Manager || me.ProviderID != o.ProviderID {
			return fault.Forbidden(fault.M("只有本机构负责人可以接单派人", "only the provider's manager accepts and assigns"))
		}
		return nil
	}
}

// Accept takes an order (the provider's manager).
func (s *Store) Accept(ctx context.Context, id string) (Order, error) {
	return s.step(ctx, id, []string{StatusOrdered}, StatusAccepted, s.providerManager(ctx), nil)
}

// Assign sends one of the provider's staff (again, after a resolved
// dispute that is to be redone).
func (s *Store) Assign(ctx context.Context, id, staffID string) (Order, error) {
	return s.step(ctx, id, []string{StatusAccepted, StatusAssigned}, StatusAssigned, s.providerManager(ctx), func(tx *sql.Tx, o *Order) error {
		var provider string
		if err := tx.QueryRowContext(ctx, `SELECT provider_id FROM care_staff WHERE id = $1`, staffID).Scan(&provider); errors.Is(err, sql.ErrNoRows) || (err == nil && provider != o.ProviderID) {
			return bad("staff_id", "请选择本机构的服务人员", "choose a member of the provider's staff")
		} else if err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE care_orders SET staff_id = $1 WHERE id = $2`, staffID, id)
		return err
	})
}

func (s *Store) assignedStaff(ctx context.Context) func(p *access.Principal, o Order) error {
	return func(p *access.Principal, o Order) error {
		if p == nil || p.Role != access.Provider {
			return fault.Forbidden(fault.M("只有派出的服务人员可以签到签退", "only the staff member sent checks in and out"))
		}
		me, err := s.memberOf(ctx, p)
		if err != nil {
			return err
		}
		if me.ID != o.StaffID {
			return fault.Forbidden(fault.M("只有派出的服务人员可以签到签退", "only the staff member sent checks in and out"))
		}
		return nil
	}
}

// distanceMeters is the great-circle distance between two points.
func distanceMeters(lon1, lat1, lon2, lat2 float64) float64 {
	const r = 6371000.0
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

// CheckIn records the staff member's arrival. A point given must lie
// within CheckinMeters of the resident's community: of the nearest place
// the registry knows there (a community without known places is not
// checked).
func (s *Store) CheckIn(ctx context.Context, id string, in CheckInput) (Order, error) {
	if (in.Lon == nil) != (in.Lat == nil) {
		return Order{}, bad("lat", "经纬度须同时填写", "give both longitude and latitude")
	}
	if in.Lon != nil && (*in.Lon < 73 || *in.Lon > 136 || *in.Lat < 3 || *in.Lat > 54) {
		return Order{}, bad("lon", "经纬度不在中国境内", "the point is not in China")
	}
	return s.step(ctx, id, []string{StatusAssigned}, StatusInService, s.assignedStaff(ctx), func(tx *sql.Tx, o *Order) error {
		var lon, lat any
		if in.Lon != nil {
			lon, lat = *in.Lon, *in.Lat
			if s.CheckinMeters > 0 {
				pts, err := db.Collect(ctx, tx, func(r db.Scanner) ([2]float64, error) {
					var p [2]float64
					return p, r.Scan(&p[0], &p[1])
				}, `SELECT lon, lat FROM registry_places WHERE division_code = $1 LIMIT 200`, o.Division)
				if err != nil {
					return err
				}
				nearest := math.Inf(1)
				for _, pt := range pts {
					nearest = min(nearest, distanceMeters(*in.Lon, *in.Lat, pt[0], pt[1]))
				}
				if len(pts) > 0 && nearest > s.CheckinMeters {
					return bad("lon", fmt.Sprintf("签到位置距居民所在社区约 %.1f 公里，超出允许的 %.1f 公里", nearest/1000, s.CheckinMeters/1000),
						fmt.Sprintf("the check-in is about %.1f km from the resident's community, beyond the %.1f km allowed", nearest/1000, s.CheckinMeters/1000))
				}
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE care_orders SET checkin_at = $1, checkin_lon = $2, checkin_lat = $3 WHERE id = $4`, db.T(s.Now()), lon, lat, id)
		return err
	})
}

// amountOf is what a service costs: an hour's price by the minute
// (rounded to the fen), or the price of a visit or a meal.
func amountOf(unit string, priceFen int64, minutes int) int64 {
	if unit == UnitHour {
		return (priceFen*int64(minutes) + 30) / 60
	}
	return priceFen
}

// CheckOut records the end of the service (now, or the time given): not
// before the check-in, and not longer than the item allows.
func (s *Store) CheckOut(ctx context.Context, id string, in CheckInput) (Order, error) {
	end := s.Now()
	if in.At != "" {
		t, err := time.Parse(time.RFC3339, in.At)
		if err != nil {
			if t, err = time.ParseInLocation("2006-01-02T15:04", in.At, cstZone()); err != nil {
				return Order{}, bad("at", "签退时间格式应为 2026-11-30T10:30", "the check-out time must look like 2026-11-30T10:30")
			}
		}
		if t.After(end) {
			return Order{}, bad("at", "签退时间不能晚于现在", "the check-out time cannot be in the future")
		}
		end = t
	}
	o, err := s.Order(ctx, id)
	if err != nil {
		return Order{}, err
	}
	if o.Status == StatusAssigned || o.Status == StatusAccepted || o.Status == StatusOrdered {
		return Order{}, fault.Conflict(fault.M("尚未签到，不能签退", "not checked in: cannot check out"))
	}
	return s.step(ctx, id, []string{StatusInService}, StatusServed, s.assignedStaff(ctx), func(tx *sql.Tx, o *Order) error {
		if end.Before(o.CheckinAt) {
			return bad("at", "签退时间早于签到时间", "the check-out is before the check-in")
		}
		minutes := int(math.Ceil(end.Sub(o.CheckinAt).Minutes()))
		it, err := s.item(ctx, tx, o.ItemID)
		if err != nil {
			return err
		}
		if minutes > it.MaxMinutes {
			return bad("at", fmt.Sprintf("服务时长 %d 分钟，超过该项目允许的 %d 分钟", minutes, it.MaxMinutes),
				fmt.Sprintf("the service took %d minutes, longer than the %d the item allows", minutes, it.MaxMinutes))
		}
		if minutes < 1 {
			minutes = 1
		}
		amount := amountOf(it.Unit, it.PriceFen, minutes)
		_, err = tx.ExecContext(ctx, `UPDATE care_orders SET checkout_at = $1, minutes = $2, month = $3, amount_fen = $4, copay_fen = $4 WHERE id = $5`,
			db.T(end), minutes, month(end), amount, id)
		return err
	})
}

func (s *Store) householdMember(ctx context.Context, what fault.Msg) func(p *access.Principal, o Order) error {
	return func(p *access.Principal, o Order) error {
		if p == nil || p.Role != access.Resident {
			return fault.Forbidden(what)
		}
		return nil // orderVisible has kept the order to the resident's household
	}
}

// Confirm is the resident's (or the family's) confirmation of a service:
// the subsidy is drawn from the quota of the service's month, up to what
// is left, and the rest is the co-payment. The status guard in step
// makes it happen once.
func (s *Store) Confirm(ctx context.Context, id string) (Order, error) {
	return s.step(ctx, id, []string{StatusServed}, StatusConfirmed, s.householdMember(ctx, fault.M("只有居民本人或家人可以确认服务", "only the resident or the family confirms a service")),
		func(tx *sql.Tx, o *Order) error {
			var left int64
			err := tx.QueryRowContext(ctx, `SELECT granted_fen - used_fen - expired_fen FROM care_quota WHERE resident_id = $1 AND month = $2`, o.ResidentID, o.Month).Scan(&left)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			subsidy := min(max(left, 0), o.AmountFen)
			if subsidy > 0 {
				res, err := tx.ExecContext(ctx, `UPDATE care_quota SET used_fen = used_fen + $1 WHERE resident_id = $2 AND month = $3 AND granted_fen - used_fen - expired_fen >= $1`,
					subsidy, o.ResidentID, o.Month)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n != 1 {
					return fault.Conflict(fault.M("补贴额度刚被使用，请重试", "the quota was just used; try again"))
				}
			}
			_, err = tx.ExecContext(ctx, `UPDATE care_orders SET subsidy_fen = $1, copay_fen = $2 WHERE id = $3`, subsidy, o.AmountFen-subsidy, id)
			return err
		})
}

// Rate records the resident's rating of a confirmed service, once.
func (s *Store) Rate(ctx context.Context, id string, in RateInput) (Order, error) {
	if in.Rating < 1 || in.Rating > 5 {
		return Order{}, bad("rating", "评分应为 1–5 星", "the rating must be 1–5 stars")
	}
	in.Note = strings.TrimSpace(in.Note)
	if len(in.Note) > 500 {
		return Order{}, bad("note", "评价不超过 500 字节", "the note is at most 500 bytes")
	}
	p := access.From(ctx)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		o, err := s.order(ctx, tx, id)
		if err != nil {
			return err
		}
		if p.Role != access.Resident {
			return fault.Forbidden(fault.M("只有居民本人或家人可以评价", "only the resident or the family rates a service"))
		}
		if o.Status != StatusConfirmed || o.Rating != 0 {
			return fault.Conflict(fault.M("只能对已确认且未评价的服务评价一次", "only a confirmed service not yet rated can be rated, once"))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE care_orders SET rating = $1, rating_note = $2, updated_at = $3 WHERE id = $4 AND rating = 0`, in.Rating, in.Note, db.T(s.Now()), id); err != nil {
			return err
		}
		return s.record(ctx, tx, "care.order.rate", "care_order", id, o.Division, itoa(in.Rating))
	})
	if err != nil {
		return Order{}, err
	}
	return s.Order(ctx, id)
}

// Dispute reports a service not done, or done badly: by the resident or
// the family, or by a community worker. It goes to the provider and the
// community, due within DisputeHours.
func (s *Store) Dispute(ctx context.Context, id string, in NoteInput) (Order, error) {
	in.Note = strings.TrimSpace(in.Note)
	if in.Note == "" || len(in.Note) > 500 {
		return Order{}, bad("note", "请写明异议（不超过 500 字节）", "say what is wrong (at most 500 bytes)")
	}
	may := func(p *access.Principal, o Order) error {
		if p == nil || (p.Role != access.Resident && p.Role != access.CommunityWorker && p.Role != access.GridWorker) {
			return fault.Forbidden(fault.M("只有居民、家人或社区工作人员可以提出异议", "only the resident, the family or a community worker disputes a service"))
		}
		return nil
	}
	o, err := s.step(ctx, id, []string{StatusAssigned, StatusInService, StatusServed}, StatusDisputed, may, func(tx *sql.Tx, o *Order) error {
		o.DisputeNote = in.Note
		_, err := tx.ExecContext(ctx, `UPDATE care_orders SET dispute_note = $1, dispute_due = $2 WHERE id = $3`, in.Note, db.T(s.Now().Add(DisputeHours*time.Hour)), id)
		return err
	})
	if err == nil {
		s.notifyProvider(ctx, o.ProviderID, o.ID, "disputed", fault.M("居家服务订单有异议", "A home-care order is disputed"))
	}
	return o, err
}

// Resolve closes a dispute (the provider's manager or a community worker):
// "redo" sends the order back to be done again, "void" cancels it.
func (s *Store) Resolve(ctx context.Context, id string, in NoteInput) (Order, error) {
	to := map[string]string{"redo": StatusAccepted, "void": StatusCancelled}[in.Outcome]
	if to == "" {
		return Order{}, bad("outcome", "处理结果应为 redo（重新服务）或 void（作废）", "the outcome must be redo or void")
	}
	in.Note = strings.TrimSpace(in.Note)
	if len(in.Note) > 500 {
		return Order{}, bad("note", "说明不超过 500 字节", "the note is at most 500 bytes")
	}
	may := func(p *access.Principal, o Order) error {
		if p != nil && p.Role == access.CommunityWorker {
			return nil
		}
		return s.providerManager(ctx)(p, o)
	}
	return s.step(ctx, id, []string{StatusDisputed}, to, may, func(tx *sql.Tx, o *Order) error {
		o.DisputeNote = strings.TrimSpace(o.DisputeNote + " / " + in.Outcome + ": " + in.Note)
		_, err := tx.ExecContext(ctx, `UPDATE care_orders SET dispute_note = $1, dispute_due = NULL, staff_id = CASE WHEN $2 = 'redo' THEN '' ELSE staff_id END,
			checkin_at = NULL, checkout_at = NULL, minutes = 0, amount_fen = 0, copay_fen = 0 WHERE id = $3`, o.DisputeNote, in.Outcome, id)
		return err
	})
}

// beneficiary is whom an order or an enrolment is for: the signed-in
// resident or a member of their household, or a resident of a worker's
// area. ownOnly and forbidden word the refusals for the act at hand.
func (s *Store) beneficiary(ctx context.Context, p *access.Principal, residentID string, ownOnly, forbidden fault.Msg) (Resident, error) {
	var res Resident
	switch {
	case p == nil:
		return res, errNotLinked
	case p.Role == access.Resident:
		res, err := s.residentOf(ctx, p)
		if err != nil {
			return res, err
		}
		if residentID != "" && residentID != res.ID {
			var hh string
			if err := s.DB.R.QueryRowContext(ctx, `SELECT household_id, division_code, surname, birth_date FROM registry_people WHERE id = $1`, residentID).Scan(&hh, &res.Division, &res.Surname, &res.Birth); err != nil || hh != res.Household {
				return Resident{}, fault.Invalid(fault.M("输入有误", "invalid input"), fault.Field("resident_id", ownOnly))
			}
			res.ID = residentID
		}
		return res, nil
	case p.Role == access.GridWorker || p.Role == access.CommunityWorker:
		sc := access.Subtree(p.Division)
		err := s.DB.R.QueryRowContext(ctx, `SELECT id, household_id, division_code, surname, birth_date FROM registry_people WHERE id = $1 AND division_code >= $2 AND division_code < $3`,
			residentID, sc.Lo, sc.Hi).Scan(&res.ID, &res.Household, &res.Division, &res.Surname, &res.Birth)
		if errors.Is(err, sql.ErrNoRows) {
			return res, bad("resident_id", "辖区内没有这位居民", "no such resident in your area")
		}
		return res, err
	}
	return res, fault.Forbidden(forbidden)
}
