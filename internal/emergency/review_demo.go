package emergency

import (
	"context"
	"time"

	"linli/internal/access"
)

// demoReview writes the review of the demo's past warning the day after
// it was cancelled, with one finding for a community worker of the
// township (when there is one) and one for the officer.
func demoReview(ctx context.Context, s *Store, octx context.Context, alertID string, at time.Time, town string) error {
	st := *s
	st.Now = func() time.Time { return at }
	var worker string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COALESCE(MIN(username), '') FROM users WHERE role = 'community_worker' AND NOT disabled AND division_code >= $1 AND division_code < $2`,
		access.Subtree(town).Lo, access.Subtree(town).Hi).Scan(&worker); err != nil {
		return err
	}
	due := at.AddDate(0, 0, 30).Format("2006-01-02")
	findings := []FindingInput{{Text: "为未结对的重点人员全部落实帮扶人", Owner: "demo.street", DueOn: due}}
	if worker != "" {
		findings = append(findings, FindingInput{Text: "补充社区应急仓库的瓶装饮用水", Owner: worker, DueOn: due})
	}
	_, err := st.WriteReview(octx, ReviewInput{AlertID: alertID,
		Happened: "暴雨橙色预警发布后，网格员和结对帮扶人逐户、逐人确认；少数住户转移至避难场所，个别重点人员一时联系不上。",
		Worked:   "结对帮扶人在 90 分钟内确认了绝大多数重点人员；避难场所在容量之内。",
		Failed:   "未结对的重点人员由网格员临时联系，耗时较长；部分物资低于最低库存。",
		Findings: findings})
	return err
}
