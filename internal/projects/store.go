package projects

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/questions"
)

// Store owns projects, their criteria, applications and scores, and the
// contracts with their milestones.
type Store struct {
	DB    *db.DB
	Audit *audit.Log
	Now   func() time.Time
	Divs  module.Divisions
}

// Project states.
const (
	Open      = "open"      // taking applications, then scored
	Awarded   = "awarded"   // a contract runs
	Completed = "completed" // every milestone paid
)

// Project kinds.
const (
	KindPurchase = "purchase" // 政府购买服务
	KindVenture  = "venture"  // 公益创投: small grants seeding new community services
)

// Kinds are the project kinds, in the pickers' order.
var Kinds = []string{KindPurchase, KindVenture}

// VentureCapFen is the most a 公益创投 project may budget: 50,000 yuan. A
// venture round seeds small, new community services by grassroots
// organisations; larger services go out as purchases with their stricter
// rating and contract terms.
const VentureCapFen = 50_000_00

// Application states.
const (
	Submitted  = "submitted"
	Won        = "won"
	NotAwarded = "not_awarded"
)

// Milestone states.
const (
	Pending  = "pending"
	Reported = "reported"
	Returned = "returned"
	Accepted = "accepted"
	Paid     = "paid"
)

// Ratings are the organisation assessment grades, lowest first.
var Ratings = []string{"1A", "2A", "3A", "4A", "5A"}

