package familydoctor

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/module"
	"linli/internal/questions"
	"linli/internal/web"
)

// ListCountCap bounds the count of a list.
const ListCountCap = 1000

// RenewalDays is how long before its end a contract is due for renewal.
const RenewalDays = 30

// Page is one page of contracts.
type Page struct {
	Items  []Contract `json:"items"`
	Total  int        `json:"total"`
	Capped bool       `json:"total_capped"`
	Next   string     `json:"next,omitempty"`
}

// List pages the contracts of the principal's jurisdiction by (division,
// id); due lists only those running out within RenewalDays and not
// renewed.
func (s *Store) List(ctx context.Context, due bool, cursor string, size int) (Page, error) {
	p := access.From(ctx)
	if !isWorker(p) {
		return Page{}, errWorkers
	}
	if size <= 0 || size > 100 {
		size = 20
	}
	sc := access.BusinessScope(p)
	where, args := `c.division_code >= $1 AND c.division_code < $2`, []any{sc.Lo, sc.Hi}
	if due {
		today := s.today()
		args = append(args, today, plusDays(today, RenewalDays))
		where += ` AND c.renewed_by = '' AND c.end_date >= $3 AND c.end_date <= $4`
	}
	var page Page
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM gp_contracts c WHERE `+where+` LIMIT `+strconv.Itoa(ListCountCap+1)+`) x`, args...).Scan(&page.Total); err != nil {
		return page, err
	}
	if page.Total > ListCountCap {
		page.Total, page.Capped = ListCountCap, true
	}
	if cursor != "" {
		key, err := keyset.Open(s.Keys, cursor, "gp/contracts", 2)
		if err != nil {
			return page, err
		}
		n := strconv.Itoa(len(args) + 1)
		m := strconv.Itoa(len(args) + 2)
		args = append(args, key[0], key[1])
		where += ` AND (c.division_code > $` + n + ` OR (c.division_code = $` + n + ` AND c.id > $` + m + `))`
	}
	items, err := db.Collect(ctx, s.DB.R, scanContract, `SELECT `+contractCols+` FROM (SELECT c.id FROM gp_contracts c WHERE `+where+`
		ORDER BY c.division_code, c.id LIMIT `+strconv.Itoa(size+1)+`) k JOIN gp_contracts c ON c.id = k.id JOIN gp_teams t ON t.id = c.team_id
		LEFT JOIN registry_people r ON r.id = c.resident_id ORDER BY c.division_code, c.id`, args...)
	if err != nil {
		return page, err
	}
	if len(items) > size {
		items = items[:size]
		page.Next = keyset.Seal(s.Keys, "gp/contracts", items[size-1].Division, items[size-1].ID)
	}
	page.Items = items
	return page, nil
}

func plusDays(day string, n int) string {
	d, err := time.Parse("2006-01-02", day)
	if err != nil {
		return day
	}
	return d.AddDate(0, 0, n).Format("2006-01-02")
}

// Person is a key-group resident without a valid contract, as a worker's
// list shows them.
type Person struct {
	ID       string `json:"id"`
	Division string `json:"division_code"`
	Name     string `json:"name"` // masked
	Birth    string `json:"birth_month"`
}

// PeoplePage is one page of uncovered key-group residents.
type PeoplePage struct {
	Items []Person `json:"items"`
	Next  string   `json:"next,omitempty"`
}

// Uncovered pages the key-group residents of the principal's
// jurisdiction without a contract valid today, in (division, name, id)
// order: the registry's list index serves the range and the order, and
// a page stops once it has its rows. Reading it is audited.
func (s *Store) Uncovered(ctx context.Context, q, cursor string, size int) (PeoplePage, error) {
	p := access.From(ctx)
	if !isWorker(p) {
		return PeoplePage{}, errWorkers
	}
	if size <= 0 || size > 100 {
		size = 20
	}
	sc := access.BusinessScope(p)
	today := s.today()
	args := append([]any{sc.Lo, sc.Hi}, dayArgs(today)...)
	// The name in code-point order, as the registry's list indexes hold it.
	name := "r.name"
	if s.DB.Dialect == db.Postgres {
		name = `(r.name COLLATE "C")`
	}
	where := `r.division_code >= $1 AND r.division_code < $2 AND ` + keyGroupRow("r", "$3", "$4", "$5") + `
		AND NOT EXISTS (SELECT 1 FROM gp_contracts c WHERE c.resident_id = r.id AND c.start_date <= $3 AND c.end_date >= $3)`
	if q = strings.TrimSpace(q); q != "" {
		args = append(args, strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)+"%")
		where += ` AND r.name LIKE $` + strconv.Itoa(len(args)) + ` ESCAPE '\'`
	}
	if cursor != "" {
		key, err := keyset.Open(s.Keys, cursor, "gp/uncovered", 3)
		if err != nil {
			return PeoplePage{}, err
		}
		n := len(args)
		args = append(args, key[0], key[1], key[2])
		a, b, c := "$"+strconv.Itoa(n+1), "$"+strconv.Itoa(n+2), "$"+strconv.Itoa(n+3)
		where += ` AND (r.division_code > ` + a + ` OR (r.division_code = ` + a + ` AND (` + name + ` > ` + b + ` OR (r.name = ` + b + ` AND r.id > ` + c + `))))`
	}
	type row struct {
		Person
		full string
	}
	rows, err := db.Collect(ctx, s.DB.R, func(sc db.Scanner) (row, error) {
		var x row
		err := sc.Scan(&x.ID, &x.Division, &x.full, &x.Birth)
		x.Name = firstRune(x.full) + "**"
		if len(x.Birth) >= 7 {
			x.Birth = x.Birth[:7]
		}
		return x, err
	}, `SELECT r.id, r.division_code, r.name, r.birth_date FROM reg_residents r WHERE `+where+` ORDER BY r.division_code, `+name+`, r.id LIMIT `+strconv.Itoa(size+1), args...)
	if err != nil {
		return PeoplePage{}, err
	}
	var page PeoplePage
	if len(rows) > size {
		rows = rows[:size]
		l := rows[size-1]
		page.Next = keyset.Seal(s.Keys, "gp/uncovered", l.Division, l.full, l.ID)
	}
	page.Items = []Person{}
	for _, r := range rows {
		page.Items = append(page.Items, r.Person)
	}
	return page, s.Audit.Record(ctx, audit.Entry{Action: "gp.uncovered.read", Object: "reg_residents", Division: p.Division, Detail: strconv.Itoa(len(page.Items)) + " residents"})
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

