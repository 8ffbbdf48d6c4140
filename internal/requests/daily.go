package requests

import (
	"fmt"
	"strings"

	"linli/internal/db"
)

// Daily counters: the metrics page's figures kept per area and day, so that
// a window reads a few rows per day instead of every request in it.
//
// request_daily holds, for every area a request lies in (its province,
// city, county, street and community: the first 2, 4, 6, 9 and 12
// characters of its division code) and the day in China it came in, rows
// of four kinds:
//
//	s  key = status: the count and the indicators' counts (accepted, in
//	   time, answered, on time, rated, satisfied, reopened)
//	c  key = category: the count
//	p  key = community (first 12 characters): the count, for the hot spots
//	t  key = time to answer in tenths of an hour: the count of answered
//	   requests, for the exact median and 90th percentile
//
// Triggers on requests keep them in the transaction of every write that
// changes a counted column (create, each transition, the SLA job's
// closing, a transfer to another division): the old rows' contributions
// are taken off and the new ones' added in one statement, netted per
// counter and in key order, so that concurrent writers on PostgreSQL lock
// the shared rows (a province's day) in the same order and only the rows
// that change.

// dailyLevels are the lengths of the division codes an area can have.
var dailyLevels = []int{2, 4, 6, 9, 12}

// dailyKinds name the rows of request_daily.
const (
	dailyStatus    = "s"
	dailyCategory  = "c"
	dailyCommunity = "p"
	dailyTime      = "t"
)

// dailyContribution is the SELECT of the rows a request adds to
// request_daily with sign (1 or -1): row names the request ("NEW", "OLD"
// in a trigger, "r" for the table).
func dailyContribution(d db.Dialect, row, sign string) string {
	col := func(c string) string { return row + "." + c }
	day := `date(` + col("created_at") + `, '+8 hours')` // the day in China
	micros := `((CAST(strftime('%s', ` + col("answered_at") + `) AS INTEGER) - CAST(strftime('%s', ` + col("created_at") + `) AS INTEGER)) * 1000000
		+ CAST(substr(` + col("answered_at") + `, 21, 6) AS INTEGER) - CAST(substr(` + col("created_at") + `, 21, 6) AS INTEGER))`
	if d == db.Postgres {
		day = `to_char(` + col("created_day") + `, 'YYYY-MM-DD')`
		micros = `CAST(EXTRACT(EPOCH FROM ` + col("answered_at") + ` - ` + col("created_at") + `) * 1000000 AS BIGINT)`
	}
	flag := func(cond string) string { return `(CASE WHEN ` + cond + ` THEN ` + sign + ` ELSE 0 END)` }
	var lv []string
	for i, n := range dailyLevels {
		if i == 0 {
			lv = append(lv, fmt.Sprintf("SELECT %d AS len", n))
		} else {
			lv = append(lv, fmt.Sprintf("SELECT %d", n))
		}
	}
	areas := ` FROM (` + strings.Join(lv, " UNION ALL ") + `) l WHERE length(` + col("division_code") + `) >= l.len`
	area := `substr(` + col("division_code") + `, 1, l.len)`
	const none = `, 0, 0, 0, 0, 0, 0, 0`
	return `SELECT ` + area + ` AS area, ` + day + ` AS day, '` + dailyStatus + `' AS kind, ` + col("status") + ` AS key, ` + sign + ` AS n, ` +
		flag(col("accepted_at")+` IS NOT NULL`) + ` AS acc, ` +
		flag(col("accepted_at")+` IS NOT NULL AND `+col("response_met")) + ` AS acc_met, ` +
		flag(col("answered_at")+` IS NOT NULL`) + ` AS res, ` +
		flag(col("answered_at")+` IS NOT NULL AND `+col("resolve_met")) + ` AS res_met, ` +
		flag(col("rating")+` <> ''`) + ` AS eval, ` +
		flag(col("rating")+` = '`+Satisfied+`' OR `+col("rating")+` = '`+FairlySatisfed+`'`) + ` AS sat, ` +
		flag(col("reopen_count")+` > 0`) + ` AS reopened` + areas + `
	UNION ALL SELECT ` + area + `, ` + day + `, '` + dailyCategory + `', ` + col("category") + `, ` + sign + none + areas + `
	UNION ALL SELECT ` + area + `, ` + day + `, '` + dailyCommunity + `', substr(` + col("division_code") + `, 1, 12), ` + sign + none + areas + ` AND length(` + col("division_code") + `) >= 12
	UNION ALL SELECT ` + area + `, ` + day + `, '` + dailyTime + `', CAST((` + micros + ` + 180000000) / 360000000 AS TEXT), ` + sign + none + areas + ` AND ` + col("answered_at") + ` IS NOT NULL`
}

