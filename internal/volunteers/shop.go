package volunteers

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Item is one thing in a community's points shop (爱心超市).
type Item struct {
	ID       string `json:"id"`
	Division string `json:"division"`
	Name     string `json:"name"`
	Points   int64  `json:"points"`
	Stock    int    `json:"stock"`
}

// ItemInput adds an item to the shop, or restocks one of the same name.
type ItemInput struct {
	Division string `json:"division"`
	Name     string `json:"name"`
	Points   int64  `json:"points"`
	Stock    int    `json:"stock"`
}

var errNoItem = fault.NotFound(fault.M("找不到这件商品", "no such item"))

// AddItem puts an item in the shop of a division the worker manages.
func (s *Store) AddItem(ctx context.Context, in ItemInput) (Item, error) {
	p := access.From(ctx)
	if in.Division == "" && p != nil {
		in.Division = p.Division
	}
	if _, err := mustManage(ctx, in.Division); err != nil {
		return Item{}, err
	}
	var fields []fault.FieldError
	name := strings.TrimSpace(in.Name)
	if name == "" || len([]rune(name)) > 100 {
		fields = append(fields, fault.Field("name", fault.M("请填写商品名称（100 字以内）", "give the item's name (at most 100 characters)")))
	}
	if in.Points < 1 || in.Points > 100000 {
		fields = append(fields, fault.Field("points", fault.M("所需积分应为 1–100000", "points must be 1–100000")))
	}
	if in.Stock < 0 || in.Stock > 100000 {
		fields = append(fields, fault.Field("stock", fault.M("库存应为 0–100000", "stock must be 0–100000")))
	}
	if len(fields) > 0 {
		return Item{}, fault.Invalid(fault.M("商品信息有误", "the item has errors"), fields...)
	}
	it := Item{ID: db.NewID(), Division: in.Division, Name: name, Points: in.Points, Stock: in.Stock}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vol_shop_items (id, division_code, name, points, stock, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
			it.ID, it.Division, it.Name, it.Points, it.Stock, db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.shop.add", Object: "item", ObjectID: it.ID, Division: it.Division,
			Detail: audit.Detail(map[string]any{"name": name, "points": in.Points, "stock": in.Stock})})
	})
	return it, err
}

// Items lists a shop's catalogue by name (keyset on name and id): the
// shop of the signed-in resident's community, or of a worker's division.
func (s *Store) Items(ctx context.Context, division, afterName, afterID string, limit int) ([]Item, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	p := access.From(ctx)
	if p == nil || !p.Role.Business() {
		return nil, fault.Forbidden(fault.M("请先登录", "sign in first"))
	}
	if p.Role == access.Resident {
		me, err := s.Mine(ctx)
		if err != nil {
			return nil, err
		}
		division = me.Division
	} else if division == "" {
		division = p.Division
	} else if !access.BusinessScope(p).Contains(division) {
		return nil, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("division", fault.M("不在您的辖区内", "outside your jurisdiction")))
	}
	sc := access.Subtree(division)
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Item, error) {
		var it Item
		return it, r.Scan(&it.ID, &it.Division, &it.Name, &it.Points, &it.Stock)
	}, `SELECT id, division_code, name, points, stock FROM vol_shop_items WHERE division_code >= $1 AND division_code < $2 AND (name > $3 OR name = $3 AND id > $4)
		ORDER BY name, id LIMIT `+itoa(limit), sc.Lo, sc.Hi, afterName, afterID)
}

// Redemption is an item taken for points.
type Redemption struct {
	ID         string    `json:"id"`
	ItemID     string    `json:"item_id"`
	Item       string    `json:"item"`
	ResidentID string    `json:"resident_id"`
	Points     int64     `json:"points"`
	TxnID      string    `json:"txn_id"`
	At         time.Time `json:"at"`
}

// RedeemInput takes an item: the signed-in volunteer, or a worker for a
// volunteer standing at the counter.
type RedeemInput struct {
	ItemID     string `json:"item_id"`
	ResidentID string `json:"resident_id,omitempty"`
}

