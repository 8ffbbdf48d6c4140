package registry

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/auth"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/divisions"
	"linli/internal/secret"
)

func benchStore(b testing.TB, dialect db.Dialect) *Store {
	return benchStoreWith(b, dialect, Migrations)
}

// benchStoreWith is a bench store on the registry's migrations given (a
// benchmark's peer runs on the schema as it was).
func benchStoreWith(b testing.TB, dialect db.Dialect, registry []db.Migration) *Store {
	ms := append(append(append(append([]db.Migration{}, audit.Migrations...), divisions.Migrations...), auth.Migrations...), registry...)
	d := dbtest.Open(b, dialect, ms)
	divs := &divisions.Store{DB: d}
	if _, err := divs.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	keys, _, err := secret.Load("", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return &Store{DB: d, Keys: keys, Audit: audit.New(d, time.Now), Divs: treeOnly{divs}, Now: time.Now}
}

// benchRows makes n synthetic residents spread over 西湖区's communities.
func benchRows(b *testing.B, s *Store, n int) []ResidentRow {
	units, _, err := s.Divs.Search(context.Background(), "330106", "", 0, 100000)
	if err != nil {
		b.Fatal(err)
	}
	var comms []divisions.Division
	for _, u := range units {
		if u.Level == 5 {
			comms = append(comms, u)
		}
	}
	g := &demoGen{rng: rand.New(rand.NewPCG(1, 2)), now: time.Now(), seqs: map[string]int{}}
	var rows []ResidentRow
	per := n / len(comms)
	for i, c := range comms {
		size := per
		if i == len(comms)-1 {
			size = n - len(rows)
		}
		rows = g.community(rows, c, size, c.UrbanRural == divisions.Urban, i)
	}
	for i := range rows {
		rows[i].Tags = nil // residents and households only: the same rows as the peer
	}
	return rows
}

func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("LINLI_BENCH_RESIDENTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// BenchmarkRegistry prints, per store: the import rate of N residents (with
// validation, encryption and blind index) against a bare prepared INSERT of
// the same rows in one transaction, and p95 server times of the main reads
// at N residents. Run:
//
//	go test ./internal/registry/ -run '^$' -bench Registry -benchtime 1x
//	(LINLI_BENCH_RESIDENTS=100000 for a quicker run; LINLI_TEST_POSTGRES_URL adds PostgreSQL)
func BenchmarkRegistry(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchOnce(b, dialect, benchN())
			}
		})
	}
}

