package volunteers

import (
	"context"
	"database/sql"

	"linli/internal/db"
	"linli/internal/fault"
)

// creditBatch credits a batch of service hours at once — a province's
// hours imported from another platform, a season's attendance — from a
// staging table with the columns (txn_id, account_id, division_code,
// bank_id, minutes, service_date, reason): every row a transaction of two entries, the
// volunteer's credit and its bank's debit, set-based. It refuses the
// whole batch when any row's minutes are out of range or any person's
// day would pass 24 hours; the balances are moved by one aggregated
// update per side. tx must be the caller's transaction.
func (s *Store) creditBatch(ctx context.Context, tx *sql.Tx, staging, by string) (int64, error) {
	var bad int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+staging+` WHERE minutes <= 0 OR minutes > 1440 OR service_date = ''`).Scan(&bad); err != nil {
		return 0, err
	}
	if bad > 0 {
		return 0, fault.Invalid(fault.M("批量记入有误", "the batch has errors"), fault.Field("hours", fault.M(itoa(bad)+" 行的时长不在 0–24 小时之间或缺少服务日期", itoa(bad)+" rows have hours outside 0–24 or no service date")))
	}
	// A day's hours already recorded are looked up only for accounts with
	// any (earned > 0): a day's sum is never negative (a reversal carries
	// its original's date), so an account that earned nothing has nothing
	// on any day.
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT account_id, service_date, SUM(minutes) AS m FROM `+staging+` GROUP BY account_id, service_date) g
		WHERE g.m > 1440 OR EXISTS (SELECT 1 FROM vol_accounts a WHERE a.id = g.account_id AND a.earned > 0)
			AND g.m + COALESCE((SELECT SUM(e.amount) FROM vol_entries e WHERE e.account_id = g.account_id AND e.service_date = g.service_date AND e.service_date <> ''), 0) > 1440`).Scan(&bad); err != nil {
		return 0, err
	}
	if bad > 0 {
		return 0, fault.Invalid(fault.M("一天的服务时长不能超过 24 小时", "no one serves more than 24 hours in a day"), fault.Field("hours", fault.M(itoa(bad)+" 人次的某一天超过 24 小时", itoa(bad)+" person-days pass 24 hours")))
	}
	now := db.T(s.Now())
	steps := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO vol_accounts (id, currency, owner_kind, owner_id, division_code, may_go_negative, created_at)
			SELECT b.account_id, 'hours', 'volunteer', substr(b.account_id, 11, length(b.account_id) - 16), b.division_code, FALSE, $1
			FROM (SELECT DISTINCT account_id, division_code FROM ` + staging + `) b WHERE NOT EXISTS (SELECT 1 FROM vol_accounts a WHERE a.id = b.account_id)`, []any{now}},
		{`INSERT INTO vol_entries (txn_id, account_id, currency, amount, kind, service_date, ref, reason, entry_key, created_by, created_at)
			SELECT txn_id, account_id, 'hours', minutes, 'service', service_date, '', reason, '', $1, $2 FROM ` + staging, []any{by, now}},
		{`INSERT INTO vol_entries (txn_id, account_id, currency, amount, kind, service_date, ref, reason, entry_key, created_by, created_at)
			SELECT txn_id, bank_id, 'hours', -minutes, 'service', '', '', reason, '', $1, $2 FROM ` + staging, []any{by, now}},
		{`UPDATE vol_accounts SET balance = vol_accounts.balance + g.m, earned = vol_accounts.earned + g.m
			FROM (SELECT account_id, SUM(minutes) AS m FROM ` + staging + ` GROUP BY account_id) g WHERE vol_accounts.id = g.account_id`, nil},
		{`UPDATE vol_accounts SET balance = vol_accounts.balance - g.m
			FROM (SELECT bank_id, SUM(minutes) AS m FROM ` + staging + ` GROUP BY bank_id) g WHERE vol_accounts.id = g.bank_id`, nil},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return 0, err
		}
	}
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+staging).Scan(&n)
	return n, err
}
