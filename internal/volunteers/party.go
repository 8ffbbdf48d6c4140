package volunteers

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Serving party members report (报到) to the community where they live,
// take service posts (认岗) the community publishes, and their service
// hours are reported back to their work branch (the volunteer's
// party_branch) by the community.

// PartyReport is a party member's registration at their community.
type PartyReport struct {
	ResidentID string    `json:"resident_id"`
	Division   string    `json:"division"`
	Branch     string    `json:"branch"`
	ReportedAt time.Time `json:"reported_at"`
}

// Post is a service post (认岗) a community publishes.
type Post struct {
	ID          string    `json:"id"`
	Division    string    `json:"division"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Capacity    int       `json:"capacity"`
	Taken       int       `json:"taken"`
	Skills      []string  `json:"skills"`
	CreatedAt   time.Time `json:"created_at"`
	Mine        bool      `json:"mine,omitempty"` // the signed-in member holds it
}

// Full tells whether every place is taken.
func (p Post) Full() bool { return p.Taken >= p.Capacity }

// PostInput publishes a post; skills are chosen from the volunteers' list.
type PostInput struct {
	Division    string   `json:"division"` // default: the worker's own
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Capacity    int      `json:"capacity"`
	Skills      []string `json:"skills"`
}

// PostMember is one member on a post (names masked).
type PostMember struct {
	ResidentID string    `json:"resident_id"`
	Name       string    `json:"name"`
	Branch     string    `json:"branch"`
	TakenAt    time.Time `json:"taken_at"`
}

// BranchRow is one member's line of a branch report.
type BranchRow struct {
	ResidentID string   `json:"resident_id"`
	Name       string   `json:"name"` // masked
	Division   string   `json:"division"`
	Posts      []string `json:"posts"`
	Minutes    int64    `json:"minutes"`
	Hours      float64  `json:"hours"`
}

var errNoPost = fault.NotFound(fault.M("找不到这个岗位", "no such service post"))

// Report registers the signed-in party-member volunteer at the community
// where they live, once.
func (s *Store) Report(ctx context.Context) (PartyReport, error) {
	me, err := s.Mine(ctx)
	if errors.Is(err, errNoVolunteer) {
		return PartyReport{}, fault.Conflict(fault.M("请先登记成为志愿者（注明党员及所在党组织）", "register as a volunteer first (as a party member, with your branch)"))
	}
	if err != nil {
		return PartyReport{}, err
	}
	if !me.PartyMember || strings.TrimSpace(me.PartyBranch) == "" {
		return PartyReport{}, fault.Invalid(fault.M("只有登记为党员的志愿者可以到社区报到", "only volunteers registered as party members report to their community"),
			fault.Field("party_member", fault.M("您的志愿者登记未注明党员身份和所在党组织", "your registration does not say you are a party member with a branch")))
	}
	if me.Status != StatusVerified {
		return PartyReport{}, fault.Conflict(fault.M("您的志愿者登记尚待社区认证，认证后即可报到", "your registration awaits the community's verification"))
	}
	rep := PartyReport{ResidentID: me.ResidentID, Division: me.Division, Branch: me.PartyBranch, ReportedAt: s.Now()}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `INSERT INTO vol_party_reports (resident_id, division_code, branch, reported_at) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`,
			rep.ResidentID, rep.Division, rep.Branch, db.T(rep.ReportedAt))
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fault.Conflict(fault.M("您已到社区报到", "you have reported to your community already"))
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.party.report", Object: "volunteer", ObjectID: rep.ResidentID, Division: rep.Division,
			Detail: audit.Detail(map[string]any{"branch": rep.Branch})})
	})
	return rep, err
}

// MyReport is the signed-in member's report (nil when not reported).
func (s *Store) MyReport(ctx context.Context) (*PartyReport, error) {
	me, err := s.Mine(ctx)
	if err != nil {
		return nil, err
	}
	var rep PartyReport
	var at db.Time
	err = s.DB.R.QueryRowContext(ctx, `SELECT resident_id, division_code, branch, reported_at FROM vol_party_reports WHERE resident_id = $1`, me.ResidentID).Scan(&rep.ResidentID, &rep.Division, &rep.Branch, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	rep.ReportedAt = at.Time
	return &rep, err
}

// PublishPost publishes a service post of a community.
func (s *Store) PublishPost(ctx context.Context, in PostInput) (Post, error) {
	p := access.From(ctx)
	div := in.Division
	if div == "" && p != nil {
		div = p.Division
	}
	if _, err := mustManage(ctx, div); err != nil {
		return Post{}, err
	}
	var fields []fault.FieldError
	name, desc := strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	if name == "" || len([]rune(name)) > 100 {
		fields = append(fields, fault.Field("name", fault.M("请填写岗位名称（100 字以内）", "give the post's name (at most 100 characters)")))
	}
	if len([]rune(desc)) > 2000 {
		fields = append(fields, fault.Field("description", fault.M("岗位说明不超过 2000 字", "at most 2000 characters")))
	}
	if in.Capacity < 1 || in.Capacity > 1000 {
		fields = append(fields, fault.Field("capacity", fault.M("人数应为 1–1000", "the number of people must be 1–1000")))
	}
	skills, fe := checkList("skills", in.Skills, skillOptions, "技能", "skills")
	if fe != nil {
		fields = append(fields, *fe)
	}
	if len(fields) > 0 {
		return Post{}, fault.Invalid(fault.M("岗位信息有误", "the post has errors"), fields...)
	}
	po := Post{ID: db.NewID(), Division: div, Name: name, Description: desc, Capacity: in.Capacity, Skills: splitList(skills), CreatedAt: s.Now()}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM vol_posts WHERE division_code = $1 AND name = $2`, div, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fault.Invalid(fault.M("岗位信息有误", "the post has errors"), fault.Field("name", fault.M("本社区已有同名岗位", "the community has a post of that name")))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO vol_posts (id, division_code, name, description, capacity, skills, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
			po.ID, div, name, desc, po.Capacity, skills, p.Username, db.T(po.CreatedAt)); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.post.publish", Object: "service_post", ObjectID: po.ID, Division: div,
			Detail: audit.Detail(map[string]any{"name": name, "capacity": po.Capacity})})
	})
	return po, err
}

