package deliberation

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"linli/internal/access"
	"linli/internal/db"
)

// demoHome is a household head without an account, who registers for
// the demo's online meeting and rates the finished decision.
type demoHome struct{ resident, household string }

// demoHomes are the first few such heads of each community.
func demoHomes(ctx context.Context, s *Store, sc access.Scope) (map[string][]demoHome, error) {
	out := map[string][]demoHome{}
	err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var div string
		var h demoHome
		if err := r.Scan(&div, &h.resident, &h.household); err != nil {
			return err
		}
		out[div] = append(out[div], h)
		return nil
	}, `SELECT division_code, id, household_id FROM (SELECT division_code, id, household_id, ROW_NUMBER() OVER (PARTITION BY division_code ORDER BY id) AS n
		FROM reg_residents WHERE division_code >= $1 AND division_code < $2 AND relation = '户主' AND username = '') x WHERE n <= 4 ORDER BY division_code, id`, sc.Lo, sc.Hi)
	return out, err
}

// demoExtra holds the rows of a merged topic, an online meeting with
// registrations, structured minutes, milestones and ratings.
type demoExtra struct {
	topics, events, supports, meetings, agenda, registrations, entries, milestones, ratings [][]any
}

// community adds one community's rows; tid names its demo topics, mids
// its council's members (in demoMembers' order).
func (x *demoExtra) community(c, cid string, tid func(int) string, mids []string, homes []demoHome, now time.Time) {
	day := 24 * time.Hour
	t := func(d time.Duration) db.Time { return db.T(now.Add(d)) }
	// A duplicate of the collecting topic, merged into it with its support.
	dup, target := tid(len(demoTopics)), tid(0)
	x.topics = append(x.topics, []any{dup, c, cid, "东门空地建电动车充电棚", "楼道里充电太危险，希望在东门建充电棚。", "resident", "demo", "", AreaCommunity, "",
		Merged, "与“小区东门增设非机动车充电棚”重复", 2, t(-30 * day), 0, t(-44 * day), t(-40 * day), target})
	x.events = append(x.events,
		[]any{dup, 1, "raise", "", Collecting, "demo", "", t(-44 * day)},
		[]any{dup, 2, "merge", Collecting, Merged, "demo.worker", "并入议题《" + demoTopics[0].title + "》/ merged into “" + demoTopics[0].title + "”", t(-40 * day)},
		[]any{target, 2, "merge_in", Collecting, Collecting, "demo.worker", "并入重复议题《东门空地建电动车充电棚》，转入联署 0 户、支持 1 户 / the duplicate was merged in: 0 co-signing and 1 supporting households added", t(-40 * day)})
	if len(homes) > 0 {
		x.supports = append(x.supports, []any{dup, homes[0].household, "demo", t(-43 * day)}, []any{target, homes[0].household, "demo", t(-43 * day)})
	}
	// An online meeting in five days on the topic under deliberation,
	// with three of its thirty places taken.
	starts := now.In(cst).AddDate(0, 0, 5)
	starts = time.Date(starts.Year(), starts.Month(), starts.Day(), 19, 30, 0, 0, cst)
	online := fmt.Sprintf("00dm%s-3", c)
	regs := homes[:min(3, len(homes))]
	x.meetings = append(x.meetings, []any{online, c, cid, "垃圾分类投放点调整线上恳谈会", "", db.T(starts), "", "", "", t(-day), ModeOnline, "腾讯会议 628 193 475", 30, len(regs)})
	x.agenda = append(x.agenda, []any{online, tid(5), 1})
	for i, h := range regs {
		x.registrations = append(x.registrations, []any{fmt.Sprintf("00dr%s-%d", c, i+1), online, h.resident, h.household, "", false, t(-time.Duration(12-i) * time.Hour)})
	}
	// Structured minutes of the two past meetings: members by their role,
	// residents named for the record only.
	for i, e := range []struct {
		meeting, member int // member: index into mids, -1 a resident
		resident        string
		topic           int
		position, said  string
	}{
		{1, 0, "", 6, "support", "楼道堆物影响消防通道，赞成集中清理，建议先通知再清。"},
		{1, 3, "", 6, "other", "物业可以提供车辆和人手，清理时间放在周末。"},
		{1, -1, "周桂芳", 7, "support", "家里老人腿脚不便，非常希望加装电梯。"},
		{1, 1, "", 7, "support", "建议先摸底意愿，按单元推进。"},
		{2, 0, "", 5, "support", "同意把投放点移到 7 幢北侧空地。"},
		{2, -1, "吴建明", 5, "oppose", "7 幢北侧靠近我家窗户，不同意移过去。"},
		{2, 2, "", 5, "abstain", "等物业测量后再表态。"},
	} {
		kind, member, name, role := SpeakerResident, "", e.resident, SpeakerResident
		if e.member >= 0 {
			kind, member, name, role = SpeakerMember, mids[e.member], demoMembers[e.member].name, demoMembers[e.member].role
		}
		x.entries = append(x.entries, []any{fmt.Sprintf("00dm%s-%d", c, e.meeting), i + 1, kind, member, name, role, tid(e.topic), e.position, e.said, "demo.worker", t(-time.Duration(e.meeting) * day)})
	}
	// Milestones: the decided topic's ahead, the implementing one's last
	// overdue, the done one's all done; the done topic rated by households.
	for _, m := range []struct {
		topic, seq int
		title      string
		due        time.Duration
		done       bool
	}{
		{6, 1, "公示清理方案", 7 * day, false}, {6, 2, "集中清理楼道", 21 * day, false},
		{7, 1, "完成意见征集", -40 * day, true}, {7, 2, "确定施工单位", -20 * day, true}, {7, 3, "电梯安装完成", -3 * day, false},
		{8, 1, "重新施划车位", -25 * day, true}, {8, 2, "验收并公示", -12 * day, true},
	} {
		var doneAt any
		if m.done {
			doneAt = t(m.due - day)
		}
		x.milestones = append(x.milestones, []any{fmt.Sprintf("00dd%s-%d", c, m.topic), m.seq, m.title, now.Add(m.due).In(cst).Format("2006-01-02"), m.done, doneAt, "demo.worker"})
	}
	for i, h := range homes {
		r := []struct {
			stars   int
			comment string
		}{{5, "车位清楚多了，晚上好停车。"}, {4, ""}, {4, "希望增加访客车位。"}, {3, "有几个车位太窄。"}}[i%4]
		x.ratings = append(x.ratings, []any{fmt.Sprintf("00dd%s-8", c), h.household, r.stars, r.comment, "demo", t(-time.Duration(10-i) * day)})
	}
}

