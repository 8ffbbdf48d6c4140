package projects

import (
	"context"
	"strconv"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/questions"
)

// Work is what the projects of a county or township officer's area ask of
// them on the 工作台: milestone reports to accept or return (the oldest
// due first) and projects whose applications have closed, waiting to be
// scored and awarded. Both read a small index by status.
func (s *Store) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	if !officer(p) || limit <= 0 {
		return nil, nil
	}
	sc := access.Subtree(p.Division)
	lim := strconv.Itoa(limit)
	type report struct{ ID, Project, Title, Due, Org string }
	reports, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (report, error) {
		var m report
		return m, r.Scan(&m.ID, &m.Project, &m.Title, &m.Due, &m.Org)
	}, `SELECT m.project_id, x.title, m.title, m.due_on, c.org_name FROM proj_milestones m
		JOIN proj_projects x ON x.id = m.project_id JOIN proj_contracts c ON c.id = m.contract_id
		WHERE m.status = $1 AND x.division_code >= $2 AND x.division_code < $3 ORDER BY m.due_on, m.id LIMIT `+lim, Reported, sc.Lo, sc.Hi)
	if err != nil {
		return nil, err
	}
	var out []module.WorkItem
	for _, m := range reports {
		out = append(out, module.WorkItem{Module: "projects", Kind: "projects.report", KindName: fault.M("待审核的项目进展报告", "Project reports to review"),
			Title: fault.M(m.Project+"："+m.Title+"的进展报告待审核", m.Project+": the report on "+m.Title+" waits for review"), Whose: m.Org,
			Href: "/projects/" + m.ID, Due: endOfDay(m.Due)})
	}
	type closed struct{ ID, Title, Deadline string }
	awards, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (closed, error) {
		var c closed
		return c, r.Scan(&c.ID, &c.Title, &c.Deadline)
	}, `SELECT id, title, deadline FROM proj_projects WHERE status = $1 AND deadline < $2 AND division_code >= $3 AND division_code < $4
		ORDER BY deadline, id LIMIT `+lim, Open, s.today(), sc.Lo, sc.Hi)
	if err != nil {
		return nil, err
	}
	for _, c := range awards {
		out = append(out, module.WorkItem{Module: "projects", Kind: "projects.award", KindName: fault.M("申报已截止、待评审的项目", "Projects closed for applications, to score and award"),
			Title: fault.M(c.Title+"：申报已于 "+c.Deadline+" 截止，请评分并确定承接机构", c.Title+": applications closed on "+c.Deadline+"; score and award it"),
			Href:  "/projects/" + c.ID})
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// endOfDay is the last moment of a "YYYY-MM-DD" day in China (zero for a
// bad date).
func endOfDay(day string) time.Time {
	d, err := time.ParseInLocation("2006-01-02", day, questions.CST)
	if err != nil {
		return time.Time{}
	}
	return d.AddDate(0, 0, 1).Add(-time.Second)
}