func splitList(v string) []string {
	if v == "" {
		return []string{}
	}
	return strings.Split(v, ",")
}

const postCols = `p.id, p.division_code, p.name, p.description, p.capacity, p.taken, p.skills, p.created_at`

func scanPost(r db.Scanner) (Post, error) {
	var po Post
	var skills string
	var at db.Time
	err := r.Scan(&po.ID, &po.Division, &po.Name, &po.Description, &po.Capacity, &po.Taken, &skills, &at)
	po.Skills, po.CreatedAt = splitList(skills), at.Time
	return po, err
}

// Posts lists a community's posts: a worker's or officer's jurisdiction
// (div within it; empty: their own), or a resident's own community with
// the posts they hold marked.
func (s *Store) Posts(ctx context.Context, div string) ([]Post, error) {
	p := access.From(ctx)
	if p != nil && p.Role == access.Resident {
		me, err := s.Mine(ctx)
		if err != nil {
			return nil, err
		}
		return db.Collect(ctx, s.DB.R, func(r db.Scanner) (Post, error) {
			var po Post
			var skills string
			var at db.Time
			err := r.Scan(&po.ID, &po.Division, &po.Name, &po.Description, &po.Capacity, &po.Taken, &skills, &at, &po.Mine)
			po.Skills, po.CreatedAt = splitList(skills), at.Time
			return po, err
		}, `SELECT `+postCols+`, EXISTS (SELECT 1 FROM vol_post_members m WHERE m.post_id = p.id AND m.resident_id = $2) FROM vol_posts p
			WHERE p.division_code = $1 ORDER BY p.name, p.id`, me.Division, me.ResidentID)
	}
	if div == "" && p != nil {
		div = p.Division
	}
	if _, err := mustManage(ctx, div); err != nil {
		return nil, err
	}
	sc := access.Subtree(div)
	return db.Collect(ctx, s.DB.R, scanPost, `SELECT `+postCols+` FROM vol_posts p WHERE p.division_code >= $1 AND p.division_code < $2 ORDER BY p.division_code, p.name, p.id LIMIT 500`, sc.Lo, sc.Hi)
}

