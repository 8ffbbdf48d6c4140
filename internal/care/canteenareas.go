package care

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/web"
)

// CanteenAreasInput replaces the communities a canteen serves.
type CanteenAreasInput struct {
	Communities []string `json:"communities"`
	// Confirm ends the active enrolments of the diners of the communities
	// removed; without it, such a change answers 409 saying how many.
	Confirm bool `json:"confirm,omitempty"`
}

// CanteenAreasResult is what a change did.
type CanteenAreasResult struct {
	Canteen Canteen  `json:"canteen"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Ended   int      `json:"ended_enrolments"` // diners of the communities removed
}

// MayEditAreas tells whether p changes the communities c serves: the
// manager of the provider running it, a worker of its community (who run
// it when the community does), or an officer over it.
func (s *Store) MayEditAreas(ctx context.Context, p *access.Principal, c Canteen) bool {
	switch {
	case p == nil:
		return false
	case p.Role == access.Provider && c.ProviderID != "":
		me, err := s.memberOf(ctx, p)
		return err == nil && me.Manager && me.ProviderID == c.ProviderID
	case p.Role == access.CommunityWorker || p.Role == access.Officer:
		return access.Encloses(p.Division, c.Division)
	}
	return false
}

// StrandedDiners counts the canteen's active enrolments of diners living
// in a community it serves now but would not under the new list.
func (s *Store) StrandedDiners(ctx context.Context, q db.Querier, c Canteen, communities []string) (int, error) {
	n := 0
	err := db.EachRow(ctx, q, func(r db.Scanner) error {
		var div string
		var k int
		if err := r.Scan(&div, &k); err != nil {
			return err
		}
		if !slices.Contains(communities, div) {
			n += k
		}
		return nil
	}, `SELECT division_code, COUNT(*) FROM care_meal_enrolments WHERE canteen_id = $1 AND active GROUP BY division_code`, c.ID)
	return n, err
}

// SetCanteenAreas replaces the communities a canteen serves, in one
// transaction. Every community must be a village or community of the
// canteen's county. Diners enrolled from a community removed are no longer
// served there (enrolling asks that the canteen serve the diner's
// community), so their enrolments end with the change — once the change
// is confirmed; their meals already recorded stay and settle as before.
func (s *Store) SetCanteenAreas(ctx context.Context, id string, in CanteenAreasInput) (CanteenAreasResult, error) {
	p := access.From(ctx)
	var res CanteenAreasResult
	list := dedupe(in.Communities)
	if len(list) == 0 {
		return res, bad("communities", "请至少选择一个服务社区", "choose at least one community served")
	}
	slices.Sort(list)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.canteen(ctx, tx, id)
		if err != nil {
			return err
		}
		if !s.MayEditAreas(ctx, p, c) {
			return fault.Forbidden(fault.M("由助餐点负责人、所在社区工作者或街道（乡镇）干部修改服务社区", "the canteen's manager, its community's workers or the township change the communities served"))
		}
		for _, cm := range list {
			var n int
			if len(cm) == 12 && access.Encloses(c.County, cm) {
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM divisions_tree WHERE code = $1`, cm).Scan(&n); err != nil {
					return err
				}
			}
			if n == 0 {
				return bad("communities", "服务社区应为本县的村（社区）："+cm, "a community served must be a village or community of the county: "+cm)
			}
		}
		for _, cm := range list {
			if !slices.Contains(c.Communities, cm) {
				res.Added = append(res.Added, cm)
			}
		}
		for _, cm := range c.Communities {
			if !slices.Contains(list, cm) {
				res.Removed = append(res.Removed, cm)
			}
		}
		if len(res.Added) == 0 && len(res.Removed) == 0 {
			res.Canteen = c
			return nil
		}
		stranded, err := s.StrandedDiners(ctx, tx, c, list)
		if err != nil {
			return err
		}
		if stranded > 0 && !in.Confirm {
			return fault.Conflict(fault.M(fmt.Sprintf("移除的社区有 %d 位在册就餐老人，确认后将结束他们的就餐登记", stranded),
				fmt.Sprintf("%d diners are enrolled from the communities removed; confirm to end their enrolments", stranded)))
		}
		for _, cm := range res.Removed {
			ended, err := db.Collect(ctx, tx, db.Value[string], `SELECT id FROM care_meal_enrolments WHERE canteen_id = $1 AND division_code = $2 AND active`, c.ID, cm)
			if err != nil {
				return err
			}
			for _, eid := range ended {
				if _, err := tx.ExecContext(ctx, `UPDATE care_meal_enrolments SET active = FALSE, ended_by = $1, ended_at = $2 WHERE id = $3 AND active`, p.Username, db.T(s.Now()), eid); err != nil {
					return err
				}
				if err := s.record(ctx, tx, "care.meal.unenrol", "care_meal_enrolment", eid, cm, c.ID); err != nil {
					return err
				}
			}
			res.Ended += len(ended)
			if _, err := tx.ExecContext(ctx, `DELETE FROM care_canteen_areas WHERE canteen_id = $1 AND community = $2`, c.ID, cm); err != nil {
				return err
			}
		}
		for _, cm := range res.Added {
			if _, err := tx.ExecContext(ctx, `INSERT INTO care_canteen_areas (canteen_id, community) VALUES ($1, $2)`, c.ID, cm); err != nil {
				return err
			}
		}
		if err := s.record(ctx, tx, "care.canteen.communities", "care_canteen", c.ID, c.Division,
			fmt.Sprintf("added=%s removed=%s ended=%d", strings.Join(res.Added, ","), strings.Join(res.Removed, ","), res.Ended)); err != nil {
			return err
		}
		res.Canteen, err = s.canteen(ctx, tx, id)
		return err
	})
	if res.Added == nil {
		res.Added = []string{}
	}
	if res.Removed == nil {
		res.Removed = []string{}
	}
	return res, err
}

