package volunteers

import (
	"net/http"
	"strconv"

	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/secret"
	"linli/internal/web"
)

// Handlers serve the JSON API and the pages.
type Handlers struct {
	Store *Store
	Keys  *secret.Keyring
	Pages *web.Pages
}

// Page is one page of a list paged by key: next is the cursor of the
// page after (empty on the last).
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// Cursor lists.
const (
	listVolunteers = "volunteers"
	listActivities = "volunteers/activities"
	listEntries    = "volunteers/entries"
	listItems      = "volunteers/items"
	listAccounts   = "volunteers/accounts"
	listCerts      = "volunteers/certificates"
)

// RegisterAPI adds /api/v1/volunteers, /activities, /ledger and /points-shop.
func (h *Handlers) RegisterAPI(rt *web.Router) {
	const tag = "volunteers"
	cur := []web.Param{keyset.Param, {Name: "page_size", Type: "integer"}}
	rt.API("GET /api/v1/volunteers", web.Op{Summary: "志愿者名单（辖区内，按键翻页）/ Volunteers in your jurisdiction, paged by key", Tag: tag, Response: Page[Volunteer]{},
		Params: append([]web.Param{{Name: "division"}, {Name: "status", Description: "pending, verified or rejected"}}, cur...)}, h.apiVolunteers)
	rt.API("POST /api/v1/volunteers", web.Op{Summary: "登记成为志愿者（居民本人，或社区工作者代为登记）/ Register as a volunteer", Tag: tag, Body: VolunteerInput{}, Response: Volunteer{}, Status: 201}, h.apiRegister)
	rt.API("GET /api/v1/volunteers/me", web.Op{Summary: "我的志愿者信息：时长、星级、积分（未登记时状态为 unregistered）/ My volunteer record: hours, stars, points (status unregistered before registering)", Tag: tag, Response: Volunteer{}}, h.apiMe)
	rt.API("POST /api/v1/volunteers/me/certificates", web.Op{Summary: "开具志愿服务时长证明 / Issue my certificate of service hours", Tag: tag, Response: Certificate{}, Status: 201}, h.apiCertificate)
	rt.API("GET /api/v1/volunteers/{id}", web.Op{Summary: "志愿者详情 / A volunteer", Tag: tag, Response: Volunteer{}}, h.apiVolunteer)
	rt.API("POST /api/v1/volunteers/{id}/verify", web.Op{Summary: "社区认证志愿者登记 / Verify (or refuse) a registration", Tag: tag, Body: VerifyInput{}, Response: Volunteer{}}, h.apiVerify)
	rt.API("GET /api/v1/certificates", web.Op{Summary: "时长证明（本人的，或辖区内的；按键翻页）/ Certificates: my own, or in your jurisdiction, paged by key", Tag: tag, Response: Page[Certificate]{}, Params: cur}, h.apiCertificates)
	rt.API("GET /api/v1/certificates/{id}", web.Op{Summary: "凭验证码核验志愿服务时长证明（公开）/ Verify a certificate by its code (public)", Tag: tag, Response: Certificate{}, Public: true}, h.apiVerifyCertificate)

	rt.API("GET /api/v1/activities", web.Op{Summary: "志愿活动（按开始时间，按键翻页）/ Volunteer activities by start, paged by key", Tag: tag, Response: Page[Activity]{},
		Params: append([]web.Param{{Name: "division"}, {Name: "open", Type: "boolean", Description: "only those still taking sign-ups"}}, cur...)}, h.apiActivities)
	rt.API("POST /api/v1/activities", web.Op{Summary: "发布志愿活动（社区工作者、干部）/ Post an activity", Tag: tag, Body: ActivityInput{}, Response: Activity{}, Status: 201}, h.apiPostActivity)
	rt.API("GET /api/v1/activities/{id}", web.Op{Summary: "活动详情 / An activity", Tag: tag, Response: Activity{}}, h.apiActivity)
	rt.API("POST /api/v1/activities/{id}/signup", web.Op{Summary: "报名（名额满时候补）/ Sign up (waitlisted when full)", Tag: tag, Response: SignUpResult{}, Status: 201}, h.apiSignUp)
	rt.API("POST /api/v1/activities/{id}/cancel", web.Op{Summary: "截止前取消报名（候补第一位递补）/ Cancel before the cut-off (the first waitlisted moves up)", Tag: tag, Response: SignUpResult{}}, h.apiCancel)
	rt.API("GET /api/v1/activities/{id}/roster", web.Op{Summary: "报名名单（组织者）/ The roster (organisers)", Tag: tag, Response: []Signup{}}, h.apiRoster)
	rt.API("POST /api/v1/activities/{id}/attendance", web.Op{Summary: "确认签到并记入时长（重复确认不重复记入）/ Confirm attendance and credit hours (once)", Tag: tag, Body: AttendanceInput{}, Response: AttendanceResult{}}, h.apiAttendance)

	rt.API("GET /api/v1/activity-series", web.Op{Summary: "周期活动（辖区内）/ Recurring activities in your jurisdiction", Tag: tag, Response: []Series{}}, h.apiSeriesList)
	rt.API("POST /api/v1/activity-series", web.Op{Summary: "发布周期活动并生成 8 周内的班次 / Create a recurring activity; its shifts for the next 8 weeks are generated", Tag: tag, Body: SeriesInput{}, Response: SeriesResult{}, Status: 201}, h.apiCreateSeries)
	rt.API("GET /api/v1/activity-series/{id}", web.Op{Summary: "周期活动及其班次 / A recurring activity and its shifts", Tag: tag, Response: SeriesDetail{}}, h.apiSeries)
	rt.API("PUT /api/v1/activity-series/{id}", web.Op{Summary: "修改周期活动（只改变尚无人报名的未来班次）/ Edit a recurring activity (only future shifts without sign-ups change)", Tag: tag, Body: SeriesInput{}, Response: SeriesResult{}}, h.apiUpdateSeries)
	rt.API("POST /api/v1/activity-series/{id}/generate", web.Op{Summary: "补齐 8 周内的班次（重复执行不重复生成）/ Generate the missing shifts of the next 8 weeks (idempotent)", Tag: tag, Response: SeriesResult{}}, h.apiGenerate)
	rt.API("POST /api/v1/activity-series/{id}/cancel", web.Op{Summary: "取消周期活动及未举行的班次，释放报名 / Cancel a recurring activity and its future shifts, releasing their sign-ups", Tag: tag, Response: SeriesResult{}}, h.apiCancelSeries)

	rt.API("POST /api/v1/volunteers/me/party-report", web.Op{Summary: "在职党员到居住社区报到（每人一次）/ A serving party member reports to the community they live in (once)", Tag: tag, Response: PartyReport{}, Status: 201}, h.apiReport)
	rt.API("GET /api/v1/service-posts", web.Op{Summary: "社区认岗岗位（居民：本社区的；工作者、干部：辖区内的）/ Service posts: your community's, or in your jurisdiction", Tag: tag, Response: []Post{},
		Params: []web.Param{{Name: "division"}}}, h.apiPosts)
	rt.API("POST /api/v1/service-posts", web.Op{Summary: "发布认岗岗位（社区）/ Publish a service post (community)", Tag: tag, Body: PostInput{}, Response: Post{}, Status: 201}, h.apiPublishPost)
	rt.API("POST /api/v1/service-posts/{id}/take", web.Op{Summary: "已报到党员认领岗位（满员拒绝）/ A reported party member takes a post (refused when full)", Tag: tag, Response: Post{}, Status: 201}, h.apiTakePost)
	rt.API("GET /api/v1/service-posts/{id}/members", web.Op{Summary: "认领岗位的党员（姓名脱敏）/ Who took a post (names masked)", Tag: tag, Response: []PostMember{}}, h.apiPostMembers)
	rt.API("GET /api/v1/party-branch-reports", web.Op{Summary: "向所在党组织反馈：报到党员的岗位和期间服务时长 / Report to a work branch: its reported members' posts and service hours in a period", Tag: tag, Response: []BranchRow{},
		Params: []web.Param{{Name: "division"}, {Name: "branch", Description: "the work branch", Required: true}, {Name: "from", Description: "YYYY-MM-DD", Required: true},
			{Name: "to", Description: "YYYY-MM-DD", Required: true}}}, h.apiBranchReport)

	rt.API("GET /api/v1/ledger/stars", web.Op{Summary: "星级门槛（小时）/ The star thresholds in hours", Tag: tag, Response: []StarLevel{}}, h.apiStars)
	rt.API("GET /api/v1/ledger/accounts", web.Op{Summary: "账户及余额（本人的，或辖区内的；按键翻页）/ Accounts and balances: my own, or in your jurisdiction, paged by key", Tag: tag, Response: Page[Account]{}, Params: cur}, h.apiAccounts)
	rt.API("GET /api/v1/ledger/accounts/{id}", web.Op{Summary: "账户余额（时长以分钟计）/ An account's balance (hours in minutes)", Tag: tag, Response: Account{}}, h.apiAccount)
	rt.API("GET /api/v1/ledger/accounts/{id}/entries", web.Op{Summary: "账户分录（新的在前，按键翻页）/ An account's entries, newest first, paged by key", Tag: tag, Response: Page[Entry]{}, Params: cur}, h.apiEntries)
	rt.API("POST /api/v1/ledger/credits", web.Op{Summary: "记入活动以外的服务时长（社区）/ Credit hours served outside an activity", Tag: tag, Body: CreditInput{}, Response: Posted{}, Status: 201}, h.apiCredit)
	rt.API("POST /api/v1/ledger/transfers", web.Op{Summary: "时间银行转赠给同户家庭成员 / Give time-bank hours to a household member", Tag: tag, Body: TransferInput{}, Response: Posted{}, Status: 201}, h.apiTransfer)
	rt.API("POST /api/v1/ledger/reversals", web.Op{Summary: "冲正一笔账（写明原因）/ Reverse a transaction, with a reason", Tag: tag, Body: ReversalInput{}, Response: Posted{}, Status: 201}, h.apiReverse)

	rt.API("GET /api/v1/points-shop/items", web.Op{Summary: "积分超市商品（按名称，按键翻页）/ The points shop's items, paged by key", Tag: tag, Response: Page[Item]{},
		Params: append([]web.Param{{Name: "division"}}, cur...)}, h.apiItems)
	rt.API("POST /api/v1/points-shop/items", web.Op{Summary: "上架商品（社区）/ Add an item (community)", Tag: tag, Body: ItemInput{}, Response: Item{}, Status: 201}, h.apiAddItem)
	rt.API("POST /api/v1/points-shop/redemptions", web.Op{Summary: "积分兑换 / Redeem an item for points", Tag: tag, Body: RedeemInput{}, Response: Redemption{}, Status: 201}, h.apiRedeem)
	h.registerPairAPI(rt)
	h.registerFundAPI(rt)
}

