package emergency

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/questions"
	"linli/internal/tabular"
	"linli/internal/web"
)

// The situation view is the board (board.go) with what the command post
// also asks for: the supplies drawn in the area since the first warning,
// a timeline of what was done, a refresh the reader chooses, and the whole
// as an xlsx file.

// timelineSQL reads an incident's latest status changes within a division
// ($1: the incident, $2–$3: the subtree), newest first, by the index
// emergency/009_timeline.
const timelineSQL = `SELECT e.at, e.to_status, e.by_role, c.kind, c.division_code FROM em_check_events e JOIN em_checks c ON c.id = e.check_id
	WHERE e.incident_id = $1 AND c.division_code >= $2 AND c.division_code < $3 ORDER BY e.at DESC, e.id DESC LIMIT `

// drawnSQL sums what was taken out of the supplies kept within a division
// ($2–$3) since the first warning ($1).
const drawnSQL = `SELECT i.name, i.unit, -SUM(m.delta) FROM em_stock_moves m JOIN em_stock i ON i.id = m.item_id
	WHERE m.delta < 0 AND m.created_at >= $1 AND i.division_code >= $2 AND i.division_code < $3
	GROUP BY i.name, i.unit ORDER BY 3 DESC, i.name LIMIT 50`

// TimelineMax is how many of the latest status changes the board shows.
const TimelineMax = 30

// Drawn is how much of one supply was taken out in the area.
type Drawn struct {
	Name     string `json:"name"`
	Unit     string `json:"unit"`
	Quantity int    `json:"quantity"`
}

// Moment is one line of an incident's timeline: a message issued, or a
// household's or a vulnerable resident's status set (who it was stays on
// the board and the check's own page; the timeline says only where).
type Moment struct {
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"` // message, household, person
	Status   string    `json:"status,omitempty"`
	What     fault.Msg `json:"what"`
	ByRole   string    `json:"by_role,omitempty"`
	Division string    `json:"division,omitempty"`
}

// situation adds the supplies drawn and the timeline to a board.
func (s *Store) situation(ctx context.Context, b *Board, incident string) error {
	ds := access.Subtree(b.Division)
	var err error
	b.Drawn, err = db.Collect(ctx, s.DB.R, func(r db.Scanner) (Drawn, error) {
		var d Drawn
		return d, r.Scan(&d.Name, &d.Unit, &d.Quantity)
	}, drawnSQL, db.T(b.Since), ds.Lo, ds.Hi)
	if err != nil {
		return err
	}
	b.Drawn = orEmpty(b.Drawn)
	events, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Moment, error) {
		var m Moment
		var at db.Time
		err := r.Scan(&at, &m.Status, &m.ByRole, &m.Kind, &m.Division)
		m.At = at.Time
		who := fault.M("住户", "Household")
		if m.Kind == KindPerson {
			who = fault.M("重点人员", "Vulnerable resident")
		}
		st := statusWords(m.Status)
		m.What = fault.M(who.ZH+"："+st.ZH, who.EN+": "+st.EN)
		return m, err
	}, timelineSQL+itoa(TimelineMax), incident, ds.Lo, ds.Hi)
	if err != nil {
		return err
	}
	msgs, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Moment, error) {
		var m Moment
		var at db.Time
		var typ, head string
		err := r.Scan(&at, &typ, &head)
		m.At, m.Kind = at.Time, "message"
		m.What = map[string]fault.Msg{"Alert": fault.M("发布预警："+head, "Warning issued: "+head), "Update": fault.M("更新预警："+head, "Warning updated: "+head),
			"Cancel": fault.M("解除预警", "Warning cancelled")}[typ]
		return m, err
	}, `SELECT sent, msg_type, headline FROM em_alerts WHERE incident_id = $1 ORDER BY sent DESC LIMIT 20`, incident)
	if err != nil {
		return err
	}
	if b.Alert.State == StateExpired || b.Alert.expired(s.Now()) && b.Alert.MsgType != "Cancel" {
		msgs = append(msgs, Moment{At: b.Alert.Expires, Kind: "message", What: fault.M("预警到期失效", "Warning expired")})
	}
	b.Timeline = mergeMoments(events, msgs, TimelineMax)
	return nil
}