func benchOnce(b *testing.B, dialect db.Dialect, n int) {
	ctx := access.With(context.Background(), &access.Principal{Username: "bench", Role: access.Officer, Division: "33"})
	// Peer: bare prepared single-row INSERTs of the same households and
	// residents (values sealed beforehand, untimed) in one transaction.
	peer := benchStore(b, dialect)
	rows := benchRows(b, peer, n)
	now := time.Now()
	for i := range rows {
		rows[i].Gender, rows[i].Birth = "", ""
		if errs := peer.CheckResidentRow(&rows[i], now); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
	sealedRows := make([]sealed, len(rows))
	for i, r := range rows {
		sealedRows[i] = peer.seal(ResidentInput{IDNumber: r.IDNumber, Phone: &r.Phone, Health: &r.Health, Disability: &r.Disability, Income: &r.Income})
	}
	t0 := time.Now()
	err := peer.DB.Tx(ctx, func(tx *sql.Tx) error {
		hs, err := tx.Prepare(`INSERT INTO reg_households (id, division_code, household_no, grid_id, address, note, created_at, updated_at) VALUES ` + peer.DB.Values(0, 8))
		if err != nil {
			return err
		}
		rs, err := tx.Prepare(`INSERT INTO reg_residents (` + residentInsertCols + `) VALUES ` + peer.DB.Values(0, 20))
		if err != nil {
			return err
		}
		ts := db.T(now)
		hh := map[string]string{}
		for i, r := range rows {
			k := r.Division + "/" + r.HouseholdNo
			if hh[k] == "" {
				hh[k] = db.NewID()
				if _, err := hs.Exec(hh[k], r.Division, r.HouseholdNo, nil, r.Address, "", ts, ts); err != nil {
					return err
				}
			}
			z := sealedRows[i]
			if _, err := rs.Exec(db.NewID(), r.Division, hh[k], r.Name, r.Gender, r.Birth, r.Relation, r.Residence, z.idEnc, z.idIdx, z.idMask,
				z.phoneEnc, z.phoneIdx, z.phoneMask, z.health, z.disability, z.income, "", ts, ts); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	peerDur := time.Since(t0)
	peer.DB.Close()
	sealedRows = nil

	// Linli's import: validation of every row, AES-GCM and HMAC per field
	// (overlapped with the writes), households by natural key, upsert by
	// blind index — one transaction.
	s := benchStore(b, dialect)
	for i := range rows {
		rows[i].Gender, rows[i].Birth = "", ""
	}
	t0 = time.Now()
	for i := range rows {
		if errs := s.CheckResidentRow(&rows[i], now); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
	var res BulkResult
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var re []RowError
		res, re, err = s.LoadResidents(ctx, tx, rows, nil)
		if len(re) > 0 {
			return fmt.Errorf("%v", re[0])
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	ours := time.Since(t0)
	peerRate, ourRate := float64(n)/peerDur.Seconds(), float64(n)/ours.Seconds()
	fmt.Printf("[%s] import %d residents (+%d households): linli %.1fs = %.0f rows/s; bare prepared INSERT %.1fs = %.0f rows/s; ratio %.2f\n",
		dialect, res.Residents, res.Households, ours.Seconds(), ourRate, peerDur.Seconds(), peerRate, ourRate/peerRate)

	// Tags at the demo's rates, then the reads.
	g := &demoGen{rng: rand.New(rand.NewPCG(3, 4)), now: now}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		q, err := tx.Query(`SELECT id, division_code, birth_date, gender FROM reg_residents`)
		if err != nil {
			return err
		}
		type tg struct{ id, code, tag string }
		var tags []tg
		for q.Next() {
			var id, code, birth, gender string
			q.Scan(&id, &code, &birth, &gender)
			by, _ := strconv.Atoi(birth[:4])
			for _, t := range g.tags(now.Year()-by, 2, gender == "M", divisions.UrbanRural(code) == divisions.Urban) {
				tags = append(tags, tg{id, code, t})
			}
		}
		q.Close()
		st, err := tx.Prepare(`INSERT INTO reg_resident_tags (id, resident_id, division_code, tag, since_date, until_date, source, note, detail, active, created_at) VALUES ` + s.DB.Values(0, 11))
		if err != nil {
			return err
		}
		d := tagDeltas{}
		for _, t := range tags {
			if _, err := st.Exec(db.NewID(), t.id, t.code, t.tag, "", "", "bench", "", "", true, db.T(now)); err != nil {
				return err
			}
			d.add(t.code, t.tag, 1)
		}
		fmt.Printf("[%s] %d tags added\n", dialect, len(tags))
		return s.applyDeltas(ctx, tx, d)
	})
	if err != nil {
		b.Fatal(err)
	}
	if dialect == db.Postgres {
		s.DB.W.Exec(`ANALYZE`)
	} else {
		s.DB.W.Exec(`ANALYZE`)
	}
	county := access.With(context.Background(), &access.Principal{Username: "county", Role: access.Officer, Division: "330106"})
	prov := access.With(context.Background(), &access.Principal{Username: "prov", Role: access.Officer, Division: "33"})
	comm := rows[len(rows)/2].Division
	worker := access.With(context.Background(), &access.Principal{Username: "w", Role: access.CommunityWorker, Division: comm})
	names := []string{}
	for i := 0; i < 50; i++ {
		names = append(names, rows[(i*7919)%len(rows)].Name)
	}
	p95 := func(label string, f func(i int) error) {
		var ds []time.Duration
		for i := 0; i < 200; i++ {
			t := time.Now()
			if err := f(i); err != nil {
				b.Fatal(label, err)
			}
			ds = append(ds, time.Since(t))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("[%s] %-45s p50 %6.2f ms  p95 %6.2f ms\n", dialect, label, float64(ds[100].Microseconds())/1000, float64(ds[189].Microseconds())/1000)
	}
	p95("search by name in county (full name)", func(i int) error {
		_, _, err := s.ListResidents(county, ResidentFilter{Q: names[i%len(names)]}, 20)
		return err
	})
	p95("search by surname in county (first page)", func(i int) error {
		_, _, err := s.ListResidents(county, ResidentFilter{Q: string([]rune(names[i%len(names)])[:1])}, 20)
		return err
	})
	if os.Getenv("LINLI_BENCH_EXPLAIN") != "" && dialect == db.Postgres {
		conn, err := s.DB.R.Conn(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		explain := func(label, q string, args ...any) {
			rows, err := conn.QueryContext(context.Background(), "EXPLAIN (ANALYZE, BUFFERS) "+q, args...)
			if err != nil {
				b.Fatal(err)
			}
			fmt.Println("--", label)
			for rows.Next() {
				var line string
				rows.Scan(&line)
				fmt.Println(line)
			}
			rows.Close()
		}
		sur := string([]rune(names[0])[:1])
		w, _ := s.residentWhere(county, ResidentFilter{Q: sur})
		for _, mode := range []string{"auto", "force_generic_plan"} {
			conn.ExecContext(context.Background(), "SET plan_cache_mode = "+mode)
			explain(mode+" count", `SELECT COUNT(*) FROM (SELECT 1 FROM reg_residents r WHERE `+w.sql()+` LIMIT 1001) x`, w.args...)
			explain(mode+" count ordered", `SELECT COUNT(*) FROM (SELECT 1 FROM reg_residents r WHERE `+w.sql()+` ORDER BY `+s.nameExpr()+`, r.division_code, r.id LIMIT 1001) x`, w.args...)
			explain(mode+" page", `SELECT `+residentCols+` FROM reg_residents r WHERE `+w.sql()+` ORDER BY `+s.nameExpr()+`, r.division_code, r.id LIMIT 20`, w.args...)
			cw, _ := s.residentWhere(worker, ResidentFilter{})
			explain(mode+" community count ordered", `SELECT COUNT(*) FROM (SELECT 1 FROM reg_residents r WHERE `+cw.sql()+` ORDER BY `+s.nameExpr()+`, r.division_code, r.id LIMIT 1001) x`, cw.args...)
			explain(mode+" community page", `SELECT `+residentCols+` FROM reg_residents r WHERE `+cw.sql()+` ORDER BY `+s.nameExpr()+`, r.division_code, r.id LIMIT 20 OFFSET 180`, cw.args...)
		}
		conn.ExecContext(context.Background(), "SET plan_cache_mode = auto")
	}
	p95("tag summary, county with children", func(i int) error { _, err := s.Summary(county, "330106", true); return err })
	p95("tag summary, province with children", func(i int) error { _, err := s.Summary(prov, "33", true); return err })
	cursor := ""
	p95("community resident list, page 1..10", func(i int) error {
		if i%10 == 0 {
			cursor = ""
		}
		p, err := s.PageResidents(worker, ResidentFilter{}, cursor, 20)
		cursor = p.Next
		return err
	})
	_ = strings.TrimSpace
}

// treeOnly is the division tree without place look-ups.
type treeOnly struct{ *divisions.Store }

func (treeOnly) Locate(context.Context, float64, float64, string) (string, bool, error) {
	return "", false, nil
}
