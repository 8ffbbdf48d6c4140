package registry

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/dbtest"
)

// listSeed writes facilities, organisations and personnel straight into
// their tables, as a bulk load does; names come from a small pool, so
// that many rows share one and the id decides their order.
type listSeed struct {
	s   *Store
	q   execer
	seq int
	now db.Time
	// batch, if above 0, is how many rows one INSERT writes; pending
	// holds them per statement head until flush.
	batch   int
	pending map[string]*pendingRows
	heads   []string
}

type pendingRows struct {
	values []string
	args   []any
}

var placeholder = regexp.MustCompile(`\$(\d+)`)

// insert writes one row of an INSERT … VALUES (…) statement, or keeps it
// for the next multi-row statement when batching.
func (ls *listSeed) insert(tb testing.TB, query string, args ...any) {
	tb.Helper()
	if ls.batch == 0 {
		ls.exec(tb, query, args...)
		return
	}
	head, values, _ := strings.Cut(query, "VALUES")
	p := ls.pending[head]
	if p == nil {
		p = &pendingRows{}
		ls.pending[head] = p
		ls.heads = append(ls.heads, head)
	}
	off := len(p.args)
	p.values = append(p.values, placeholder.ReplaceAllStringFunc(values, func(m string) string {
		n, _ := strconv.Atoi(m[1:])
		return "$" + strconv.Itoa(n+off)
	}))
	p.args = append(p.args, args...)
	if len(p.values) >= ls.batch {
		ls.flushHead(tb, head)
	}
}

func (ls *listSeed) flushHead(tb testing.TB, head string) {
	tb.Helper()
	if p := ls.pending[head]; p != nil && len(p.values) > 0 {
		ls.exec(tb, head+"VALUES "+strings.Join(p.values, ","), p.args...)
		ls.pending[head] = &pendingRows{}
	}
}

// flush writes every kept row, in the order the statements first came.
func (ls *listSeed) flush(tb testing.TB) {
	tb.Helper()
	for _, h := range ls.heads {
		ls.flushHead(tb, h)
	}
}

var (
	facilityNames = []string{"阳光食堂", "邻里食堂", "社区卫生服务站", "幸福驿站", "老年食堂"}
	orgNames      = []string{"邻里互助会", "阳光物业", "夕阳红协会", "社区服务中心"}
	personNames   = []string{"王芳", "李娜", "张伟", "刘洋", "陈静"}
)

// execer writes rows, in a transaction or not.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func newListSeed(s *Store, q execer) *listSeed {
	return &listSeed{s: s, q: q, now: db.T(time.Now()), pending: map[string]*pendingRows{}}
}

func (ls *listSeed) exec(tb testing.TB, query string, args ...any) {
	tb.Helper()
	if _, err := ls.q.ExecContext(context.Background(), query, args...); err != nil {
		tb.Fatal(err)
	}
}

func (ls *listSeed) org(tb testing.TB, div, kind, name string) string {
	ls.seq++
	id := db.NewID()
	ls.insert(tb, `INSERT INTO reg_organizations (id, division_code, kind, name, reg_no, org_type, rating, reg_level, party_share, address, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, '', '', '', NULL, '', $6, $6)`, id, div, kind, name, fmt.Sprintf("R%08d", ls.seq), ls.now)
	return id
}

func (ls *listSeed) facility(tb testing.TB, div, category, name, operator string) string {
	ls.seq++
	id := db.NewID()
	ls.insert(tb, `INSERT INTO reg_facilities (id, division_code, code, name, category, address, lon, lat, floor_area, capacities, opening_hours, operator_id, status, tier, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, '', 120.1, 30.2, 100, '{}', '', $6, 'open', '5min', $7, $7)`, id, div, fmt.Sprintf("F%08d", ls.seq), name, category, nullable(operator), ls.now)
	return id
}

func (ls *listSeed) grid(tb testing.TB, div string) string {
	ls.seq++
	id := db.NewID()
	ls.insert(tb, `INSERT INTO reg_grids (id, division_code, code, name, note, created_at, updated_at) VALUES ($1, $2, $3, $3, '', $4, $4)`,
		id, div, fmt.Sprintf("G%05d", ls.seq), ls.now)
	return id
}