// VerifyInput is the community's decision on a registration.
type VerifyInput struct {
	Approve bool `json:"approve"`
}

func pageSize(r *http.Request, def int) (int, error) {
	v := r.URL.Query().Get("page_size")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 200 {
		return 0, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("page_size", fault.M("应为 1–200", "must be 1–200")))
	}
	return n, nil
}

func (h *Handlers) cursor(r *http.Request, list string, n int) ([]string, error) {
	c := r.URL.Query().Get("cursor")
	if c == "" {
		return nil, nil
	}
	return keyset.Open(h.Keys, c, list, n)
}

func (h *Handlers) apiVolunteers(w http.ResponseWriter, r *http.Request) error {
	n, err := pageSize(r, 50)
	if err != nil {
		return err
	}
	key, err := h.cursor(r, listVolunteers, 1)
	if err != nil {
		return err
	}
	f := VolunteerFilter{Division: r.URL.Query().Get("division"), Status: r.URL.Query().Get("status"), Limit: n + 1}
	if key != nil {
		f.After = key[0]
	}
	vs, err := h.Store.List(r.Context(), f)
	if err != nil {
		return err
	}
	p := Page[Volunteer]{Items: vs}
	if len(vs) > n {
		p.Items = vs[:n]
		p.Next = keyset.Seal(h.Keys, listVolunteers, vs[n-1].Cursor())
	}
	web.WriteJSON(w, 200, p)
	return nil
}

