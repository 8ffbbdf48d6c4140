package care

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/web"
)

// tierRows is how many tiers the publishing form offers; rows left blank
// are not part of the version.
const tierRows = 4

// TagKind is a tag of the registry's catalogue, for the tiers' picker.
type TagKind struct {
	Key, NameZH, NameEN string
}

// tagKinds reads the registry's published tag catalogue.
func (s *Store) tagKinds(ctx context.Context) ([]TagKind, error) {
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (TagKind, error) {
		var t TagKind
		return t, r.Scan(&t.Key, &t.NameZH, &t.NameEN)
	}, `SELECT key, name_zh, name_en FROM registry_tag_kinds ORDER BY sort, key`)
}

// QuotaRuns lists the months granted in the principal's county, newest
// first.
func (s *Store) QuotaRuns(ctx context.Context) ([]QuotaRun, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer && p.Role != access.CommunityWorker {
		return []QuotaRun{}, nil
	}
	county := p.Division
	if len(county) > 6 {
		county = county[:6]
	}
	sc := access.Subtree(county)
	runs, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (QuotaRun, error) {
		var q QuotaRun
		var at db.Time
		err := r.Scan(&q.County, &q.Month, &q.RuleID, &q.Residents, &q.GrantedFen, &q.ExpiredFen, &q.RunBy, &at)
		q.RunAt = at.Time
		return q, err
	}, `SELECT county, month, rule_id, residents, granted_fen, expired_fen, run_by, run_at FROM care_quota_runs WHERE county >= $1 AND county < $2 ORDER BY month DESC, county LIMIT 24`, sc.Lo, sc.Hi)
	if runs == nil {
		runs = []QuotaRun{}
	}
	return runs, err
}

// Granted is the run's grant in yuan.
func (q QuotaRun) Granted() string { return Yuan(q.GrantedFen) }

// Summary is a tier in words: who, and how much.
func (t Tier) Summary(names map[string]TagKind) fault.Msg {
	var zh, en []string
	if t.AgeMin > 0 {
		zh, en = append(zh, fmt.Sprintf("%d 岁及以上", t.AgeMin)), append(en, fmt.Sprintf("aged %d+", t.AgeMin))
	}
	if len(t.Tags) > 0 {
		var tz, te []string
		for _, k := range t.Tags {
			n, ok := names[k]
			if !ok {
				n = TagKind{Key: k, NameZH: k, NameEN: k}
			}
			tz, te = append(tz, n.NameZH), append(te, n.NameEN)
		}
		zh, en = append(zh, strings.Join(tz, "或")), append(en, strings.Join(te, " or "))
	}
	return fault.M(t.Label+"："+strings.Join(zh, "且")+" ¥"+Yuan(t.AmountFen), t.Label+": "+strings.Join(en, " and ")+" ¥"+Yuan(t.AmountFen))
}

type rulesView struct {
	Quota, Meal []Rule
	Runs        []QuotaRun
	TagNames    map[string]TagKind
	Rows        []tierRow
	County      string
	CanPublish  bool
	Notice      string
}

// tierRow is one tier of the publishing form: its field prefix
// ("tiers[0]"), its number, and the tag picker with the ticks as sent.
type tierRow struct {
	Key  string
	No   int
	Tags []tagChoice
}

type tagChoice struct {
	TagKind
	Checked bool
}

func (h *Handlers) registerRulePages(rt *web.Router) {
	rt.Page("GET /care/rules", func(w http.ResponseWriter, r *http.Request) { h.pageRules(w, r, 200, web.View{}) })
	rt.Page("POST /care/rules", h.postRule)
	rt.Page("POST /care/rules/runs", h.postRun)
}

