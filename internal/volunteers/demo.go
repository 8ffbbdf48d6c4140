package volunteers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/module"
	"linli/internal/questions"
)

// Demo adds the demo county's volunteers, activities and points shops.
func (m *volunteersModule) Demo(ctx context.Context, o module.DemoOptions) error {
	county := o.County
	if county == "" {
		county = "330106"
	}
	return Demo(ctx, m.store, county)
}

// tierMinutes spreads the demo volunteers over every star level by the
// last hex digit of their id: ten in sixteen below one star, then one,
// two, three, four and five stars (hours carried over from before Linli).
const tierMinutes = `CASE v.rn % 16
	WHEN 10 THEN 150 WHEN 11 THEN 180 WHEN 12 THEN 400 WHEN 13 THEN 720 WHEN 14 THEN 1100 WHEN 15 THEN 1600
	ELSE 4 + 9 * (v.rn % 16) END * 60`

// verifiedRanked numbers each community's verified volunteers, the order
// the tiers follow.
const verifiedRanked = `(SELECT x.*, ROW_NUMBER() OVER (PARTITION BY x.division_code ORDER BY x.resident_id) AS rn FROM vol_volunteers x
	WHERE x.status = 'verified' AND x.division_code >= $2 AND x.division_code < $3) v`

// Demo is the demo data of one county, written set-based so that the
// county scale takes seconds: in every community 24 residents aged 18–70
// (of those whose id ends in 0, so that the numbering sorts a sixteenth)
// registered, most verified, spread over every star level; their hours so far carried over
// into the ledger as an opening balance, each with its time bank's debit;
// in every community with volunteers, an activity last week whose
// attendance was confirmed and credited, two coming ones with sign-ups,
// and a points shop of four items (also in the demo resident's).
func Demo(ctx context.Context, s *Store, county string) error {
	sc := access.Subtree(county)
	now := s.Now()
	today := now.In(questions.CST)
	oldest, youngest := today.AddDate(-70, 0, 0).Format("2006-01-02"), today.AddDate(-18, 0, 0).Format("2006-01-02")
	t := db.T(now)
	day := func(d int, hour int) db.Time {
		y, m, dd := today.AddDate(0, 0, d).Date()
		return db.T(time.Date(y, m, dd, hour, 0, 0, 0, questions.CST))
	}
	pastDay := today.AddDate(0, 0, -7).Format("2006-01-02")
	// The demo resident, found once by the account's index (username <> ''
	// lets the planner use the partial unique index).
	var demoID, demoDiv string
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, division_code FROM registry_people WHERE username = 'demo.resident' AND username <> ''`).Scan(&demoID, &demoDiv)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if !sc.Contains(demoDiv) {
		demoID, demoDiv = "", ""
	}
	steps := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO vol_volunteers (resident_id, username, household_id, division_code, surname, birth_date, skills, availability, languages, drives, party_member, party_branch, status, verified_by, created_at, updated_at)
			SELECT p.id, p.username, p.household_id, p.division_code, p.surname, p.birth_date,
				CASE p.rn % 5 WHEN 0 THEN 'elderly_care,meals' WHEN 1 THEN 'tutoring' WHEN 2 THEN 'repair,digital' WHEN 3 THEN 'medical' ELSE 'environment,elderly_care' END,
				CASE WHEN p.rn % 2 = 0 THEN 'weekend' ELSE 'weekday_evening,weekend' END, 'mandarin,hangzhou',
				p.rn % 3 = 0, p.rn % 4 = 1, CASE WHEN p.rn % 4 = 1 THEN '区级机关第一党支部' ELSE '' END,
				CASE WHEN p.rn % 12 = 5 THEN 'pending' ELSE 'verified' END, 'demo', $3, $3
			FROM (SELECT q.*, ROW_NUMBER() OVER (PARTITION BY q.division_code ORDER BY q.id) AS rn FROM registry_people q
				WHERE q.division_code >= $1 AND q.division_code < $2 AND length(q.division_code) = 12 AND substr(q.id, length(q.id), 1) = '0'
					AND q.username <> 'demo.resident' AND q.birth_date >= $4 AND q.birth_date <= $5) p
			WHERE p.rn <= 24`,
			[]any{sc.Lo, sc.Hi, t, oldest, youngest}},
		// Activities: in every community with volunteers, one last week and two coming.
		{`INSERT INTO vol_activities (id, division_code, station_id, organiser, title, description, place, starts_at, ends_at, cutoff, minutes, points, slots, min_age, time_bank, created_at)
			SELECT 'demo-past-' || c.division_code, c.division_code, '', 'demo', '助老送餐', '为社区独居老人送午餐，陪伴聊天。', '社区居家养老服务照料中心', $1, $2, $3, 120, 20, 20, 18, TRUE, $4
			FROM (SELECT DISTINCT division_code FROM vol_volunteers WHERE division_code >= $5 AND division_code < $6) c`,
			[]any{day(-7, 9), day(-7, 11), day(-8, 18), t, sc.Lo, sc.Hi}},
		{`INSERT INTO vol_activities (id, division_code, station_id, organiser, title, description, place, starts_at, ends_at, cutoff, minutes, points, slots, min_age, time_bank, created_at)
			SELECT 'demo-soon-' || c.division_code, c.division_code, '', 'demo', '垃圾分类督导', '早高峰在小区投放点督导垃圾分类。', '小区垃圾投放点', $1, $2, $3, 90, 15, 6, 16, TRUE, $4
			FROM (SELECT DISTINCT division_code FROM vol_volunteers WHERE division_code >= $5 AND division_code < $6) c`,
			[]any{day(3, 7), day(3, 9), day(2, 18), t, sc.Lo, sc.Hi}},
		{`INSERT INTO vol_activities (id, division_code, station_id, organiser, title, description, place, starts_at, ends_at, cutoff, minutes, points, slots, min_age, time_bank, created_at)
			SELECT 'demo-later-' || c.division_code, c.division_code, '', 'demo', '数字助老课堂', '教老人用手机挂号、视频通话和防范诈骗。', '社区党群服务中心', $1, $2, $3, 120, 20, 15, 18, TRUE, $4
			FROM (SELECT DISTINCT division_code FROM vol_volunteers WHERE division_code >= $5 AND division_code < $6) c`,
			[]any{day(12, 14), day(12, 16), day(11, 18), t, sc.Lo, sc.Hi}},
		// Sign-ups: the first verified volunteers of each community.
		{`INSERT INTO vol_signups (activity_id, resident_id, seq, status, attendance, credited, created_at, updated_at)
			SELECT 'demo-past-' || x.division_code, x.resident_id, x.rn, 'confirmed', CASE WHEN x.rn % 7 = 0 THEN 'absent' ELSE 'present' END, x.rn % 7 <> 0, $1, $1
			FROM (SELECT v.resident_id, v.division_code, ROW_NUMBER() OVER (PARTITION BY v.division_code ORDER BY v.resident_id) AS rn
				FROM vol_volunteers v WHERE v.status = 'verified' AND v.division_code >= $2 AND v.division_code < $3) x WHERE x.rn <= 12`,
			[]any{day(-9, 10), sc.Lo, sc.Hi}},
		{`INSERT INTO vol_signups (activity_id, resident_id, seq, status, created_at, updated_at)
			SELECT 'demo-soon-' || x.division_code, x.resident_id, x.rn, CASE WHEN x.rn <= 6 THEN 'confirmed' ELSE 'waitlisted' END, $1, $1
			FROM (SELECT v.resident_id, v.division_code, ROW_NUMBER() OVER (PARTITION BY v.division_code ORDER BY v.resident_id DESC) AS rn
				FROM vol_volunteers v WHERE v.status = 'verified' AND v.division_code >= $2 AND v.division_code < $3) x WHERE x.rn <= 8`,
			[]any{t, sc.Lo, sc.Hi}},
		{`UPDATE vol_activities SET queued = (SELECT COUNT(*) FROM vol_signups s WHERE s.activity_id = vol_activities.id),
			taken = (SELECT COUNT(*) FROM vol_signups s WHERE s.activity_id = vol_activities.id AND s.status = 'confirmed')
			WHERE id LIKE 'demo-%' AND division_code >= $1 AND division_code < $2`, []any{sc.Lo, sc.Hi}},
		// The ledger: opening hours and points for every verified
		// volunteer, then last week's attendance credited; each
		// transaction's volunteer leg and its bank leg.
		{`INSERT INTO vol_entries (txn_id, account_id, currency, amount, kind, service_date, ref, reason, entry_key, created_by, created_at)
			SELECT 'open-h-' || v.resident_id, 'volunteer:' || v.resident_id || ':hours', 'hours', ` + tierMinutes + `, 'opening', '', '', '历史服务时长结转 / hours carried over', '', 'demo', $1
			FROM ` + verifiedRanked, []any{t, sc.Lo, sc.Hi}},
		{`INSERT INTO vol_entries (txn_id, account_id, currency, amount, kind, service_date, ref, reason, entry_key, created_by, created_at)
			SELECT 'open-h-' || v.resident_id, 'bank:' || v.division_code || ':hours', 'hours', -(` + tierMinutes + `), 'opening', '', '', '历史服务时长结转 / hours carried over', '', 'demo', $1
			FROM ` + verifiedRanked, []any{t, sc.Lo, sc.Hi}},
		{`INSERT INTO vol_entries (txn_id, account_id, currency, amount, kind, service_date, ref, reason, entry_key, created_by, created_at)
			SELECT 'open-p-' || v.resident_id, 'volunteer:' || v.resident_id || ':points', 'points', (` + tierMinutes + `) / 30, 'opening', '', '', '历史积分结转 / points carried over', '', 'demo', $1
			FROM ` + verifiedRanked, []any{t, sc.Lo, sc.Hi}},
		{`INSERT INTO vol_entries (txn_id, account_id, currency, amount, kind, service_date, ref, reason, entry_key, created_by, created_at)
			SELECT 'open-p-' || v.resident_id, 'bank:' || v.division_code || ':points', 'points', -((` + tierMinutes + `) / 30), 'opening', '', '', '历史积分结转 / points carried over', '', 'demo', $1
			FROM ` + verifiedRanked, []any{t, sc.Lo, sc.Hi}},
		// The demo resident has not registered (a walk-through registers
		// them) but served 98 hours before Linli, carried over: two more
		// hours make their first star.
		{`INSERT INTO vol_entries (txn_id, account_id, currency, amount, kind, service_date, ref, reason, entry_key, created_by, created_at)
			SELECT 'open-h-' || p.id, 'volunteer:' || p.id || ':hours', 'hours', 5880, 'opening', '', '', '历史服务时长结转 / hours carried over', '', 'demo', $1
			FROM (SELECT CAST($2 AS TEXT) AS id, CAST($3 AS TEXT) AS division_code) p WHERE p.id <> ''`, []any{t, demoID, demoDiv}},
		{`INSERT INTO vol_entries (txn_id, account_id, currency, amount, kind, service_date, ref, reason, entry_key, created_by, created_at)
			SELECT 'open-h-' || p.id, 'bank:' || p.division_code || ':hours', 'hours', -5880, 'opening', '', '', '历史服务时长结转 / hours carried over', '', 'demo', $1
			FROM (SELECT CAST($2 AS TEXT) AS id, CAST($3 AS TEXT) AS division_code) p WHERE p.id <> ''`, []any{t, demoID, demoDiv}},
		{`INSERT INTO vol_accounts (id, currency, owner_kind, owner_id, division_code, balance, earned, may_go_negative, created_at)
			SELECT 'volunteer:' || p.id || ':hours', 'hours', 'volunteer', p.id, p.division_code, 5880, 5880, FALSE, $1
			FROM (SELECT CAST($2 AS TEXT) AS id, CAST($3 AS TEXT) AS division_code) p WHERE p.id <> ''`, []any{t, demoID, demoDiv}},
	}
	for _, leg := range []struct{ acct, sign, key, currency, amount string }{
		{`'volunteer:' || s.resident_id || ':hours'`, "", `'attend:' || s.activity_id || ':' || s.resident_id`, "hours", "a.minutes"},
		{`'bank:' || a.division_code || ':hours'`, "-", `''`, "hours", "a.minutes"},
		{`'volunteer:' || s.resident_id || ':points'`, "", `''`, "points", "a.points"},
		{`'bank:' || a.division_code || ':points'`, "-", `''`, "points", "a.points"},
	} {
		steps = append(steps, struct {
			q    string
			args []any
		}{`INSERT INTO vol_entries (txn_id, account_id, currency, amount, kind, service_date, ref, reason, entry_key, created_by, created_at)
			SELECT 'att-' || s.activity_id || '-' || s.resident_id, ` + leg.acct + `, '` + leg.currency + `', ` + leg.sign + leg.amount + `, 'service', $1, a.id, a.title, ` + leg.key + `, 'demo', $2
			FROM vol_signups s JOIN vol_activities a ON a.id = s.activity_id WHERE s.credited AND a.id LIKE 'demo-past-%' AND a.division_code >= $3 AND a.division_code < $4`,
			[]any{pastDay, day(-7, 12), sc.Lo, sc.Hi}})
	}
	steps = append(steps,
		// Accounts: their balances are their entries' sums.
		struct {
			q    string
			args []any
		}{`INSERT INTO vol_accounts (id, currency, owner_kind, owner_id, division_code, balance, earned, may_go_negative, created_at)
			SELECT 'volunteer:' || v.resident_id || ':' || c.currency, c.currency, 'volunteer', v.resident_id, v.division_code,
				(SELECT COALESCE(SUM(e.amount), 0) FROM vol_entries e WHERE e.account_id = 'volunteer:' || v.resident_id || ':' || c.currency),
				CASE WHEN c.currency = 'hours' THEN (SELECT COALESCE(SUM(e.amount), 0) FROM vol_entries e WHERE e.account_id = 'volunteer:' || v.resident_id || ':hours') ELSE 0 END, FALSE, $1
			FROM vol_volunteers v CROSS JOIN (SELECT 'hours' AS currency UNION ALL SELECT 'points') c WHERE v.status = 'verified' AND v.division_code >= $2 AND v.division_code < $3`,
			[]any{t, sc.Lo, sc.Hi}},
		struct {
			q    string
			args []any
		}{`INSERT INTO vol_accounts (id, currency, owner_kind, owner_id, division_code, balance, earned, may_go_negative, created_at)
			SELECT 'bank:' || d.division_code || ':' || c.currency, c.currency, 'bank', d.division_code, d.division_code,
				(SELECT COALESCE(SUM(e.amount), 0) FROM vol_entries e WHERE e.account_id = 'bank:' || d.division_code || ':' || c.currency), 0, TRUE, $1
			FROM (SELECT division_code FROM vol_volunteers WHERE status = 'verified' AND division_code >= $2 AND division_code < $3
				UNION SELECT CAST($4 AS TEXT) WHERE CAST($4 AS TEXT) <> '') d CROSS JOIN (SELECT 'hours' AS currency UNION ALL SELECT 'points') c`,
			[]any{t, sc.Lo, sc.Hi, demoDiv}},
		struct {
			q    string
			args []any
		}{`INSERT INTO vol_shop_items (id, division_code, name, points, stock, created_at)
			SELECT 'demo-item-' || i.n || '-' || d.division_code, d.division_code, i.name, i.points, i.stock, $1
			FROM (SELECT division_code FROM vol_volunteers WHERE division_code >= $2 AND division_code < $3
				UNION SELECT CAST($4 AS TEXT) WHERE CAST($4 AS TEXT) <> '') d
			CROSS JOIN (SELECT 1 AS n, '大米 5 斤' AS name, 60 AS points, 30 AS stock UNION ALL SELECT 2, '食用油 1 桶', 80, 20 UNION ALL SELECT 3, '理发券', 30, 50 UNION ALL SELECT 4, '家电清洗上门服务', 200, 5) i`,
			[]any{t, sc.Lo, sc.Hi, demoDiv}},
	)
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for i, st := range steps {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
				return fmt.Errorf("volunteers demo step %d: %w", i, err)
			}
		}
		if err := demoCertificates(ctx, tx, sc.Lo, sc.Hi, now); err != nil {
			return err
		}
		return demoSeries(ctx, s, tx, demoDiv, now)
	})
}