func rank(r string) int {
	for i, x := range Ratings {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// Criterion is one scoring criterion; the weights of a project sum to 100.
type Criterion struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
}

// Project is a purchased-service project.
type Project struct {
	ID           string          `json:"id"`
	Kind         string          `json:"kind"` // purchase or venture
	County       string          `json:"county"`
	Division     string          `json:"division_code"`
	DivisionName string          `json:"division_name,omitempty"`
	Title        string          `json:"title"`
	Need         string          `json:"need"`
	BudgetFen    int64           `json:"budget_fen"`
	PeriodFrom   string          `json:"period_from"`
	PeriodTo     string          `json:"period_to"`
	Targets      []string        `json:"targets"`
	Counted      []CountedTarget `json:"counted_targets,omitempty"` // targets Linli counts, with their counts so far
	MinRating    string          `json:"min_rating"`
	Deadline     string          `json:"deadline"`
	Criteria     []Criterion     `json:"criteria,omitempty"`
	Status       string          `json:"status"`
	CreatedAt    time.Time       `json:"created_at"`
	// Closed: the deadline has passed (applications are scored, one awarded).
	Closed       bool          `json:"closed"`
	Applications []Application `json:"applications,omitempty"` // those the reader may see (read alone, not on the board)
	Contract     *Contract     `json:"contract,omitempty"`
	Evaluation   *Evaluation   `json:"evaluation,omitempty"` // the final evaluation, once completed and evaluated
}

// ProjectInput is a project as published.
type ProjectInput struct {
	Kind       string          `json:"kind,omitempty"` // purchase (the default) or venture
	Division   string          `json:"division_code"`
	Title      string          `json:"title"`
	Need       string          `json:"need"`
	BudgetFen  int64           `json:"budget_fen"`
	PeriodFrom string          `json:"period_from"`
	PeriodTo   string          `json:"period_to"`
	Targets    []string        `json:"targets"`
	Counted    []CountedTarget `json:"counted_targets,omitempty"` // goals of home visits and volunteer activities, counted by Linli
	MinRating  string          `json:"min_rating,omitempty"`
	Deadline   string          `json:"deadline"`
	Criteria   []Criterion     `json:"criteria"`
}

// Application is an organisation's application to a project.
type Application struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	Project   string `json:"project_title,omitempty"`
	OrgID     string `json:"org_id"`
	OrgName   string `json:"org_name"`
	Rating    string `json:"rating"`
	Proposal  string `json:"proposal"`
	BudgetFen int64  `json:"budget_fen"`
	Status    string `json:"status"`
	Scores    []int  `json:"scores,omitempty"` // the reading officer's own score per criterion, in order; empty until they score
	Total     int    `json:"total_x100"`       // the panel's average weighted total × 100 (0–10000), rounded half up
	Scorers   int    `json:"scorers"`          // how many officers scored it
	// The organisation's past final evaluations, shown to the officers
	// who score (count 0: none yet).
	PastCount   int       `json:"past_evaluations,omitempty"`
	PastAverage int       `json:"past_average_x100,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// ApplyInput is an application as submitted.
type ApplyInput struct {
	Proposal  string `json:"proposal"`
	BudgetFen int64  `json:"budget_fen"`
}

// ScoreInput is a score 0–100 per criterion, in the project's order.
type ScoreInput struct {
	Scores []int `json:"scores"`
}

// Contract is the awarded application's contract.
type Contract struct {
	ID            string      `json:"id"`
	ProjectID     string      `json:"project_id"`
	ApplicationID string      `json:"application_id"`
	OrgID         string      `json:"org_id"`
	OrgName       string      `json:"org_name"`
	AmountFen     int64       `json:"amount_fen"`
	Milestones    []Milestone `json:"milestones"`
	CreatedAt     time.Time   `json:"created_at"`
}

// Milestone is one instalment of a contract.
type Milestone struct {
	ID           string `json:"id"`
	Seq          int    `json:"seq"`
	Title        string `json:"title"`
	AmountFen    int64  `json:"amount_fen"`
	Due          string `json:"due_on"`
	Status       string `json:"status"`
	Report       string `json:"report"`
	ReturnReason string `json:"return_reason,omitempty"`
	PaidRef      string `json:"paid_ref,omitempty"`
}

// MilestoneInput is a milestone as awarded.
type MilestoneInput struct {
	Title     string `json:"title"`
	AmountFen int64  `json:"amount_fen"`
	Due       string `json:"due_on"`
}

// AwardInput names the application awarded and its milestones, whose
// amounts sum to the application's budget.
type AwardInput struct {
	ApplicationID string           `json:"application_id"`
	Milestones    []MilestoneInput `json:"milestones"`
}

// ReportInput is a progress report with its evidence.
type ReportInput struct {
	Report string `json:"report"`
}

// ReturnInput is why a report goes back.
type ReturnInput struct {
	Reason string `json:"reason"`
}

// PayInput is a payment's reference (a treasury voucher number).
type PayInput struct {
	Reference string `json:"reference,omitempty"`
}

func bad(field, zh, en string) *fault.FieldError {
	f := fault.Field(field, fault.M(zh, en))
	return &f
}

func invalid(fields ...fault.FieldError) error {
	return fault.Invalid(fault.M("填写有误", "the input has errors"), fields...)
}

var (
	errNotFound   = fault.NotFound(fault.M("没有这个项目", "no such project"))
	errOfficer    = fault.Forbidden(fault.M("只有本辖区的县级或乡镇（街道）干部可以管理项目", "only a county or township officer of the project's area manages it"))
	errRoles      = fault.Forbidden(fault.M("项目只对干部和服务机构开放", "projects are open to officers and providers only"))
	errNotMember  = fault.Forbidden(fault.M("您的账号不属于任何服务机构", "your account belongs to no organisation"))
	errNotManager = fault.Forbidden(fault.M("只有本机构负责人可以申报和报告进展", "only the organisation's manager applies and reports"))
)

// today is the date in China.
func (s *Store) today() string { return s.Now().In(questions.CST).Format("2006-01-02") }

func validDate(v string) bool {
	_, err := time.Parse("2006-01-02", v)
	return err == nil
}

// officer tells whether p is a county or township officer.
func officer(p *access.Principal) bool {
	return p != nil && p.Role == access.Officer && (len(p.Division) == 6 || len(p.Division) == 9)
}

// manages tells whether p may manage a project of division.
func manages(p *access.Principal, division string) bool {
	return officer(p) && access.Subtree(p.Division).Contains(division)
}

// Org is the organisation a provider account acts for.
type Org struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Division string `json:"division_code"`
	Rating   string `json:"rating"`
	Manager  bool   `json:"manager"` // the account may apply and report for it
}

// County is the organisation's county: the projects it may apply to.
func (o Org) County() string { return o.Division[:min(6, len(o.Division))] }

// orgOf reads the organisation of a provider staff member's account;
// its staff read the organisation's projects, its manager acts for it.
func (s *Store) orgOf(ctx context.Context, p *access.Principal) (Org, error) {
	var o Org
	err := s.DB.R.QueryRowContext(ctx, `SELECT r.id, r.name, r.division_code, r.rating, a.manager FROM care_provider_accounts a JOIN registry_organization_ratings r ON r.id = a.org_id WHERE a.username = $1`, p.Username).
		Scan(&o.ID, &o.Name, &o.Division, &o.Rating, &o.Manager)
	if errors.Is(err, sql.ErrNoRows) {
		return o, errNotMember
	}
	return o, err
}

// visible is the condition (on alias x) of the projects p may see, with
// its arguments numbered from $1: an officer's within their area, a
// provider's in its organisation's county.
func (s *Store) visible(ctx context.Context, p *access.Principal) (string, []any, *Org, error) {
	switch {
	case p != nil && p.Role == access.Officer:
		sc := access.Subtree(p.Division)
		return "x.division_code >= $1 AND x.division_code < $2", []any{sc.Lo, sc.Hi}, nil, nil
	case p != nil && p.Role == access.Provider:
		o, err := s.orgOf(ctx, p)
		if err != nil {
			return "", nil, nil, err
		}
		return "x.county = $1", []any{o.County()}, &o, nil
	}
	return "", nil, nil, errRoles
}

// Create publishes a project (county or township officers, in their area).
func (s *Store) Create(ctx context.Context, in ProjectInput) (Project, error) {
	p := access.From(ctx)
	if !officer(p) {
		return Project{}, errOfficer
	}
	in.Title, in.Need, in.MinRating = strings.TrimSpace(in.Title), strings.TrimSpace(in.Need), strings.TrimSpace(in.MinRating)
	var errs []fault.FieldError
	add := func(f *fault.FieldError) { errs = append(errs, *f) }
	if in.Division == "" || !access.Subtree(p.Division).Contains(in.Division) {
		add(bad("division_code", "请选择您辖区内的服务区域", "choose an area within your jurisdiction"))
	} else if _, err := s.Divs.Get(ctx, in.Division); err != nil {
		add(bad("division_code", "没有这个区划", "no such division"))
	}
	if in.Title == "" || utf8.RuneCountInString(in.Title) > 60 {
		add(bad("title", "请填写项目名称（60 字以内）", "give a title (at most 60 characters)"))
	}
	if in.Need == "" || utf8.RuneCountInString(in.Need) > 1000 {
		add(bad("need", "请说明项目回应的需求（1000 字以内）", "say what need the project answers (at most 1000 characters)"))
	}
	if in.Kind == "" {
		in.Kind = KindPurchase
	}
	switch {
	case in.Kind != KindPurchase && in.Kind != KindVenture:
		add(bad("kind", "项目类型应为购买服务或公益创投", "the kind is purchase or venture"))
	case in.BudgetFen <= 0 || in.BudgetFen > 100_000_000_00:
		add(bad("budget_fen", "预算应大于 0 且不超过 1 亿元", "the budget is more than 0 and at most 100 million yuan"))
	case in.Kind == KindVenture && in.BudgetFen > VentureCapFen:
		add(bad("budget_fen", "公益创投项目预算不超过 ¥"+Yuan(VentureCapFen), "a charity venture's budget is at most ¥"+Yuan(VentureCapFen)))
	}
	switch {
	case !validDate(in.PeriodFrom):
		add(bad("period_from", "请填写服务开始日期", "give the service period's first day"))
	case !validDate(in.PeriodTo) || in.PeriodTo < in.PeriodFrom:
		add(bad("period_to", "服务结束日期不能早于开始日期", "the period cannot end before it starts"))
	}
	var targets []string
	for _, t := range in.Targets {
		if t = strings.TrimSpace(t); t != "" {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 || len(targets) > 10 {
		add(bad("targets", "请填写 1–10 项绩效目标，如“入户探访 200 次”", "give 1–10 targets, like “200 home visits”"))
	}
	if in.MinRating != "" && rank(in.MinRating) == 0 {
		add(bad("min_rating", "最低评估等级应为 1A–5A 或不限", "the minimum rating is 1A–5A or none"))
	}
	if !validDate(in.Deadline) || in.Deadline < s.today() {
		add(bad("deadline", "申报截止日期不能早于今天", "the application deadline cannot be before today"))
	} else if validDate(in.PeriodFrom) && in.Deadline > in.PeriodFrom {
		add(bad("deadline", "申报截止日期应在服务开始之前", "applications close before the service starts"))
	}
	cerr, counted := checkCounted(in.Counted)
	if cerr != nil {
		add(cerr)
	}
	var crit []Criterion
	sum, critBad := 0, false
	for _, c := range in.Criteria {
		c.Name = strings.TrimSpace(c.Name)
		if c.Name == "" && c.Weight == 0 {
			continue // a blank row of the form
		}
		if c.Name == "" || c.Weight <= 0 || utf8.RuneCountInString(c.Name) > 40 {
			critBad = true
		}
		crit = append(crit, c)
		sum += c.Weight
	}
	switch {
	case critBad:
		add(bad("criteria", "每项评分标准都要有名称（40 字以内）和大于 0 的权重", "each criterion needs a name (at most 40 characters) and a weight above 0"))
	case len(crit) == 0 || len(crit) > 8 || sum != 100:
		add(bad("criteria", fmt.Sprintf("请设 1–8 项评分标准，权重合计为 100（现为 %d）", sum), fmt.Sprintf("give 1–8 criteria whose weights sum to 100 (now %d)", sum)))
	}
	if len(errs) > 0 {
		return Project{}, invalid(errs...)
	}
	pr := Project{ID: db.NewID(), Kind: in.Kind, County: in.Division[:6], Division: in.Division, Title: in.Title, Need: in.Need, BudgetFen: in.BudgetFen, PeriodFrom: in.PeriodFrom,
		PeriodTo: in.PeriodTo, Targets: targets, Counted: counted, MinRating: in.MinRating, Deadline: in.Deadline, Criteria: crit, Status: Open, CreatedAt: s.Now()}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t := db.T(s.Now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO proj_projects (id, county, division_code, title, need, budget_fen, period_from, period_to, targets, min_rating, deadline, status, created_by, created_at, updated_at, kind)
VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$14,$15)`, pr.ID, pr.County, pr.Division, pr.Title, pr.Need, pr.BudgetFen, pr.PeriodFrom, pr.PeriodTo,
			strings.Join(targets, "\n"), pr.MinRating, pr.Deadline, Open, p.Username, t, pr.Kind); err != nil {
			return err
		}
		if err := saveCounted(ctx, tx, pr.ID, counted); err != nil {
			return err
		}
		for i, c := range crit {
			if _, err := tx.ExecContext(ctx, `INSERT INTO proj_criteria (project_id, seq, name, weight) VALUES ($1,$2,$3,$4)`, pr.ID, i+1, c.Name, c.Weight); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "projects.create", "proj_projects", pr.ID, pr.Division, pr.Title)
	})
	pr.Closed = pr.Deadline < s.today()
	return pr, err
}

