package registry

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/registry/idno"
)

// skewed is a small registry shaped like the worst of county scale: one
// community of 西湖区 holds most residents, the county most of the rest,
// one tag is on every resident and another on few.
type skewed struct {
	s       *Store
	big     string // the community with most rows
	small   string // a community of the county with few
	other   string // a county outside 西湖区
	inBig   int
	inSmall int
	inCnty  int
	rare    int // residents with the rare tag in the county
}

const (
	everyTag = "family_doctor"
	rareTag  = "dibao"
)

func communitiesOf(tb testing.TB, s *Store, county string) []divisions.Division {
	units, _, err := s.Divs.Search(context.Background(), county, "", 0, 100000)
	if err != nil {
		tb.Fatal(err)
	}
	var out []divisions.Division
	for _, u := range units {
		if u.Level == 5 {
			out = append(out, u)
		}
	}
	if len(out) < 10 {
		tb.Fatalf("county %s has %d communities", county, len(out))
	}
	return out
}

// newSkewed bulk-loads n residents and analyzes the tables, as the demo
// and an import do.
func newSkewed(tb testing.TB, dialect db.Dialect, n int) skewed {
	s := benchStore(tb, dialect)
	ctx := access.With(context.Background(), access.Operator())
	west, other := communitiesOf(tb, s, "330106"), communitiesOf(tb, s, "330102")
	k := skewed{s: s, big: west[0].Code, small: west[1].Code, other: "330102"}
	g := &demoGen{rng: rand.New(rand.NewPCG(5, 6)), now: time.Now(), seqs: map[string]int{}}
	var rows []ResidentRow
	rows = g.community(rows, west[0], n*8/10, true, 0)
	k.inBig = len(rows)
	for i := 1; i < 10; i++ {
		before := len(rows)
		rows = g.community(rows, west[i], n/90, true, i)
		if i == 1 {
			k.inSmall = len(rows) - before
		}
	}
	k.inCnty = len(rows)
	rows = g.community(rows, other[0], n-len(rows), true, 0)
	for i := range rows {
		rows[i].Tags = []string{everyTag}
		if i%97 == 0 {
			rows[i].Tags = append(rows[i].Tags, rareTag)
			if i < k.inCnty {
				k.rare++
			}
		}
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, re, err := s.LoadResidents(ctx, tx, rows, nil)
		if len(re) > 0 {
			return fmt.Errorf("%v", re[0])
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.analyze(ctx); err != nil {
		tb.Fatal(err)
	}
	return k
}

func officer(code string) context.Context {
	return access.With(context.Background(), &access.Principal{Username: "officer." + code, Role: access.Officer, Division: code})
}

func gridWorker(code string) context.Context {
	return access.With(context.Background(), &access.Principal{Username: "grid." + code, Role: access.GridWorker, Division: code})
}

func worker(code string) context.Context {
	return access.With(context.Background(), &access.Principal{Username: "worker." + code, Role: access.CommunityWorker, Division: code})
}

// planCase is one hot query and what its plan must and must not hold, per store.
type planCase struct {
	name         string
	query        func(t *testing.T) (string, []any)
	want, refuse map[db.Dialect][]string
}

func TestListPlans(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			k := newSkewed(t, dialect, 3000)
			s := k.s
			sparsePage := func(ctx context.Context, f ResidentFilter, after bool) func(t *testing.T) (string, []any) {
				return func(t *testing.T) (string, []any) {
					tc, err := s.tagCountOf(ctx, f)
					if err != nil || tc == nil || tc.n == 0 || tc.n > sparseTag {
						t.Fatalf("tag count %+v, %v", tc, err)
					}
					w, err := s.residentWhereTag(ctx, f, tc)
					if err != nil {
						t.Fatal(err)
					}
					var key []any
					if after {
						key = []any{k.big, "张", "m"}
					}
					return s.pageQuery(w, s.orderOf(f), key, 21)
				}
			}
			page := func(ctx context.Context, f ResidentFilter, after bool) func(t *testing.T) (string, []any) {
				return func(t *testing.T) (string, []any) {
					w, err := s.residentWhere(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					var key []any
					if after {
						key = []any{k.big, "张", "m"}
						if s.orderOf(f) == byName {
							key = []any{"张", k.big, "m"}
						}
					}
					return s.pageQuery(w, s.orderOf(f), key, 21)
				}
			}
			count := func(ctx context.Context, f ResidentFilter) func(t *testing.T) (string, []any) {
				return func(t *testing.T) (string, []any) {
					w, err := s.residentWhere(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					return countQuery(w), w.args
				}
			}
			divIndex := map[db.Dialect][]string{db.SQLite: {"reg_residents_div_name_id"}, db.Postgres: {"reg_residents_div_name_c"}}
			noSort := map[db.Dialect][]string{db.SQLite: {"TEMP B-TREE"}, db.Postgres: {"Sort", "Seq Scan on reg_residents"}}
			tagKey := map[db.Dialect][]string{db.SQLite: {"reg_residents_div_name_id", "(resident_id=? AND tag=?)"},
				db.Postgres: {"reg_residents_div_name_c", "reg_resident_tags_resident_id_tag_since_date_key"}}
			noTagScan := map[db.Dialect][]string{db.SQLite: {"TEMP B-TREE", "reg_resident_tags_due", "SCAN t"},
				db.Postgres: {"Sort", "reg_resident_tags_due", "Seq Scan"}}
			// A grid worker's rows are their grids' households' residents: at
			// most a grid's, whatever the community holds.
			gridRows := map[db.Dialect][]string{db.SQLite: {"reg_residents_household (household_id=?)", "(resident_id=?)"},
				db.Postgres: {"reg_residents_household", "reg_resident_tags_resident_id_tag_since_date_key"}}
			gridRefuse := map[db.Dialect][]string{db.SQLite: {"SCAN r", "reg_residents_div_name_id", "reg_resident_tags_due", "SCAN t"},
				db.Postgres: {"Seq Scan on reg_residents", "Seq Scan on reg_resident_tags", "reg_resident_tags_due"}}
			cases := []planCase{
				{"a county officer's list, first page, reads the division index in order", page(officer("330106"), ResidentFilter{}, false), divIndex, noSort},
				{"a county officer's deep page starts at the cursor in the same index", page(officer("330106"), ResidentFilter{}, true),
					map[db.Dialect][]string{db.SQLite: {"reg_residents_div_name_id ((division_code,name,id)>(?,?,?)"}, db.Postgres: {"reg_residents_div_name_c", "Index Cond: ((ROW(division_code"}}, noSort},
				{"a community worker's list reads the same index", page(worker(k.big), ResidentFilter{}, true), divIndex, noSort},
				{"a county officer's list of a tag every resident has probes each row's tags by resident", page(officer("330106"), ResidentFilter{Tag: everyTag}, false), tagKey, noTagScan},
				{"the same list's deep page too, from the cursor", page(officer("330106"), ResidentFilter{Tag: everyTag}, true),
					map[db.Dialect][]string{db.SQLite: {"reg_residents_div_name_id ((division_code,name,id)>(?,?,?)", "(resident_id=? AND tag=?)"},
						db.Postgres: {"Index Cond: ((ROW(division_code", "reg_resident_tags_resident_id_tag_since_date_key"}}, noTagScan},
				{"a county officer's list of a rare tag reads the tag's index and sorts the few", sparsePage(officer("330106"), ResidentFilter{Tag: rareTag}, false),
					map[db.Dialect][]string{db.SQLite: {"reg_resident_tags_tag (tag=? AND division_code>? AND division_code<?)", "sqlite_autoindex_reg_residents_1 (id=?)"}, db.Postgres: {"reg_resident_tags_tag"}},
					map[db.Dialect][]string{db.SQLite: {"SCAN r", "reg_residents_div_name_id"}, db.Postgres: {"Seq Scan", "reg_residents_div_name_c"}}},
				// PostgreSQL has been seen to start a rare tag's deep page from
				// the division index as well as from the tag's; either way it
				// reads an index, never the table.
				{"its deep page too", sparsePage(officer("330106"), ResidentFilter{Tag: rareTag}, true),
					map[db.Dialect][]string{db.SQLite: {"reg_resident_tags_tag (tag=? AND division_code>? AND division_code<?)", "sqlite_autoindex_reg_residents_1 (id=?)"}, db.Postgres: {"Index"}},
					map[db.Dialect][]string{db.SQLite: {"SCAN r", "reg_residents_div_name_id"}, db.Postgres: {"Seq Scan"}}},
				{"a surname search over the county reads the name index in order, from the cursor", page(officer("330106"), ResidentFilter{Q: "张"}, true),
					map[db.Dialect][]string{db.SQLite: {"reg_residents_name_id ((name,division_code,id)>(?,?,?)"}, db.Postgres: {"reg_residents_name_c", "Index Cond: ((ROW((name)::text"}}, noSort},
				{"the capped count of a county reads an index, unsorted", count(officer("330106"), ResidentFilter{}),
					// either narrow index that leads with the division covers it
					map[db.Dialect][]string{db.SQLite: {"COVERING INDEX reg_residents_div_", "(division_code>? AND division_code<?)"}, db.Postgres: {"Limit"}},
					map[db.Dialect][]string{db.SQLite: {"TEMP B-TREE"}, db.Postgres: {"Sort"}}},
				{"the capped count of a tag probes tags by resident", count(officer("330106"), ResidentFilter{Tag: everyTag, Q: "张"}),
					map[db.Dialect][]string{db.SQLite: {"(resident_id=? AND tag=?)"}, db.Postgres: {"reg_resident_tags_resident_id_tag_since_date_key"}},
					map[db.Dialect][]string{db.SQLite: {"reg_resident_tags_due", "SCAN t"}, db.Postgres: {"reg_resident_tags_due", "Seq Scan on reg_resident_tags"}}},
				{"a grid's tagged residents probe each row's tags by resident", page(worker(k.big), ResidentFilter{Grid: "g", Tagged: true}, false),
					map[db.Dialect][]string{db.SQLite: {"(resident_id=?)"}, db.Postgres: {"reg_resident_tags_resident_id_tag_since_date_key"}},
					map[db.Dialect][]string{db.SQLite: {"reg_resident_tags_due", "SCAN t"}, db.Postgres: {"reg_resident_tags_due", "Seq Scan on reg_resident_tags"}}},
				{"a grid worker's tagged residents (the my-grid page) read their grids' households by the household index", page(gridWorker(k.big), ResidentFilter{Tagged: true}, false), gridRows, gridRefuse},
				{"so does their deep page, whatever the cursor", page(gridWorker(k.big), ResidentFilter{Tagged: true}, true), gridRows, gridRefuse},
				{"and their count", count(gridWorker(k.big), ResidentFilter{Tagged: true}), gridRows, gridRefuse},
				{"a resident's own record is read by the account's index, not the community's", page(access.With(context.Background(), &access.Principal{Username: "res.1", Role: access.Resident, Division: k.big}), ResidentFilter{}, false),
					map[db.Dialect][]string{db.SQLite: {"reg_residents_username"}, db.Postgres: {"reg_residents_username"}},
					map[db.Dialect][]string{db.SQLite: {"SCAN r"}, db.Postgres: {"Seq Scan"}}},
				{"a page's tags are read by resident in one statement", func(t *testing.T) (string, []any) {
					return tagsQuery([]string{"$1", "$2", "$3"}), []any{"a", "b", "c"}
				}, map[db.Dialect][]string{db.SQLite: {"(resident_id=?)"}, db.Postgres: {"reg_resident_tags_resident_id_tag_since_date_key"}},
					map[db.Dialect][]string{db.SQLite: {"reg_resident_tags_due", "SCAN reg_resident_tags"}, db.Postgres: {"reg_resident_tags_due", "Seq Scan"}}},
			}
			households := func(ctx context.Context, after bool) func(t *testing.T) (string, []any) {
				return func(t *testing.T) (string, []any) {
					w, err := s.householdWhere(ctx, HouseholdFilter{})
					if err != nil {
						t.Fatal(err)
					}
					var key []any
					if after {
						key = []any{k.big, "H00100"}
					}
					return householdPageQuery(w, key, 21)
				}
			}
			hhKey := map[db.Dialect][]string{db.SQLite: {"sqlite_autoindex_reg_households_2"}, db.Postgres: {"reg_households_division_code_household_no_key"}}
			hhNoSort := map[db.Dialect][]string{db.SQLite: {"TEMP B-TREE", "SCAN h"}, db.Postgres: {"Sort", "Seq Scan on reg_households"}}
			cases = append(cases,
				planCase{"a county officer's household list reads the (division, number) key in order", households(officer("330106"), false), hhKey, hhNoSort},
				planCase{"its deep page starts at the cursor", households(officer("330106"), true),
					map[db.Dialect][]string{db.SQLite: {"sqlite_autoindex_reg_households_2 ((division_code,household_no)>(?,?)"}, db.Postgres: {"Index Cond: ((ROW(division_code, household_no) >"}}, hhNoSort})
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					q, args := c.query(t)
					// With its values, as the store runs it on PostgreSQL.
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
						if strings.Contains(plan, r) {
							t.Errorf("plan holds %q:\n%s", r, plan)
						}
					}
				})
			}
		})
	}
}