func (ls *listSeed) person(tb testing.TB, div, name, org string) string {
	ls.seq++
	id := db.NewID()
	ls.insert(tb, `INSERT INTO reg_personnel (id, division_code, name, roles, attrs, org_id, username, phone_enc, phone_idx, phone_mask, created_at, updated_at)
		VALUES ($1, $2, $3, ',volunteer,', '{}', $4, '', '', '', '', $5, $5)`, id, div, name, nullable(org), ls.now)
	return id
}

// skewedLists is a small registry of facilities, organisations and
// personnel shaped like a county: one community holds 80% of each, one
// facility category and one organisation kind are on nearly every row and
// another on few, one in ten facilities and half the people belong to an
// organisation, and every household to one of a tenth as many grids.
type skewedLists struct {
	s          *Store
	big, other string
	comms      []string
}

const (
	commonCategory = "elderly_canteen"
	rareCategory   = "childcare"
	commonKind     = "social_org"
	rareKind       = "property"
)

func newSkewedLists(tb testing.TB, dialect db.Dialect, n int) skewedLists {
	return seedSkewedLists(tb, benchStore(tb, dialect), n)
}

// seedSkewedLists writes the skewed lists into s.
func seedSkewedLists(tb testing.TB, s *Store, n int) skewedLists {
	west := communitiesOf(tb, s, "330106")
	k := skewedLists{s: s, big: west[0].Code, other: communitiesOf(tb, s, "330102")[0].Code}
	for _, c := range west[:10] {
		k.comms = append(k.comms, c.Code)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	div := func(i, n int) string {
		switch {
		case i < n*8/10:
			return k.big
		case i < n*95/100:
			return k.comms[1+i%9]
		}
		return k.other
	}
	ctx := context.Background()
	tx, err := s.DB.W.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ls := newListSeed(s, tx)
	ls.batch = 200
	var orgs []string
	for i := 0; i < n/3; i++ {
		kind := commonKind
		if i%50 == 0 {
			kind = rareKind
		}
		orgs = append(orgs, ls.org(tb, div(i, n/3), kind, orgNames[rng.IntN(len(orgNames))]))
	}
	var gs []string
	for i := 0; i < n/10; i++ {
		gs = append(gs, ls.grid(tb, div(i, n/10)))
	}
	ls.flush(tb) // organisations and grids before the rows that name them
	for i := 0; i < n; i++ {
		ls.seq++
		ls.insert(tb, `INSERT INTO reg_households (id, division_code, household_no, grid_id, address, note, created_at, updated_at) VALUES ($1, $2, $3, $4, '', '', $5, $5)`,
			db.NewID(), div(i, n), fmt.Sprintf("H%06d", ls.seq), gs[rng.IntN(len(gs))], ls.now)
	}
	for i := 0; i < n; i++ {
		cat, op := commonCategory, ""
		if i%50 == 0 {
			cat = rareCategory
		}
		if i%10 == 0 {
			op = orgs[rng.IntN(len(orgs))]
		}
		ls.facility(tb, div(i, n), cat, facilityNames[rng.IntN(len(facilityNames))], op)
		org := ""
		if i%2 == 0 {
			org = orgs[rng.IntN(len(orgs))]
		}
		ls.person(tb, div(i, n), personNames[rng.IntN(len(personNames))], org)
	}
	ls.flush(tb)
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if err := s.analyze(access.With(ctx, access.Operator())); err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestScopedListPlans(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			k := newSkewedLists(t, dialect, 3000)
			s := k.s
			county := officer("330106")
			type query = func(t *testing.T) (string, []any)
			pageOf := func(ctx context.Context, where func(context.Context, Filter) (*where, error), pq func(*where, Filter, []any, int) (string, []any), f Filter, after []any) query {
				return func(t *testing.T) (string, []any) {
					w, err := where(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					return pq(w, f, after, 21)
				}
			}
			countOf := func(ctx context.Context, where func(context.Context, Filter) (*where, error), cq func(*where) string, f Filter) query {
				return func(t *testing.T) (string, []any) {
					w, err := where(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					return cq(w), w.args
				}
			}
			fac := func(f Filter, after []any) query {
				return pageOf(county, facilities.where, facilities.pageQuery, f, after)
			}
			changed := func(code string) query {
				return func(t *testing.T) (string, []any) {
					sub := access.Subtree(code)
					return `SELECT COUNT(*), MAX(updated_at) FROM registry_facilities WHERE division_code >= $1 AND division_code < $2`, []any{sub.Lo, sub.Hi}
				}
			}
			mapOf := func(f Filter, limit int) query {
				return func(t *testing.T) (string, []any) {
					w, err := facilities.where(county, f)
					if err != nil {
						t.Fatal(err)
					}
					return mapQuery(w, f, limit), w.args
				}
			}
			org := func(f Filter, after []any) query {
				return pageOf(county, organizations.where, organizations.pageQuery, f, after)
			}
			per := func(f Filter, after []any) query {
				return pageOf(county, personnel.where, personnel.pageQuery, f, after)
			}
			grid := func(f Filter, after []any) query { return pageOf(county, grids.where, grids.pageQuery, f, after) }
			noSort := func(table string) map[db.Dialect][]string {
				return map[db.Dialect][]string{db.SQLite: {"TEMP B-TREE", "SCAN " + table[:1] + "\n", "SCAN " + table}, db.Postgres: {"Sort", "Seq Scan"}}
			}
			// A grouped read sorts the page's few rows, never the table's.
			noScan := func(table string) map[db.Dialect][]string {
				return map[db.Dialect][]string{db.SQLite: {"TEMP B-TREE", "SCAN " + table}, db.Postgres: {"Seq Scan"}}
			}
			// A capped count stops at CountCap+1 rows, whichever it reads
			// first: PostgreSQL reads a county holding most rows straight
			// from the table, and stops as soon.
			unsorted := map[db.Dialect][]string{db.SQLite: {"TEMP B-TREE"}, db.Postgres: {"Sort"}}
			both := func(lite, pg string) map[db.Dialect][]string {
				return map[db.Dialect][]string{db.SQLite: {lite}, db.Postgres: {pg}}
			}
			facKey := []any{k.big, commonCategory, "社区", "m"}
			cases := []planCase{
				{"a county officer's facilities, first page, read the key index in order", fac(Filter{}, nil),
					both("reg_facilities_div_key", "reg_facilities_div_key"), noSort("reg_facilities")},
				{"their deep page starts at the cursor in the same index", fac(Filter{}, facKey),
					both("reg_facilities_div_key ((division_code,category,name,id)>(?,?,?,?)", "Index Cond: ((ROW(division_code, category, name, id) >"), noSort("reg_facilities")},
				{"a rare category's deep page reads the category's index from the cursor", fac(Filter{Category: rareCategory}, facKey),
					both("reg_facilities_cat_key (category=? AND (division_code,name,id)>(?,?,?)", "reg_facilities_cat_key"), noSort("reg_facilities")},
				{"a common category's deep page too", fac(Filter{Category: commonCategory}, facKey),
					both("reg_facilities_cat_key (category=? AND (division_code,name,id)>(?,?,?)", "reg_facilities_cat_key"), noSort("reg_facilities")},
				// The fixture's county holds fewer facilities than the map's
				// cap, so the map reads them all: SQLite from the covering
				// index, in order; PostgreSQL may as well read the table and
				// sort 3,000 rows. Past the cap (a smaller limit stands for a
				// scope holding more) both read the first points in index
				// order and stop.
				{"a county officer's facility map reads its points from the index that covers them", mapOf(Filter{}, MapPointCap+1),
					map[db.Dialect][]string{db.SQLite: {"COVERING INDEX reg_facilities_div_map"}}, map[db.Dialect][]string{db.SQLite: noSort("reg_facilities")[db.SQLite]}},
				{"a category's map reads the category's covering index", mapOf(Filter{Category: commonCategory}, MapPointCap+1),
					map[db.Dialect][]string{db.SQLite: {"COVERING INDEX reg_facilities_cat_map (category=?"}}, map[db.Dialect][]string{db.SQLite: noSort("reg_facilities")[db.SQLite]}},
				{"a map past its cap reads the first points in index order and stops", mapOf(Filter{}, 21),
					both("COVERING INDEX reg_facilities_div_map", "reg_facilities_div_map"), noSort("reg_facilities")},
				{"a common category's map past its cap too, from the category's index", mapOf(Filter{Category: commonCategory}, 21),
					both("COVERING INDEX reg_facilities_cat_map (category=?", "reg_facilities_cat_map"), noSort("reg_facilities")},
				{"a rare category's map reads only the category's index", mapOf(Filter{Category: rareCategory}, 21),
					both("COVERING INDEX reg_facilities_cat_map (category=?", "reg_facilities_cat_map"), map[db.Dialect][]string{db.SQLite: noSort("reg_facilities")[db.SQLite], db.Postgres: {"Seq Scan"}}},
				// PostgreSQL reads a county holding 95% of the rows from the
				// table, as it should; a smaller range from the index.
				{"whether a county's facilities changed (the life circles' question) is read from one covering index", changed("330106"),
					map[db.Dialect][]string{db.SQLite: {"COVERING INDEX reg_facilities_div_updated"}}, map[db.Dialect][]string{db.SQLite: noSort("reg_facilities")[db.SQLite]}},
				{"a smaller area's too, on both stores", changed(k.comms[1]),
					both("COVERING INDEX reg_facilities_div_updated", "reg_facilities_div_updated"), noSort("reg_facilities")},
				{"the capped count of a county's facilities reads an index, unsorted",
					countOf(county, facilities.where, facilities.countQuery, Filter{}),
					both("COVERING INDEX reg_facilities_div_", "Limit"), unsorted}, // the key's index or the map's: both lead by the division
				{"a county officer's organisations read the key index from the cursor", org(Filter{}, []any{k.big, "阳光物业", "m"}),
					both("reg_organizations_div_key ((division_code,name,id)>(?,?,?)", "Index Cond: ((ROW(division_code, name, id) >"), noSort("reg_organizations")},
				{"a rare kind's organisations read the kind's index from the cursor", org(Filter{Category: rareKind}, []any{k.big, "阳光物业", "m"}),
					both("reg_organizations_kind_key (kind=? AND (division_code,name,id)>(?,?,?)", "reg_organizations_kind_key"), noSort("reg_organizations")},
				{"an organisation page's facility counts are one grouped read of the operator index", func(t *testing.T) (string, []any) {
					return orgCountsQuery("reg_facilities", "operator_id", []string{"$1", "$2", "$3"}), []any{"a", "b", "c"}
				}, both("reg_facilities_operator (operator_id=?)", "reg_facilities_operator"), noScan("reg_facilities")},
				{"and its staff counts one of the organisation index", func(t *testing.T) (string, []any) {
					return orgCountsQuery("reg_personnel", "org_id", []string{"$1", "$2", "$3"}), []any{"a", "b", "c"}
				}, both("reg_personnel_org (org_id=?)", "reg_personnel_org"), noScan("reg_personnel")},
				{"a grid page's household counts are one grouped read of the grid index", func(t *testing.T) (string, []any) {
					return householdCountsQuery([]string{"$1", "$2", "$3"}), []any{"a", "b", "c"}
				}, both("reg_households_grid (grid_id=?)", "reg_households_grid"), noScan("reg_households")},
				{"a county officer's personnel read the key index from the cursor", per(Filter{}, []any{k.big, "李娜", "m"}),
					both("reg_personnel_div_key ((division_code,name,id)>(?,?,?)", "Index Cond: ((ROW(division_code, name, id) >"), noSort("reg_personnel")},
				{"a role's personnel too, the role checked on each row read in order", per(Filter{Category: "volunteer"}, []any{k.big, "李娜", "m"}),
					both("reg_personnel_div_key ((division_code,name,id)>(?,?,?)", "Index Cond: ((ROW(division_code, name, id) >"), noSort("reg_personnel")},
				{"the capped count of a county's personnel reads an index, unsorted",
					countOf(county, personnel.where, personnel.countQuery, Filter{}),
					both("COVERING INDEX reg_personnel_div_key", "Limit"), unsorted},
				{"a county officer's grids read the (division, code) key from the cursor", grid(Filter{}, []any{k.big, "G01"}),
					both("sqlite_autoindex_reg_grids_2 ((division_code,code)>(?,?)", "Index Cond: ((ROW(division_code, code) >"), noSort("reg_grids")},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					q, args := c.query(t)
					plan, err := s.DB.Explain(context.Background(), q, s.customPlan(args))
					if err != nil {
						t.Fatal(err)
					}
					for _, w := range c.want[dialect] {
						if !strings.Contains(plan, w) {
							t.Errorf("plan lacks %q:\n%s", w, plan)
						}
					}
					for _, r := range c.refuse[dialect] {
						if strings.Contains(plan+"\n", r) {
							t.Errorf("plan holds %q:\n%s", r, plan)
						}
					}
				})
			}
		})
	}
}