// dailyUpsert adds the rows of the contributions (SELECTs of
// dailyContribution, joined by UNION ALL) to request_daily, netted per
// row: what did not change is not written.
func dailyUpsert(contributions ...string) string {
	return `INSERT INTO request_daily (area, day, kind, key, n, acc, acc_met, res, res_met, eval, sat, reopened)
	SELECT area, day, kind, key, SUM(n), SUM(acc), SUM(acc_met), SUM(res), SUM(res_met), SUM(eval), SUM(sat), SUM(reopened)
	FROM (` + strings.Join(contributions, "\n\tUNION ALL ") + `) x WHERE TRUE
	GROUP BY area, day, kind, key
	HAVING SUM(n) <> 0 OR SUM(acc) <> 0 OR SUM(acc_met) <> 0 OR SUM(res) <> 0 OR SUM(res_met) <> 0 OR SUM(eval) <> 0 OR SUM(sat) <> 0 OR SUM(reopened) <> 0
	ORDER BY area, day, kind, key
	ON CONFLICT (area, day, kind, key) DO UPDATE SET n = request_daily.n + excluded.n, acc = request_daily.acc + excluded.acc,
		acc_met = request_daily.acc_met + excluded.acc_met, res = request_daily.res + excluded.res, res_met = request_daily.res_met + excluded.res_met,
		eval = request_daily.eval + excluded.eval, sat = request_daily.sat + excluded.sat, reopened = request_daily.reopened + excluded.reopened`
}

// dailyCounted are the columns of requests the counters read: an update
// that changes none of them leaves the counters alone.
var dailyCounted = []string{"division_code", "created_at", "status", "category", "accepted_at", "response_met", "answered_at", "resolve_met", "rating", "reopen_count"}

// dailyMigration creates request_daily, its triggers and fills it from the
// requests already stored (the backfill, once). PostgreSQL is given the
// filled table's statistics at once: without them it expects one row.
func dailyMigration(id string) db.Migration {
	const table = `CREATE TABLE request_daily (
	area TEXT NOT NULL,
	day TEXT NOT NULL,
	kind TEXT NOT NULL,
	key TEXT NOT NULL,
	n BIGINT NOT NULL,
	acc BIGINT NOT NULL,
	acc_met BIGINT NOT NULL,
	res BIGINT NOT NULL,
	res_met BIGINT NOT NULL,
	eval BIGINT NOT NULL,
	sat BIGINT NOT NULL,
	reopened BIGINT NOT NULL,
	PRIMARY KEY (area, day, kind, key)
)`
	var changed []string
	for _, c := range dailyCounted {
		changed = append(changed, "OLD."+c+" IS NOT NEW."+c)
	}
	lite := table + ` WITHOUT ROWID;
CREATE TRIGGER requests_daily_insert AFTER INSERT ON requests BEGIN
	` + dailyUpsert(dailyContribution(db.SQLite, "NEW", "1")) + `;
END;
CREATE TRIGGER requests_daily_update AFTER UPDATE OF ` + strings.Join(dailyCounted, ", ") + ` ON requests WHEN ` + strings.Join(changed, " OR ") + ` BEGIN
	` + dailyUpsert(dailyContribution(db.SQLite, "OLD", "-1"), dailyContribution(db.SQLite, "NEW", "1")) + `;
END;
CREATE TRIGGER requests_daily_delete AFTER DELETE ON requests BEGIN
	` + dailyUpsert(dailyContribution(db.SQLite, "OLD", "-1")) + `;
END;
` + dailyBackfill(db.SQLite) + `;
`
	// PostgreSQL counts once per statement, from its transition tables:
	// a multi-row write (a batch of submissions, a bulk load) locks the
	// shared rows once and in key order, as a single-row one does, so two
	// writers never wait on each other crosswise.
	rows := func(table, sign string) string {
		return from(dailyContribution(db.Postgres, "r", sign), table)
	}
	pg := table + `;
CREATE FUNCTION requests_daily() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		` + dailyUpsert(rows("daily_new", "1")) + `;
	ELSIF TG_OP = 'DELETE' THEN
		` + dailyUpsert(rows("daily_old", "-1")) + `;
	ELSE
		` + dailyUpsert(rows("daily_old", "-1"), rows("daily_new", "1")) + `;
	END IF;
	RETURN NULL;
END;
$$;
CREATE TRIGGER requests_daily_insert AFTER INSERT ON requests REFERENCING NEW TABLE AS daily_new FOR EACH STATEMENT EXECUTE FUNCTION requests_daily();
CREATE TRIGGER requests_daily_update AFTER UPDATE ON requests REFERENCING OLD TABLE AS daily_old NEW TABLE AS daily_new FOR EACH STATEMENT EXECUTE FUNCTION requests_daily();
CREATE TRIGGER requests_daily_delete AFTER DELETE ON requests REFERENCING OLD TABLE AS daily_old FOR EACH STATEMENT EXECUTE FUNCTION requests_daily();
` + dailyBackfill(db.Postgres) + `;
ANALYZE request_daily;
`
	return db.Migration{ID: id, SQLiteSQL: lite, PostgresSQL: pg}
}

// dailyBackfill adds the contributions of every stored request.
func dailyBackfill(d db.Dialect) string {
	return dailyUpsert(from(dailyContribution(d, "r", "1"), "requests"))
}

// from turns a contribution of the row r into one of every row of table:
// its SELECTs read FROM table r joined with the levels.
func from(contribution, table string) string {
	return strings.ReplaceAll(contribution, ` FROM (SELECT`, ` FROM `+table+` r CROSS JOIN (SELECT`)
}