// Work lists the contracts of the worker's jurisdiction running out
// within RenewalDays and not yet renewed, the earliest first.
func (s *Store) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	if p == nil || p.Role != access.CommunityWorker {
		return nil, nil
	}
	sc := access.BusinessScope(p)
	today := s.today()
	items, err := db.Collect(ctx, s.DB.R, scanContract, `SELECT `+contractCols+` FROM (SELECT c.id FROM gp_contracts c WHERE c.division_code >= $1 AND c.division_code < $2
		AND c.renewed_by = '' AND c.end_date >= $3 AND c.end_date <= $4 ORDER BY c.end_date, c.id LIMIT `+strconv.Itoa(limit)+`) k
		JOIN gp_contracts c ON c.id = k.id JOIN gp_teams t ON t.id = c.team_id LEFT JOIN registry_people r ON r.id = c.resident_id ORDER BY c.end_date, c.id`,
		sc.Lo, sc.Hi, today, plusDays(today, RenewalDays))
	if err != nil {
		return nil, err
	}
	var out []module.WorkItem
	for _, c := range items {
		end, _ := time.ParseInLocation("2006-01-02", c.End, questions.CST)
		out = append(out, module.WorkItem{Module: "familydoctor", Kind: "gp.renewal", KindName: fault.M("家庭医生签约待续约", "Family-doctor contracts to renew"),
			Title: fault.M("签约将于 "+c.End+" 到期，请联系续约", "The contract ends on "+c.End+": renew it"), Whose: c.Resident,
			Href: "/gp/contracts/" + c.ID, Due: end.Add(24 * time.Hour), Urgent: c.End <= plusDays(today, 7)})
	}
	return out, nil
}