func (h *Handlers) pageRules(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	p := access.From(ctx)
	if p.Role != access.Officer && p.Role != access.CommunityWorker {
		h.fail(w, r, fault.Forbidden(fault.M("补贴规则供工作人员查看", "the subsidy rules are for workers")))
		return
	}
	rv := rulesView{Notice: r.URL.Query().Get("done"), TagNames: map[string]TagKind{}}
	if len(p.Division) >= 6 {
		rv.County = p.Division[:6]
		rv.CanPublish = countyOfficer(p, rv.County)
	}
	var tags []TagKind
	var err error
	if rv.Quota, err = h.Store.Rules(ctx); err == nil {
		if rv.Meal, err = h.Store.MealRules(ctx); err == nil {
			if rv.Runs, err = h.Store.QuotaRuns(ctx); err == nil {
				tags, err = h.Store.tagKinds(ctx)
			}
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, t := range tags {
		rv.TagNames[t.Key] = t
	}
	if v.Form == nil {
		v.Form = url.Values{"kind": {"quota"}, "from_month": {month(h.Store.Now().In(cstZone()).AddDate(0, 1, 0))}, "month": {month(h.Store.Now())}}
	}
	for i := range tierRows {
		row := tierRow{Key: fmt.Sprintf("tiers[%d]", i), No: i + 1}
		for _, t := range tags {
			row.Tags = append(row.Tags, tagChoice{TagKind: t, Checked: slices.Contains(v.Form[row.Key+".tags"], t.Key)})
		}
		rv.Rows = append(rv.Rows, row)
	}
	v.Title, v.Data = web.M("居家养老与助餐补贴规则", "Home-care and meal subsidy rules"), rv
	h.Pages.Render(w, r, status, "rules", v)
}

// ruleFromForm reads the publishing form: tier rows left blank are
// skipped, amounts are in yuan.
func ruleFromForm(f url.Values, county string) (RuleInput, []fault.FieldError) {
	in := RuleInput{County: county, FromMonth: f.Get("from_month"), Name: f.Get("name")}
	var errs []fault.FieldError
	for i := range tierRows {
		k := fmt.Sprintf("tiers[%d]", i)
		label, age, amount, tags := strings.TrimSpace(f.Get(k+".label")), strings.TrimSpace(f.Get(k+".age_min")), strings.TrimSpace(f.Get(k+".amount_fen")), f[k+".tags"]
		if label == "" && age == "" && amount == "" && len(tags) == 0 {
			continue
		}
		t := Tier{Label: label, Tags: tags}
		if label == "" {
			errs = append(errs, fault.Field(k+".label", fault.M("请填写这一档的名称", "name the tier")))
		}
		if age != "" {
			n, err := strconv.Atoi(age)
			if err != nil {
				errs = append(errs, fault.Field(k+".age_min", fault.M("年龄应为整数", "the age must be a whole number")))
			}
			t.AgeMin = n
		}
		fen, ok := parseYuan(amount)
		if !ok {
			errs = append(errs, fault.Field(k+".amount_fen", fault.M("金额应为元，最多两位小数，如 200 或 12.50", "the amount is in yuan with at most two decimals, like 200 or 12.50")))
		}
		t.AmountFen = fen
		in.Tiers = append(in.Tiers, t)
	}
	return in, errs
}

// parseYuan reads "200", "12.5" or "12.50" as fen.
func parseYuan(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 {
		return 0, false
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 || w > 1_000_000 {
		return 0, false
	}
	f := int64(0)
	if frac != "" {
		for len(frac) < 2 {
			frac += "0"
		}
		if f, err = strconv.ParseInt(frac, 10, 64); err != nil || f < 0 {
			return 0, false
		}
	}
	return w*100 + f, true
}

func (h *Handlers) postRule(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	p := access.From(r.Context())
	county := ""
	if len(p.Division) >= 6 {
		county = p.Division[:6]
	}
	in, errs := ruleFromForm(r.PostForm, county)
	var err error
	switch {
	case len(errs) > 0:
		err = fault.Invalid(fault.M("无法发布规则", "cannot publish the rule"), errs...)
	case r.PostForm.Get("kind") == "meal":
		_, err = h.Store.PublishMealRule(r.Context(), in)
	case r.PostForm.Get("kind") == "quota":
		_, err = h.Store.PublishRule(r.Context(), in)
	default:
		err = fault.Invalid(fault.M("无法发布规则", "cannot publish the rule"), fault.Field("kind", fault.M("请选择居家养老服务补贴或助餐补贴", "choose the home-care or the meal subsidy")))
	}
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageRules(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/care/rules?done=published", http.StatusSeeOther)
}

func (h *Handlers) postRun(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	p := access.From(r.Context())
	county := ""
	if len(p.Division) >= 6 {
		county = p.Division[:6]
	}
	if _, err := h.Store.RunMonth(r.Context(), county, r.PostForm.Get("month")); err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageRules(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/care/rules?done=granted", http.StatusSeeOther)
}
