package emergency

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"slices"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/questions"
	"linli/internal/web"
)

// The pairings page is the preparedness list (平时): a community's
// vulnerable residents, the same people a warning targets one by one,
// each with the helper paired beforehand, so that the list is ready
// before any warning and gaps and overdue reviews show.

// AtRisk is a vulnerable resident with their helper, if any.
type AtRisk struct {
	ResidentID string   `json:"resident_id"`
	Surname    string   `json:"surname"` // 张** on the page
	Age        int      `json:"age"`
	Reasons    []string `json:"reasons"` // the tags, and elderly_80 by birth date
	Helper     string   `json:"helper,omitempty"`
	Kind       string   `json:"kind,omitempty"`
	ReviewedOn string   `json:"reviewed_on,omitempty"`
	ReviewDue  bool     `json:"review_due"`
}

// Masked is the surname with the given name hidden.
func (a AtRisk) Masked() string { return a.Surname + "**" }

// Pairing filters.
const (
	ShowAll      = ""
	ShowUnpaired = "unpaired"
	ShowDue      = "due"
)

// AtRiskCounts are a community's totals.
type AtRiskCounts struct{ All, Unpaired, Due int }

const atRiskPageSize = 30

// vulnerableCond selects the vulnerable residents of community $1 on
// day $2 (born on or before $3: aged 80 or more), as target does.
func vulnerableCond() string {
	return `r.division_code = $1 AND (r.birth_date <> '' AND r.birth_date <= $3
		OR r.id IN (SELECT g.resident_id FROM registry_person_tags g WHERE g.division_code = $1 AND g.tag IN (` + tagList() + `)
			AND g.active = TRUE AND (g.since_date = '' OR g.since_date <= $2) AND (g.until_date = '' OR g.until_date >= $2)))`
}

func tagList() string {
	s := ""
	for i, tg := range VulnerableTags {
		if i > 0 {
			s += ","
		}
		s += "'" + tg + "'" // fixed keys of the catalogue
	}
	return s
}

func (s *Store) dayArgs(community string) []any {
	now := s.Now().In(questions.CST)
	return []any{community, now.Format("2006-01-02"), now.AddDate(-80, 0, 0).Format("2006-01-02")}
}

func (s *Store) reviewDue() string {
	return s.Now().In(time.UTC).AddDate(-1, 0, 0).Format("2006-01-02")
}

// inCommunity checks that community is a village or community within the
// principal's jurisdiction.
func (s *Store) inCommunity(ctx context.Context, community string) error {
	p := access.From(ctx)
	if p == nil || (p.Role != access.CommunityWorker && p.Role != access.Officer && p.Role != access.GridWorker) {
		return fault.Forbidden(fault.M("只有工作人员可以查看结对", "only workers see the pairings"))
	}
	if len(community) != 12 || !access.BusinessScope(p).Contains(community) {
		return fault.Invalid(fault.M("请选择辖区内的村（社区）", "choose a village or community in your jurisdiction"),
			fault.Field("division", fault.M("辖区内的村（社区）", "a village or community in your jurisdiction")))
	}
	return nil
}

// AtRiskList is one page of a community's vulnerable residents with the
// community's counts.
type AtRiskList struct {
	Counts AtRiskCounts
	Rows   []AtRisk
	Next   string // the next page's cursor, "" on the last
}

