package requests

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/web"
)

// detailView is what the request page shows: the request as a summary
// list, its photos as thumbnails, its timeline, and one action at a time.
type detailView struct {
	R          Row
	Cat        Category
	Worker     bool
	Originals  bool // the caller may see the originals of masked texts (with a reason) and clear them
	Answers    []answer
	Photos     []PhotoInfo
	Duplicates []Request
	Now        time.Time
	// Show is the action whose form the page shows: the request's next
	// step (Primary) unless another was chosen; Others are the rest.
	Show    Action
	Primary Action
	Others  []actionLink
	// The pickers of the assign and transfer forms.
	Units    []unitGroup
	Handlers []Handler
	Who      string // the name searched in the handler picker
	// Topic is the council topic this suggestion became (nil: none).
	// Council: the reader works with the councils (community workers and
	// officers), who open the topic or raise one; others see its title.
	Topic   *topicLink
	Council bool
}

// topicLink is a deliberation topic raised from a request, as the
// deliberation module publishes it (deliberation_topic_sources).
type topicLink struct {
	ID, Division, Title string
}

// actionLink offers an action that is not the one shown.
type actionLink struct {
	Key    Action
	Label  web.Msg
	Danger bool
}

// unitGroup is a group of candidate handling units of a picker.
type unitGroup struct {
	Label web.Msg
	Units []divisions.Division
}

// answer is one answered question of the category, in words.
type answer struct {
	Label, Value web.Msg
}

// Ratings lists the evaluation choices for the form.
var Ratings = []box{{Satisfied, web.M("满意", "Satisfied")}, {FairlySatisfed, web.M("基本满意", "Fairly satisfied")}, {Unsatisfied, web.M("不满意", "Unsatisfied")}}

func (v detailView) Ratings() []box { return Ratings }

// nextSteps orders the actions by how likely each is the request's next
// step: the first one allowed is the page's primary action.
var nextSteps = []Action{"accept", "answer", "evaluate", "close", "reopen", "start", "assign", "transfer", "merge", "return", "reject"}

// destructive actions end or send back a request: they look like danger
// and are taken only from their own confirmation form.
func destructive(a Action) bool { return a == "return" || a == "reject" }

// Heading names the shown action's form.
func (v detailView) Heading() web.Msg {
	switch v.Show {
	case "return":
		return web.M("退回诉求", "Return the request")
	case "reject":
		return web.M("不予受理", "Reject the request")
	case "evaluate":
		return web.M("评价办理结果", "Rate the result")
	case "reopen":
		return web.M("问题仍未解决？", "Still not solved?")
	}
	return Rules[v.Show].label
}

// Danger tells whether the shown action is destructive.
func (v detailView) Danger() bool { return destructive(v.Show) }

// answers lists a request's answers to its category's questions by their
// labels, list answers by their choices' names; answers to questions the
// category no longer asks keep their keys.
func answers(c Category, attrs map[string]string) []answer {
	var out []answer
	seen := map[string]bool{}
	for _, a := range c.Attributes {
		v, ok := attrs[a.Code]
		if !ok || v == "" {
			continue
		}
		seen[a.Code] = true
		out = append(out, answer{Label: web.M(a.LabelZH, a.LabelEN), Value: answerValue(a, v)})
	}
	var rest []string
	for k := range attrs {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		out = append(out, answer{Label: web.M(k, k), Value: web.M(attrs[k], attrs[k])})
	}
	return out
}

func answerValue(a Attribute, v string) web.Msg {
	switch a.Type {
	case "singlevaluelist", "multivaluelist", "yesno":
		var zh, en []string
		for _, k := range strings.Split(v, ",") {
			z, e := k, k
			for _, c := range a.Choices() {
				if c.Key == k {
					z, e = c.ZH(), c.EN()
				}
			}
			zh, en = append(zh, z), append(en, e)
		}
		return web.M(strings.Join(zh, "、"), strings.Join(en, ", "))
	case "date":
		return web.M(web.FormatDate(v, "zh"), web.FormatDate(v, "en"))
	case "datetime":
		if t, ok := parseDateTime(v, true); ok {
			return web.M(web.FormatDateTime(t, "zh"), web.FormatDateTime(t, "en"))
		}
	case "number":
		return web.M(v, v)
	}
	return web.M(v, v)
}