// Mine shows the contracts of the resident's household, with a reminder
// when one runs out within RenewalDays.
func (s *Store) Mine(ctx context.Context, p *access.Principal) ([]module.MineSection, error) {
	if p == nil || p.Role != access.Resident {
		return nil, nil
	}
	today := s.today()
	cs, err := db.Collect(ctx, s.DB.R, scanContract, `SELECT `+contractCols+contractFrom+`
		WHERE c.household_id = (SELECT household_id FROM registry_people WHERE username = $1 AND username <> '') AND c.end_date >= $2 ORDER BY c.end_date, c.id LIMIT 10`, p.Username, today)
	if err != nil {
		return nil, err
	}
	sec := module.MineSection{Module: "familydoctor", Order: 40, Title: fault.M("家庭医生", "Family doctor"),
		Empty: fault.M("您家还没有有效的家庭医生签约，可到社区卫生服务中心或联系社区签约。", "Your household has no valid family-doctor contract: sign one at the health centre or through your community.")}
	for _, c := range cs {
		st := &web.Tag{Tone: web.ToneOK, Label: fault.M("有效至 "+c.End, "Valid until "+c.End)}
		if c.Start > today {
			st = &web.Tag{Tone: web.ToneInfo, Label: fault.M(c.Start+" 起", "From "+c.Start)}
		} else if c.RenewedBy == "" && c.End <= plusDays(today, RenewalDays) {
			st = &web.Tag{Tone: web.ToneBad, Label: fault.M(c.End+" 到期，请续约", "Ends "+c.End+": renew")}
		}
		sec.Items = append(sec.Items, module.MineItem{Label: fault.M(c.Resident+" · "+c.Team, c.Resident+" · "+c.Team), When: c.CreatedAt, Href: "/gp/contracts/" + c.ID, Status: st})
	}
	return []module.MineSection{sec}, nil
}

// asOf is the day a group's figure is counted on: the end of its month or
// year, or today when that is still to come.
func asOf(g module.Group, now time.Time) string {
	end := time.Date(g.Year, 12, 31, 0, 0, 0, 0, time.UTC)
	if g.Month >= 1 && g.Month <= 12 {
		end = time.Date(g.Year, time.Month(g.Month)+1, 0, 0, 0, 0, 0, time.UTC)
	}
	if d, today := end.Format("2006-01-02"), now.Format("2006-01-02"); d < today {
		return d
	}
	return now.Format("2006-01-02")
}

// Elements supply C13: key-group residents, and those of them with a
// contract valid on the day counted. The current year reads the day's
// counts (gp_daily, written by Run and at each contract); a past year,
// or a day without counts, is counted from the records.
func (s *Store) Elements() []module.Element {
	sum := func(signed bool) module.SumFunc {
		return func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
			day := asOf(g, s.Now().In(questions.CST))
			if day == s.today() {
				if out, ok, err := DailyCount(ctx, q, g, day, signed); err != nil || ok {
					return out, err
				}
			}
			return KeyGroupCount(ctx, q, g, day, signed)
		}
	}
	return []module.Element{
		{Key: "gp_key_group", NameZH: "家庭医生签约重点人群", NameEN: "Key-group residents", Source: "computed", Volatile: true, Sum: sum(false)},
		{Key: "gp_key_group_signed", NameZH: "有有效家庭医生签约的重点人群", NameEN: "Key-group residents with a valid family-doctor contract", Source: "computed", Volatile: true, Sum: sum(true)},
	}
}

