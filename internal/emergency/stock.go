package emergency

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/questions"
	"linli/internal/web"
)

// Emergency supplies (应急物资): what a community or township keeps where,
// how much, the least it must keep and when a batch expires. Every change
// of quantity is a movement with its reason (入库, 出库, 盘点); the
// quantity is the sum of the movements, kept on the item and never below
// zero.

const stockSQL = `
CREATE TABLE em_stock (
	id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	place TEXT NOT NULL,
	name TEXT NOT NULL,
	unit TEXT NOT NULL,
	quantity INTEGER NOT NULL CHECK (quantity >= 0),
	minimum INTEGER NOT NULL CHECK (minimum >= 0),
	expires_on TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	UNIQUE (division_code, place, name, expires_on)
);
CREATE INDEX em_stock_div ON em_stock (division_code, id);
CREATE TABLE em_stock_moves (
	id TEXT PRIMARY KEY,
	item_id TEXT NOT NULL REFERENCES em_stock(id),
	delta INTEGER NOT NULL,
	reason TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX em_stock_moves_item ON em_stock_moves (item_id, created_at);
`

// ExpiringDays is how far ahead an expiring batch is flagged.
const ExpiringDays = 30

// maxQuantity bounds a quantity or a movement.
const maxQuantity = 1_000_000

// StockItem is a batch of one supply at one place.
type StockItem struct {
	ID        string    `json:"id"`
	Division  string    `json:"division"`
	Place     string    `json:"place"` // 社区应急仓库, a shelter, …
	Name      string    `json:"name"`
	Unit      string    `json:"unit"`
	Quantity  int       `json:"quantity"`
	Minimum   int       `json:"minimum"`
	ExpiresOn string    `json:"expires_on,omitempty"` // YYYY-MM-DD; empty: does not expire
	Low       bool      `json:"low"`                  // below its minimum
	Expiring  string    `json:"expiring,omitempty"`   // "expired", "soon" (within 30 days) or ""
	UpdatedAt time.Time `json:"updated_at"`
}

// StockInput records a new batch.
type StockInput struct {
	Division  string `json:"division"`
	Place     string `json:"place"`
	Name      string `json:"name"`
	Unit      string `json:"unit"`
	Quantity  int    `json:"quantity"`
	Minimum   int    `json:"minimum"`
	ExpiresOn string `json:"expires_on,omitempty"`
}

// MoveInput changes a batch's quantity: positive in, negative out.
type MoveInput struct {
	Delta  int    `json:"delta"`
	Reason string `json:"reason"`
}

// Stock filters.
const (
	StockAll      = ""
	StockLow      = "low"
	StockExpiring = "expiring"
)

func stockWriter(p *access.Principal) error {
	if p == nil || p.Role != access.CommunityWorker && p.Role != access.Officer {
		return fault.Forbidden(fault.M("只有社区工作者和乡镇（街道）、县级干部可以登记物资", "only community workers and officers record supplies"))
	}
	return nil
}

func (s *Store) flag(it *StockItem) {
	it.Low = it.Quantity < it.Minimum
	if it.ExpiresOn == "" {
		return
	}
	today := s.Now().In(questions.CST)
	switch {
	case it.ExpiresOn < today.Format("2006-01-02"):
		it.Expiring = "expired"
	case it.ExpiresOn <= today.AddDate(0, 0, ExpiringDays).Format("2006-01-02"):
		it.Expiring = "soon"
	}
}

const stockCols = `id, division_code, place, name, unit, quantity, minimum, expires_on, updated_at`

func (s *Store) scanStock(r db.Scanner) (StockItem, error) {
	var it StockItem
	var at db.Time
	err := r.Scan(&it.ID, &it.Division, &it.Place, &it.Name, &it.Unit, &it.Quantity, &it.Minimum, &it.ExpiresOn, &at)
	it.UpdatedAt = at.Time
	s.flag(&it)
	return it, err
}

