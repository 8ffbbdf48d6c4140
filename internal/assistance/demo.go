package assistance

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/questions"
)

// demoStates are the states demo applications are left in, in turn.
var demoStates = []string{Submitted, Accepted, Checking, Investigating, Publicity, Approved, Refused, Appealed, Enrolled, Enrolled, Enrolled, Exited}

// Demo gives the demo county the catalogue with 2024–2026 standards and
// one application for about every 150th household, spread over every
// state. Applications are written in batches of multi-row INSERTs (a
// county has some 2,500), not one Apply each.
func Demo(ctx context.Context, s *Store, o module.DemoOptions) error {
	county := o.County
	if county == "" {
		county = "330106"
	}
	ctx = access.With(ctx, &access.Principal{Username: "demo.officer", Role: access.Officer, Division: county})
	if err := s.EnableCounty(ctx, county); err != nil {
		return err
	}
	for y, fen := range map[int]int64{2024: 125500, 2025: 129000, 2026: 133500} {
		if err := s.SetStandard(ctx, Standard{County: county, Year: y, DibaoFen: fen}); err != nil {
			return err
		}
	}
	progs, err := s.Programmes(ctx, county)
	if err != nil {
		return err
	}
	byCode := map[string]Programme{}
	for _, p := range progs {
		byCode[p.Code] = p
	}
	now := s.Now()
	year := now.In(questions.CST).Year()
	var standard int64
	if err := s.DB.R.QueryRowContext(ctx, `SELECT dibao_fen FROM ast_standards WHERE county = $1 AND year = $2`, county, year).Scan(&standard); err != nil {
		return nil // no standard for this year: programmes and standards only
	}
	// Households and their members' ages: every step-th household (never
	// the demo resident's, who applies themself), at least two dozen.
	sc := access.Subtree(county)
	type hh struct {
		id, div string
		ages    []int
		members []string
	}
	ids, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT id FROM reg_households WHERE division_code >= $1 AND division_code < $2
		AND id NOT IN (SELECT household_id FROM reg_residents WHERE username = 'demo.resident') ORDER BY id`, sc.Lo, sc.Hi)
	if err != nil {
		return err
	}
	step := max(1, min(150, len(ids)/24))
	var hs []*hh
	byID := map[string]*hh{}
	var picked []string
	for i := 0; i < len(ids); i += step {
		picked = append(picked, ids[i])
	}
	for start := 0; start < len(picked); start += 500 {
		chunk := picked[start:min(start+500, len(picked))]
		args := make([]any, len(chunk))
		marks := make([]string, len(chunk))
		for i, id := range chunk {
			args[i] = id
			marks[i] = s.DB.Values(i, 1)
		}
		err = db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
			var hid, div, rid, birth string
			if err := r.Scan(&hid, &div, &rid, &birth); err != nil {
				return err
			}
			x := byID[hid]
			if x == nil {
				x = &hh{id: hid, div: div}
				byID[hid] = x
				hs = append(hs, x)
			}
			x.members = append(x.members, rid)
			x.ages = append(x.ages, ageOn(birth, now))
			return nil
		}, `SELECT h.id, h.division_code, r.id, r.birth_date FROM reg_households h JOIN reg_residents r ON r.household_id = h.id
			WHERE h.id IN (`+strings.Join(marks, ",")+`) ORDER BY h.id, r.id`, args...)
		if err != nil {
			return err
		}
	}
	cal, err := s.Calendar(ctx, s.DB.R)
	if err != nil {
		return err
	}
	const batch = 200
	for start := 0; start < len(hs); start += batch {
		end := min(start+batch, len(hs))
		if o.Progress != nil {
			o.Progress("救助申请 / assistance applications", start, len(hs))
		}
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			var apps, rows, events, checks []string
			var aargs, rargs, eargs, cargs []any
			for i, h := range hs[start:end] {
				n := start + i
				status := demoStates[n%len(demoStates)]
				income := int64(len(h.members)) * standard * int64(60+n%80) / 100
				assets := int64(len(h.members)) * standard * int64(n%30)
				f := Facts{IncomeFen: &income, AssetsFen: &assets}
				for k, id := range h.members {
					m := Member{ResidentID: id, Age: h.ages[k]}
					if (n+k)%7 == 0 {
						m.Disability = "mild"
					}
					m.Ill = (n+k)%9 == 0
					m.Student = h.ages[k] >= 6 && h.ages[k] < 23
					f.Members = append(f.Members, m)
				}
				asked := []string{"dibao"}
				results, plausible := evaluateAll(progs, standard, f, asked)
				id := db.NewID()
				approved, amount, decided := "", int64(0), ""
				if status == Approved || status == Enrolled || status == Exited {
					// Every other approval also settles the programmes the
					// household was found to qualify for (一件事: C11).
					var codes []string
					for _, r := range results {
						if r.Outcome == Eligible && (r.Programme == "dibao" || (n%2 == 0 && slices.Contains(plausible, r.Programme))) {
							codes = append(codes, r.Programme)
							amount += r.AmountFen
						}
					}
					approved, decided = strings.Join(codes, ","), "demo.officer"
				}
				if status == Refused || status == Appealed {
					decided = "demo.officer"
				}
				created := now.Add(-time.Duration(n%90+1) * 24 * time.Hour)
				var due any
				if d := clock(cal, status, created.Add(time.Duration(n%5)*24*time.Hour)); !d.IsZero() {
					due = db.T(d)
				}
				fr, _ := json.Marshal(f)
				rr, _ := json.Marshal(results)
				// Enrolled three months ago with an account, an exit last month.
				enrolledMonth, exitedMonth, account := 0, 0, ""
				if status == Enrolled || status == Exited {
					enrolledMonth = int(MonthOf(now)) - 3
					account, _ = s.sealAccount(id, "演示户主"+strconv.Itoa(n), fmt.Sprintf("62220202%011d", n))
				}
				if status == Exited {
					exitedMonth = int(MonthOf(now)) - 1
				}
				apps = append(apps, s.DB.Values(len(aargs), 24))
				aargs = append(aargs, id, h.div, county, h.id, year, status, "demo.worker", true, db.T(created), "demo.worker",
					s.Keys.Seal(string(fr), factsAAD(id)), s.Keys.Seal(string(rr), resultsAAD(id)), strings.Join(asked, ","), strings.Join(plausible, ","),
					approved, amount, decided, due, 1, db.T(created), db.T(created), enrolledMonth, exitedMonth, account)
				for _, r := range results {
					rows = append(rows, s.DB.Values(len(rargs), 7))
					rargs = append(rargs, id, r.Programme, byCode[r.Programme].ID, r.Programme == "dibao", r.Version, r.Outcome, r.AmountFen)
				}
				events = append(events, s.DB.Values(len(eargs), 8))
				eargs = append(eargs, id, 1, "submit", "", Submitted, "demo.worker", "", db.T(created))
				if !slices.Contains([]string{Submitted, Accepted, Checking}, status) {
					// Past the check: its result, dated within its validity.
					on := created.Add(24 * time.Hour)
					if floor := now.Add(-60 * 24 * time.Hour); on.Before(floor) {
						on = floor
					}
					checks = append(checks, s.DB.Values(len(cargs), 10))
					cargs = append(cargs, db.NewID(), id, "", income, assets, n%2, 1, on.In(questions.CST).Format("2006-01-02"), "demo.officer", db.T(on))
				}
				// A decided application's decision is its own event (C11
				// counts the decisions of a year).
				steps := []string{Submitted, status}
				decision := map[string]string{Approved: "approve", Enrolled: "approve", Exited: "approve", Refused: "refuse", Appealed: "refuse"}[status]
				if decision != "" {
					steps = slices.Compact([]string{Submitted, Publicity, Steps[decision].to, status})
				}
				for k := 1; k < len(steps); k++ {
					action, note := "demo", "演示数据 / demo data"
					if steps[k-1] == Publicity {
						action = decision
					}
					events = append(events, s.DB.Values(len(eargs), 8))
					eargs = append(eargs, id, k+1, action, steps[k-1], steps[k], "demo.officer", note, db.T(created.Add(time.Duration(k)*time.Hour)))
				}
			}
			if len(apps) == 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO ast_applications (id, division_code, county, household_id, year, status, applicant, on_behalf, consent_at, consent_by,
				facts_enc, results_enc, asked, plausible, approved, amount_fen, decided_by, due_at, version, created_at, updated_at, enrolled_month, exited_month, account_enc) VALUES `+strings.Join(apps, ","), aargs...); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO ast_app_programmes (application_id, code, programme_id, asked, rule_version, outcome, amount_fen) VALUES `+strings.Join(rows, ","), rargs...); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO ast_events (application_id, seq, action, from_status, to_status, actor, note, at) VALUES `+strings.Join(events, ","), eargs...); err != nil {
				return err
			}
			if len(checks) == 0 {
				return nil
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO ast_check_results (id, application_id, batch_id, income_fen, assets_fen, vehicles, houses, checked_on, recorded_by, recorded_at) VALUES `+strings.Join(checks, ","), cargs...)
			return err
		})
		if err != nil {
			return err
		}
	}
	if o.Progress != nil {
		o.Progress("救助申请 / assistance applications", len(hs), len(hs))
	}
	// The applications in Checking go out in one batch to the centre.
	if _, err := (FileExchange{Store: s}).Send(ctx); err != nil {
		if we, ok := fault.As(err); !ok || we.Code != fault.CodeConflict {
			return err
		}
	}
	if err := demoPayments(ctx, s, now); err != nil {
		return err
	}
	// The visits module's reconcile schedules the county again for the
	// households enrolled here.
	return s.Audit.Record(ctx, audit.Entry{Action: "assistance.demo.seed", Object: "division", ObjectID: county, Division: county, Detail: "applications " + strconv.Itoa(len(hs))})
}

// demoPayments runs the two months before this one (the first with the
// arrears since enrolment) and marks them paid, as the bank's return
// would.
func demoPayments(ctx context.Context, s *Store, now time.Time) error {
	for _, m := range []Month{MonthOf(now) - 2, MonthOf(now) - 1} {
		b, err := s.RunPayments(ctx, m)
		if err != nil {
			return err
		}
		if _, err := s.DB.W.ExecContext(ctx, `UPDATE ast_payments SET status = 'paid', returned_at = $1 WHERE batch_id = $2`, db.T(now), b.ID); err != nil {
			return err
		}
		if _, err := s.DB.W.ExecContext(ctx, `UPDATE ast_pay_batches SET returned_at = $1 WHERE id = $2`, db.T(now), b.ID); err != nil {
			return err
		}
	}
	return nil
}