// walk reads every page of a list, calling between before each next page.
// A tag's list is read from the tag's index when the tag has at most
// bound residents in the division, else probed row by row.
func walk(t *testing.T, s *Store, ctx context.Context, f ResidentFilter, size, bound int, between func(page int)) []Resident {
	t.Helper()
	var all []Resident
	cursor := ""
	for page := 0; ; page++ {
		p, err := s.pageResidents(ctx, f, cursor, size, bound)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > size {
			t.Fatalf("page of %d rows, asked %d", len(p.Items), size)
		}
		all = append(all, p.Items...)
		if cursor = p.Next; cursor == "" {
			return all
		}
		if between != nil {
			between(page)
		}
	}
}

// ids lists the residents of a list straight from the table, the peer of
// the paged reads.
func allIDs(t *testing.T, s *Store, where string, args ...any) map[string]bool {
	t.Helper()
	set, err := db.StringSet(context.Background(), s.DB.R, `SELECT r.id FROM reg_residents r WHERE `+where, args...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestResidentKeysetPaging(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			k := newSkewed(t, dialect, 900)
			s := k.s
			ctx := officer("330106")
			seq := 0
			// insert writes one resident named name into community code,
			// between two page reads, through the bulk path.
			insert := func(code, name string) {
				seq++
				r := ResidentRow{Division: code, HouseholdNo: fmt.Sprintf("K%04d", seq), Address: "测试路 1 号", Name: name, Relation: "户主",
					IDNumber: idno.Synthetic("330106", time.Date(1960, 1, 1+seq%28, 0, 0, 0, 0, time.UTC), 500+seq), Tags: []string{everyTag, rareTag}}
				if errs := s.CheckResidentRow(&r, time.Now()); len(errs) > 0 {
					t.Fatal(errs)
				}
				err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
					_, re, err := s.LoadResidents(ctx, tx, []ResidentRow{r}, nil)
					if len(re) > 0 {
						return fmt.Errorf("%v", re[0])
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			county := "r.division_code >= '330106' AND r.division_code < '330107'"
			tagged := func(tag string) string {
				return county + " AND r.id IN (SELECT resident_id FROM reg_resident_tags WHERE active = TRUE AND tag = '" + tag + "')"
			}
			for _, c := range []struct {
				name  string
				f     ResidentFilter
				bound int
				where string
			}{
				{"the county's list", ResidentFilter{}, sparseTag, county},
				{"the county's list of a tag, probed row by row", ResidentFilter{Tag: everyTag}, -1, tagged(everyTag)},
				{"the county's list of a tag, read from the tag's index", ResidentFilter{Tag: everyTag}, 1 << 30, tagged(everyTag)},
				{"the county's list of a rare tag", ResidentFilter{Tag: rareTag}, sparseTag, tagged(rareTag)},
				{"a surname search", ResidentFilter{Q: "张"}, sparseTag, county + " AND r.name >= '张' AND r.name < '弡'"},
			} {
				t.Run(c.name+": every row present at the start comes exactly once while rows are added between pages", func(t *testing.T) {
					before := allIDs(t, s, c.where)
					if len(before) < 8 {
						t.Fatalf("fixture too small: %d rows", len(before))
					}
					got := walk(t, s, ctx, c.f, max(3, len(before)/12), c.bound, func(page int) {
						// One row sorting before any, one after any, one in the middle.
						insert(k.small, "一一")
						insert(k.big, "龘龘")
						insert(k.big, "张中")
					})
					after := allIDs(t, s, c.where)
					seen := map[string]bool{}
					for _, r := range got {
						if seen[r.ID] {
							t.Fatalf("%s (%s) came twice", r.ID, r.Name)
						}
						seen[r.ID] = true
						if !after[r.ID] {
							t.Fatalf("%s (%s, %s) is not on the list", r.ID, r.Name, r.Division)
						}
					}
					for id := range before {
						if !seen[id] {
							t.Fatalf("%s was on the list from the start and never came", id)
						}
					}
				})
			}
			t.Run("the county's households: every one present at the start comes exactly once while households are added between pages", func(t *testing.T) {
				before := allHouseholds(t, s)
				seen := map[string]bool{}
				cursor := ""
				for {
					p, err := s.PageHouseholds(ctx, HouseholdFilter{}, cursor, 25)
					if err != nil {
						t.Fatal(err)
					}
					for _, h := range p.Items {
						if seen[h.ID] {
							t.Fatalf("household %s came twice", h.ID)
						}
						seen[h.ID] = true
					}
					if cursor = p.Next; cursor == "" {
						break
					}
					insert(k.small, "一一")
					insert(k.big, "龘龘")
				}
				after := allHouseholds(t, s)
				for id := range before {
					if !seen[id] {
						t.Fatalf("household %s never came", id)
					}
				}
				for id := range seen {
					if !after[id] {
						t.Fatalf("household %s is not the county's", id)
					}
				}
			})
			t.Run("the pages come in the list's order", func(t *testing.T) {
				got := walk(t, s, worker(k.small), ResidentFilter{}, 5, sparseTag, nil)
				for i := 1; i < len(got); i++ {
					a, b := got[i-1], got[i]
					if a.Division > b.Division || a.Division == b.Division && (a.Name > b.Name || a.Name == b.Name && a.ID >= b.ID) {
						t.Fatalf("out of order: %s %s %s before %s %s %s", a.Division, a.Name, a.ID, b.Division, b.Name, b.ID)
					}
				}
			})
		})
	}
}

func TestResidentCounts(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			k := newSkewed(t, dialect, 3600)
			s := k.s
			count := func(t *testing.T, ctx context.Context, f ResidentFilter) ResidentPage {
				t.Helper()
				p, err := s.PageResidents(ctx, f, "", 20)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			t.Run("a county's unfiltered list stops counting at the cap", func(t *testing.T) {
				if p := count(t, officer("330106"), ResidentFilter{}); p.Total != CountCap+1 || !p.Capped || len(p.Items) != 20 || p.Next == "" {
					t.Fatalf("total %d capped %v items %d", p.Total, p.Capped, len(p.Items))
				}
			})
			t.Run("a small community's list is counted exactly", func(t *testing.T) {
				if p := count(t, worker(k.small), ResidentFilter{}); p.Total != k.inSmall || p.Capped {
					t.Fatalf("total %d capped %v, want %d", p.Total, p.Capped, k.inSmall)
				}
			})
			t.Run("a tag's list over the county reads the maintained count, exact beyond the cap", func(t *testing.T) {
				if p := count(t, officer("330106"), ResidentFilter{Tag: everyTag}); p.Total != k.inCnty || p.Capped || k.inCnty <= CountCap {
					t.Fatalf("total %d capped %v, want %d", p.Total, p.Capped, k.inCnty)
				}
				if p := count(t, officer("33"), ResidentFilter{Tag: rareTag, Division: "330106"}); p.Total != k.rare || p.Capped {
					t.Fatalf("rare tag: total %d capped %v, want %d", p.Total, p.Capped, k.rare)
				}
			})
			t.Run("a tag's list narrowed to a division the caller does not hold is empty", func(t *testing.T) {
				if p := count(t, officer("330106"), ResidentFilter{Tag: everyTag, Division: k.other}); p.Total != 0 || len(p.Items) != 0 {
					t.Fatalf("total %d items %d", p.Total, len(p.Items))
				}
			})
			t.Run("a county's household list stops counting at the cap, a small community's is exact", func(t *testing.T) {
				if n := len(allHouseholds(t, s)); n <= CountCap {
					t.Fatalf("fixture too small: %d households", n)
				}
				if p, err := s.PageHouseholds(officer("330106"), HouseholdFilter{}, "", 20); err != nil || p.Total != CountCap+1 || !p.Capped || len(p.Items) != 20 {
					t.Fatalf("county: %d capped %v items %d, %v", p.Total, p.Capped, len(p.Items), err)
				}
				var n int
				if err := s.DB.R.QueryRow(`SELECT COUNT(*) FROM reg_households WHERE division_code = $1`, k.small).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if p, err := s.PageHouseholds(worker(k.small), HouseholdFilter{}, "", 20); err != nil || p.Total != n || p.Capped {
					t.Fatalf("community: %d capped %v, want %d, %v", p.Total, p.Capped, n, err)
				}
			})
			t.Run("a bad cursor is the caller's mistake, named", func(t *testing.T) {
				first := count(t, officer("330106"), ResidentFilter{Q: "张"})
				for name, cur := range map[string]string{"garbage": "v1:!!", "tampered": first.Next[:len(first.Next)-2] + "AA",
					"another order's": first.Next, "too long": strings.Repeat("x", 2000)} {
					_, err := s.PageResidents(officer("330106"), ResidentFilter{}, cur, 20)
					if we, ok := fault.As(err); !ok || we.Code != fault.CodeInvalid || len(we.Fields) != 1 || we.Fields[0].Field != "cursor" {
						t.Fatalf("%s cursor: %v", name, err)
					}
					_, err = s.PageHouseholds(officer("330106"), HouseholdFilter{}, cur, 20)
					if we, ok := fault.As(err); !ok || we.Code != fault.CodeInvalid || len(we.Fields) != 1 || we.Fields[0].Field != "cursor" {
						t.Fatalf("%s cursor on the households: %v", name, err)
					}
				}
			})
		})
	}
}

func TestExpiryPlan(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			k := newSkewed(t, dialect, 600)
			t.Run("the daily expiry probe reads the index of tags that can expire", func(t *testing.T) {
				plan, err := k.s.DB.Explain(context.Background(), `SELECT 1 FROM reg_resident_tags WHERE active = TRUE AND until_date > '' AND until_date < $1 LIMIT 1`,
					k.s.customPlan([]any{"2026-01-01"}))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, "reg_resident_tags_due") {
					t.Fatalf("plan:\n%s", plan)
				}
			})
		})
	}
}

// allHouseholds lists 西湖区's households straight from the table.
func allHouseholds(t *testing.T, s *Store) map[string]bool {
	t.Helper()
	set, err := db.StringSet(context.Background(), s.DB.R, `SELECT id FROM reg_households WHERE division_code >= '330106' AND division_code < '330107'`)
	if err != nil {
		t.Fatal(err)
	}
	return set
}