// AddStock records a batch of supplies in a village, community or
// township of the principal's jurisdiction.
func (s *Store) AddStock(ctx context.Context, in StockInput) (StockItem, error) {
	p := access.From(ctx)
	if err := stockWriter(p); err != nil {
		return StockItem{}, err
	}
	in.Division = strings.TrimSpace(in.Division)
	if in.Division == "" {
		in.Division = p.Division
	}
	in.Place, in.Name, in.Unit, in.ExpiresOn = strings.TrimSpace(in.Place), strings.TrimSpace(in.Name), strings.TrimSpace(in.Unit), strings.TrimSpace(in.ExpiresOn)
	var fields []fault.FieldError
	bad := func(f, zh, en string) { fields = append(fields, fault.Field(f, fault.M(zh, en))) }
	if len(in.Division) != 9 && len(in.Division) != 12 || !access.BusinessScope(p).Contains(in.Division) {
		bad("division", "应为辖区内的乡镇（街道）或村（社区）", "must be a township or a village or community in your jurisdiction")
	} else if _, err := s.Divs.Get(ctx, in.Division); err != nil {
		bad("division", "没有这个区划", "no such division")
	}
	if n := utf8.RuneCountInString(in.Place); n == 0 || n > 50 {
		bad("place", "请填写存放地点（不超过 50 字）", "give the place it is kept (at most 50 characters)")
	}
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 50 {
		bad("name", "请填写物资名称（不超过 50 字）", "give the supply's name (at most 50 characters)")
	}
	if n := utf8.RuneCountInString(in.Unit); n == 0 || n > 10 {
		bad("unit", "请填写计量单位（不超过 10 字）", "give the unit (at most 10 characters)")
	}
	if in.Quantity < 0 || in.Quantity > maxQuantity {
		bad("quantity", "数量应为 0 到 1,000,000 的整数", "the quantity is a whole number from 0 to 1,000,000")
	}
	if in.Minimum < 0 || in.Minimum > maxQuantity {
		bad("minimum", "最低库存应为 0 到 1,000,000 的整数", "the minimum is a whole number from 0 to 1,000,000")
	}
	if in.ExpiresOn != "" {
		if _, err := time.Parse("2006-01-02", in.ExpiresOn); err != nil {
			bad("expires_on", "有效期应为日期，如 2027-06-30", "the expiry is a date such as 2027-06-30")
		}
	}
	if len(fields) > 0 {
		return StockItem{}, fault.Invalid(fault.M("无法登记物资", "cannot record the supplies"), fields...)
	}
	now := s.Now()
	it := StockItem{ID: db.NewID(), Division: in.Division, Place: in.Place, Name: in.Name, Unit: in.Unit, Quantity: in.Quantity, Minimum: in.Minimum,
		ExpiresOn: in.ExpiresOn, UpdatedAt: now}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO em_stock (`+stockCols+`, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$9)`,
			it.ID, it.Division, it.Place, it.Name, it.Unit, it.Quantity, it.Minimum, it.ExpiresOn, db.T(now), p.Username); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("同一地点已有这批物资（名称和有效期相同），请登记出入库", "this batch is already kept there (same name and expiry): record a movement instead"))
			}
			return err
		}
		if it.Quantity > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO em_stock_moves (id, item_id, delta, reason, created_by, created_at) VALUES ($1,$2,$3,'入库（登记）',$4,$5)`,
				db.NewID(), it.ID, it.Quantity, p.Username, db.T(now)); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.stock.add", Object: "stock", ObjectID: it.ID, Division: it.Division,
			Detail: audit.Detail(map[string]any{"name": it.Name, "quantity": it.Quantity, "place": it.Place})})
	})
	if err != nil {
		return StockItem{}, err
	}
	s.flag(&it)
	return it, nil
}