// communityChoice is a village or community offered by the picker.
type communityChoice struct {
	Code, Name string
	Served     bool
}

// townshipChoices are a township's communities for the picker.
type townshipChoices struct {
	Name        string
	Communities []communityChoice
}

// communityChoices are the county's villages and communities by township,
// those c serves marked: the picker's whole scope.
func (s *Store) communityChoices(ctx context.Context, c Canteen) ([]townshipChoices, error) {
	sc := access.Subtree(c.County)
	var out []townshipChoices
	err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var town, code, name string
		if err := r.Scan(&town, &code, &name); err != nil {
			return err
		}
		if len(out) == 0 || out[len(out)-1].Name != town {
			out = append(out, townshipChoices{Name: town})
		}
		last := &out[len(out)-1]
		last.Communities = append(last.Communities, communityChoice{Code: code, Name: name, Served: slices.Contains(c.Communities, code)})
		return nil
	}, `SELECT COALESCE(t.name, ''), d.code, d.name FROM divisions_tree d LEFT JOIN divisions_tree t ON t.code = d.parent_code
		WHERE d.code >= $1 AND d.code < $2 AND LENGTH(d.code) = 12 ORDER BY d.code`, sc.Lo, sc.Hi)
	return out, err
}

// registerAreas adds the API and the page changing a canteen's
// communities.
func (h *Handlers) registerAreas(rt *web.Router) {
	rt.API("PUT /api/v1/care/canteens/{id}/communities", web.Op{Summary: "修改助餐点服务的社区（移除有在册老人的社区须确认，其登记随之结束）/ Change the communities a canteen serves (removing one with enrolled diners needs confirm; their enrolments end)",
		Tag: "care", Body: CanteenAreasInput{}, Response: CanteenAreasResult{}}, func(w http.ResponseWriter, r *http.Request) error {
		var in CanteenAreasInput
		if err := web.DecodeJSON(w, r, &in); err != nil {
			return err
		}
		res, err := h.Store.SetCanteenAreas(r.Context(), r.PathValue("id"), in)
		if err == nil {
			web.WriteJSON(w, 200, res)
		}
		return err
	})
	rt.Page("GET /care/canteens/{id}/communities", func(w http.ResponseWriter, r *http.Request) { h.pageAreas(w, r, 200, web.View{}) })
	rt.Page("POST /care/canteens/{id}/communities", h.postAreas)
}

type areasView struct {
	C        Canteen
	Near     []townshipChoices // the canteen's township and those served: checkboxes
	Others   []townshipChoices // the rest of the county: a select to add one
	Confirm  int               // diners whose enrolments the change would end
	Proposed []string          // the list awaiting confirmation
}

func (h *Handlers) pageAreas(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ctx := r.Context()
	c, err := h.Store.Canteen(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !h.Store.MayEditAreas(ctx, access.From(ctx), c) {
		h.fail(w, r, fault.Forbidden(fault.M("由助餐点负责人、所在社区工作者或街道（乡镇）干部修改服务社区", "the canteen's manager, its community's workers or the township change the communities served")))
		return
	}
	av, _ := v.Data.(areasView)
	av.C = c
	all, err := h.Store.communityChoices(ctx, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if v.Form != nil { // a form sent back: tick what was chosen
		chosen := append(v.Form["communities"], v.Form.Get("add"))
		for i := range all {
			for j := range all[i].Communities {
				all[i].Communities[j].Served = slices.Contains(chosen, all[i].Communities[j].Code)
			}
		}
	}
	for _, t := range all {
		near := false
		for _, cm := range t.Communities {
			near = near || cm.Served || strings.HasPrefix(cm.Code, c.Division[:min(9, len(c.Division))])
		}
		if near {
			av.Near = append(av.Near, t)
		} else {
			av.Others = append(av.Others, t)
		}
	}
	v.Title, v.Data = web.M("服务社区", "Communities served"), av
	v.Crumbs = []web.Crumb{{Href: "/care/canteens", Label: web.M("助餐服务", "Meal assistance")}, {Href: "/care/canteens/" + c.ID, Label: web.M(c.Name, c.Name)}, {Label: web.M("服务社区", "Communities served")}}
	h.Pages.Render(w, r, status, "mealareas", v)
}

func (h *Handlers) postAreas(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	ctx, id := r.Context(), r.PathValue("id")
	in := CanteenAreasInput{Communities: dedupe(append(r.PostForm["communities"], r.PostForm.Get("add"))), Confirm: r.PostForm.Get("confirm") == "1"}
	res, err := h.Store.SetCanteenAreas(ctx, id, in)
	if fault.Is(err, fault.CodeConflict) && !in.Confirm {
		// Ask, saying how many diners the change would end.
		c, cerr := h.Store.Canteen(ctx, id)
		if cerr != nil {
			h.fail(w, r, cerr)
			return
		}
		n, cerr := h.Store.StrandedDiners(ctx, h.Store.DB.R, c, in.Communities)
		if cerr != nil {
			h.fail(w, r, cerr)
			return
		}
		if n > 0 {
			h.pageAreas(w, r, http.StatusOK, web.View{Data: areasView{Confirm: n, Proposed: in.Communities}, Form: r.PostForm})
			return
		}
	}
	if err != nil {
		if we, ok := fault.As(err); ok && we.Code == fault.CodeInvalid {
			h.pageAreas(w, r, web.Status(we), web.View{Alert: we.Msg, Errors: we.Fields, Form: r.PostForm})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/care/canteens/%s?done=communities&ended=%d", id, res.Ended), http.StatusSeeOther)
}
