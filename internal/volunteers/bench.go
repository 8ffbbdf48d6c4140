package volunteers

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"linli/internal/db"
	"linli/internal/module"
)

const benchUsage = `linli bench volunteers [--entries N] [--volunteers N] [--data-dir DIR | --database-url URL]

记入一批志愿服务时长（默认 1,000,000 条分录：500,000 笔，每笔志愿者贷记一条、时间银行借记一条，
含每人每日不超过 24 小时的检查和账户余额的汇总更新），与同样行数的裸 INSERT … SELECT 对照，
打印两者用时、倍数和系统负载；再随机读取志愿者的余额与星级 2,000 次，打印 p50/p95。测完删除这批数据。
Credits a batch of service hours (by default 1,000,000 ledger entries: 500,000 transactions, each
a volunteer's credit and its time bank's debit, with the 24-hours-a-day check and the balances
moved by an aggregated update) against a bare INSERT … SELECT of the same rows into the same table
in the same run; prints both, the ratio and the load average. Then reads 2,000 random volunteers'
balance and star and prints p50 and p95 at the ledger's size. The batch is removed afterwards.

例 / example:
  linli bench volunteers --data-dir ./bench-county`

// BenchResult is one run of the ledger benchmark.
type BenchResult struct {
	Entries, Total   int64
	Credit, Bare     time.Duration
	ReadP50, ReadP95 time.Duration
}

// Ratio is the ledger credit's time over the bare insert's.
func (b BenchResult) Ratio() float64 { return b.Credit.Seconds() / b.Bare.Seconds() }

const benchBank = "bank:bench:hours"