// Move records a movement: the quantity never goes below zero, however
// many movements arrive at once.
func (s *Store) Move(ctx context.Context, id string, in MoveInput) (StockItem, error) {
	p := access.From(ctx)
	if err := stockWriter(p); err != nil {
		return StockItem{}, err
	}
	in.Reason = strings.TrimSpace(in.Reason)
	var fields []fault.FieldError
	if in.Delta == 0 || in.Delta > maxQuantity || in.Delta < -maxQuantity {
		fields = append(fields, fault.Field("delta", fault.M("数量应为非零整数（入库为正，出库为负），绝对值不超过 1,000,000", "a whole number other than zero (in positive, out negative), at most 1,000,000 either way")))
	}
	if n := utf8.RuneCountInString(in.Reason); n == 0 || n > 100 {
		fields = append(fields, fault.Field("reason", fault.M("请填写原因（不超过 100 字）", "give the reason (at most 100 characters)")))
	}
	if len(fields) > 0 {
		return StockItem{}, fault.Invalid(fault.M("无法登记出入库", "cannot record the movement"), fields...)
	}
	it, err := s.stockItem(ctx, id)
	if err != nil {
		return it, err
	}
	now := s.Now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE em_stock SET quantity = quantity + $1, updated_at = $2 WHERE id = $3 AND quantity + $1 >= 0`, in.Delta, db.T(now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.Invalid(fault.M("出库数量超过库存", "more out than is kept"),
				fault.Field("delta", fault.M("出库不能超过现有库存", "cannot take out more than is kept")))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO em_stock_moves (id, item_id, delta, reason, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
			db.NewID(), id, in.Delta, in.Reason, p.Username, db.T(now)); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.stock.move", Object: "stock", ObjectID: id, Division: it.Division,
			Detail: audit.Detail(map[string]any{"delta": in.Delta, "reason": in.Reason})})
	})
	if err != nil {
		return StockItem{}, err
	}
	return s.stockItem(ctx, id)
}

// stockItem reads a batch within the principal's jurisdiction.
func (s *Store) stockItem(ctx context.Context, id string) (StockItem, error) {
	sc := access.ScopeOf(ctx)
	it, err := s.scanStock(s.DB.R.QueryRowContext(ctx, `SELECT `+stockCols+` FROM em_stock WHERE id = $1 AND division_code >= $2 AND division_code < $3`, id, sc.Lo, sc.Hi))
	if errors.Is(err, sql.ErrNoRows) {
		return it, fault.NotFound(fault.M("找不到这批物资，或不在您的辖区内", "no such supplies in your jurisdiction"))
	}
	return it, err
}

// StockPage is one page of supplies.
type StockPage struct {
	Items []StockItem `json:"items"`
	Next  string      `json:"next,omitempty"`
}

const stockPageSize = 30

// Stock lists the supplies of the principal's jurisdiction (or of a
// division within it) by division and id, a page at a time; low and
// expiring keep only those below their minimum or expiring within 30 days.
func (s *Store) Stock(ctx context.Context, division, show, cursor string) (StockPage, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.GridWorker && p.Role != access.CommunityWorker && p.Role != access.Officer {
		return StockPage{}, fault.Forbidden(fault.M("只有工作人员可以查看物资", "only workers see the supplies"))
	}
	sc := access.BusinessScope(p)
	if division != "" {
		if !sc.Contains(division) {
			return StockPage{}, fault.Invalid(fault.M("请选择辖区内的区划", "choose a division in your jurisdiction"), fault.Field("division", fault.M("辖区内的区划", "a division in your jurisdiction")))
		}
		sc = access.Subtree(division)
	}
	list := "emergency.stock." + sc.Lo + "." + show
	after := []string{"", ""}
	if cursor != "" {
		key, err := keyset.Open(s.Keys, cursor, list, 2)
		if err != nil {
			return StockPage{}, err
		}
		after = key
	}
	q := `SELECT ` + stockCols + ` FROM em_stock WHERE division_code >= $1 AND division_code < $2 AND (division_code > $3 OR division_code = $3 AND id > $4)`
	args := []any{sc.Lo, sc.Hi, after[0], after[1]}
	today := s.Now().In(questions.CST)
	switch show {
	case StockAll:
	case StockLow:
		q += ` AND quantity < minimum`
	case StockExpiring:
		q += ` AND expires_on <> '' AND expires_on <= $5`
		args = append(args, today.AddDate(0, 0, ExpiringDays).Format("2006-01-02"))
	default:
		return StockPage{}, fault.Invalid(fault.M("筛选条件无效", "unknown filter"), fault.Field("show", fault.M("应为 low 或 expiring", "must be low or expiring")))
	}
	items, err := db.Collect(ctx, s.DB.R, s.scanStock, q+` ORDER BY division_code, id LIMIT `+strconv.Itoa(stockPageSize+1), args...)
	if err != nil {
		return StockPage{}, err
	}
	pg := StockPage{Items: orEmpty(items)}
	if len(items) > stockPageSize {
		pg.Items = items[:stockPageSize]
		last := pg.Items[len(pg.Items)-1]
		pg.Next = keyset.Seal(s.Keys, list, last.Division, last.ID)
	}
	return pg, nil
}

// StockTag is a batch's state as a tag.
func (it StockItem) StockTag() web.Tag {
	switch {
	case it.Expiring == "expired":
		return web.Tag{Tone: web.ToneBad, Label: web.M("已过期", "Expired")}
	case it.Low:
		return web.Tag{Tone: web.ToneBad, Label: web.M("低于最低库存", "Below minimum")}
	case it.Expiring == "soon":
		return web.Tag{Tone: web.ToneWarn, Label: web.M("即将过期", "Expiring soon")}
	}
	return web.Tag{Tone: web.ToneOK, Label: web.M("正常", "OK")}
}

// Pages and API.

type stockView struct {
	Page     StockPage
	Show     string
	Division string
	Pager    web.Pager
	CanWrite bool
	Done     bool
}

func (h *Handlers) pageStock(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cursor := q.Get("cursor")
	pg, err := h.Store.Stock(r.Context(), q.Get("division"), q.Get("show"), cursor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	first, next := keyset.Links(r, cursor, pg.Next)
	h.Pages.Render(w, r, 200, "stock", web.View{Title: web.M("应急物资", "Emergency supplies"),
		Crumbs: []web.Crumb{{Href: "/emergency", Label: web.M("应急预警", "Warnings")}, {Label: web.M("应急物资", "Supplies")}},
		Data: stockView{Page: pg, Show: q.Get("show"), Division: q.Get("division"), Pager: keyset.Pager(first, next, len(pg.Items), pg.Next != "", 0),
			CanWrite: stockWriter(access.From(r.Context())) == nil, Done: q.Get("done") == "1"}})
}

func (h *Handlers) pageStockNew(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	if err := stockWriter(access.From(r.Context())); err != nil {
		h.fail(w, r, err)
		return
	}
	v.Title = web.M("登记应急物资", "Record supplies")
	v.Crumbs = []web.Crumb{{Href: "/emergency/stock", Label: web.M("应急物资", "Supplies")}, {Label: v.Title}}
	h.Pages.Render(w, r, status, "stock-new", v)
}

func formInt(v string) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return -maxQuantity - 1 // refused by the range checks, naming the field
	}
	return n
}

func (h *Handlers) postStockNew(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	f := r.PostForm
	_, err := h.Store.AddStock(r.Context(), StockInput{Place: f.Get("place"), Name: f.Get("name"), Unit: f.Get("unit"),
		Quantity: formInt(f.Get("quantity")), Minimum: formInt(f.Get("minimum")), ExpiresOn: f.Get("expires_on")})
	if err != nil {
		if we, ok := fault.As(err); ok && (we.Code == fault.CodeInvalid || we.Code == fault.CodeConflict) {
			h.pageStockNew(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/stock?done=1", http.StatusSeeOther)
}

type moveView struct{ Item StockItem }

func (h *Handlers) pageMove(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	it, err := h.Store.stockItem(r.Context(), r.PathValue("id"))
	if err == nil {
		err = stockWriter(access.From(r.Context()))
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Title, v.Data = web.M("出入库："+it.Name, "Movement: "+it.Name), moveView{it}
	v.Crumbs = []web.Crumb{{Href: "/emergency/stock", Label: web.M("应急物资", "Supplies")}, {Label: web.M("出入库", "Movement")}}
	h.Pages.Render(w, r, status, "stock-move", v)
}

func (h *Handlers) postMove(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	f := r.PostForm
	n := formInt(f.Get("quantity"))
	if f.Get("direction") == "out" && n > 0 {
		n = -n
	}
	if n <= 0 && f.Get("direction") != "out" {
		n = 0 // an "in" of nothing or less: refused, naming the field
	}
	_, err := h.Store.Move(r.Context(), r.PathValue("id"), MoveInput{Delta: n, Reason: f.Get("reason")})
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			for i := range we.Fields {
				if we.Fields[i].Field == "delta" {
					we.Fields[i].Field = "quantity"
				}
			}
			h.pageMove(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: f})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/stock?done=1", http.StatusSeeOther)
}

func (h *Handlers) registerStock(rt *web.Router) {
	rt.Page("GET /emergency/stock", h.pageStock)
	rt.Page("GET /emergency/stock/new", func(w http.ResponseWriter, r *http.Request) { h.pageStockNew(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/stock/new", h.postStockNew)
	rt.Page("GET /emergency/stock/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageMove(w, r, 200, web.View{}) })
	rt.Page("POST /emergency/stock/{id}", h.postMove)
	const tag = "emergency"
	rt.API("GET /api/v1/emergency/stock", web.Op{Summary: "应急物资（按区划、id 翻页；show=low 低于最低库存，show=expiring 30 天内到期）/ Emergency supplies, paged by key", Tag: tag,
		Response: StockPage{}, Params: []web.Param{{Name: "division", In: "query", Description: "区划 / division"}, {Name: "show", In: "query", Description: "low | expiring"}, keyset.Param}}, h.apiStock)
	rt.API("POST /api/v1/emergency/stock", web.Op{Summary: "登记一批应急物资 / Record a batch of supplies", Tag: tag, Body: StockInput{}, Response: StockItem{}, Status: 201}, h.apiAddStock)
	rt.API("POST /api/v1/emergency/stock/{id}/moves", web.Op{Summary: "出入库（入库为正，出库为负，不得低于零）/ Record a movement (in positive, out negative; never below zero)", Tag: tag,
		Body: MoveInput{}, Response: StockItem{}}, h.apiMove)
}

func (h *Handlers) apiStock(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	pg, err := h.Store.Stock(r.Context(), q.Get("division"), q.Get("show"), q.Get("cursor"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pg)
	return nil
}

func (h *Handlers) apiAddStock(w http.ResponseWriter, r *http.Request) error {
	var in StockInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	it, err := h.Store.AddStock(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, it)
	return nil
}

func (h *Handlers) apiMove(w http.ResponseWriter, r *http.Request) error {
	var in MoveInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	it, err := h.Store.Move(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, it)
	return nil
}