// demoCertificates issues certificates to the county's first twenty
// five-star volunteers, so that the public check has something to find.
func demoCertificates(ctx context.Context, tx *sql.Tx, lo, hi string, now time.Time) error {
	type holder struct {
		id, div, surname string
		earned           int64
	}
	hs, err := db.Collect(ctx, tx, func(r db.Scanner) (holder, error) {
		var h holder
		return h, r.Scan(&h.id, &h.div, &h.surname, &h.earned)
	}, `SELECT v.resident_id, v.division_code, v.surname, a.earned FROM vol_accounts a JOIN vol_volunteers v ON v.resident_id = a.owner_id
		WHERE a.owner_kind = 'volunteer' AND a.currency = 'hours' AND a.earned >= 90000 AND v.division_code >= $1 AND v.division_code < $2 ORDER BY v.resident_id LIMIT 20`, lo, hi)
	if err != nil {
		return err
	}
	for _, h := range hs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vol_certificates (code, resident_id, division_code, holder, minutes, stars, issued_at) VALUES ($1,$2,$3,$4,$5,5,$6)`,
			newCode(), h.id, h.div, h.surname+"**", h.earned, db.T(now.AddDate(0, 0, -3))); err != nil {
			return err
		}
	}
	return nil
}

// demoSeries is the demo resident's community's weekly meals delivery,
// every Tuesday for twelve weeks, its shifts generated 8 weeks ahead, and
// its party members' reports and service posts.
func demoSeries(ctx context.Context, s *Store, tx *sql.Tx, div string, now time.Time) error {
	if div == "" {
		return nil
	}
	sr := Series{ID: "demo-series-" + div, Division: div, Organiser: "demo", Title: "每周二助餐送餐", Description: "每周二为社区独居和高龄老人送午餐。",
		Place: "社区居家养老服务照料中心", Rule: RuleWeekly, Weekdays: []int{2}, StartDate: now.In(questions.CST).Format("2006-01-02"), Count: 12,
		StartTime: "10:30", EndTime: "12:30", CutoffHours: 24, Hours: 2, Points: 20, Slots: 6, MinAge: 18, TimeBank: true, Status: StatusOpen, CreatedAt: now}
	if err := insertSeries(ctx, tx, sr); err != nil {
		return fmt.Errorf("volunteers demo series: %w", err)
	}
	if _, err := s.generate(ctx, tx, sr); err != nil {
		return err
	}
	// 在职党员报到: the community's verified party members have reported,
	// three posts are published, and the first four members hold 楼道长.
	t := db.T(now)
	for i, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO vol_party_reports (resident_id, division_code, branch, reported_at)
			SELECT resident_id, division_code, party_branch, $1 FROM vol_volunteers WHERE division_code = $2 AND party_member AND status = 'verified' AND party_branch <> ''`, []any{t, div}},
		{`INSERT INTO vol_posts (id, division_code, name, description, capacity, skills, created_by, created_at)
			SELECT 'demo-post-' || p.n || '-' || CAST($1 AS TEXT), $1, p.name, p.description, p.capacity, p.skills, 'demo', $2
			FROM (SELECT 1 AS n, '楼道长' AS name, '联系本楼道住户，了解独居老人情况' AS description, 4 AS capacity, 'elderly_care' AS skills
				UNION ALL SELECT 2, '助餐配送', '每周二为高龄老人送午餐', 6, 'meals'
				UNION ALL SELECT 3, '文明劝导', '在小区垃圾投放点劝导分类', 5, 'environment') p`, []any{div, t}},
		{`INSERT INTO vol_post_members (post_id, resident_id, created_at)
			SELECT 'demo-post-1-' || CAST($1 AS TEXT), r.resident_id, $2 FROM (SELECT resident_id FROM vol_party_reports WHERE division_code = $1 ORDER BY resident_id LIMIT 4) r`, []any{div, t}},
		{`UPDATE vol_posts SET taken = (SELECT COUNT(*) FROM vol_post_members m WHERE m.post_id = vol_posts.id) WHERE division_code = $1`, []any{div}},
		// 结对探访: the first three verified volunteers, each paired two
		// weeks ago with one of this month's visit targets (not themself).
		{`INSERT INTO vol_pairs (id, volunteer_id, programme_id, programme_zh, programme_en, target_id, resident_id, household_id, division_code, started_on, active, created_by, created_at)
			SELECT 'demo-pair-' || CAST(v.rn AS TEXT) || '-' || CAST($1 AS TEXT), v.resident_id, t.programme_id, t.programme_zh, t.programme_en, t.target_id, t.resident_id, t.household_id, t.division_code, $2, TRUE, 'demo', $3
			FROM (SELECT resident_id, ROW_NUMBER() OVER (ORDER BY resident_id) AS rn FROM vol_volunteers WHERE division_code = $1 AND status = 'verified') v
			JOIN (SELECT x.programme_id, x.programme_zh, x.programme_en, x.target_id, x.resident_id, x.household_id, x.division_code, ROW_NUMBER() OVER (ORDER BY x.programme_id, x.target_id) AS rn
				FROM visits_targets x WHERE x.division_code = $1 AND x.month = $4 AND x.status <> 'cancelled'
				AND x.resident_id NOT IN (SELECT resident_id FROM vol_volunteers WHERE division_code = $1)) t ON t.rn = v.rn
			WHERE v.rn <= 3`, []any{div, now.In(questions.CST).AddDate(0, 0, -14).Format("2006-01-02"), t, now.In(questions.CST).Format("2006-01")}},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("volunteers demo party step %d: %w", i, err)
		}
	}
	return demoFund(ctx, tx, div, now)
}

