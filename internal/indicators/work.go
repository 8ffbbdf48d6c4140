package indicators

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
)

// migrationWaiting indexes the reported values that wait for approval:
// the 工作台 reads them on every view, and drafts are few beside the
// approved years they sit among.
var migrationWaiting = db.Migration{
	ID:  "indicators/005_waiting_reports",
	SQL: `CREATE INDEX ind_reported_waiting ON ind_reported (division_code, year) WHERE status = 'draft';`,
}

// workApprove is the kind of the 工作台 item of a report to approve.
const workApprove = "indicator.report.approve"

// Work lists the reports waiting for the signed-in officer's approval:
// each year of each child division of the officer's own with draft
// values (entered or imported: an import writes drafts like the form,
// there is no import state of its own), once nothing below that child is
// a draft any more — approval goes bottom-up, so until then the item is
// the level below's. The level above approves (DHIS2's order): a county
// officer sees its townships' reports, not their communities'. Reports
// have no deadline, so the items have none.
func (m *indicatorsModule) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	return m.store.Work(ctx, p, limit)
}

// waitingQuery finds the child divisions of $1 (inside the scope [$2,
// $3)) with drafts of a year and no draft below them: the children by
// the tree's parent index, their drafts and those below by the index of
// drafts. A division's descendants are the codes after it up to it
// followed by nines: digits only, so the range holds under any collation.
const waitingQuery = `SELECT d.code, d.name, r.year, COUNT(*) FROM divisions_tree d JOIN ind_reported r ON r.division_code = d.code
	WHERE d.parent_code = $1 AND d.code >= $2 AND d.code < $3 AND r.status = 'draft'
	AND NOT EXISTS (SELECT 1 FROM ind_reported c WHERE c.status = 'draft' AND c.year = r.year
		AND c.division_code > d.code AND c.division_code <= d.code || '999999999999')
	GROUP BY d.code, d.name, r.year ORDER BY r.year, d.code LIMIT $4`

// Work is the officer's reports to approve (see indicatorsModule.Work).
func (s *Store) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	if p == nil || p.Role != access.Officer || limit <= 0 {
		return nil, nil
	}
	sc := access.BusinessScope(p)
	type waiting struct {
		code, name string
		year, n    int
	}
	rows, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (waiting, error) {
		var w waiting
		err := r.Scan(&w.code, &w.name, &w.year, &w.n)
		return w, err
	}, waitingQuery, p.Division, sc.Lo, sc.Hi, limit)
	if err != nil {
		return nil, err
	}
	out := make([]module.WorkItem, 0, len(rows))
	for _, w := range rows {
		q := url.Values{"division": {p.Division}, "period": {strconv.Itoa(w.year)}}
		out = append(out, module.WorkItem{Module: "indicators", Kind: workApprove, KindName: fault.M("待审核填报", "Reports to approve"),
			Title: fault.M(fmt.Sprintf("%s %d 年填报数据待审核（%d 项）", w.name, w.year, w.n), fmt.Sprintf("%s: reported data of %d to approve (%d values)", w.name, w.year, w.n)),
			Whose: w.name, Href: "/indicators/report?" + q.Encode() + "#child-" + w.code})
	}
	return out, nil
}