func (s *Store) record(ctx context.Context, tx *sql.Tx, action, object, id, division, detail string) error {
	return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: action, Object: object, ObjectID: id, Division: division, Result: "ok", Detail: detail})
}

const projectCols = `x.id, x.county, x.division_code, x.title, x.need, x.budget_fen, x.period_from, x.period_to, x.targets, x.min_rating, x.deadline, x.status, x.created_at, x.kind`

func (s *Store) scanProject(r db.Scanner) (Project, error) {
	var pr Project
	var targets string
	var at db.Time
	err := r.Scan(&pr.ID, &pr.County, &pr.Division, &pr.Title, &pr.Need, &pr.BudgetFen, &pr.PeriodFrom, &pr.PeriodTo, &targets, &pr.MinRating, &pr.Deadline, &pr.Status, &at, &pr.Kind)
	pr.Targets, pr.CreatedAt, pr.Closed = strings.Split(targets, "\n"), at.Time, pr.Deadline < s.today()
	return pr, err
}

// ProjectPage is a page of the board.
type ProjectPage struct {
	Items    []Project `json:"items"`
	Page     int       `json:"page"`
	PageSize int       `json:"page_size"`
	Total    int       `json:"total"`
}

// List is the board: the projects p may see, the newest first, filtered
// by status and kind when given.
func (s *Store) List(ctx context.Context, status, kind string, page, size int) (ProjectPage, error) {
	out := ProjectPage{Items: []Project{}, Page: page, PageSize: size}
	cond, args, _, err := s.visible(ctx, access.From(ctx))
	if err != nil {
		return out, err
	}
	if status != "" {
		if status != Open && status != Awarded && status != Completed {
			return out, invalid(*bad("status", "状态应为 open、awarded 或 completed", "status is open, awarded or completed"))
		}
		args = append(args, status)
		cond += " AND x.status = $" + strconv.Itoa(len(args))
	}
	if kind != "" {
		if kind != KindPurchase && kind != KindVenture {
			return out, invalid(*bad("kind", "类型应为 purchase 或 venture", "kind is purchase or venture"))
		}
		args = append(args, kind)
		cond += " AND x.kind = $" + strconv.Itoa(len(args))
	}
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM proj_projects x WHERE `+cond, args...).Scan(&out.Total); err != nil {
		return out, err
	}
	items, err := db.Collect(ctx, s.DB.R, s.scanProject, `SELECT `+projectCols+` FROM proj_projects x WHERE `+cond+
		fmt.Sprintf(` ORDER BY x.created_at DESC, x.id DESC LIMIT %d OFFSET %d`, size, (page-1)*size), args...)
	if err != nil {
		return out, err
	}
	if err := s.name(ctx, items); err != nil {
		return out, err
	}
	if items != nil {
		out.Items = items
	}
	return out, nil
}

// name fills in the divisions' names.
func (s *Store) name(ctx context.Context, items []Project) error {
	var codes []string
	for _, p := range items {
		codes = append(codes, p.Division)
	}
	if len(codes) == 0 {
		return nil
	}
	ds, err := s.Divs.GetMany(ctx, codes)
	if err != nil {
		return err
	}
	for i := range items {
		items[i].DivisionName = ds[items[i].Division].Name
	}
	return nil
}

// Get reads a project p may see, with the applications p may see (a
// provider its own) and the contract.
func (s *Store) Get(ctx context.Context, id string) (Project, error) {
	pr, org, err := s.get(ctx, s.DB.R, id)
	if err != nil {
		return pr, err
	}
	if pr.Criteria, err = db.Collect(ctx, s.DB.R, func(r db.Scanner) (Criterion, error) {
		var c Criterion
		return c, r.Scan(&c.Name, &c.Weight)
	}, `SELECT name, weight FROM proj_criteria WHERE project_id = $1 ORDER BY seq`, id); err != nil {
		return pr, err
	}
	q, args := `SELECT `+appCols+` FROM proj_applications a WHERE a.project_id = $1`, []any{id}
	if org != nil {
		q, args = q+` AND a.org_id = $2`, append(args, org.ID)
	}
	if pr.Applications, err = db.Collect(ctx, s.DB.R, scanApp, q+` ORDER BY a.total DESC, a.created_at, a.id`, args...); err != nil {
		return pr, err
	}
	scores, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (struct {
		app   string
		score int
	}, error) {
		var x struct {
			app   string
			score int
		}
		return x, r.Scan(&x.app, &x.score)
	}, `SELECT s.application_id, s.score FROM proj_panel_scores s JOIN proj_applications a ON a.id = s.application_id WHERE a.project_id = $1 AND s.scorer = $2 ORDER BY s.application_id, s.seq`, id, readerName(ctx))
	if err != nil {
		return pr, err
	}
	for i := range pr.Applications {
		for _, x := range scores {
			if x.app == pr.Applications[i].ID {
				pr.Applications[i].Scores = append(pr.Applications[i].Scores, x.score)
			}
		}
	}
	c, err := s.contract(ctx, s.DB.R, id)
	if err == nil {
		if org == nil || org.ID == c.OrgID {
			pr.Contract = &c
			if pr.Evaluation, err = s.evaluation(ctx, s.DB.R, id); err != nil {
				return pr, err
			}
		}
	} else if !errors.Is(err, sql.ErrNoRows) {
		return pr, err
	}
	if org == nil && len(pr.Applications) > 0 { // an officer reads the applicants' records
		var ids []string
		for _, a := range pr.Applications {
			ids = append(ids, a.OrgID)
		}
		recs, err := s.records(ctx, ids)
		if err != nil {
			return pr, err
		}
		for i, a := range pr.Applications {
			pr.Applications[i].PastCount, pr.Applications[i].PastAverage = recs[a.OrgID].Count, recs[a.OrgID].Average
		}
	}
	if pr.Applications == nil {
		pr.Applications = []Application{}
	}
	ds, err := s.Divs.GetMany(ctx, []string{pr.Division})
	if err != nil {
		return pr, err
	}
	pr.DivisionName = ds[pr.Division].Name
	pr.Counted, err = s.counted(ctx, pr)
	return pr, err
}

// get reads a project row p may see (not found otherwise) and, for a
// provider, its organisation.
func (s *Store) get(ctx context.Context, q querier, id string) (Project, *Org, error) {
	cond, args, org, err := s.visible(ctx, access.From(ctx))
	if err != nil {
		return Project{}, nil, err
	}
	args = append(args, id)
	pr, err := s.scanProject(q.QueryRowContext(ctx, `SELECT `+projectCols+` FROM proj_projects x WHERE `+cond+` AND x.id = $`+strconv.Itoa(len(args)), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return pr, org, errNotFound
	}
	return pr, org, err
}

// querier is a pool or a transaction.
type querier interface {
	db.Querier
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const appCols = `a.id, a.project_id, a.org_id, a.org_name, a.rating, a.proposal, a.budget_fen, a.status, a.total, a.scorers, a.created_at`

func scanApp(r db.Scanner) (Application, error) {
	var a Application
	var at db.Time
	err := r.Scan(&a.ID, &a.ProjectID, &a.OrgID, &a.OrgName, &a.Rating, &a.Proposal, &a.BudgetFen, &a.Status, &a.Total, &a.Scorers, &at)
	a.CreatedAt = at.Time
	return a, err
}

func (s *Store) contract(ctx context.Context, q querier, projectID string) (Contract, error) {
	var c Contract
	var at db.Time
	err := q.QueryRowContext(ctx, `SELECT id, project_id, application_id, org_id, org_name, amount_fen, created_at FROM proj_contracts WHERE project_id = $1`, projectID).
		Scan(&c.ID, &c.ProjectID, &c.ApplicationID, &c.OrgID, &c.OrgName, &c.AmountFen, &at)
	if err != nil {
		return c, err
	}
	c.CreatedAt = at.Time
	c.Milestones, err = db.Collect(ctx, q, scanMilestone, `SELECT `+msCols+` FROM proj_milestones WHERE contract_id = $1 ORDER BY seq`, c.ID)
	return c, err
}

const msCols = `id, seq, title, amount_fen, due_on, status, report, return_reason, paid_ref`

func scanMilestone(r db.Scanner) (Milestone, error) {
	var m Milestone
	return m, r.Scan(&m.ID, &m.Seq, &m.Title, &m.AmountFen, &m.Due, &m.Status, &m.Report, &m.ReturnReason, &m.PaidRef)
}

// Apply is a provider's application for its organisation: before the
// deadline, its rating meeting the minimum, its budget within the
// project's.
func (s *Store) Apply(ctx context.Context, projectID string, in ApplyInput) (Application, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Provider {
		return Application{}, fault.Forbidden(fault.M("只有服务机构可以申报项目", "only providers apply for projects"))
	}
	var a Application
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		pr, org, err := s.get(ctx, tx, projectID)
		if err != nil {
			return err
		}
		if !org.Manager {
			return errNotManager
		}
		if pr.Status != Open {
			return fault.Conflict(fault.M("项目已确定承接机构，不再接受申报", "the project has been awarded and takes no more applications"))
		}
		if pr.Closed {
			return fault.New(fault.CodeConflict, fault.M("申报已截止", "applications have closed"),
				*bad("deadline", "申报已于 "+pr.Deadline+" 截止", "applications closed on "+pr.Deadline))
		}
		in.Proposal = strings.TrimSpace(in.Proposal)
		var errs []fault.FieldError
		if pr.MinRating != "" && rank(org.Rating) < rank(pr.MinRating) {
			have := org.Rating
			if have == "" {
				have = "未评级"
			}
			errs = append(errs, *bad("rating", "本项目要求评估等级 "+pr.MinRating+" 及以上，贵机构为 "+have, "the project asks for a rating of "+pr.MinRating+" or above; yours is "+strings.Replace(have, "未评级", "none", 1)))
		}
		if in.Proposal == "" || utf8.RuneCountInString(in.Proposal) > 4000 {
			errs = append(errs, *bad("proposal", "请填写服务方案（4000 字以内）", "give your proposal (at most 4000 characters)"))
		}
		if in.BudgetFen <= 0 || in.BudgetFen > pr.BudgetFen {
			errs = append(errs, *bad("budget_fen", "申请金额应大于 0 且不超过项目预算 ¥"+Yuan(pr.BudgetFen), "the budget asked is above 0 and at most the project's ¥"+Yuan(pr.BudgetFen)))
		}
		if len(errs) > 0 {
			return invalid(errs...)
		}
		t := s.Now()
		a = Application{ID: db.NewID(), ProjectID: pr.ID, Project: pr.Title, OrgID: org.ID, OrgName: org.Name, Rating: org.Rating, Proposal: in.Proposal, BudgetFen: in.BudgetFen, Status: Submitted, CreatedAt: t}
		if _, err := tx.ExecContext(ctx, `INSERT INTO proj_applications (id, project_id, org_id, org_name, rating, proposal, budget_fen, status, total, scored_by, applied_by, created_at, updated_at)
VALUES ($1,$2,$3,$4,$5,$6,$7,$8,0,'',$9,$10,$10)`, a.ID, a.ProjectID, a.OrgID, a.OrgName, a.Rating, a.Proposal, a.BudgetFen, Submitted, p.Username, db.T(t)); err != nil {
			if db.IsUniqueViolation(err) {
				return fault.Conflict(fault.M("贵机构已申报过本项目", "your organisation has applied already"))
			}
			return err
		}
		return s.record(ctx, tx, "projects.apply", "proj_applications", a.ID, pr.Division, org.Name)
	})
	return a, err
}

// managed reads a project p manages, for update.
func (s *Store) managed(ctx context.Context, tx *sql.Tx, projectID string) (Project, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer {
		return Project{}, errOfficer
	}
	pr, _, err := s.get(ctx, tx, projectID)
	if err != nil {
		return pr, err
	}
	if !manages(p, pr.Division) {
		return pr, errOfficer
	}
	return pr, nil
}

// Score records the officer's own score per criterion of an application
// once applications have closed, replacing only their earlier scores; a
// scorer's weighted total is Σ score × weight, the application's the
// average of the panel's.
func (s *Store) Score(ctx context.Context, projectID, appID string, in ScoreInput) (Application, error) {
	var a Application
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		pr, err := s.managed(ctx, tx, projectID)
		if err != nil {
			return err
		}
		if pr.Status != Open {
			return fault.Conflict(fault.M("项目已确定承接机构，不能再评分", "the project has been awarded; scores are final"))
		}
		if !pr.Closed {
			return fault.Conflict(fault.M("申报截止（"+pr.Deadline+"）后才能评分", "scoring starts after the deadline ("+pr.Deadline+")"))
		}
		if a, err = scanApp(tx.QueryRowContext(ctx, `SELECT `+appCols+` FROM proj_applications a WHERE a.id = $1 AND a.project_id = $2`, appID, projectID)); errors.Is(err, sql.ErrNoRows) {
			return fault.NotFound(fault.M("没有这份申报", "no such application"))
		} else if err != nil {
			return err
		}
		weights, err := db.Collect(ctx, tx, db.Value[int], `SELECT weight FROM proj_criteria WHERE project_id = $1 ORDER BY seq`, projectID)
		if err != nil {
			return err
		}
		if len(in.Scores) != len(weights) {
			return invalid(*bad("scores", fmt.Sprintf("请为全部 %d 项评分标准打分", len(weights)), fmt.Sprintf("score all %d criteria", len(weights))))
		}
		var errs []fault.FieldError
		total := 0
		for i, sc := range in.Scores {
			if sc < 0 || sc > 100 {
				errs = append(errs, *bad("scores."+strconv.Itoa(i), "分数应为 0–100 的整数", "a score is a whole number from 0 to 100"))
			}
			total += sc * weights[i]
		}
		if len(errs) > 0 {
			return invalid(errs...)
		}
		scorer := access.From(ctx).Username
		if _, err := tx.ExecContext(ctx, `DELETE FROM proj_panel_scores WHERE application_id = $1 AND scorer = $2`, appID, scorer); err != nil {
			return err
		}
		for i, sc := range in.Scores {
			if _, err := tx.ExecContext(ctx, `INSERT INTO proj_panel_scores (application_id, scorer, seq, score) VALUES ($1,$2,$3,$4)`, appID, scorer, i+1, sc); err != nil {
				return err
			}
		}
		totals, err := db.Collect(ctx, tx, db.Value[int64], `SELECT SUM(s.score * c.weight) FROM proj_panel_scores s JOIN proj_criteria c ON c.project_id = $1 AND c.seq = s.seq
WHERE s.application_id = $2 GROUP BY s.scorer`, projectID, appID)
		if err != nil {
			return err
		}
		avg := average(totals)
		if _, err := tx.ExecContext(ctx, `UPDATE proj_applications SET total = $1, scorers = $2, scored_by = $3, updated_at = $4 WHERE id = $5`, avg, len(totals), scorer, db.T(s.Now()), appID); err != nil {
			return err
		}
		a.Scores, a.Total, a.Scorers = in.Scores, avg, len(totals)
		return s.record(ctx, tx, "projects.score", "proj_applications", appID, pr.Division, fmt.Sprintf("%d.%02d", total/100, total%100))
	})
	return a, err
}

// average is the panel's average weighted total, rounded half up (the
// totals are never negative).
func average(totals []int64) int {
	if len(totals) == 0 {
		return 0
	}
	var sum int64
	for _, t := range totals {
		sum += t
	}
	n := int64(len(totals))
	return int((2*sum + n) / (2 * n))
}

// readerName is the signed-in account's name ("" for none).
func readerName(ctx context.Context) string {
	if p := access.From(ctx); p != nil {
		return p.Username
	}
	return ""
}

// Award gives the project to a scored application: a contract whose
// milestones sum to the application's budget.
func (s *Store) Award(ctx context.Context, projectID string, in AwardInput) (Contract, error) {
	var c Contract
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		pr, err := s.managed(ctx, tx, projectID)
		if err != nil {
			return err
		}
		if pr.Status != Open {
			return fault.Conflict(fault.M("项目已确定承接机构", "the project has been awarded already"))
		}
		if !pr.Closed {
			return fault.Conflict(fault.M("申报截止（"+pr.Deadline+"）后才能确定承接机构", "a project is awarded after its deadline ("+pr.Deadline+")"))
		}
		a, err := scanApp(tx.QueryRowContext(ctx, `SELECT `+appCols+` FROM proj_applications a WHERE a.id = $1 AND a.project_id = $2`, in.ApplicationID, projectID))
		if errors.Is(err, sql.ErrNoRows) {
			return invalid(*bad("application_id", "请选择本项目的一份申报", "choose an application of this project"))
		} else if err != nil {
			return err
		}
		var scored int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM proj_panel_scores WHERE application_id = $1`, a.ID).Scan(&scored); err != nil {
			return err
		}
		if scored == 0 {
			return fault.Conflict(fault.M("请先为这份申报评分", "score the application first"))
		}
		var errs []fault.FieldError
		var sum int64
		for i, m := range in.Milestones {
			k := "milestones." + strconv.Itoa(i)
			m.Title = strings.TrimSpace(m.Title)
			in.Milestones[i].Title = m.Title
			if m.Title == "" {
				errs = append(errs, *bad(k+".title", "请填写节点名称", "name the milestone"))
			}
			if m.AmountFen <= 0 {
				errs = append(errs, *bad(k+".amount_fen", "节点金额应大于 0", "a milestone's amount is above 0"))
			}
			if !validDate(m.Due) || m.Due < pr.PeriodFrom || m.Due > pr.PeriodTo {
				errs = append(errs, *bad(k+".due_on", "到期日应在服务期 "+pr.PeriodFrom+" 至 "+pr.PeriodTo+" 之内", "the due date lies in the period "+pr.PeriodFrom+" to "+pr.PeriodTo))
			}
			sum += m.AmountFen
		}
		if len(in.Milestones) == 0 || len(in.Milestones) > 12 {
			errs = append(errs, *bad("milestones", "请设 1–12 个付款节点", "give 1–12 milestones"))
		} else if sum != a.BudgetFen {
			errs = append(errs, *bad("milestones", "各节点金额合计 ¥"+Yuan(sum)+"，应等于中标金额 ¥"+Yuan(a.BudgetFen), "the milestones sum to ¥"+Yuan(sum)+"; they must sum to the awarded ¥"+Yuan(a.BudgetFen)))
		}
		if len(errs) > 0 {
			return invalid(errs...)
		}
		t := db.T(s.Now())
		c = Contract{ID: db.NewID(), ProjectID: pr.ID, ApplicationID: a.ID, OrgID: a.OrgID, OrgName: a.OrgName, AmountFen: a.BudgetFen, CreatedAt: t.Time}
		if _, err := tx.ExecContext(ctx, `INSERT INTO proj_contracts (id, project_id, application_id, org_id, org_name, amount_fen, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
			c.ID, c.ProjectID, c.ApplicationID, c.OrgID, c.OrgName, c.AmountFen, access.From(ctx).Username, t); err != nil {
			return err
		}
		for i, m := range in.Milestones {
			ms := Milestone{ID: db.NewID(), Seq: i + 1, Title: m.Title, AmountFen: m.AmountFen, Due: m.Due, Status: Pending}
			if _, err := tx.ExecContext(ctx, `INSERT INTO proj_milestones (id, contract_id, project_id, seq, title, amount_fen, due_on, status, report, return_reason, paid_ref, reported_by, decided_by, paid_by, updated_at)
VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'','','','','','',$9)`, ms.ID, c.ID, pr.ID, ms.Seq, ms.Title, ms.AmountFen, ms.Due, Pending, t); err != nil {
				return err
			}
			c.Milestones = append(c.Milestones, ms)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE proj_applications SET status = CASE WHEN id = $1 THEN $2 ELSE $3 END, updated_at = $4 WHERE project_id = $5`, a.ID, Won, NotAwarded, t, pr.ID); err != nil {
			return err
		}
		if err := s.move(ctx, tx, pr.ID, Open, Awarded); err != nil {
			return err
		}
		return s.record(ctx, tx, "projects.award", "proj_contracts", c.ID, pr.Division, a.OrgName+" ¥"+Yuan(a.BudgetFen))
	})
	return c, err
}