// TakePost puts the signed-in reported member on a post of their
// community. The post's row is the lock: its taken count rises only
// while below the capacity, so two members taking the last place at once
// cannot both have it.
func (s *Store) TakePost(ctx context.Context, postID string) (Post, error) {
	rep, err := s.MyReport(ctx)
	if errors.Is(err, errNoVolunteer) || err == nil && rep == nil {
		return Post{}, fault.Conflict(fault.M("请先到社区报到，再认领岗位", "report to your community before taking a post"))
	}
	if err != nil {
		return Post{}, err
	}
	po, err := scanPost(s.DB.R.QueryRowContext(ctx, `SELECT `+postCols+` FROM vol_posts p WHERE p.id = $1`, postID))
	if errors.Is(err, sql.ErrNoRows) || err == nil && po.Division != rep.Division {
		return Post{}, errNoPost
	}
	if err != nil {
		return Post{}, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE vol_posts SET taken = taken + 1 WHERE id = $1 AND taken < capacity`, postID)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fault.Conflict(fault.M("这个岗位已满", "the post is full"))
		}
		r, err = tx.ExecContext(ctx, `INSERT INTO vol_post_members (post_id, resident_id, created_at) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`, postID, rep.ResidentID, db.T(s.Now()))
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fault.Conflict(fault.M("您已认领这个岗位", "you hold this post already"))
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "volunteers.post.take", Object: "service_post", ObjectID: postID, Division: po.Division,
			Detail: audit.Detail(map[string]any{"resident": rep.ResidentID})})
	})
	if err == nil {
		po.Taken++
		po.Mine = true
	}
	return po, err
}

// PostMembers lists who took a post, for its community (an audited read).
func (s *Store) PostMembers(ctx context.Context, postID string) (Post, []PostMember, error) {
	po, err := scanPost(s.DB.R.QueryRowContext(ctx, `SELECT `+postCols+` FROM vol_posts p WHERE p.id = $1`, postID))
	if errors.Is(err, sql.ErrNoRows) {
		return po, nil, errNoPost
	}
	if err != nil {
		return po, nil, err
	}
	if _, err := mustManage(ctx, po.Division); err != nil {
		return po, nil, errNoPost
	}
	ms, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (PostMember, error) {
		var m PostMember
		var at db.Time
		err := r.Scan(&m.ResidentID, &m.Name, &m.Branch, &at)
		m.Name += "**"
		m.TakenAt = at.Time
		return m, err
	}, `SELECT m.resident_id, v.surname, v.party_branch, m.created_at FROM vol_post_members m JOIN vol_volunteers v ON v.resident_id = m.resident_id
		WHERE m.post_id = $1 ORDER BY m.created_at, m.resident_id`, postID)
	if err != nil {
		return po, nil, err
	}
	return po, ms, s.Audit.Record(ctx, audit.Entry{Action: "volunteers.post.members.read", Object: "service_post", ObjectID: postID, Division: po.Division})
}

// Branches are the work branches of the members reported in a
// jurisdiction (the export's picker).
func (s *Store) Branches(ctx context.Context, div string) ([]string, error) {
	if _, err := mustManage(ctx, div); err != nil {
		return nil, err
	}
	sc := access.Subtree(div)
	return db.Collect(ctx, s.DB.R, func(r db.Scanner) (string, error) {
		var b string
		return b, r.Scan(&b)
	}, `SELECT DISTINCT branch FROM vol_party_reports WHERE division_code >= $1 AND division_code < $2 ORDER BY branch LIMIT 500`, sc.Lo, sc.Hi)
}

// BranchFilter chooses a branch report: the members of one work branch
// reported in a jurisdiction, their service hours dated in [From, To].
type BranchFilter struct {
	Division string `json:"division"`
	Branch   string `json:"branch"`
	From     string `json:"from"`
	To       string `json:"to"`
}

// BranchReport lists each reported member of a branch with their posts
// and their service hours in the period (the ledger's service-dated
// entries, reversals included, so it equals the ledger): an audited read.
func (s *Store) BranchReport(ctx context.Context, f BranchFilter) ([]BranchRow, error) {
	p := access.From(ctx)
	if f.Division == "" && p != nil {
		f.Division = p.Division
	}
	if _, err := mustManage(ctx, f.Division); err != nil {
		return nil, err
	}
	var fields []fault.FieldError
	if strings.TrimSpace(f.Branch) == "" {
		fields = append(fields, fault.Field("branch", fault.M("请从列表中选择党组织", "choose the branch from the list")))
	}
	from, errF := time.Parse("2006-01-02", f.From)
	to, errT := time.Parse("2006-01-02", f.To)
	if errF != nil {
		fields = append(fields, fault.Field("from", fault.M("请填写起始日期", "give the first day")))
	}
	if errT != nil || errF == nil && to.Before(from) {
		fields = append(fields, fault.Field("to", fault.M("截止日期应不早于起始日期", "the last day must not be before the first")))
	}
	if len(fields) > 0 {
		return nil, fault.Invalid(fault.M("报表条件有误", "the report's choices have errors"), fields...)
	}
	sc := access.Subtree(f.Division)
	rows, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (BranchRow, error) {
		var b BranchRow
		err := r.Scan(&b.ResidentID, &b.Name, &b.Division, &b.Minutes)
		b.Name += "**"
		b.Posts, b.Hours = []string{}, hours(b.Minutes)
		return b, err
	}, `SELECT r.resident_id, v.surname, r.division_code,
			COALESCE((SELECT SUM(e.amount) FROM vol_entries e WHERE e.account_id = 'volunteer:' || r.resident_id || ':hours' AND e.service_date >= $4 AND e.service_date <= $5), 0)
		FROM vol_party_reports r JOIN vol_volunteers v ON v.resident_id = r.resident_id
		WHERE r.division_code >= $1 AND r.division_code < $2 AND r.branch = $3 ORDER BY r.division_code, r.resident_id`,
		sc.Lo, sc.Hi, f.Branch, f.From, f.To)
	if err != nil {
		return nil, err
	}
	type held struct{ resident, post string }
	hs, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (held, error) {
		var h held
		return h, r.Scan(&h.resident, &h.post)
	}, `SELECT m.resident_id, p.name FROM vol_party_reports r JOIN vol_post_members m ON m.resident_id = r.resident_id JOIN vol_posts p ON p.id = m.post_id
		WHERE r.division_code >= $1 AND r.division_code < $2 AND r.branch = $3 ORDER BY p.name, p.id`, sc.Lo, sc.Hi, f.Branch)
	if err != nil {
		return nil, err
	}
	at := map[string]int{}
	for i, b := range rows {
		at[b.ResidentID] = i
	}
	for _, h := range hs {
		rows[at[h.resident]].Posts = append(rows[at[h.resident]].Posts, h.post)
	}
	return rows, s.Audit.Record(ctx, audit.Entry{Action: "volunteers.party.branch_report", Object: "party_branch", ObjectID: f.Branch, Division: f.Division,
		Detail: audit.Detail(map[string]any{"from": f.From, "to": f.To, "members": len(rows)})})
}

// MyHours is the signed-in member's service hours dated in [from, to].
func (s *Store) MyHours(ctx context.Context, from, to string) (float64, error) {
	me, err := s.Mine(ctx)
	if err != nil {
		return 0, err
	}
	var m int64
	err = s.DB.R.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM vol_entries WHERE account_id = $1 AND service_date >= $2 AND service_date <= $3`,
		AccountID(OwnerVolunteer, me.ResidentID, Hours), from, to).Scan(&m)
	return hours(m), err
}
