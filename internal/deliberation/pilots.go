package deliberation

import (
	"context"
	"database/sql"
	"net/http"
	"sort"
	"strconv"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/web"
)

// The deliberation pilots (C01/C02) are counted from their designations;
// what a pilot does is counted here, per year, as data elements an
// officer's own indicators may use (participation = ballots ÷ electorate),
// and shown per pilot on /deliberation/pilots.

// activityKinds are the yearly counts, each a query over one group: $1/$2
// the division range, $3/$4 the year's bounds; the first column is the
// group key (the division code cut by the caller).
var activityKinds = []struct {
	key, zh, en string
	query       func(key string) string
}{
	{"deliberation_topics_raised", "议事议题提出数", "Deliberation topics raised", func(k string) string {
		return `SELECT ` + k + `, COUNT(*) FROM dlb_topics WHERE division_code >= $1 AND division_code < $2 AND created_at >= $3 AND created_at < $4 GROUP BY ` + k
	}},
	// A meeting was held when its attendance or minutes were recorded.
	{"deliberation_meetings_held", "召开议事会议数", "Deliberation meetings held", func(k string) string {
		return `SELECT ` + k + `, COUNT(*) FROM dlb_meetings m WHERE division_code >= $1 AND division_code < $2 AND starts_at >= $3 AND starts_at < $4
			AND (minutes <> '' OR EXISTS (SELECT 1 FROM dlb_attendance a WHERE a.meeting_id = m.id)) GROUP BY ` + k
	}},
	// A decision is implemented when its topic reached 已完成 in the year.
	{"deliberation_decisions_done", "议事决定落实完成数", "Deliberation decisions implemented", func(k string) string {
		return `SELECT ` + k + `, COUNT(DISTINCT t.id) FROM dlb_topics t JOIN dlb_topic_events e ON e.topic_id = t.id
			WHERE t.division_code >= $1 AND t.division_code < $2 AND e.to_status = 'done' AND e.at >= $3 AND e.at < $4 GROUP BY ` + k
	}},
	// Household votes closing in the year: the households that voted and
	// the households that could.
	{"deliberation_ballot_households", "参与表决户数", "Households that voted", func(k string) string {
		return `SELECT ` + k + `, COUNT(*) FROM dlb_votes o JOIN dlb_voters v ON v.vote_id = o.id
			WHERE o.division_code >= $1 AND o.division_code < $2 AND o.electorate = 'households' AND o.closes_at >= $3 AND o.closes_at < $4 GROUP BY ` + k
	}},
	{"deliberation_electorate_households", "表决应参与户数", "Households entitled to vote", func(k string) string {
		return `SELECT ` + k + `, SUM(electorate_size) FROM dlb_votes WHERE division_code >= $1 AND division_code < $2
			AND electorate = 'households' AND closes_at >= $3 AND closes_at < $4 GROUP BY ` + k
	}},
}

// activity sums one kind for a group.
func activity(query func(string) string) module.SumFunc {
	return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
		key := "division_code"
		if !g.Fine && g.Prefix > 0 {
			key = "substr(division_code, 1, " + strconv.Itoa(g.Prefix) + ")"
		}
		from := time.Date(g.Year, 1, 1, 0, 0, 0, 0, cst)
		out := map[string]float64{}
		err := db.EachRow(ctx, q, func(r db.Scanner) error {
			var k string
			var n float64
			err := r.Scan(&k, &n)
			out[k] += n
			return err
		}, query(key), g.Lo, g.Hi, db.T(from), db.T(from.AddDate(1, 0, 0)))
		return out, err
	}
}

// Elements are the yearly activity counts. They are volatile: every topic,
// meeting and ballot changes them, so an indicator naming one is computed
// when read.
func (m *deliberationModule) Elements() []module.Element {
	out := make([]module.Element, 0, len(activityKinds))
	for _, k := range activityKinds {
		out = append(out, module.Element{Key: k.key, NameZH: k.zh, NameEN: k.en, Source: "computed", Volatile: true, Sum: activity(k.query)})
	}
	return out
}

var _ module.ElementSupplier = (*deliberationModule)(nil)

// pilotKinds are the designations of the deliberation pilots.
var pilotKinds = map[string]fault.Msg{
	"deliberation_pilot_urban":   fault.M("城市社区议事协商创新试点", "Urban community deliberation pilot"),
	"deliberation_pilot_village": fault.M("村级议事协商创新试点", "Village deliberation pilot"),
}