// Refresh writes today's counts of one community (or of every one, for
// an empty code) in one statement.
func (s *Store) Refresh(ctx context.Context, community string) error {
	day := s.today()
	lo, hi := "0", "9"
	if community != "" {
		lo, hi = community, community+"0"
		if sc := access.Subtree(community); sc.Hi != "" {
			hi = sc.Hi
		}
	}
	// Counted on the reader, then written in a short transaction: on the
	// embedded store a county's count takes seconds, and no other write
	// should wait for it.
	type count struct {
		div         string
		key, signed int64
	}
	counts, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (count, error) {
		var c count
		return c, r.Scan(&c.div, &c.key, &c.signed)
	}, `SELECT r.division_code, COUNT(*), SUM(CASE WHEN EXISTS (SELECT 1 FROM gp_contracts c WHERE c.resident_id = r.id AND c.start_date <= $3 AND c.end_date >= $3) THEN 1 ELSE 0 END)
		FROM registry_people r WHERE r.division_code >= $1 AND r.division_code < $2 AND `+keyGroupCond("r", "$3", "$4", "$5")+` GROUP BY r.division_code`,
		append([]any{lo, hi}, dayArgs(day)...)...)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM gp_daily WHERE day = $1 AND division_code >= $2 AND division_code < $3`, day, lo, hi); err != nil {
			return err
		}
		for len(counts) > 0 {
			batch := counts[:min(len(counts), 200)]
			counts = counts[len(batch):]
			var q strings.Builder
			args := make([]any, 0, 4*len(batch))
			q.WriteString(`INSERT INTO gp_daily (day, division_code, key_group, signed) VALUES `)
			for i, c := range batch {
				if i > 0 {
					q.WriteByte(',')
				}
				q.WriteString(s.DB.Values(len(args), 4))
				args = append(args, day, c.div, c.key, c.signed)
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// CountedToday tells whether today's counts are written.
func (s *Store) CountedToday(ctx context.Context) (bool, error) {
	var n int
	err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM gp_daily WHERE day = $1 LIMIT 1) x`, s.today()).Scan(&n)
	return n > 0, err
}

// DailyCount sums a day's written counts by division prefix; ok is false
// when the day has none.
func DailyCount(ctx context.Context, q *sql.DB, g module.Group, day string, signed bool) (map[string]float64, bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM gp_daily WHERE day = $1 LIMIT 1) x`, day).Scan(&n); err != nil || n == 0 {
		return nil, false, err
	}
	key := `substr(division_code, 1, ` + strconv.Itoa(g.Prefix) + `)`
	if g.Fine {
		key = `division_code`
	}
	col := "key_group"
	if signed {
		col = "signed"
	}
	out := map[string]float64{}
	err := db.EachRow(ctx, q, func(r db.Scanner) error {
		var k string
		var v float64
		err := r.Scan(&k, &v)
		out[k] = v
		return err
	}, `SELECT `+key+`, SUM(`+col+`) FROM gp_daily WHERE day = $1 AND division_code >= $2 AND division_code < $3 GROUP BY `+key, day, g.Lo, g.Hi)
	return out, true, err
}

// KeyGroupCount counts the key-group residents on day (with a contract
// valid that day when signed), by division prefix.
func KeyGroupCount(ctx context.Context, q db.Querier, g module.Group, day string, signed bool) (map[string]float64, error) {
	key := `substr(r.division_code, 1, ` + strconv.Itoa(g.Prefix) + `)`
	if g.Fine {
		key = `r.division_code`
	}
	cond := keyGroupCond("r", "$3", "$4", "$5")
	if signed {
		cond += ` AND EXISTS (SELECT 1 FROM gp_contracts c WHERE c.resident_id = r.id AND c.start_date <= $3 AND c.end_date >= $3)`
	}
	out := map[string]float64{}
	err := db.EachRow(ctx, q, func(r db.Scanner) error {
		var k string
		var n float64
		err := r.Scan(&k, &n)
		out[k] = n
		return err
	}, `SELECT `+key+`, COUNT(*) FROM registry_people r WHERE r.division_code >= $1 AND r.division_code < $2 AND `+cond+` GROUP BY `+key,
		append([]any{g.Lo, g.Hi}, dayArgs(day)...)...)
	return out, err
}
