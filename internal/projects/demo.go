package projects

import (
	"context"
	"errors"
	"time"

	"linli/internal/access"
	"linli/internal/module"
	"linli/internal/questions"
)

// Demo publishes two projects in the demo county: one open for
// applications, and one published two months ago that the organisation
// of the account demo.provider won, with its first milestone reported,
// accepted and paid. Without that account's organisation (care gives it
// one) the second stays unawarded.
func (m *projectsModule) Demo(ctx context.Context, o module.DemoOptions) error {
	s := m.store
	county := o.County
	if county == "" {
		county = "330106"
	}
	officer := access.With(ctx, &access.Principal{Username: "demo.officer", Role: access.Officer, Division: county})
	provider := access.With(ctx, &access.Principal{Username: "demo.provider", Role: access.Provider, Division: county})
	day := func(st *Store, d int) string { return st.Now().In(questions.CST).AddDate(0, 0, d).Format("2006-01-02") }
	crit := []Criterion{{"服务方案的针对性与可行性", 40}, {"机构能力与过往绩效", 30}, {"预算合理性", 30}}
	if _, err := s.Create(officer, ProjectInput{Division: county, Title: "独居老人关爱探访服务", Need: "辖区独居、空巢老人缺少日常关照，需要定期入户探访和小组活动。",
		BudgetFen: 200_000_00, PeriodFrom: day(s, 30), PeriodTo: day(s, 395), Targets: []string{"入户探访 200 次", "小组活动 50 场", "服务对象满意度 ≥ 90%"},
		MinRating: "3A", Deadline: day(s, 14), Criteria: crit}); err != nil {
		return err
	}
	ago := &Store{DB: s.DB, Audit: s.Audit, Divs: s.Divs, Now: func() time.Time { return s.Now().AddDate(0, -2, 0) }}
	pr, err := ago.Create(officer, ProjectInput{Division: county, Title: "困境儿童成长陪伴项目", Need: "困境儿童课后缺少看护与学业辅导，需要社工陪伴和家庭支持。",
		BudgetFen: 120_000_00, PeriodFrom: day(ago, 30), PeriodTo: day(ago, 395), Targets: []string{"个案服务 30 人", "课业辅导 300 小时", "服务对象满意度 ≥ 90%"},
		Deadline: day(ago, 14), Criteria: crit})
	if err != nil {
		return err
	}
	a, err := ago.Apply(provider, pr.ID, ApplyInput{Proposal: "组建 3 名持证社工的服务团队，每周两次课后陪伴，每月一次家访，学期末评估。", BudgetFen: 110_000_00})
	if errors.Is(err, errNotMember) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := s.Score(officer, pr.ID, a.ID, ScoreInput{Scores: []int{88, 85, 90}}); err != nil {
		return err
	}
	c, err := s.Award(officer, pr.ID, AwardInput{ApplicationID: a.ID, Milestones: []MilestoneInput{
		{Title: "首期：团队组建与需求评估", AmountFen: 33_000_00, Due: day(ago, 60)},
		{Title: "中期：服务过半", AmountFen: 44_000_00, Due: day(ago, 210)},
		{Title: "末期：结项评估", AmountFen: 33_000_00, Due: day(ago, 395)}}})
	if err != nil {
		return err
	}
	first := c.Milestones[0].ID
	if _, err := s.Move(provider, pr.ID, first, ActReport, MoveInput{Report: "已组建服务团队 3 人，完成 30 名儿童需求评估，附评估表与签到表。"}); err != nil {
		return err
	}
	if _, err := s.Move(officer, pr.ID, first, ActAccept, MoveInput{}); err != nil {
		return err
	}
	_, err = s.Move(officer, pr.ID, first, ActPay, MoveInput{Reference: "GK-PROJ-001"})
	return err
}