// move changes a project's status from one to another (409 when it has
// moved meanwhile).
func (s *Store) move(ctx context.Context, tx *sql.Tx, id, from, to string) error {
	res, err := tx.ExecContext(ctx, `UPDATE proj_projects SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4`, to, db.T(s.Now()), id, from)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fault.Conflict(fault.M("项目状态已变化，请刷新", "the project has changed; reload"))
	}
	return nil
}

// Milestone actions.
const (
	ActReport = "report"
	ActAccept = "accept"
	ActReturn = "return"
	ActPay    = "pay"
)

// MoveInput carries what a milestone action needs: the report's evidence,
// a return's reason, a payment's reference.
type MoveInput struct {
	Report    string `json:"report,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Reference string `json:"reference,omitempty"`
}

// Move takes a milestone action: the contracted organisation reports
// (pending or returned); the officer accepts or returns a report, and
// pays an accepted milestone. The project completes when every milestone
// is paid.
func (s *Store) Move(ctx context.Context, projectID, milestoneID, action string, in MoveInput) (Milestone, error) {
	p := access.From(ctx)
	var m Milestone
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var pr Project
		var err error
		if action == ActReport {
			if p == nil || p.Role != access.Provider {
				return fault.Forbidden(fault.M("只有承接机构可以报告进展", "only the contracted organisation reports"))
			}
			var org *Org
			if pr, org, err = s.get(ctx, tx, projectID); err != nil {
				return err
			}
			if !org.Manager {
				return errNotManager
			}
			c, err := s.contract(ctx, tx, projectID)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && c.OrgID != org.ID) {
				return fault.Forbidden(fault.M("贵机构没有承接本项目", "your organisation does not hold this project's contract"))
			} else if err != nil {
				return err
			}
		} else if pr, err = s.managed(ctx, tx, projectID); err != nil {
			return err
		}
		if m, err = scanMilestone(tx.QueryRowContext(ctx, `SELECT `+msCols+` FROM proj_milestones WHERE id = $1 AND project_id = $2`, milestoneID, projectID)); errors.Is(err, sql.ErrNoRows) {
			return fault.NotFound(fault.M("没有这个节点", "no such milestone"))
		} else if err != nil {
			return err
		}
		from := m.Status
		set, arg := "", ""
		switch action {
		case ActReport:
			if from != Pending && from != Returned {
				return fault.Conflict(fault.M("该节点已报告，等待审核或已通过", "the milestone has been reported already"))
			}
			in.Report = strings.TrimSpace(in.Report)
			if in.Report == "" || utf8.RuneCountInString(in.Report) > 4000 {
				return invalid(*bad("report", "请填写进展和佐证材料说明（4000 字以内）", "describe the progress and its evidence (at most 4000 characters)"))
			}
			m.Status, m.Report, set, arg = Reported, in.Report, "report = $5, reported_by = $6", p.Username
		case ActAccept:
			if from != Reported {
				return fault.Conflict(fault.M("只有待审核的报告可以通过", "only a report awaiting review can be accepted"))
			}
			m.Status, set, arg = Accepted, "return_reason = $5, decided_by = $6", p.Username
		case ActReturn:
			if from != Reported {
				return fault.Conflict(fault.M("只有待审核的报告可以退回", "only a report awaiting review can be returned"))
			}
			in.Reason = strings.TrimSpace(in.Reason)
			if in.Reason == "" || utf8.RuneCountInString(in.Reason) > 500 {
				return invalid(*bad("reason", "请说明退回原因（500 字以内）", "say why it goes back (at most 500 characters)"))
			}
			m.Status, m.ReturnReason, set, arg = Returned, in.Reason, "return_reason = $5, decided_by = $6", p.Username
		case ActPay:
			if from != Accepted {
				return fault.Conflict(fault.M("报告通过审核后才能拨付该节点款项", "a milestone is paid only after its report is accepted"))
			}
			m.Status, m.PaidRef, set, arg = Paid, strings.TrimSpace(in.Reference), "paid_ref = $5, paid_by = $6", p.Username
		default:
			return fault.NotFound(fault.M("没有这个操作", "no such action"))
		}
		val := map[string]string{ActReport: m.Report, ActAccept: "", ActReturn: m.ReturnReason, ActPay: m.PaidRef}[action]
		res, err := tx.ExecContext(ctx, `UPDATE proj_milestones SET status = $1, updated_at = $2, `+set+` WHERE id = $3 AND status = $4`, m.Status, db.T(s.Now()), m.ID, from, val, arg)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fault.Conflict(fault.M("节点状态已变化，请刷新", "the milestone has changed; reload"))
		}
		if action == ActPay {
			var left int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM proj_milestones WHERE project_id = $1 AND status <> $2`, projectID, Paid).Scan(&left); err != nil {
				return err
			}
			if left == 0 {
				if err := s.move(ctx, tx, projectID, Awarded, Completed); err != nil {
					return err
				}
			}
		}
		return s.record(ctx, tx, "projects.milestone."+action, "proj_milestones", m.ID, pr.Division, m.Title+" ¥"+Yuan(m.AmountFen))
	})
	return m, err
}

