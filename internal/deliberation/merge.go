package deliberation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// A duplicate topic is merged into another of its council: it moves to
// its own state 已合并 (a closed state like 不予受理, but one that says
// where the matter went, as a merged 民呼我为 request does), keeps its
// comments and history readable with a link to the target, and its
// co-signing and supporting households count on the target once each.

// TopicRef names a topic.
type TopicRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// MergeInput names the topic a duplicate goes into.
type MergeInput struct {
	Into   string `json:"into"`
	Reason string `json:"reason,omitempty"`
}

// mergeFrom are the states a duplicate may be merged from: before any
// decision, so that no decision or vote hangs on a closed topic.
var mergeFrom = []string{Collecting, Screening, Accepted, Deliberating}

// finished tells whether a topic is closed to merges into it.
func finished(status string) bool {
	switch status {
	case Referred, Declined, Done, Shelved, Merged:
		return true
	}
	return false
}

// Mergeable tells whether the topic may be merged into another.
func (t Topic) Mergeable() bool { return slices.Contains(mergeFrom, t.Status) }

// refuseMerged stops a new comment or support on a merged topic: the
// discussion goes on at the target.
func refuseMerged(t Topic) error {
	if t.Status != Merged {
		return nil
	}
	return fault.Conflict(fault.M("这个议题已并入另一个议题，请到合并后的议题参与讨论", "the topic was merged into another: take part there"))
}

func (s *Store) mergedInto(ctx context.Context, id string) (*TopicRef, error) {
	var r TopicRef
	err := s.DB.R.QueryRowContext(ctx, `SELECT t.id, t.title FROM dlb_topics m JOIN dlb_topics t ON t.id = m.merged_into WHERE m.id = $1`, id).Scan(&r.ID, &r.Title)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &r, err
}

// MergeCandidates are the open topics of the same council a topic may be
// merged into, the newest first: the merge page's picker.
func (s *Store) MergeCandidates(ctx context.Context, t Topic) ([]Topic, error) {
	ts, err := db.Collect(ctx, s.DB.R, scanTopic, `SELECT `+topicCols+` FROM dlb_topics WHERE council_id = $1 AND id <> $2
		AND status NOT IN ('referred', 'declined', 'done', 'shelved', 'merged') ORDER BY id DESC LIMIT 100`, t.CouncilID, t.ID)
	if ts == nil {
		ts = []Topic{}
	}
	return ts, err
}