// TestScopedKeysetPaging reads facilities, organisations and personnel a
// few rows a page while rows are written between the reads: one behind
// the cursor (in the first community, once the pages have passed it) and
// one ahead (in a community after every other).
func TestScopedKeysetPaging(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			k := newSkewedLists(t, dialect, 240)
			s := k.s
			ctx := officer("330106")
			first, last := k.comms[0], k.comms[0]
			for _, c := range k.comms {
				first, last = min(first, c), max(last, c)
			}
			west := communitiesOf(t, s, "330106")
			ahead := west[len(west)-1].Code
			if ahead <= last {
				t.Fatalf("no community after %s in 西湖区", last)
			}
			ls := newListSeed(s, s.DB.W)
			ls.seq = 1_000_000 // after the fixture's codes
			type list struct {
				name  string
				table string
				f     Filter
				// page reads a page and gives its ids and the division of its last row.
				page   func(f Filter, cursor string) (ids []string, lastDiv, next string, err error)
				insert func(div, name string) string
			}
			lists := []list{
				{"facilities", "reg_facilities f", Filter{}, func(f Filter, c string) ([]string, string, string, error) {
					p, err := s.PageFacilities(ctx, f, c, 7)
					return keysOf(p, func(x Facility) (string, string) { return x.ID, x.Division }), lastOf(p, func(x Facility) string { return x.Division }), p.Next, err
				}, func(div, name string) string { return ls.facility(t, div, commonCategory, name, "") }},
				{"facilities of a category", "reg_facilities f", Filter{Category: commonCategory}, func(f Filter, c string) ([]string, string, string, error) {
					p, err := s.PageFacilities(ctx, f, c, 7)
					return keysOf(p, func(x Facility) (string, string) { return x.ID, x.Division }), lastOf(p, func(x Facility) string { return x.Division }), p.Next, err
				}, func(div, name string) string { return ls.facility(t, div, commonCategory, name, "") }},
				{"organisations", "reg_organizations o", Filter{}, func(f Filter, c string) ([]string, string, string, error) {
					p, err := s.PageOrganizations(ctx, f, c, 7)
					return keysOf(p, func(x Organization) (string, string) { return x.ID, x.Division }), lastOf(p, func(x Organization) string { return x.Division }), p.Next, err
				}, func(div, name string) string { return ls.org(t, div, commonKind, name) }},
				{"personnel", "reg_personnel p", Filter{}, func(f Filter, c string) ([]string, string, string, error) {
					p, err := s.PagePersonnel(ctx, f, c, 7)
					return keysOf(p, func(x Person) (string, string) { return x.ID, x.Division }), lastOf(p, func(x Person) string { return x.Division }), p.Next, err
				}, func(div, name string) string { return ls.person(t, div, name, "") }},
			}
			for _, l := range lists {
				t.Run(l.name+" come exactly once, and a row written ahead of the cursor comes too", func(t *testing.T) {
					alias := l.table[len(l.table)-1:]
					cond := alias + ".division_code >= '330106' AND " + alias + ".division_code < '330107'"
					if l.f.Category != "" {
						cond += " AND " + alias + ".category = '" + l.f.Category + "'"
					}
					before, err := db.StringSet(context.Background(), s.DB.R, `SELECT `+alias+`.id FROM `+l.table+` WHERE `+cond)
					if err != nil || len(before) < 50 {
						t.Fatalf("%d rows before, %v", len(before), err)
					}
					seen := map[string]int{}
					behind, aheadIDs := map[string]bool{}, map[string]bool{}
					cursor, pages := "", 0
					for {
						ids, lastDiv, next, err := l.page(l.f, cursor)
						if err != nil {
							t.Fatal(err)
						}
						pages++
						for _, id := range ids {
							seen[id]++
						}
						if next == "" {
							break
						}
						// Same names as the rows already there: the id decides.
						name := personNames[pages%len(personNames)]
						if l.name != "personnel" {
							name = facilityNames[pages%len(facilityNames)]
						}
						if lastDiv < ahead {
							aheadIDs[l.insert(ahead, name)] = true
						}
						if lastDiv > first {
							behind[l.insert(first, name)] = true
						}
						cursor = next
					}
					if pages < 10 || len(behind) == 0 || len(aheadIDs) == 0 {
						t.Fatalf("%d pages, %d rows written behind: the test wrote too few", pages, len(behind))
					}
					for id, n := range seen {
						if n != 1 {
							t.Errorf("%s came %d times", id, n)
						}
						if !before[id] && !aheadIDs[id] {
							t.Errorf("%s came but was written behind the cursor", id)
						}
					}
					for id := range before {
						if seen[id] != 1 {
							t.Errorf("%s, there before the first page, came %d times", id, seen[id])
						}
					}
					for id := range aheadIDs {
						if seen[id] != 1 {
							t.Errorf("%s, written ahead of the cursor, came %d times", id, seen[id])
						}
					}
				})
			}
		})
	}
}