// Mine is a provider's applications and contracts.
type Mine struct {
	Org          Org           `json:"org"`
	Applications []Application `json:"applications"`
	Contracts    []Contract    `json:"contracts"`
	Record       Record        `json:"record"` // the organisation's final evaluations
}

// MineOf reads the signed-in provider's applications (the newest 100)
// and contracts.
func (s *Store) MineOf(ctx context.Context) (Mine, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Provider {
		return Mine{}, fault.Forbidden(fault.M("这是服务机构的页面", "this page is for providers"))
	}
	org, err := s.orgOf(ctx, p)
	if err != nil {
		return Mine{}, err
	}
	out := Mine{Org: org, Applications: []Application{}, Contracts: []Contract{}}
	apps, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Application, error) {
		var a Application
		var at db.Time
		err := r.Scan(&a.ID, &a.ProjectID, &a.OrgID, &a.OrgName, &a.Rating, &a.Proposal, &a.BudgetFen, &a.Status, &a.Total, &a.Scorers, &at, &a.Project)
		a.CreatedAt = at.Time
		return a, err
	}, `SELECT `+appCols+`, x.title FROM proj_applications a JOIN proj_projects x ON x.id = a.project_id WHERE a.org_id = $1 ORDER BY a.created_at DESC, a.id LIMIT 100`, org.ID)
	if err != nil {
		return out, err
	}
	if apps != nil {
		out.Applications = apps
	}
	ids, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT project_id FROM proj_contracts WHERE org_id = $1 ORDER BY created_at DESC, id LIMIT 100`, org.ID)
	if err != nil {
		return out, err
	}
	for _, id := range ids {
		c, err := s.contract(ctx, s.DB.R, id)
		if err != nil {
			return out, err
		}
		out.Contracts = append(out.Contracts, c)
	}
	recs, err := s.Records(ctx)
	if err != nil {
		return out, err
	}
	out.Record = Record{OrgID: org.ID, OrgName: org.Name}
	if len(recs) > 0 {
		out.Record = recs[0]
	}
	return out, nil
}

// Yuan writes fen as yuan with two decimals.
func Yuan(fen int64) string {
	return fmt.Sprintf("%d.%02d", fen/100, fen%100)
}

// parseYuan reads "200", "12.5" or "12.50" as fen.
func parseYuan(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" || len(frac) > 2 {
		return 0, false
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 || w > 100_000_000 {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return w*100 + f, true
}