// AtRisk reads a community's vulnerable residents in one statement (a few
// hundred of a community's thousands of residents), counts them and
// takes the page after the cursor, by resident id, from what it read.
func (s *Store) AtRisk(ctx context.Context, community, show, cursor string) (AtRiskList, error) {
	var l AtRiskList
	if err := s.inCommunity(ctx, community); err != nil {
		return l, err
	}
	if !slices.Contains([]string{ShowAll, ShowUnpaired, ShowDue}, show) {
		return l, fault.Invalid(fault.M("筛选条件无效", "unknown filter"), fault.Field("show", fault.M("应为 unpaired 或 due", "must be unpaired or due")))
	}
	list := "emergency.pairings." + community + "." + show
	after := ""
	if cursor != "" {
		key, err := keyset.Open(s.Keys, cursor, list, 1)
		if err != nil {
			return l, err
		}
		after = key[0]
	}
	now := s.Now().In(questions.CST)
	due := s.reviewDue()
	all, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (AtRisk, error) {
		var a AtRisk
		var born string
		err := r.Scan(&a.ResidentID, &born, &a.Helper, &a.Kind, &a.ReviewedOn)
		if b, e := time.ParseInLocation("2006-01-02", born, questions.CST); e == nil {
			a.Age = now.Year() - b.Year()
			if now.YearDay() < b.YearDay() {
				a.Age--
			}
			if a.Age >= 80 {
				a.Reasons = append(a.Reasons, "elderly_80")
			}
		}
		a.ReviewDue = a.Helper != "" && a.ReviewedOn < due
		return a, err
		// Only the index is read for the counts; the page's rows are
		// named afterwards.
	}, `SELECT r.id, r.birth_date, COALESCE(hp.helper, ''), COALESCE(hp.kind, ''), COALESCE(hp.reviewed_on, '')
		FROM registry_people r LEFT JOIN em_helpers hp ON hp.resident_id = r.id WHERE `+vulnerableCond()+` ORDER BY r.id`, s.dayArgs(community)...)
	if err != nil {
		return l, err
	}
	var rows []AtRisk
	for _, a := range all {
		l.Counts.All++
		if a.Helper == "" {
			l.Counts.Unpaired++
		}
		if a.ReviewDue {
			l.Counts.Due++
		}
		if a.ResidentID > after && (show == ShowAll || show == ShowUnpaired && a.Helper == "" || show == ShowDue && a.ReviewDue) && len(rows) <= atRiskPageSize {
			rows = append(rows, a)
		}
	}
	if len(rows) > atRiskPageSize {
		rows = rows[:atRiskPageSize]
		l.Next = keyset.Seal(s.Keys, list, rows[len(rows)-1].ResidentID)
	}
	l.Rows = rows
	return l, s.reasons(ctx, rows)
}

// reasons adds the residents' surnames and their vulnerability tags in
// force today.
func (s *Store) reasons(ctx context.Context, rows []AtRisk) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]any, len(rows))
	at := map[string]int{}
	for i, a := range rows {
		ids[i], at[a.ResidentID] = a.ResidentID, i
	}
	names, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) ([2]string, error) {
		var n [2]string
		return n, r.Scan(&n[0], &n[1])
	}, `SELECT id, surname FROM registry_people WHERE id IN `+s.DB.Values(0, len(ids)), ids...)
	if err != nil {
		return err
	}
	for _, n := range names {
		rows[at[n[0]]].Surname = n[1]
	}
	// The page's tags in one read; their dates are checked here, so that
	// the statement has only the ids' placeholders.
	day := s.Now().In(questions.CST).Format("2006-01-02")
	type tagRow struct{ id, tag, since, until string }
	tags, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (tagRow, error) {
		var t tagRow
		return t, r.Scan(&t.id, &t.tag, &t.since, &t.until)
	}, `SELECT resident_id, tag, since_date, until_date FROM registry_person_tags WHERE resident_id IN `+s.DB.Values(0, len(ids))+`
		AND tag IN (`+tagList()+`) AND active = TRUE ORDER BY resident_id, tag`, ids...)
	if err != nil {
		return err
	}
	for _, t := range tags {
		if t.since != "" && t.since > day || t.until != "" && t.until < day {
			continue
		}
		a := &rows[at[t.id]]
		if !slices.Contains(a.Reasons, t.tag) {
			a.Reasons = append(a.Reasons, t.tag)
		}
	}
	return nil
}

// Candidate is an account that may be paired as a helper.
type Candidate struct {
	Username string      `json:"username"`
	Role     access.Role `json:"role"`
}