// TestPageCountsMatchLookUps checks the grouped reads of a page against
// the per-row counts a look-up makes.
func TestPageCountsMatchLookUps(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			k := newSkewedLists(t, dialect, 600)
			ctx := officer("330106")
			t.Run("an organisation page's facility and staff counts are its look-ups'", func(t *testing.T) {
				p, err := k.s.PageOrganizations(ctx, Filter{}, "", 100)
				if err != nil || len(p.Items) != 100 {
					t.Fatal(len(p.Items), err)
				}
				counted := 0
				for _, o := range p.Items {
					one, err := k.s.GetOrganization(ctx, o.ID)
					if err != nil || one != o {
						t.Fatalf("listed %+v, looked up %+v, %v", o, one, err)
					}
					counted += o.Facilities + o.Staff
				}
				if counted == 0 {
					t.Fatal("no organisation of the page runs a facility or employs anyone: the fixture proves nothing")
				}
			})
			t.Run("a grid page's household counts are its look-ups'", func(t *testing.T) {
				p, err := k.s.PageGrids(ctx, Filter{}, "", 50)
				if err != nil || len(p.Items) != 50 {
					t.Fatal(len(p.Items), err)
				}
				for _, g := range p.Items {
					one, err := k.s.GetGrid(ctx, g.ID)
					if err != nil || one.Households != g.Households || g.Households == 0 {
						t.Fatalf("listed %+v, looked up %+v, %v", g, one, err)
					}
				}
			})
		})
	}
}

func keysOf[T any](p Page[T], key func(T) (id, div string)) []string {
	var out []string
	for _, x := range p.Items {
		id, _ := key(x)
		out = append(out, id)
	}
	return out
}

func lastOf[T any](p Page[T], div func(T) string) string {
	if len(p.Items) == 0 {
		return ""
	}
	return div(p.Items[len(p.Items)-1])
}