// insert writes the rows after the demo's own (they refer to them).
func (x *demoExtra) insert(ctx context.Context, d *db.DB, tx *sql.Tx) error {
	for _, b := range []struct {
		table string
		rows  [][]any
	}{
		{"dlb_topics (id, division_code, council_id, title, description, origin, raised_by, household_id, area_kind, area_ref, status, reason, cosign_needed, cosign_until, cosigns, created_at, updated_at, merged_into)", x.topics},
		{"dlb_topic_events (topic_id, seq, action, from_status, to_status, actor, note, at)", x.events},
		{"dlb_supports (topic_id, household_id, supported_by, at)", x.supports},
		{"dlb_meetings (id, division_code, council_id, title, place, starts_at, minutes, summary, minutes_by, created_at, mode, link, capacity, registered)", x.meetings},
		{"dlb_agenda (meeting_id, topic_id, position)", x.agenda},
		{"dlb_registrations (id, meeting_id, resident_id, household_id, username, present, at)", x.registrations},
		{"dlb_minute_entries (meeting_id, seq, speaker_kind, member_id, speaker_name, speaker_role, topic_id, position, said, actor, at)", x.entries},
		{"dlb_milestones (decision_id, seq, title, due, done, done_at, actor)", x.milestones},
		{"dlb_ratings (decision_id, household_id, stars, comment, rated_by, at)", x.ratings},
	} {
		if err := insertRows(ctx, d, tx, b.table, b.rows); err != nil {
			return err
		}
	}
	return nil
}