// Redeem takes one of an item for its points. The stock is taken by a
// conditional update, so of two redemptions of the last one at once, one
// wins and the other is told it is gone; a redemption beyond the balance
// is refused by the ledger, and neither leaves anything written.
func (s *Store) Redeem(ctx context.Context, in RedeemInput) (Redemption, error) {
	p := access.From(ctx)
	var v Volunteer
	var err error
	if p != nil && p.Role == access.Resident {
		v, err = s.Mine(ctx)
	} else {
		v, err = s.volunteer(ctx, s.DB.R, in.ResidentID)
		if err == nil && !manager(p, v.Division) {
			err = errNoVolunteer
		}
	}
	if err != nil {
		return Redemption{}, err
	}
	var it Item
	err = s.DB.R.QueryRowContext(ctx, `SELECT id, division_code, name, points, stock FROM vol_shop_items WHERE id = $1`, in.ItemID).Scan(&it.ID, &it.Division, &it.Name, &it.Points, &it.Stock)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !access.Subtree(it.Division).Contains(v.Division) && !access.Subtree(v.Division).Contains(it.Division) {
		return Redemption{}, errNoItem
	}
	if err != nil {
		return Redemption{}, err
	}
	red := Redemption{ID: db.NewID(), ItemID: it.ID, Item: it.Name, ResidentID: v.ResidentID, Points: it.Points, At: s.Now()}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE vol_shop_items SET stock = stock - 1 WHERE id = $1 AND stock > 0`, it.ID)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fault.New(fault.CodeConflict, fault.M("这件商品已兑完", "this item is out of stock"), fault.Field("item_id", fault.M("库存为 0", "none left")))
		}
		vp, err := ensureAccount(ctx, tx, OwnerVolunteer, v.ResidentID, Points, v.Division, s.Now())
		if err != nil {
			return err
		}
		sp, err := ensureAccount(ctx, tx, OwnerShop, it.Division, Points, it.Division, s.Now())
		if err != nil {
			return err
		}
		red.TxnID, err = s.post(ctx, tx, posting{kind: KindRedeem, ref: red.ID, reason: it.Name, by: p.Username, legs: []leg{{vp, -it.Points, false}, {sp, it.Points, false}}})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO vol_redemptions (id, item_id, resident_id, division_code, points, txn_id, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
			red.ID, it.ID, v.ResidentID, v.Division, it.Points, red.TxnID, p.Username, db.T(red.At)); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.redeem", Object: "item", ObjectID: it.ID, Division: v.Division,
			Detail: audit.Detail(map[string]any{"resident": v.ResidentID, "points": it.Points, "txn": red.TxnID})})
	})
	return red, err
}

// Certificate is a certificate of service hours as issued: the figures of
// the day it was issued, checkable by its code.
type Certificate struct {
	Code     string    `json:"id"`     // the verification code
	Holder   string    `json:"holder"` // masked
	Division string    `json:"division"`
	Place    string    `json:"place,omitempty"`
	Hours    float64   `json:"hours"`
	Stars    int       `json:"stars"`
	IssuedAt time.Time `json:"issued_at"`
}

// codeAlphabet leaves out letters read as digits (I, O) and vice versa.
const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func newCode() string {
	var b [12]byte
	rand.Read(b[:])
	out := make([]byte, 0, 14)
	for i, c := range b {
		if i == 4 || i == 8 {
			out = append(out, '-')
		}
		out = append(out, codeAlphabet[int(c)%len(codeAlphabet)])
	}
	return string(out)
}

// IssueCertificate issues the signed-in volunteer's certificate of the
// service hours recorded today.
func (s *Store) IssueCertificate(ctx context.Context) (Certificate, error) {
	v, err := s.Mine(ctx)
	if err != nil {
		return Certificate{}, err
	}
	if v.Hours <= 0 {
		return Certificate{}, fault.Conflict(fault.M("还没有记录的服务时长，暂不能开具证明", "no service hours recorded yet"))
	}
	c := Certificate{Code: newCode(), Holder: v.Name, Division: v.Division, Hours: v.Hours, Stars: v.Stars, IssuedAt: s.Now()}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vol_certificates (code, resident_id, division_code, holder, minutes, stars, issued_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
			c.Code, v.ResidentID, v.Division, c.Holder, minutesOf(c.Hours), c.Stars, db.T(c.IssuedAt)); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.certificate", Object: "certificate", ObjectID: c.Code, Division: v.Division,
			Detail: audit.Detail(map[string]any{"resident": v.ResidentID, "hours": c.Hours})})
	})
	if err != nil {
		return c, err
	}
	return c, s.place(ctx, &c)
}

func (s *Store) place(ctx context.Context, c *Certificate) error {
	if s.Divs == nil {
		return nil
	}
	d, err := s.Divs.Get(ctx, c.Division)
	if err == nil {
		c.Place = d.Name
	}
	return nil
}

var errNoCertificate = fault.NotFound(fault.M("查无此证明：请核对验证码", "no certificate has this code: check it"))

// VerifyCertificate reads a certificate by its code: anyone may check one.
func (s *Store) VerifyCertificate(ctx context.Context, code string) (Certificate, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if len(code) != 14 {
		return Certificate{}, fault.Invalid(fault.M("验证码格式不对", "the code is malformed"), fault.Field("code", fault.M("验证码形如 ABCD-EFGH-JKLM", "a code looks like ABCD-EFGH-JKLM")))
	}
	var c Certificate
	var minutes int64
	var at db.Time
	err := s.DB.R.QueryRowContext(ctx, `SELECT code, holder, division_code, minutes, stars, issued_at FROM vol_certificates WHERE code = $1`, code).Scan(&c.Code, &c.Holder, &c.Division, &minutes, &c.Stars, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return c, errNoCertificate
	}
	if err != nil {
		return c, err
	}
	c.Hours, c.IssuedAt = hours(minutes), at.Time
	return c, s.place(ctx, &c)
}

// Certificates lists certificates by code (keyset): the signed-in
// resident's own, or those of a worker's jurisdiction.
func (s *Store) Certificates(ctx context.Context, after string, limit int) ([]Certificate, error) {
	p := access.From(ctx)
	if p == nil || !p.Role.Business() {
		return nil, fault.Forbidden(fault.M("请先登录", "sign in first"))
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	q := `SELECT code, holder, division_code, minutes, stars, issued_at FROM vol_certificates WHERE `
	var args []any
	if p.Role == access.Resident {
		me, err := s.Mine(ctx)
		if errors.Is(err, errNoVolunteer) {
			return []Certificate{}, nil
		}
		if err != nil {
			return nil, err
		}
		q += `resident_id = $1`
		args = append(args, me.ResidentID)
	} else {
		sc := access.BusinessScope(p)
		q += `division_code >= $1 AND division_code < $2`
		args = append(args, sc.Lo, sc.Hi)
	}
	if after != "" {
		args = append(args, after)
		q += ` AND code > ` + ph(len(args))
	}
	q += ` ORDER BY code LIMIT ` + itoa(limit)
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Certificate, error) {
		var c Certificate
		var minutes int64
		var at db.Time
		err := r.Scan(&c.Code, &c.Holder, &c.Division, &minutes, &c.Stars, &at)
		c.Hours, c.IssuedAt = hours(minutes), at.Time
		return c, err
	}, q, args...)
}

// redemption reads a redemption the principal may see: their own, or
// one of a worker's jurisdiction.
func (s *Store) redemption(ctx context.Context, id string) (Redemption, error) {
	var red Redemption
	var div string
	var at db.Time
	err := s.DB.R.QueryRowContext(ctx, `SELECT r.id, r.item_id, i.name, r.resident_id, r.division_code, r.points, r.txn_id, r.created_at FROM vol_redemptions r
		JOIN vol_shop_items i ON i.id = r.item_id WHERE r.id = $1`, id).Scan(&red.ID, &red.ItemID, &red.Item, &red.ResidentID, &div, &red.Points, &red.TxnID, &at)
	if err != nil {
		return red, err
	}
	red.At = at.Time
	p := access.From(ctx)
	if p != nil && p.Role == access.Resident {
		if me, err := s.Mine(ctx); err != nil || me.ResidentID != red.ResidentID {
			return Redemption{}, errNoItem
		}
	} else if !manager(p, div) {
		return Redemption{}, errNoItem
	}
	return red, nil
}
