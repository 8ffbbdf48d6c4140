package assistance

import (
	"context"
	"net/http"
	"strings"
	"time"

	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/web"
)

// The 公示 is public: anyone may read a community's proposed list while
// it runs its 7 days, with the household head's name masked (王**), the
// household's size, the programmes and the proposed monthly amount.
// Objections reach the community in person or by phone; a worker records
// each on the application ("object").

// NoticeEntry is one household on a community's public notice.
type NoticeEntry struct {
	Name       string    `json:"name"` // masked
	Persons    int       `json:"persons"`
	Programmes []string  `json:"programmes"`
	AmountFen  int64     `json:"amount_fen"`
	Until      time.Time `json:"until"`
}

// AmountYuan is the proposed amount in yuan.
func (n NoticeEntry) AmountYuan() string { return Yuan(n.AmountFen) }

// MaskName keeps a name's first character: 王小明 → 王**.
func MaskName(name string) string {
	rs := []rune(strings.TrimSpace(name))
	if len(rs) == 0 {
		return ""
	}
	return string(rs[0]) + strings.Repeat("*", max(len(rs)-1, 1))
}

// Notice is a community's public notice now.
func (s *Store) Notice(ctx context.Context, community string) ([]NoticeEntry, error) {
	now := s.Now()
	type row struct {
		id, household string
		until         db.Time
	}
	rows, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.household, &x.until)
	}, `SELECT id, household_id, publicity_until FROM ast_applications WHERE division_code = $1 AND status = $2 AND publicity_until > $3 ORDER BY id`,
		community, Publicity, db.T(now))
	if err != nil {
		return nil, err
	}
	out := make([]NoticeEntry, 0, len(rows))
	for _, x := range rows {
		n := NoticeEntry{Until: x.until.Time}
		var head string
		if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MIN(CASE WHEN relation = '户主' THEN name END), MIN(name)) FROM reg_residents WHERE household_id = $1`, x.household).Scan(&n.Persons, &head); err != nil {
			return nil, err
		}
		n.Name = MaskName(head)
		if err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
			var name string
			var amount int64
			if err := r.Scan(&name, &amount); err != nil {
				return err
			}
			n.Programmes = append(n.Programmes, name)
			n.AmountFen += amount
			return nil
		}, `SELECT p.name_zh, ap.amount_fen FROM ast_app_programmes ap JOIN ast_programmes p ON p.id = ap.programme_id
			WHERE ap.application_id = $1 AND ap.asked AND ap.outcome = $2 ORDER BY p.code`, x.id, Eligible); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

type noticeView struct {
	Community string
	Entries   []NoticeEntry
	Empty     fault.Msg
}

func (h *handlers) pageNotice(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("community")
	if len(code) != 12 || strings.Trim(code, "0123456789") != "" {
		h.fail(w, r, fault.NotFound(fault.M("没有这个社区", "no such community")))
		return
	}
	es, err := h.store.Notice(r.Context(), code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	name := code
	if d, err := h.store.Divs.Get(r.Context(), code); err == nil {
		name = d.Name
	}
	h.pages.Render(w, r, 200, "notice", web.View{Title: web.M("社会救助公示："+name, "Assistance notice: "+name),
		Data: noticeView{Community: code, Entries: es, Empty: fault.M("目前没有公示中的救助申请", "Nothing is on notice now")}})
}
