package requests

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"linli/internal/audit"
	"linli/internal/auth"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/divisions"
)

// treeOnly is the division tree without a map: requests stay where they
// are filed.
type treeOnly struct{ *divisions.Store }

func (treeOnly) Locate(context.Context, float64, float64, string) (string, bool, error) {
	return "", false, nil
}

func (treeOnly) ReadPicker(context.Context, url.Values, string, string) (divisions.Picker, error) {
	return divisions.Picker{}, nil
}

// metricsStore is a store of one dialect with the division tree loaded and
// no request yet.
func metricsStore(tb testing.TB, dialect db.Dialect) *Store {
	ms := append(append(append(append([]db.Migration{}, audit.Migrations...), divisions.Migrations...), auth.Migrations...), Migrations...)
	d := dbtest.Open(tb, dialect, ms)
	divs := &divisions.Store{DB: d}
	if _, err := divs.Load(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return &Store{DB: d, Audit: audit.New(d, time.Now), Divs: treeOnly{divs}, Now: time.Now}
}

// communities are the level-5 divisions of a county in code order.
func communities(tb testing.TB, s *Store, county string) []string {
	units, _, err := s.Divs.Search(context.Background(), "", county, 0, 100000)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, u := range units {
		if u.Level == 5 {
			out = append(out, u.Code)
		}
	}
	if len(out) < 10 {
		tb.Fatalf("county %s has %d communities", county, len(out))
	}
	return out
}

// synthetic describes a generated request history: n requests created
// evenly over span up to end, a share big of them in one community
// (where), the rest spread over the other communities of where's county
// and, for a share other, of a second county.
type synthetic struct {
	n          int
	end        time.Time
	span       time.Duration
	big        string   // the community with most rows
	county     []string // the communities of the county
	elsewhere  []string // communities of another county
	bigShare   float64
	otherShare float64
	seed       uint64
}

// load bulk-inserts the history in every state, with deadlines met and
// missed, ratings and reopenings, and analyzes the table as a bulk load
// does.
func (g synthetic) load(tb testing.TB, s *Store) {
	tb.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(g.seed, 19))
	cats := []string{}
	for _, c := range Catalogue {
		cats = append(cats, c.Code)
	}
	ratings := []string{"", "", Satisfied, Satisfied, FairlySatisfed, Unsatisfied}
	const cols = 39
	const per = 500
	insert := func(tx *sql.Tx, rows [][]any) error {
		if len(rows) == 0 {
			return nil
		}
		var args []any
		var values []string
		for _, r := range rows {
			values = append(values, s.DB.Values(len(args), cols))
			args = append(args, r...)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO requests (id, number, division_code, unit_code, unit_name, category, status, version, channel, description, address,
			attributes, reporter_id, reporter_name, reporter_phone, reporter_email, reporter_phone_idx, source_key, token, assignee, merged_into, reply, reason, rating,
			rating_comment, reopen_count, return_count, escalation_level, created_at, updated_at, accepted_at, answered_at, closed_at, response_due, resolve_due,
			response_met, resolve_met, response_stage, resolve_stage) VALUES `+strings.Join(values, ", "), args...)
		return err
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var batch [][]any
		for i := 0; i < g.n; i++ {
			div := g.big
			switch x := rng.Float64(); {
			case x < g.otherShare:
				div = g.elsewhere[rng.IntN(len(g.elsewhere))]
			case x < g.otherShare+(1-g.otherShare)*(1-g.bigShare):
				div = g.county[rng.IntN(len(g.county))]
			}
			created := g.end.Add(-time.Duration(float64(g.span) * (float64(g.n-i) - rng.Float64()) / float64(g.n)))
			var accepted, answered, closed any
			var rmet, smet any
			status, rating, reopen := Submitted, "", 0
			switch fate := rng.IntN(100); {
			case fate < 10:
			case fate < 15:
				status = Rejected
				closed = db.T(created.Add(3 * time.Hour))
			case fate < 25:
				status = InProgress
				accepted, rmet = db.T(created.Add(time.Duration(rng.IntN(600))*time.Minute)), rng.IntN(5) > 0
			default:
				a := created.Add(time.Duration(rng.IntN(600)) * time.Minute)
				b := a.Add(time.Duration(60+rng.IntN(90*60)) * time.Minute)
				accepted, answered, rmet, smet = db.T(a), db.T(b), rng.IntN(5) > 0, rng.IntN(4) > 0
				status, rating = Answered, ratings[rng.IntN(len(ratings))]
				if rating != "" {
					status = Evaluated
				}
				if rng.IntN(12) == 0 {
					reopen = 1
				}
				if rating == Satisfied && rng.IntN(2) == 0 {
					status, closed = Closed, db.T(b.Add(30*time.Hour))
				}
			}
			batch = append(batch, []any{fmt.Sprintf("syn-%d-%08d", g.seed, i), fmt.Sprintf("SYN-%d-%08d", g.seed, i), div, div, "社区", cats[rng.IntN(len(cats))], string(status), 1,
				"hotline", "描述", "", "{}", "", "王先生", "", "", "", "", "", "", "", "", "", rating,
				"", reopen, 0, 0, db.T(created), db.T(created), accepted, answered, closed, db.T(created.Add(24 * time.Hour)), db.T(created.Add(120 * time.Hour)),
				rmet, smet, 0, 0})
			if len(batch) == per {
				if err := insert(tx, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		return insert(tx, batch)
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Analyze(ctx, s.DB, "requests", "request_daily"); err != nil {
		tb.Fatal(err)
	}
}

// newSynthetic is the usual shape: 西湖区 with one community holding most
// of its requests, and 上城区 beside it.
func newSynthetic(tb testing.TB, s *Store, n int, end time.Time, span time.Duration) synthetic {
	west, other := communities(tb, s, "330106"), communities(tb, s, "330102")
	return synthetic{n: n, end: end, span: span, big: west[0], county: west[1:], elsewhere: other, bigShare: 0.6, otherShare: 0.3, seed: 7}
}