// Pilot is one pilot community's year.
type Pilot struct {
	Division string    `json:"division_code"`
	Name     string    `json:"name"`
	Kind     fault.Msg `json:"kind"`
	Since    int       `json:"since"`
	Topics   int       `json:"topics_raised"`
	Meetings int       `json:"meetings_held"`
	Done     int       `json:"decisions_done"`
	Voted    int       `json:"ballot_households"`
	Entitled int       `json:"electorate_households"`
}

// Participation is households that voted ÷ households entitled, in
// percent to one decimal ("" when no household vote closed).
func (p Pilot) Participation() string {
	if p.Entitled == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(p.Voted)*100/float64(p.Entitled), 'f', 1, 64) + "%"
}

// Pilots lists the pilot communities in the signed-in worker's
// jurisdiction holding the designation in year, with their activity.
func (s *Store) Pilots(ctx context.Context, year int) ([]Pilot, error) {
	p := access.From(ctx)
	if !worker(p) {
		return nil, fault.Forbidden(fault.M("只有社区工作者和干部可以查看试点", "only community workers and officers may see the pilots"))
	}
	sc := access.BusinessScope(p)
	pilots, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Pilot, error) {
		var x Pilot
		var kind string
		err := r.Scan(&x.Division, &kind, &x.Since)
		x.Kind = pilotKinds[kind]
		return x, err
	}, `SELECT division_code, kind, year FROM divisions_designations WHERE division_code >= $1 AND division_code < $2
		AND kind IN ('deliberation_pilot_urban', 'deliberation_pilot_village') AND year <= $3 AND (withdrawn_year IS NULL OR withdrawn_year > $3)
		ORDER BY division_code LIMIT 500`, sc.Lo, sc.Hi, year)
	if err != nil || len(pilots) == 0 {
		return pilots, err
	}
	codes := make([]string, len(pilots))
	for i, x := range pilots {
		codes[i] = x.Division
	}
	names, err := s.Divs.GetMany(ctx, codes)
	if err != nil {
		return nil, err
	}
	g := module.Group{Lo: sc.Lo, Hi: sc.Hi, Year: year, Fine: true}
	sums := make([]map[string]float64, len(activityKinds)) // in activityKinds' order
	for i, k := range activityKinds {
		if sums[i], err = activity(k.query)(ctx, s.DB.R, g); err != nil {
			return nil, err
		}
	}
	for i := range pilots {
		x := &pilots[i]
		x.Name = names[x.Division].Name
		x.Topics, x.Meetings, x.Done = int(sums[0][x.Division]), int(sums[1][x.Division]), int(sums[2][x.Division])
		x.Voted, x.Entitled = int(sums[3][x.Division]), int(sums[4][x.Division])
	}
	sort.SliceStable(pilots, func(i, j int) bool { return pilots[i].Division < pilots[j].Division })
	return pilots, nil
}

type pilotsView struct {
	Year, This int
	Years      []int
	Pilots     []Pilot
}

func (h *handlers) pagePilots(w http.ResponseWriter, r *http.Request) {
	this := h.store.Now().In(cst).Year()
	year, err := strconv.Atoi(r.URL.Query().Get("year"))
	if err != nil || year < 2021 || year > this {
		year = this
	}
	ps, err := h.store.Pilots(r.Context(), year)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := pilotsView{Year: year, This: this, Pilots: ps}
	for y := this; y >= 2021; y-- {
		v.Years = append(v.Years, y)
	}
	h.pages.Render(w, r, 200, "pilots", web.View{Title: web.M("议事协商创新试点", "Deliberation pilots"), Data: v})
}

func (h *handlers) apiPilots(w http.ResponseWriter, r *http.Request) error {
	year, err := strconv.Atoi(r.URL.Query().Get("year"))
	if err != nil || year < 2021 || year > 2100 {
		return invalid(fault.Field("year", fault.M("请给出 2021 年起的年份", "give a year from 2021")))
	}
	ps, err := h.store.Pilots(r.Context(), year)
	if ps == nil {
		ps = []Pilot{}
	}
	return respond(w, 200, ps, err)
}

// registerPilots adds the pilots' page and API.
func (h *handlers) registerPilots(rt *web.Router) {
	rt.Page("GET /deliberation/pilots", h.pagePilots)
	rt.API("GET /api/v1/deliberation-pilots", web.Op{Summary: "辖区议事协商创新试点及其年度活动 / The deliberation pilots of your jurisdiction with their year's activity", Tag: "deliberation",
		Response: []Pilot{}, Params: []web.Param{{Name: "year", In: "query", Required: true, Type: "integer", Description: "年份 / year"}}}, h.apiPilots)
}