// SizeText is the photo's size in words ("2.6 MB", "120 KB").
func (p PhotoInfo) SizeText() string {
	if p.Size >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(p.Size)/(1<<20))
	}
	return fmt.Sprintf("%d KB", (p.Size+1023)/1024)
}

// ISO is the event time as a machine-readable date-time.
func (e Event) ISO() string { return e.At.UTC().Format(time.RFC3339) }

// detail gathers what the detail page shows of req, with the form of the
// action show (or the request's next step when show is not allowed).
func (h *Handlers) detail(r *http.Request, req Request, show Action) (detailView, error) {
	ctx := r.Context()
	_, names, err := h.catNames(r)
	if err != nil {
		return detailView{}, err
	}
	p := access.From(ctx)
	dv := detailView{R: h.rows(ctx, []Request{req}, names)[0], Worker: isHandler(p), Originals: mayReadOriginals(p), Now: h.Store.Now()}
	dv.Cat, err = h.Store.Category(ctx, req.Category)
	if err != nil && !fault.Is(err, fault.CodeNotFound) { // a retired category: no questions or templates to show
		return dv, err
	}
	dv.Answers = answers(dv.Cat, req.Attributes)
	allowed := map[Action]bool{}
	for _, a := range nextSteps {
		if h.Store.Allowed(ctx, req, a) {
			allowed[a] = true
			if dv.Primary == "" {
				dv.Primary = a
			}
		}
	}
	dv.Show = dv.Primary
	if allowed[show] {
		dv.Show = show
	}
	for _, a := range ActionOrder {
		if allowed[a] && a != dv.Show {
			dv.Others = append(dv.Others, actionLink{Key: a, Label: Rules[a].label, Danger: destructive(a)})
		}
	}
	switch dv.Show {
	case "assign":
		dv.Who = strings.TrimSpace(r.URL.Query().Get("who"))
		if dv.Units, err = h.units(ctx, req, false); err != nil {
			return dv, err
		}
		if dv.Handlers, err = h.Store.Handlers(ctx, req.Division, dv.Who, 200); err != nil {
			return dv, err
		}
	case "transfer":
		if dv.Units, err = h.units(ctx, req, true); err != nil {
			return dv, err
		}
	}
	if dv.Photos, err = h.Store.PhotoList(ctx, req.ID); err != nil {
		return dv, err
	}
	if req.Category == "suggestion" {
		if dv.Topic, err = h.Store.topicOf(ctx, req.ID); err != nil {
			return dv, err
		}
		dv.Council = p.Role == access.CommunityWorker || p.Role == access.Officer
	}
	if dv.Worker && req.Status.Open() || r.URL.Query().Get("created") == "1" {
		dv.Duplicates, err = h.Store.Duplicates(ctx, req)
	}
	return dv, err
}

// units lists the divisions a request may be dispatched (within the
// caller's scope) or transferred to (anywhere in its county): the county,
// its townships and the communities of the request's township, by name.
func (h *Handlers) units(ctx context.Context, req Request, transfer bool) ([]unitGroup, error) {
	if len(req.Division) < 9 {
		return nil, nil
	}
	sc := access.ScopeOf(ctx)
	keep := func(ds []divisions.Division) []divisions.Division {
		var out []divisions.Division
		for _, d := range ds {
			if (transfer || sc.Contains(d.Code)) && !(transfer && d.Code == req.Unit) {
				out = append(out, d)
			}
		}
		return out
	}
	county, err := h.Store.Divs.Get(ctx, req.Division[:6])
	if err != nil {
		return nil, err
	}
	towns, _, err := h.Store.Divs.Children(ctx, county.Code, 0, 500)
	if err != nil {
		return nil, err
	}
	communities, _, err := h.Store.Divs.Children(ctx, req.Division[:9], 0, 1000)
	if err != nil {
		return nil, err
	}
	var out []unitGroup
	for _, g := range []unitGroup{
		{web.M("本街道（乡镇）的社区（村）", "Communities of this township"), keep(communities)},
		{web.M("乡镇街道", "Townships"), keep(towns)},
		{web.M("区县", "County"), keep([]divisions.Division{county})},
	} {
		if len(g.Units) > 0 {
			out = append(out, g)
		}
	}
	return out, nil
}