// Candidates are the accounts a resident of community may be paired
// with: the workers and officers of its township and the resident
// accounts of the community itself (neighbours), at most 300.
func (s *Store) Candidates(ctx context.Context, community string) ([]Candidate, error) {
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Candidate, error) {
		var c Candidate
		return c, r.Scan(&c.Username, &c.Role)
	}, `SELECT username, role FROM users WHERE NOT disabled AND (role IN ('grid_worker', 'community_worker', 'officer') AND division_code >= $1 AND division_code < $2
		OR role = 'resident' AND division_code = $3) ORDER BY CASE role WHEN 'grid_worker' THEN 0 WHEN 'community_worker' THEN 1 WHEN 'officer' THEN 2 ELSE 3 END, username LIMIT 300`,
		access.Subtree(community[:9]).Lo, access.Subtree(community[:9]).Hi, community)
}

// atRiskOne reads one vulnerable resident of the principal's jurisdiction
// for the pairing form.
func (s *Store) atRiskOne(ctx context.Context, resident string) (AtRisk, string, error) {
	sc := access.ScopeOf(ctx)
	var a AtRisk
	var div string
	err := s.DB.R.QueryRowContext(ctx, `SELECT r.id, r.surname, r.division_code, COALESCE(hp.helper, ''), COALESCE(hp.kind, ''), COALESCE(hp.reviewed_on, '')
		FROM registry_people r LEFT JOIN em_helpers hp ON hp.resident_id = r.id WHERE r.id = $1 AND r.division_code >= $2 AND r.division_code < $3`,
		resident, sc.Lo, sc.Hi).Scan(&a.ResidentID, &a.Surname, &div, &a.Helper, &a.Kind, &a.ReviewedOn)
	if errors.Is(err, sql.ErrNoRows) {
		return a, "", fault.NotFound(fault.M("找不到该居民，或不在您的辖区内", "no such resident in your jurisdiction"))
	}
	a.ReviewDue = a.Helper != "" && a.ReviewedOn < s.reviewDue()
	return a, div, err
}

// ReasonWords are the reasons in words.
func (a AtRisk) ReasonWords() []web.Msg {
	ws := make([]web.Msg, len(a.Reasons))
	for i, r := range a.Reasons {
		ws[i] = ReasonName(r)
	}
	return ws
}

// Tags of the list's rows.
func (AtRisk) NoHelperTag() web.Tag {
	return web.Tag{Tone: web.ToneBad, Label: web.M("未结对", "No helper")}
}
func (AtRisk) ReviewDueTag() web.Tag {
	return web.Tag{Tone: web.ToneWarn, Label: web.M("待复核", "Review due")}
}

// KindWords is the helper's kind in words.
func (a AtRisk) KindWords() web.Msg { return KindName(a.Kind) }

// Name is a candidate as the picker shows them.
func (c Candidate) Name() web.Msg {
	switch c.Role {
	case access.GridWorker:
		return web.M(c.Username+"（网格员）", c.Username+" (grid worker)")
	case access.CommunityWorker:
		return web.M(c.Username+"（社区工作者）", c.Username+" (community worker)")
	case access.Officer:
		return web.M(c.Username+"（乡镇干部）", c.Username+" (officer)")
	}
	return web.M(c.Username+"（居民）", c.Username+" (resident)")
}

// ReasonName is a reason in words.
func ReasonName(tag string) web.Msg {
	if m, ok := reasonNames[tag]; ok {
		return m
	}
	return web.M(tag, tag)
}

var reasonNames = map[string]web.Msg{
	"living_alone": web.M("独居", "living alone"), "disabled_full": web.M("失能", "dependent"), "disabled_partial": web.M("半失能", "partly dependent"),
	"severe_disability": web.M("重度残疾", "severe disability"), "disabled_person": web.M("残疾人", "disabled"), "elderly_80": web.M("80 岁以上", "aged 80+"),
	"orphan": web.M("孤儿", "orphan"), "de_facto_unsupported_child": web.M("事实无人抚养儿童", "child without effective guardian"),
}

func kindOptions() []option {
	os := make([]option, len(pairKinds))
	for i, k := range pairKinds {
		os[i] = option{k, KindName(k)}
	}
	return os
}