// demoFund is the demo community's charity fund: three donations (one
// anonymous) and one grant, the last week.
func demoFund(ctx context.Context, tx *sql.Tx, div string, now time.Time) error {
	day := func(d int) string { return now.In(questions.CST).AddDate(0, 0, d).Format("2006-01-02") }
	es := []FundEntry{
		{Kind: FundDonation, AmountFen: 500000, Party: "杭州西湖爱心企业", Purpose: "困难老人助餐", Date: day(-10), Channel: "bank"},
		{Kind: FundDonation, AmountFen: 200000, Party: Anonymous, Date: day(-8), Channel: "wechat"},
		{Kind: FundDonation, AmountFen: 88800, Party: "社区乡贤 李先生", Purpose: "助学", Date: day(-6), Channel: "cash"},
		{Kind: FundGrant, AmountFen: 300000, Party: "社区老年食堂", Purpose: "高龄独居老人本月助餐补贴", Date: day(-3), ApprovedBy: "社区居委会 月度会议"},
	}
	var donated, granted int64
	for i, e := range es {
		if e.Kind == FundDonation {
			donated += e.AmountFen
		} else {
			granted += e.AmountFen
		}
		if i == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO vol_fund_funds (division_code, donated, granted, entries, created_at) VALUES ($1, 0, 0, 0, $2)`, div, db.T(now)); err != nil {
				return fmt.Errorf("volunteers demo fund: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO vol_fund_entries (id, division_code, seq, kind, amount, party, purpose, entry_date, channel, approved_by, created_by, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,'demo',$11)`, "demo-fund-"+div+"-"+itoa(i+1), div, i+1, e.Kind, e.AmountFen, e.Party, e.Purpose, e.Date, e.Channel, e.ApprovedBy, db.T(now)); err != nil {
			return fmt.Errorf("volunteers demo fund entry %d: %w", i, err)
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE vol_fund_funds SET donated = $1, granted = $2, entries = $3 WHERE division_code = $4`, donated, granted, len(es), div)
	return err
}