// mergeMoments merges two newest-first lists, keeping at most n.
func mergeMoments(a, b []Moment, n int) []Moment {
	out := make([]Moment, 0, min(n, len(a)+len(b)))
	for len(out) < n && (len(a) > 0 || len(b) > 0) {
		if len(b) == 0 || len(a) > 0 && !a[0].At.Before(b[0].At) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}

// RefreshSeconds is the period of the board's refresh, when the reader
// asks for it: a page that reloads by itself takes the place of the one
// being read (WCAG 2.2.1), so it is a choice on the page, never the
// default.
const RefreshSeconds = 60

// refresh sets the HTTP Refresh of the board when the reader chose it.
func refresh(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Query().Get("auto") != "1" {
		return false
	}
	w.Header().Set("Refresh", strconv.Itoa(RefreshSeconds))
	return true
}

// registerSituation adds the board's xlsx file.
func (h *Handlers) registerSituation(rt *web.Router) {
	rt.Page("GET /emergency/alerts/{id}/situation.xlsx", func(w http.ResponseWriter, r *http.Request) {
		if err := h.writeSituation(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
}

// writeSituation writes the board of the incident as an xlsx file for the
// command post: the totals, a row per community, the vulnerable residents
// still waiting (surnames only), the shelters, the supplies drawn and the
// timeline. The export is audited.
func (h *Handlers) writeSituation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	b, err := h.Store.Board(ctx, r.PathValue("id"), r.URL.Query().Get("division"))
	if err != nil {
		return err
	}
	p := access.From(ctx)
	cst := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(questions.CST).Format("2006-01-02 15:04")
	}
	now := h.Store.Now()
	tw, err := tabular.New(web.NewDownload(w), "xlsx", tabular.Options{Sheet: "态势 Situation", Stamp: [][]string{
		{"预警 / Warning", b.Alert.ID}, {"区划 / Division", b.Division}, {"导出人 / Exported by", p.Username}, {"导出时间 / Written at", cst(now)}}})
	if err != nil {
		return err
	}
	if err := h.Store.Audit.Record(ctx, audit.Entry{Action: "emergency.situation.export", Object: "alert", ObjectID: b.Alert.ID, Division: b.Division}); err != nil {
		tw.Discard()
		return err
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="situation-`+b.Alert.ID+`-`+now.In(questions.CST).Format("20060102-1504")+`.xlsx"`)
	tally := func(label string, t Tally) []any {
		return []any{label, t.Total, t.Confirmed(), t.Safe, t.Evacuated, t.NeedsHelp, t.Unreachable, t.Pending}
	}
	head := []any{"", "总数 Total", "已确认 Confirmed", "安全 Safe", "已转移 Moved", "需帮助 Need help", "联系不上 Unreachable", "未联系 Not reached"}
	rows := [][]any{
		{"预警 Warning", b.Alert.ColourName().ZH + "：" + b.Alert.Headline},
		{"区域 Area", b.Alert.AreaDesc},
		{"首次预警 First warning", cst(b.Since)},
		{"已过分钟 Minutes since", b.Minutes},
		{}, head, tally("住户 Households", b.Households), tally("重点人员 Vulnerable residents", b.Vulnerable),
	}
	for _, row := range rows {
		if err := tw.Values(row...); err != nil {
			tw.Discard()
			return err
		}
	}
	sheets := []struct {
		name string
		head []any
		rows func(add func(...any) error) error
	}{
		{"各社区 Communities", append([]any{"区划 Division", "名称 Name"}, append(head[1:], head[1:]...)...), func(add func(...any) error) error {
			for _, c := range b.Rows {
				h, v := tally("", c.Households)[1:], tally("", c.Vulnerable)[1:]
				if err := add(append(append([]any{c.Division, c.Name}, h...), v...)...); err != nil {
					return err
				}
			}
			return nil
		}},
		{"待确认 Waiting", []any{"姓氏 Surname", "状态 Status", "帮扶人 Helper", "区划 Division"}, func(add func(...any) error) error {
			for _, c := range b.Waiting {
				if err := add(c.Whose, statusWords(c.Status).ZH, c.Helper, c.Division); err != nil {
					return err
				}
			}
			return nil
		}},
		{"避难场所 Shelters", []any{"名称 Name", "区划 Division", "在场 Present", "容量 Capacity", "超出 Over"}, func(add func(...any) error) error {
			for _, sh := range b.Shelters {
				over := ""
				if sh.Over() {
					over = "是 yes"
				}
				if err := add(sh.Name, sh.Division, sh.Occupancy, sh.Capacity, over); err != nil {
					return err
				}
			}
			return nil
		}},
		{"物资动用 Supplies drawn", []any{"物资 Supply", "单位 Unit", "动用 Drawn"}, func(add func(...any) error) error {
			for _, d := range b.Drawn {
				if err := add(d.Name, d.Unit, d.Quantity); err != nil {
					return err
				}
			}
			return nil
		}},
		{"时间线 Timeline", []any{"时间 Time", "事项 What", "角色 By", "区划 Division"}, func(add func(...any) error) error {
			for _, m := range b.Timeline {
				if err := add(cst(m.At), m.What.ZH, m.By().ZH, m.Division); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, sh := range sheets {
		if err := tw.Sheet(sh.name); err != nil {
			tw.Discard()
			return err
		}
		if err := tw.Values(sh.head...); err != nil {
			tw.Discard()
			return err
		}
		if err := sh.rows(tw.Values); err != nil {
			tw.Discard()
			return err
		}
	}
	return tw.Close()
}

// By names the role that set the status (empty for a message).
func (m Moment) By() fault.Msg {
	if m.ByRole == "" {
		return fault.Msg{}
	}
	zh, en := access.Role(m.ByRole).Label()
	return fault.M(zh, en)
}
