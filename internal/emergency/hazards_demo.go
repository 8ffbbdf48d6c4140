package emergency

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"
	"unicode/utf8"

	"linli/internal/access"
)

// demoHazards leaves a small hazard register in the demo community (that
// of demo.worker): a fire request registered as a hazard when the demo
// has one there, a visit's finding likewise, a flooding hazard past its
// deadline (urgent on demo.worker's 工作台) and an electrical one
// rectified and closed. Nothing is added when the community has hazards.
func demoHazards(ctx context.Context, s *Store, county string) error {
	var div string
	err := s.DB.R.QueryRowContext(ctx, `SELECT division_code FROM users WHERE username = 'demo.worker'`).Scan(&div)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !access.Subtree(county).Contains(div) {
		return nil
	}
	if err != nil {
		return err
	}
	var n int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM em_hazards WHERE division_code = $1`, div).Scan(&n); err != nil || n > 0 {
		return err
	}
	grid := "demo.worker"
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COALESCE(MIN(username), 'demo.worker') FROM users WHERE role = 'grid_worker' AND NOT disabled AND division_code = $1`, div).Scan(&grid); err != nil {
		return err
	}
	wctx := access.With(ctx, &access.Principal{Username: "demo.worker", Role: access.CommunityWorker, Division: div})
	at := func(days int) *Store {
		st := *s
		then := s.Now().AddDate(0, 0, days)
		st.Now = func() time.Time { return then }
		return &st
	}
	due := func(st *Store, days int) string { return st.Now().AddDate(0, 0, days).Format("2006-01-02") }
	cs, err := s.HazardCandidates(wctx)
	if err != nil {
		return err
	}
	// A fire request first, when there is one.
	fire := func(c HazardCandidate) int {
		if c.Kind == "fire" {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(cs, func(a, b HazardCandidate) int { return cmp.Compare(fire(a), fire(b)) })
	taken := map[string]bool{}
	for _, c := range cs {
		if taken[c.Source] || c.Kind == "" {
			continue
		}
		taken[c.Source] = true
		place := c.Place
		if place == "" && c.Source == SourceRequest {
			place = string([]rune(c.Text)[:min(40, utf8.RuneCountInString(c.Text))]) // the request says where
		}
		if place == "" {
			place = "探访住户家中"
		}
		st := at(-2)
		if _, err := st.AddHazard(wctx, HazardInput{Place: place, Description: c.Text, Kind: c.Kind, Level: "general", Source: c.Source, SourceRef: c.Ref,
			Owner: grid, DueOn: due(st, 9)}); err != nil {
			return err
		}
	}
	old := at(-20)
	if _, err := old.AddHazard(wctx, HazardInput{Place: "2 幢地下车库入口", Description: "入口低于路面，暴雨时易倒灌，缺少挡水板和沙袋。",
		Kind: "flood", Level: "major", Owner: "demo.worker", DueOn: due(old, 15)}); err != nil {
		return err
	}
	older := at(-30)
	h, err := older.AddHazard(wctx, HazardInput{Place: "小区东门电动车充电棚", Description: "充电线路私拉乱接，插座无漏电保护。",
		Kind: "electrical", Level: "general", Owner: grid, DueOn: due(older, 10)})
	if err != nil {
		return err
	}
	if _, err := at(-25).ChangeHazard(wctx, h.ID, HazardAction{Action: ActRectify, Note: "已通知物业更换线路"}); err != nil {
		return err
	}
	_, err = at(-22).ChangeHazard(wctx, h.ID, HazardAction{Action: ActClose, Note: "线路已重新敷设，加装漏电保护和定时断电装置，复查合格。"})
	return err
}
