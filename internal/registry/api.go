package registry

import (
	"net/http"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

// Handlers serve the registry's API and pages.
type Handlers struct {
	Store *Store
	Pages *web.Pages
	jobs  importJobs
}

// listParams are the scoped lists' parameters: like the residents', they
// page by cursor.
var listParams = []web.Param{
	{Name: "division", Description: "区划代码，含下级 / division code (its whole subtree)"},
	{Name: "q", Description: "搜索 / search"},
	keyset.Param,
	{Name: "page_size", Type: "integer"},
}

// KeysetList is a page of facilities, organisations, personnel or grids,
// paged and counted as ResidentList.
type KeysetList[T any] struct {
	web.List[T]
	TotalCapped bool   `json:"total_capped"`
	Next        string `json:"next"`
}

func withParams(extra ...web.Param) []web.Param {
	return append(append([]web.Param{}, listParams...), extra...)
}

// RevealRequest asks for one full value.
type RevealRequest struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// RevealResponse carries the revealed value.
type RevealResponse struct {
	ID    string `json:"id"`
	Field string `json:"field"`
	Value string `json:"value"`
}

// ResidentList is a page of residents. The total is exact for a list of
// one tag (the maintained count) and otherwise up to 1000; when more match,
// total is 1001 and total_capped is true ("1000+"). Next is the cursor of
// the following page ("" on the last): pass it as ?cursor= with the same
// filter.
type ResidentList struct {
	web.List[Resident]
	TotalCapped bool   `json:"total_capped"`
	Next        string `json:"next"`
}

// The resident list pages by cursor: a page number would make the store
// skip every row before it, which at county scale is most of a county.
var residentParams = []web.Param{
	{Name: "division", Description: "区划代码，含下级 / division code (its whole subtree)"},
	{Name: "q", Description: "姓名前缀、身份证号或手机号 / name prefix, ID number or phone"},
	{Name: "tag", Description: "服务对象标签 / service-object tag"}, {Name: "household"}, {Name: "grid"},
	keyset.Param,
	{Name: "page_size", Type: "integer"},
}

// HouseholdList is a page of households, paged and counted as ResidentList.
type HouseholdList struct {
	web.List[Household]
	TotalCapped bool   `json:"total_capped"`
	Next        string `json:"next"`
}

var householdParams = []web.Param{
	{Name: "division", Description: "区划代码，含下级 / division code (its whole subtree)"},
	{Name: "q", Description: "地址或户编号 / address or household number"}, {Name: "grid"},
	keyset.Param,
	{Name: "page_size", Type: "integer"},
}

// CorrectionRequest is a resident's correction of their own record.
type CorrectionRequest struct {
	Phone string `json:"phone"`
}

// MyGridView is a grid worker's grids with their households and tagged residents.
type MyGridView struct {
	Grids      []Grid      `json:"grids"`
	Households []Household `json:"households"`
	Tagged     []Resident  `json:"tagged_residents"`
}

// Register adds the API routes.
func (h *Handlers) Register(rt *web.Router) {
	h.registerHouseholds(rt)
	h.registerResidents(rt)
	h.registerTags(rt)
	h.registerFacilities(rt)
	h.registerOrgs(rt)
	h.registerTransfer(rt)
}

func (h *Handlers) registerHouseholds(rt *web.Router) {
	s := h.Store
	rt.API("GET /api/v1/households", web.Op{Summary: "户列表 / List households", Tag: "registry", Params: householdParams, Response: HouseholdList{}},
		func(w http.ResponseWriter, r *http.Request) error {
			pg, err := web.ParsePagination(r)
			if err != nil {
				return err
			}
			if pg.Page > 1 {
				return keyset.ErrPageNumber
			}
			q := r.URL.Query()
			page, err := s.PageHouseholds(r.Context(), HouseholdFilter{Division: q.Get("division"), Grid: q.Get("grid"), Q: q.Get("q")}, q.Get("cursor"), pg.PageSize)
			if err != nil {
				return err
			}
			web.WriteJSON(w, 200, HouseholdList{List: web.NewList(page.Items, pg, page.Total), TotalCapped: page.Capped, Next: page.Next})
			return nil
		})
	crud(rt, "households", "户 / household", HouseholdInput{}, Household{}, s.GetHousehold, s.CreateHousehold, s.UpdateHousehold, s.DeleteHousehold)

}

// registerResidents adds residents, their tags, reveals and the resident's own record.
func (h *Handlers) registerResidents(rt *web.Router) {
	s := h.Store
	rt.API("GET /api/v1/residents", web.Op{Summary: "居民列表（脱敏）/ List residents (masked)", Tag: "registry",
		Params: residentParams, Response: ResidentList{}},
		func(w http.ResponseWriter, r *http.Request) error {
			pg, err := web.ParsePagination(r)
			if err != nil {
				return err
			}
			if pg.Page > 1 {
				return keyset.ErrPageNumber
			}
			page, err := s.PageResidents(r.Context(), residentFilter(r), r.URL.Query().Get("cursor"), pg.PageSize)
			if err != nil {
				return err
			}
			web.WriteJSON(w, 200, ResidentList{List: web.NewList(page.Items, pg, page.Total), TotalCapped: page.Capped, Next: page.Next})
			return nil
		})
	crud(rt, "residents", "居民（脱敏）/ resident (masked)", ResidentInput{}, Resident{}, s.GetResident, s.CreateResident, s.UpdateResident, s.DeleteResident)
	rt.API("POST /api/v1/residents/{id}/reveal", web.Op{Summary: "查看完整敏感信息（须填理由，记入审计）/ Reveal one full value (reason required, audited)", Tag: "registry",
		Body: RevealRequest{}, Response: RevealResponse{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var req RevealRequest
			if err := web.DecodeJSON(w, r, &req); err != nil {
				return err
			}
			v, err := s.Reveal(r.Context(), r.PathValue("id"), req.Field, req.Reason)
			if err != nil {
				return err
			}
			w.Header().Set("Cache-Control", "no-store")
			web.WriteJSON(w, 200, RevealResponse{ID: r.PathValue("id"), Field: req.Field, Value: v})
			return nil
		})
	rt.API("POST /api/v1/residents/{id}/tags", web.Op{Summary: "添加服务对象标签 / Tag a resident", Tag: "registry", Body: TagInput{}, Response: TagRef{}, Status: 201},
		func(w http.ResponseWriter, r *http.Request) error {
			var in TagInput
			if err := web.DecodeJSON(w, r, &in); err != nil {
				return err
			}
			t, err := s.AddTag(r.Context(), r.PathValue("id"), in)
			if err != nil {
				return err
			}
			web.WriteJSON(w, 201, t)
			return nil
		})
	rt.API("DELETE /api/v1/residents/{id}/tags/{tag_id}", web.Op{Summary: "移除服务对象标签 / Remove a tag", Tag: "registry", Status: 204},
		func(w http.ResponseWriter, r *http.Request) error {
			if err := s.RemoveTag(r.Context(), r.PathValue("id"), r.PathValue("tag_id")); err != nil {
				return err
			}
			w.WriteHeader(204)
			return nil
		})
	rt.API("GET /api/v1/me/registry", web.Op{Summary: "本人登记信息（居民查阅权）/ My own registry record (right of access)", Tag: "registry", Response: Resident{}},
		func(w http.ResponseWriter, r *http.Request) error {
			p := access.From(r.Context())
			if p.Role != access.Resident {
				return fault.Forbidden(web.M("仅居民账号可用", "for resident accounts only"))
			}
			items, _, err := s.ListResidents(r.Context(), ResidentFilter{}, 1)
			if err != nil {
				return err
			}
			if len(items) == 0 {
				return fault.NotFound(web.M("登记库中没有与您账号关联的记录", "no registry record is linked to your account"))
			}
			web.WriteJSON(w, 200, items[0])
			return nil
		})
	rt.API("PUT /api/v1/me/registry", web.Op{Summary: "更正本人联系电话（居民更正权）/ Correct my own phone (right of correction)", Tag: "registry", Body: CorrectionRequest{}, Response: Resident{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var req CorrectionRequest
			if err := web.DecodeJSON(w, r, &req); err != nil {
				return err
			}
			res, err := s.CorrectOwn(r.Context(), req.Phone)
			if err != nil {
				return err
			}
			web.WriteJSON(w, 200, res)
			return nil
		})

}

// registerTags adds the tag catalogue and counts.
func (h *Handlers) registerTags(rt *web.Router) {
	s := h.Store
	rt.API("GET /api/v1/tags", web.Op{Summary: "服务对象标签目录 / Tag catalogue", Tag: "registry", Response: []TagKind{}},
		func(w http.ResponseWriter, r *http.Request) error {
			ks, err := s.TagKinds(r.Context())
			if err != nil {
				return err
			}
			web.WriteJSON(w, 200, ks)
			return nil
		})
	rt.API("POST /api/v1/tags", web.Op{Summary: "新增标签（省级民政干部）/ Add a tag to the catalogue (province officers)", Tag: "registry", Body: TagKind{}, Response: TagKind{}, Status: 201},
		func(w http.ResponseWriter, r *http.Request) error {
			var in TagKind
			if err := web.DecodeJSON(w, r, &in); err != nil {
				return err
			}
			t, err := s.AddTagKind(r.Context(), in)
			if err != nil {
				return err
			}
			web.WriteJSON(w, 201, t)
			return nil
		})
	rt.API("GET /api/v1/tags/summary", web.Op{Summary: "服务对象标签统计（辖区及下级）/ Tag counts for a subtree and its children", Tag: "registry",
		Params: []web.Param{{Name: "division", Required: true, Description: "区划代码 / division code"}}, Response: TagSummary{}},
		func(w http.ResponseWriter, r *http.Request) error {
			code := r.URL.Query().Get("division")
			if code == "" {
				code = access.From(r.Context()).Division
			}
			sum, err := s.Summary(r.Context(), code, true)
			if err != nil {
				return err
			}
			web.WriteJSON(w, 200, sum)
			return nil
		})

}

// registerFacilities adds facilities and their catalogue.
func (h *Handlers) registerFacilities(rt *web.Router) {
	s := h.Store
	rt.API("GET /api/v1/facilities", web.Op{Summary: "服务设施列表 / List facilities", Tag: "registry", Params: withParams(web.Param{Name: "category"}), Response: KeysetList[Facility]{}},
		listHandler(s.PageFacilities))
	rt.API("GET /api/v1/facilities/nearby", web.Op{Summary: "附近设施（N 米内）/ Facilities within N metres", Tag: "registry",
		Params:   []web.Param{{Name: "lon", Required: true, Type: "number"}, {Name: "lat", Required: true, Type: "number"}, {Name: "radius_m", Required: true, Type: "number"}, {Name: "category"}, {Name: "limit", Type: "integer"}},
		Response: []Facility{}},
		func(w http.ResponseWriter, r *http.Request) error {
			q := r.URL.Query()
			var errs []fault.FieldError
			num := func(name string) float64 {
				v, err := strconv.ParseFloat(q.Get(name), 64)
				if err != nil {
					errs = append(errs, fault.Field(name, web.M("须为数字", "must be a number")))
				}
				return v
			}
			lon, lat, rad := num("lon"), num("lat"), num("radius_m")
			limit := 100
			if v := q.Get("limit"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 500 {
					errs = append(errs, fault.Field("limit", web.M("须为 1–500 的整数", "must be a whole number from 1 to 500")))
				}
				limit = n
			}
			if len(errs) > 0 {
				return fault.Invalid(web.M("查询参数有误", "invalid query"), errs...)
			}
			out, err := s.Nearby(r.Context(), lon, lat, rad, q.Get("category"), limit)
			if err != nil {
				return err
			}
			web.WriteJSON(w, 200, out)
			return nil
		})
	crud(rt, "facilities", "服务设施 / facility", FacilityInput{}, Facility{}, s.GetFacility, s.CreateFacility, s.UpdateFacility, s.DeleteFacility)
	rt.API("GET /api/v1/facility-categories", web.Op{Summary: "设施类别目录 / Facility category catalogue", Tag: "registry", Response: []Category{}},
		func(w http.ResponseWriter, r *http.Request) error {
			cs, err := s.Categories(r.Context())
			if err != nil {
				return err
			}
			web.WriteJSON(w, 200, cs)
			return nil
		})
	rt.API("POST /api/v1/facility-categories", web.Op{Summary: "新增设施类别（省级民政干部）/ Add a facility category (province officers)", Tag: "registry", Body: Category{}, Response: Category{}, Status: 201},
		func(w http.ResponseWriter, r *http.Request) error {
			var in Category
			if err := web.DecodeJSON(w, r, &in); err != nil {
				return err
			}
			c, err := s.AddCategory(r.Context(), in)
			if err != nil {
				return err
			}
			web.WriteJSON(w, 201, c)
			return nil
		})

}

// registerOrgs adds organisations, personnel and grids.
func (h *Handlers) registerOrgs(rt *web.Router) {
	s := h.Store
	rt.API("GET /api/v1/organizations", web.Op{Summary: "组织列表 / List organisations", Tag: "registry",
		Params: withParams(web.Param{Name: "category", Description: "social_org/enterprise/property/owners_committee"}), Response: KeysetList[Organization]{}}, listHandler(s.PageOrganizations))
	crud(rt, "organizations", "组织 / organisation", OrganizationInput{}, Organization{}, s.GetOrganization, s.CreateOrganization, s.UpdateOrganization, s.DeleteOrganization)
	rt.API("GET /api/v1/personnel", web.Op{Summary: "人员列表（电话脱敏）/ List personnel (phones masked)", Tag: "registry",
		Params: withParams(web.Param{Name: "category", Description: "岗位 / role"}), Response: KeysetList[Person]{}}, listHandler(s.PagePersonnel))
	crud(rt, "personnel", "人员 / person", PersonInput{}, Person{}, s.GetPerson, s.CreatePerson, s.UpdatePerson, s.DeletePerson)
	rt.API("GET /api/v1/grids", web.Op{Summary: "网格列表 / List grids", Tag: "registry", Params: listParams, Response: KeysetList[Grid]{}}, listHandler(s.PageGrids))
	rt.API("GET /api/v1/grids/mine", web.Op{Summary: "我的网格：户与服务对象 / My grids: households and tagged residents", Tag: "registry", Response: MyGridView{}},
		func(w http.ResponseWriter, r *http.Request) error {
			v, err := h.myGrid(r)
			if err != nil {
				return err
			}
			web.WriteJSON(w, 200, v)
			return nil
		})
	crud(rt, "grids", "网格 / grid", GridInput{}, Grid{}, s.GetGrid, s.CreateGrid, s.UpdateGrid, s.DeleteGrid)
}

func (h *Handlers) myGrid(r *http.Request) (MyGridView, error) {
	v := MyGridView{Grids: []Grid{}, Households: []Household{}, Tagged: []Resident{}}
	gs, err := h.Store.MyGrids(r.Context())
	if err != nil {
		return v, err
	}
	for _, g := range gs {
		v.Grids = append(v.Grids, g)
		hs, _, err := h.Store.ListHouseholds(r.Context(), HouseholdFilter{Grid: g.ID}, web.MaxPageSize)
		if err != nil {
			return v, err
		}
		v.Households = append(v.Households, hs...)
		// Only the tagged are shown: the rest of the grid is not read.
		rs, _, err := h.Store.ListResidents(r.Context(), ResidentFilter{Grid: g.ID, Tagged: true}, 1000)
		if err != nil {
			return v, err
		}
		for _, res := range rs {
			if len(res.Tags) > 0 {
				v.Tagged = append(v.Tagged, res)
			}
		}
	}
	return v, nil
}

func residentFilter(r *http.Request) ResidentFilter {
	q := r.URL.Query()
	return ResidentFilter{Division: q.Get("division"), Tag: q.Get("tag"), Q: q.Get("q"), Household: q.Get("household"), Grid: q.Get("grid")}
}

func listHandler[T any](page func(ctx contextT, f Filter, cursor string, limit int) (Page[T], error)) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		pg, err := web.ParsePagination(r)
		if err != nil {
			return err
		}
		if pg.Page > 1 {
			return keyset.ErrPageNumber
		}
		q := r.URL.Query()
		p, err := page(r.Context(), Filter{Division: q.Get("division"), Category: q.Get("category"), Q: q.Get("q")}, q.Get("cursor"), pg.PageSize)
		if err != nil {
			return err
		}
		web.WriteJSON(w, 200, KeysetList[T]{List: web.NewList(p.Items, pg, p.Total), TotalCapped: p.Capped, Next: p.Next})
		return nil
	}
}

// crud registers get, create, update and delete for one entity.
func crud[I, T any](rt *web.Router, name, label string, in I, out T,
	get func(contextT, string) (T, error), create func(contextT, I) (T, error),
	update func(contextT, string, I) (T, error), del func(contextT, string) error) {
	zh, en, _ := strings.Cut(label, " / ")
	base := "/api/v1/" + name
	rt.API("GET "+base+"/{id}", web.Op{Summary: "查看" + zh + " / Get a " + en, Tag: "registry", Response: out},
		func(w http.ResponseWriter, r *http.Request) error {
			v, err := get(r.Context(), r.PathValue("id"))
			if err != nil {
				return err
			}
			web.WriteJSON(w, 200, v)
			return nil
		})
	rt.API("POST "+base, web.Op{Summary: "新建" + zh + " / Create a " + en, Tag: "registry", Body: in, Response: out, Status: 201},
		func(w http.ResponseWriter, r *http.Request) error {
			var v I
			if err := web.DecodeJSON(w, r, &v); err != nil {
				return err
			}
			res, err := create(r.Context(), v)
			if err != nil {
				return err
			}
			web.WriteJSON(w, 201, res)
			return nil
		})
	rt.API("PUT "+base+"/{id}", web.Op{Summary: "修改" + zh + " / Update a " + en, Tag: "registry", Body: in, Response: out},
		func(w http.ResponseWriter, r *http.Request) error {
			var v I
			if err := web.DecodeJSON(w, r, &v); err != nil {
				return err
			}
			res, err := update(r.Context(), r.PathValue("id"), v)
			if err != nil {
				return err
			}
			web.WriteJSON(w, 200, res)
			return nil
		})
	rt.API("DELETE "+base+"/{id}", web.Op{Summary: "删除" + zh + " / Delete a " + en, Tag: "registry", Status: 204},
		func(w http.ResponseWriter, r *http.Request) error {
			if err := del(r.Context(), r.PathValue("id")); err != nil {
				return err
			}
			w.WriteHeader(204)
			return nil
		})
}