func (h *Handlers) apiRegister(w http.ResponseWriter, r *http.Request) error {
	var in VolunteerInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	v, err := h.Store.Register(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, v)
	return nil
}

func (h *Handlers) apiMe(w http.ResponseWriter, r *http.Request) error {
	v, err := h.Store.Me(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, v)
	return nil
}

func (h *Handlers) apiVolunteer(w http.ResponseWriter, r *http.Request) error {
	v, err := h.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, v)
	return nil
}

func (h *Handlers) apiVerify(w http.ResponseWriter, r *http.Request) error {
	var in VerifyInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	v, err := h.Store.Verify(r.Context(), r.PathValue("id"), in.Approve)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, v)
	return nil
}

func (h *Handlers) apiCertificate(w http.ResponseWriter, r *http.Request) error {
	c, err := h.Store.IssueCertificate(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, c)
	return nil
}

func (h *Handlers) apiVerifyCertificate(w http.ResponseWriter, r *http.Request) error {
	c, err := h.Store.VerifyCertificate(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, c)
	return nil
}

func (h *Handlers) apiActivities(w http.ResponseWriter, r *http.Request) error {
	n, err := pageSize(r, 20)
	if err != nil {
		return err
	}
	key, err := h.cursor(r, listActivities, 1)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := ActivityFilter{Division: q.Get("division"), Open: q.Get("open") == "true", Limit: n + 1}
	if key != nil {
		f.After = key[0]
	}
	as, err := h.Store.Activities(r.Context(), f)
	if err != nil {
		return err
	}
	p := Page[Activity]{Items: as}
	if len(as) > n {
		p.Items = as[:n]
		p.Next = keyset.Seal(h.Keys, listActivities, as[n-1].Cursor())
	}
	web.WriteJSON(w, 200, p)
	return nil
}