// KindName is a helper kind in words.
func KindName(kind string) web.Msg {
	switch kind {
	case "grid_worker":
		return web.M("网格员", "grid worker")
	case "neighbour":
		return web.M("邻居", "neighbour")
	case "volunteer":
		return web.M("志愿者", "volunteer")
	}
	return web.M(kind, kind)
}

type pairingsView struct {
	Community divisions.Division
	Places    []divisions.Division // when no community is chosen: where to go down
	Show      string
	Counts    AtRiskCounts
	Rows      []AtRisk
	Pager     web.Pager
	Paired    bool
}

func (h *Handlers) pagePairings(w http.ResponseWriter, r *http.Request) {
	p := access.From(r.Context())
	if p.Role != access.CommunityWorker && p.Role != access.Officer && p.Role != access.GridWorker {
		h.fail(w, r, fault.Forbidden(fault.M("只有工作人员可以查看结对", "only workers see the pairings")))
		return
	}
	q := r.URL.Query()
	code := q.Get("division")
	if code == "" {
		code = p.Division
	}
	if !access.BusinessScope(p).Contains(code) {
		h.fail(w, r, fault.Invalid(fault.M("请选择辖区内的区划", "choose a division in your jurisdiction"), fault.Field("division", fault.M("辖区内的区划", "a division in your jurisdiction"))))
		return
	}
	d, err := h.Store.Divs.Get(r.Context(), code)
	if err != nil {
		h.fail(w, r, fault.NotFound(fault.M("没有这个区划", "no such division")))
		return
	}
	v := web.View{Title: web.M("重点人员结对", "Helpers of vulnerable residents"),
		Crumbs: []web.Crumb{{Href: "/emergency", Label: web.M("应急预警", "Warnings")}, {Label: web.M("重点人员结对", "Helpers")}}}
	pv := pairingsView{Community: d, Show: q.Get("show"), Paired: q.Get("paired") == "1"}
	if len(code) < 12 {
		if pv.Places, _, err = h.Store.Divs.Children(r.Context(), code, 0, 300); err != nil {
			h.fail(w, r, err)
			return
		}
		v.Data = pv
		h.Pages.Render(w, r, 200, "pairings", v)
		return
	}
	cursor := q.Get("cursor")
	l, err := h.Store.AtRisk(r.Context(), code, pv.Show, cursor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pv.Counts = l.Counts
	total := map[string]int{ShowAll: pv.Counts.All, ShowUnpaired: pv.Counts.Unpaired, ShowDue: pv.Counts.Due}[pv.Show]
	first, following := keyset.Links(r, cursor, l.Next)
	pv.Rows, pv.Pager = l.Rows, keyset.Pager(first, following, total, false, 0)
	v.Data = pv
	h.Pages.Render(w, r, 200, "pairings", v)
}

type pairView struct {
	P          AtRisk
	Community  string
	Candidates []Candidate
	Kinds      []option
}

func (h *Handlers) pagePair(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	a, div, err := h.Store.atRiskOne(r.Context(), r.PathValue("resident"))
	if err == nil {
		err = h.Store.inCommunity(r.Context(), div)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cs, err := h.Store.Candidates(r.Context(), div)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if v.Form == nil {
		v.Form = map[string][]string{"helper": {a.Helper}, "kind": {a.Kind}}
		if a.Kind == "" {
			v.Form["kind"] = []string{"grid_worker"}
		}
	}
	v.Title, v.Data = web.M("结对帮扶人："+a.Masked(), "Pair a helper: "+a.Masked()), pairView{P: a, Community: div, Candidates: cs, Kinds: kindOptions()}
	v.Crumbs = []web.Crumb{{Href: "/emergency/helpers?division=" + div, Label: web.M("重点人员结对", "Helpers")}, {Label: web.M("结对", "Pair")}}
	h.Pages.Render(w, r, status, "pair", v)
}

func (h *Handlers) postPair(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	f := r.PostForm
	pr, err := h.Store.Pair(r.Context(), PairingInput{ResidentID: r.PathValue("resident"), Helper: f.Get("helper"), Kind: f.Get("kind"), Note: f.Get("note")})
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pagePair(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/emergency/helpers?division="+pr.Division+"&paired=1", http.StatusSeeOther)
}