// BenchCredit credits entries/2 transactions spread over volunteers
// synthetic volunteers, times it against a bare INSERT … SELECT of the
// same entries, measures balance reads, and removes the batch.
func (s *Store) BenchCredit(ctx context.Context, entries, volunteers int) (BenchResult, error) {
	var b BenchResult
	txns := entries / 2
	if txns < 1 || volunteers < 1 {
		return b, fmt.Errorf("bench volunteers: entries and volunteers must be positive")
	}
	days := (txns + volunteers - 1) / volunteers
	if days > 3000 {
		return b, fmt.Errorf("bench volunteers: more than 3,000 credits per volunteer; add volunteers")
	}
	bg := context.Background()
	cleanup := func() {
		s.DB.W.ExecContext(bg, `DROP TABLE IF EXISTS vol_bench_batch`)
		s.DB.W.ExecContext(bg, `DROP TABLE IF EXISTS vol_bench_peer`)
		s.DB.W.ExecContext(bg, `DELETE FROM vol_entries WHERE txn_id >= 'bench-' AND txn_id < 'bench.'`)
		s.DB.W.ExecContext(bg, `DELETE FROM vol_accounts WHERE id = $1 OR id >= 'volunteer:bench-' AND id < 'volunteer:bench.'`, benchBank)
	}
	cleanup()
	defer cleanup()
	dateExpr := `date('2020-01-01', '+' || (n.i / $2) || ' days')`
	if s.DB.Dialect == db.Postgres {
		dateExpr = `to_char(date '2020-01-01' + (n.i / $2)::int, 'YYYY-MM-DD')`
	}
	setup := []string{
		`CREATE TABLE vol_bench_batch (txn_id TEXT NOT NULL, account_id TEXT NOT NULL, division_code TEXT NOT NULL, bank_id TEXT NOT NULL, minutes BIGINT NOT NULL, service_date TEXT NOT NULL, reason TEXT NOT NULL)`,
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1)
		INSERT INTO vol_bench_batch (txn_id, account_id, division_code, bank_id, minutes, service_date, reason)
		SELECT 'bench-' || n.i, 'volunteer:bench-' || (n.i % $2) || ':hours', '330106999999', '` + benchBank + `', 60 + (n.i % 4) * 30, ` + dateExpr + `, '批量记入 / batch credit' FROM n`,
	}
	if _, err := s.DB.W.ExecContext(ctx, setup[0]); err != nil {
		return b, err
	}
	if _, err := s.DB.W.ExecContext(ctx, setup[1], txns, volunteers); err != nil {
		return b, err
	}
	if _, err := s.DB.W.ExecContext(ctx, `INSERT INTO vol_accounts (id, currency, owner_kind, owner_id, division_code, may_go_negative, created_at) VALUES ($1, 'hours', 'bank', 'bench', '330106999999', TRUE, $2)`,
		benchBank, db.T(s.Now())); err != nil {
		return b, err
	}
	if err := db.Analyze(ctx, s.DB, "vol_bench_batch"); err != nil {
		return b, err
	}
	start := time.Now()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		n, err := s.creditBatch(ctx, tx, "vol_bench_batch", "bench")
		b.Entries = 2 * n
		return err
	})
	if err != nil {
		return b, err
	}
	b.Credit = time.Since(start)
	// The peer: the same entries, written again by a bare INSERT … SELECT.
	const cols = `txn_id, account_id, currency, amount, kind, service_date, ref, reason, entry_key, created_by, created_at`
	if _, err := s.DB.W.ExecContext(ctx, `CREATE TABLE vol_bench_peer AS SELECT `+cols+` FROM vol_entries WHERE txn_id >= 'bench-' AND txn_id < 'bench.'`); err != nil {
		return b, err
	}
	if _, err := s.DB.W.ExecContext(ctx, `DELETE FROM vol_entries WHERE txn_id >= 'bench-' AND txn_id < 'bench.'`); err != nil {
		return b, err
	}
	start = time.Now()
	if err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO vol_entries (`+cols+`) SELECT `+cols+` FROM vol_bench_peer`)
		return err
	}); err != nil {
		return b, err
	}
	b.Bare = time.Since(start)
	if err := db.Analyze(ctx, s.DB, "vol_entries", "vol_accounts"); err != nil {
		return b, err
	}
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM vol_entries`).Scan(&b.Total); err != nil {
		return b, err
	}
	// A volunteer's balance and star: what the phone page and the API read.
	rng := rand.New(rand.NewPCG(16, uint64(volunteers)))
	took := make([]time.Duration, 2000)
	for i := range took {
		v := Volunteer{ResidentID: fmt.Sprintf("bench-%d", rng.IntN(volunteers))}
		t0 := time.Now()
		if err := s.figures(ctx, s.DB.R, &v); err != nil {
			return b, err
		}
		took[i] = time.Since(t0)
		if v.Hours <= 0 {
			return b, fmt.Errorf("bench volunteers: %s has no hours", v.ResidentID)
		}
	}
	slices.Sort(took)
	b.ReadP50, b.ReadP95 = took[len(took)/2], took[len(took)*95/100]
	return b, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func runBench(c module.CLI, args []string) int {
	var entries, volunteers int
	m, _, closeApp, code := c.Open("bench volunteers", args, func(fs *flag.FlagSet) {
		fs.IntVar(&entries, "entries", 1_000_000, "分录条数（每笔两条）/ ledger entries to write (two per transaction)")
		fs.IntVar(&volunteers, "volunteers", 20_000, "分摊到的志愿者人数 / volunteers the credits are spread over")
	})
	if code >= 0 {
		return code
	}
	defer closeApp()
	before := loadavg()
	b, err := StoreOf(m).BenchCredit(context.Background(), entries, volunteers)
	if err != nil {
		return module.Fail(c, err)
	}
	fmt.Fprintf(c.Stdout, "时长记入 / hours credit: %d entries (%d transactions) for %d volunteers\n", b.Entries, b.Entries/2, volunteers)
	fmt.Fprintf(c.Stdout, "  记账（含每日 24 小时检查、余额汇总更新）/ ledger credit (24-hour check, balances): %v\n", b.Credit.Round(time.Millisecond))
	fmt.Fprintf(c.Stdout, "  裸 INSERT … SELECT 同样行数 / bare INSERT … SELECT of the same rows: %v\n", b.Bare.Round(time.Millisecond))
	fmt.Fprintf(c.Stdout, "  倍数 / ratio: %.2f× (目标 / aim ≤ 2×)   load average before %s, after %s\n", b.Ratio(), before, loadavg())
	fmt.Fprintf(c.Stdout, "余额与星级读取 / balance and star read at %d ledger entries: p50 %v, p95 %v (目标 / aim p95 ≤ 20 ms)\n", b.Total,
		b.ReadP50.Round(time.Microsecond), b.ReadP95.Round(time.Microsecond))
	return 0
}