func (h *Handlers) apiPostActivity(w http.ResponseWriter, r *http.Request) error {
	var in ActivityInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	a, err := h.Store.PostActivity(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, a)
	return nil
}

func (h *Handlers) apiActivity(w http.ResponseWriter, r *http.Request) error {
	a, err := h.Store.Activity(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, a)
	return nil
}

func (h *Handlers) apiSignUp(w http.ResponseWriter, r *http.Request) error {
	res, err := h.Store.SignUp(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, res)
	return nil
}

func (h *Handlers) apiCancel(w http.ResponseWriter, r *http.Request) error {
	if err := h.Store.Cancel(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	web.WriteJSON(w, 200, SignUpResult{ActivityID: r.PathValue("id"), Status: Cancelled})
	return nil
}

func (h *Handlers) apiRoster(w http.ResponseWriter, r *http.Request) error {
	_, rows, err := h.Store.Roster(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []Signup{}
	}
	web.WriteJSON(w, 200, rows)
	return nil
}

func (h *Handlers) apiAttendance(w http.ResponseWriter, r *http.Request) error {
	var in AttendanceInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	res, err := h.Store.Attendance(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, res)
	return nil
}

func (h *Handlers) apiStars(w http.ResponseWriter, r *http.Request) error {
	ls, err := h.Store.StarLevels(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, ls)
	return nil
}

func (h *Handlers) apiAccount(w http.ResponseWriter, r *http.Request) error {
	a, err := h.Store.Account(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, a)
	return nil
}

func (h *Handlers) apiEntries(w http.ResponseWriter, r *http.Request) error {
	n, err := pageSize(r, 50)
	if err != nil {
		return err
	}
	key, err := h.cursor(r, listEntries, 1)
	if err != nil {
		return err
	}
	var before int64
	if key != nil {
		if before, err = strconv.ParseInt(key[0], 10, 64); err != nil {
			return keyset.ErrBadCursor
		}
	}
	es, err := h.Store.Entries(r.Context(), r.PathValue("id"), before, n+1)
	if err != nil {
		return err
	}
	p := Page[Entry]{Items: es}
	if len(es) > n {
		p.Items = es[:n]
		p.Next = keyset.Seal(h.Keys, listEntries, strconv.FormatInt(es[n-1].ID, 10))
	}
	if p.Items == nil {
		p.Items = []Entry{}
	}
	web.WriteJSON(w, 200, p)
	return nil
}

func (h *Handlers) apiCredit(w http.ResponseWriter, r *http.Request) error {
	var in CreditInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := h.Store.Credit(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, p)
	return nil
}

func (h *Handlers) apiTransfer(w http.ResponseWriter, r *http.Request) error {
	var in TransferInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := h.Store.Transfer(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, p)
	return nil
}

func (h *Handlers) apiReverse(w http.ResponseWriter, r *http.Request) error {
	var in ReversalInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := h.Store.Reverse(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, p)
	return nil
}

func (h *Handlers) apiItems(w http.ResponseWriter, r *http.Request) error {
	n, err := pageSize(r, 50)
	if err != nil {
		return err
	}
	key, err := h.cursor(r, listItems, 2)
	if err != nil {
		return err
	}
	var name, id string
	if key != nil {
		name, id = key[0], key[1]
	}
	its, err := h.Store.Items(r.Context(), r.URL.Query().Get("division"), name, id, n+1)
	if err != nil {
		return err
	}
	p := Page[Item]{Items: its}
	if len(its) > n {
		p.Items = its[:n]
		p.Next = keyset.Seal(h.Keys, listItems, its[n-1].Name, its[n-1].ID)
	}
	if p.Items == nil {
		p.Items = []Item{}
	}
	web.WriteJSON(w, 200, p)
	return nil
}

func (h *Handlers) apiAddItem(w http.ResponseWriter, r *http.Request) error {
	var in ItemInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	it, err := h.Store.AddItem(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, it)
	return nil
}

func (h *Handlers) apiRedeem(w http.ResponseWriter, r *http.Request) error {
	var in RedeemInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	red, err := h.Store.Redeem(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, red)
	return nil
}

// pageOf answers one page of a list read with one row more than asked.
func pageOf[T any](keys *secret.Keyring, list string, rows []T, n int, key func(T) []string) Page[T] {
	p := Page[T]{Items: rows}
	if len(rows) > n {
		p.Items = rows[:n]
		p.Next = keyset.Seal(keys, list, key(rows[n-1])...)
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return p
}

func (h *Handlers) apiAccounts(w http.ResponseWriter, r *http.Request) error {
	n, err := pageSize(r, 50)
	if err != nil {
		return err
	}
	key, err := h.cursor(r, listAccounts, 1)
	if err != nil {
		return err
	}
	after := ""
	if key != nil {
		after = key[0]
	}
	as, err := h.Store.Accounts(r.Context(), after, n+1)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pageOf(h.Keys, listAccounts, as, n, func(a Account) []string { return []string{a.ID} }))
	return nil
}

func (h *Handlers) apiCertificates(w http.ResponseWriter, r *http.Request) error {
	n, err := pageSize(r, 50)
	if err != nil {
		return err
	}
	key, err := h.cursor(r, listCerts, 1)
	if err != nil {
		return err
	}
	after := ""
	if key != nil {
		after = key[0]
	}
	cs, err := h.Store.Certificates(r.Context(), after, n+1)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, pageOf(h.Keys, listCerts, cs, n, func(c Certificate) []string { return []string{c.Code} }))
	return nil
}