// Merge closes topic id as a duplicate of in.Into. Both must belong to the
// same council in the worker's jurisdiction; the target must be open and
// the duplicate not yet decided. The duplicate's co-signing households
// (and the household that raised it) that lie in the target's area and
// its supporting households are added to the target's, each household
// once; a target still collecting that reaches its threshold so moves to
// 待审. Both topics' public histories record the merge.
func (s *Store) Merge(ctx context.Context, id string, in MergeInput) (Topic, error) {
	p := access.From(ctx)
	if !worker(p) {
		return Topic{}, fault.Forbidden(fault.M("只有社区工作者或干部可以合并议题", "only community workers and officers merge topics"))
	}
	var fields []fault.FieldError
	in.Into = strings.TrimSpace(in.Into)
	in.Reason = text("reason", in.Reason, 500, false, &fields)
	switch in.Into {
	case "":
		fields = append(fields, fault.Field("into", fault.M("请选择要并入的议题", "choose the topic to merge into")))
	case id:
		fields = append(fields, fault.Field("into", fault.M("议题不能并入自己", "a topic cannot be merged into itself")))
	}
	if len(fields) > 0 {
		return Topic{}, invalid(fields...)
	}
	scope := access.BusinessScope(p)
	now := s.Now()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// Both rows are locked in key order, so that two merges of the
		// same pair cannot wait on each other.
		ids := []string{id, in.Into}
		slices.Sort(ids)
		for _, k := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE dlb_topics SET updated_at = updated_at WHERE id = $1`, k); err != nil {
				return err
			}
		}
		src, err := s.readTopic(ctx, tx, id)
		if err != nil || !scope.Contains(src.Division) {
			return errNotFound
		}
		dst, err := s.readTopic(ctx, tx, in.Into)
		if err != nil || !scope.Contains(dst.Division) {
			return invalid(fault.Field("into", fault.M("辖区内没有这个议题", "no such topic in your jurisdiction")))
		}
		switch {
		case dst.CouncilID != src.CouncilID:
			return invalid(fault.Field("into", fault.M("只能并入同一议事会的议题", "a topic can only be merged into one of the same council")))
		case finished(dst.Status):
			return fault.Conflict(fault.M("目标议题已“"+StateName(dst.Status).ZH+"”，不能并入", "the target topic is "+StateName(dst.Status).EN+": nothing can be merged into it"))
		case !src.Mergeable():
			return fault.Conflict(fault.M("议题当前为“"+StateName(src.Status).ZH+"”，不能合并（已作出决定或已结束的议题不能合并）",
				"the topic is "+StateName(src.Status).EN+": a decided or closed topic cannot be merged"))
		}
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dlb_votes WHERE topic_id = $1 AND result = ''`, id).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return fault.Conflict(fault.M("这个议题有尚未计票的表决，不能合并", "the topic has a vote not yet counted: it cannot be merged"))
		}
		cosigns, err := s.moveCosigns(ctx, tx, src, dst)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO dlb_supports (topic_id, household_id, supported_by, at)
			SELECT $1, household_id, supported_by, at FROM dlb_supports WHERE topic_id = $2 ON CONFLICT DO NOTHING`, dst.ID, src.ID)
		if err != nil {
			return err
		}
		supports, _ := res.RowsAffected()
		reason := src.Reason
		if in.Reason != "" {
			reason = in.Reason
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dlb_topics SET status = $2, merged_into = $3, reason = $4, updated_at = $5 WHERE id = $1`,
			src.ID, Merged, dst.ID, reason, db.T(now)); err != nil {
			return err
		}
		note := "并入议题《" + dst.Title + "》/ merged into “" + dst.Title + "”"
		if in.Reason != "" {
			note += "：" + in.Reason
		}
		if err := event(ctx, tx, src.ID, "merge", src.Status, Merged, p.Username, note, now); err != nil {
			return err
		}
		moved := fmt.Sprintf("并入重复议题《%s》，转入联署 %d 户、支持 %d 户 / the duplicate “%s” was merged in: %d co-signing and %d supporting households added",
			src.Title, cosigns, supports, src.Title, cosigns, supports)
		if err := event(ctx, tx, dst.ID, "merge_in", dst.Status, dst.Status, p.Username, moved, now); err != nil {
			return err
		}
		if cosigns > 0 {
			if err := s.recount(ctx, tx, dst, now); err != nil {
				return err
			}
		}
		if err := s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.topic_merge", Object: "topic", ObjectID: src.ID, Division: src.Division,
			Detail: fmt.Sprintf("%s → merged into %s", src.Status, dst.ID)}); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.topic_merge_in", Object: "topic", ObjectID: dst.ID, Division: dst.Division,
			Detail: fmt.Sprintf("from %s: +%d co-signs, +%d supports", src.ID, cosigns, supports)})
	})
	if err != nil {
		return Topic{}, err
	}
	return s.Topic(ctx, id)
}

// moveCosigns adds to dst the households that co-signed or raised src and
// lie in dst's area, except dst's own raiser and those already there, and
// says how many were added.
func (s *Store) moveCosigns(ctx context.Context, tx *sql.Tx, src, dst Topic) (int, error) {
	type signer struct {
		household, by string
		at            db.Time
	}
	signers, err := db.Collect(ctx, tx, func(r db.Scanner) (signer, error) {
		var g signer
		err := r.Scan(&g.household, &g.by, &g.at)
		return g, err
	}, `SELECT household_id, signed_by, at FROM dlb_cosigns WHERE topic_id = $1
		UNION ALL SELECT household_id, raised_by, created_at FROM dlb_topics WHERE id = $1 AND household_id <> ''
		ORDER BY 1`, src.ID)
	if err != nil {
		return 0, err
	}
	var raiser string
	if err := tx.QueryRowContext(ctx, `SELECT household_id FROM dlb_topics WHERE id = $1`, dst.ID).Scan(&raiser); err != nil {
		return 0, err
	}
	added := 0
	for _, g := range signers {
		if g.household == raiser {
			continue
		}
		if in, err := s.inArea(ctx, tx, dst, g.household); err != nil {
			return 0, err
		} else if !in {
			continue
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO dlb_cosigns (topic_id, household_id, signed_by, at) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`, dst.ID, g.household, g.by, g.at)
		if err != nil {
			return 0, err
		}
		n, _ := res.RowsAffected()
		added += int(n)
	}
	return added, nil
}

// recount sets a topic's co-signs from its rows; a collecting topic that
// reaches its threshold moves to 待审.
func (s *Store) recount(ctx context.Context, tx *sql.Tx, t Topic, at time.Time) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dlb_cosigns WHERE topic_id = $1`, t.ID).Scan(&n); err != nil {
		return err
	}
	to := t.Status
	if t.Status == Collecting && n >= t.CosignNeeded {
		to = Screening
	}
	if _, err := tx.ExecContext(ctx, `UPDATE dlb_topics SET cosigns = $2, status = $3, updated_at = $4 WHERE id = $1`, t.ID, n, to, db.T(at)); err != nil {
		return err
	}
	if to != t.Status {
		return event(ctx, tx, t.ID, "threshold", t.Status, to, "", fmt.Sprintf("%d 户联署 / households co-signed", n), at)
	}
	return nil
}