// Handler is a worker a request may be dispatched to.
type Handler struct {
	Username, Name, Division string
	Role                     access.Role
}

// Label names the handler in the picker: name, account and role.
func (h Handler) Label() web.Msg {
	zh, en := h.Role.Label()
	return web.M(h.Name+"（"+h.Username+"）· "+zh, h.Name+" ("+h.Username+") · "+en)
}

// Handlers lists the enabled handling accounts within the caller's scope
// who can see a request filed in division (their own division encloses
// it), whose name or account contains who; at most limit, by name.
func (s *Store) Handlers(ctx context.Context, division, who string, limit int) ([]Handler, error) {
	sc := access.ScopeOf(ctx)
	encl := append(divisions.Ancestors(division), division)
	args := []any{string(access.CommunityWorker), string(access.GridWorker), string(access.Officer), sc.Lo, sc.Hi}
	var in []string
	for _, c := range encl {
		args = append(args, c)
		in = append(in, fmt.Sprintf("$%d", len(args)))
	}
	q := `SELECT username, display_name, role, division_code FROM users WHERE role IN ($1, $2, $3) AND NOT disabled
		AND division_code >= $4 AND division_code < $5 AND division_code IN (` + strings.Join(in, ", ") + `)`
	if who != "" {
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(who))
		args = append(args, "%"+esc+"%")
		n := len(args)
		// LOWER on both stores: PostgreSQL's LIKE minds case, SQLite's does not
		q += fmt.Sprintf(` AND (LOWER(display_name) LIKE $%d ESCAPE '\' OR LOWER(username) LIKE $%d ESCAPE '\')`, n, n)
	}
	args = append(args, limit)
	q += fmt.Sprintf(` ORDER BY display_name, username LIMIT $%d`, len(args))
	rows, err := s.DB.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Handler
	for rows.Next() {
		var x Handler
		var role string
		if err := rows.Scan(&x.Username, &x.Name, &role, &x.Division); err != nil {
			return nil, err
		}
		x.Role = access.Role(role)
		out = append(out, x)
	}
	return out, rows.Err()
}

func (h *Handlers) pageDetail(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	req, err := h.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderDetail(w, r, status, v, req)
}

// renderDetail shows req as the detail page; a refused action's form
// (the path's action) stays open with its errors.
func (h *Handlers) renderDetail(w http.ResponseWriter, r *http.Request, status int, v web.View, req Request) {
	show := Action(r.URL.Query().Get("act"))
	if a := Action(r.PathValue("action")); a != "" {
		show = a
	}
	dv, err := h.detail(r, req, show)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Title = web.M("诉求 "+req.Number, "Request "+req.Number)
	list := web.M("我的诉求", "My requests")
	if dv.Worker {
		list = web.M("诉求收件箱", "Request inbox")
	}
	v.Crumbs = []web.Crumb{{Href: "/requests", Label: list}, {Label: web.M(req.Number, req.Number)}}
	v.Data = dv
	if r.URL.Query().Get("created") == "1" && v.Notice.ZH == "" {
		v.Notice = web.M("已提交，回执编号 "+req.Number+"，请留存以便查询", "Submitted. Your receipt number is "+req.Number)
	}
	if a := r.URL.Query().Get("did"); a != "" && v.Notice.ZH == "" {
		if ru, ok := Rules[Action(a)]; ok {
			v.Notice = web.M("已"+ru.label.ZH, ru.label.EN+": done")
		} else if a == "clear" {
			v.Notice = web.M("已核准公开遮蔽后的描述", "The masked text is cleared for publication")
		}
	}
	h.Pages.Render(w, r, status, "detail", v)
}

func (h *Handlers) getThumb(w http.ResponseWriter, r *http.Request) {
	b, ok, err := h.Store.Thumb(r.Context(), r.PathValue("id"), r.PathValue("pid"))
	if err == nil && !ok {
		err = fault.NotFound(fault.M("这张照片没有缩略图", "this photo has no thumbnail"))
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	w.Write(b)
}