// SeriesDetail is a recurring activity with its shifts.
type SeriesDetail struct {
	Series Series     `json:"series"`
	Shifts []Activity `json:"shifts"`
}

func (h *Handlers) apiSeriesList(w http.ResponseWriter, r *http.Request) error {
	list, err := h.Store.SeriesList(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []Series{}
	}
	web.WriteJSON(w, 200, list)
	return nil
}

func (h *Handlers) apiCreateSeries(w http.ResponseWriter, r *http.Request) error {
	var in SeriesInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	res, err := h.Store.CreateSeries(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, res)
	return nil
}

func (h *Handlers) apiSeries(w http.ResponseWriter, r *http.Request) error {
	sr, shifts, err := h.Store.OneSeries(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if shifts == nil {
		shifts = []Activity{}
	}
	web.WriteJSON(w, 200, SeriesDetail{Series: sr, Shifts: shifts})
	return nil
}

func (h *Handlers) apiUpdateSeries(w http.ResponseWriter, r *http.Request) error {
	var in SeriesInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	res, err := h.Store.UpdateSeries(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, res)
	return nil
}

func (h *Handlers) apiGenerate(w http.ResponseWriter, r *http.Request) error {
	res, err := h.Store.Generate(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, res)
	return nil
}

func (h *Handlers) apiCancelSeries(w http.ResponseWriter, r *http.Request) error {
	res, err := h.Store.CancelSeries(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, res)
	return nil
}

func (h *Handlers) apiReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := h.Store.Report(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, rep)
	return nil
}

func (h *Handlers) apiPosts(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.Store.Posts(r.Context(), r.URL.Query().Get("division"))
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []Post{}
	}
	web.WriteJSON(w, 200, ps)
	return nil
}

func (h *Handlers) apiPublishPost(w http.ResponseWriter, r *http.Request) error {
	var in PostInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	po, err := h.Store.PublishPost(r.Context(), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, po)
	return nil
}

func (h *Handlers) apiTakePost(w http.ResponseWriter, r *http.Request) error {
	po, err := h.Store.TakePost(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 201, po)
	return nil
}

func (h *Handlers) apiPostMembers(w http.ResponseWriter, r *http.Request) error {
	_, ms, err := h.Store.PostMembers(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if ms == nil {
		ms = []PostMember{}
	}
	web.WriteJSON(w, 200, ms)
	return nil
}

func (h *Handlers) apiBranchReport(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	rows, err := h.Store.BranchReport(r.Context(), BranchFilter{Division: q.Get("division"), Branch: q.Get("branch"), From: q.Get("from"), To: q.Get("to")})
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []BranchRow{}
	}
	web.WriteJSON(w, 200, rows)
	return nil
}
