package deliberation

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/module"
)

// demoTopics are the topics every demo community has, one in each state.
var demoTopics = []struct{ status, title, description string }{
	{Collecting, "小区东门增设非机动车充电棚", "电动自行车在楼道充电有安全隐患，建议在东门空地增设集中充电棚。"},
	{Screening, "老年食堂增加晚餐供应", "独居老人晚餐不便，建议老年食堂增加晚餐。"},
	{Accepted, "儿童游乐设施更新", "游乐设施老化，建议更换并加装软质地面。"},
	{Referred, "路灯损坏需维修", "3 号楼前两盏路灯不亮。"},
	{Declined, "要求物业费全免", "建议今年物业费全免。"},
	{Deliberating, "垃圾分类投放点调整", "现投放点离 5 幢过近，夏季异味明显，建议调整位置与时间。"},
	{Decided, "楼道堆物集中清理", "楼道堆放杂物影响消防通道，建议统一清理。"},
	{Implementing, "加装电梯意见征集与推进", "多层住宅老人上下楼难，推进加装电梯。"},
	{Done, "小区停车位施划", "停车无序，建议重新施划车位。"},
	{Shelved, "改建社区广场", "建议改建广场，因经费不足暂缓。"},
}

var demoMembers = []struct{ name, role string }{
	{"陈建国", "resident_rep"}, {"李秀英", "party"}, {"张志强", "owners"}, {"王海峰", "property"}, {"赵丽华", "social_org"},
}

// Demo gives every demo community (and township) a council with members,
// topics in every state with their history, two past meetings with
// attendance and minutes, a finished council vote with its ballot chain,
// and decisions with their progress; demo_more.go adds a merged topic,
// an online meeting with registrations, structured minutes, milestones
// and ratings. Rows are written in multi-row
// INSERTs, a few hundred at a time.
func Demo(ctx context.Context, s *Store, o module.DemoOptions) error {
	county := o.County
	if county == "" {
		county = "330106"
	}
	sc := access.Subtree(county)
	communities, err := db.Collect(ctx, s.DB.R, db.Value[string], `SELECT DISTINCT division_code FROM reg_households WHERE division_code >= $1 AND division_code < $2 ORDER BY division_code`, sc.Lo, sc.Hi)
	if err != nil || len(communities) == 0 {
		return err
	}
	names, err := s.Divs.GetMany(ctx, communities)
	if err != nil {
		return err
	}
	homes, err := demoHomes(ctx, s, sc)
	if err != nil {
		return err
	}
	var extra demoExtra
	now := s.Now()
	day := 24 * time.Hour
	t := func(d time.Duration) db.Time { return db.T(now.Add(d)) }
	var (
		councils, members, topics, events, meetings, agenda, attendance, votes, voters, ballots, decisions, progress, comments, notices, lines [][]any
		townships                                                                                                                              []string
	)
	for ci, c := range communities {
		name := names[c].Name
		if len(townships) == 0 || townships[len(townships)-1] != c[:9] {
			townships = append(townships, c[:9])
		}
		cid := "00dc" + c
		councils = append(councils, []any{cid, c, name + "居民议事会", "community", 500, MajoritySimple, 2, 14, t(-400 * day)})
		var mids []string
		for i, m := range demoMembers {
			mid := fmt.Sprintf("%s-m%d", cid, i+1)
			mids = append(mids, mid)
			members = append(members, []any{mid, cid, m.name, m.role, "", "2025-01-01", "2027-12-31"})
		}
		tid := func(i int) string { return fmt.Sprintf("00dt%s-%02d", c, i) }
		for i, tp := range demoTopics {
			created := -time.Duration(60-i*5) * day
			var until any
			needed, cosigns := 0, 0
			if tp.status == Collecting {
				needed, cosigns, until = 2, 1, t(created+14*day)
			}
			reason := ""
			switch tp.status {
			case Declined:
				reason = "物业费由业主大会决定，不属议事会事项"
			case Shelved:
				reason = "年度经费不足，明年再议"
			case Referred:
				reason = "属设施报修，已转民呼我为办理"
			}
			topics = append(topics, []any{tid(i), c, cid, tp.title, tp.description, "resident", "demo", "", AreaCommunity, "", tp.status, reason, needed, until, cosigns, t(created), t(created + day)})
			events = append(events, []any{tid(i), 1, "raise", "", Screening, "demo", "", t(created)})
			if tp.status == Collecting {
				events[len(events)-1][4] = Collecting
			} else if tp.status != Screening {
				events = append(events, []any{tid(i), 2, "demo", Screening, tp.status, "demo", reason, t(created + day)})
			}
		}
		// The topic under deliberation is discussed online: two comments,
		// a reply and one held for its sensitive word.
		for k, cm := range []struct{ parent, kind, body, state string }{
			{"", "resident", "建议投放点移到 7 幢北侧空地，离住户远一些。", CommentPublic},
			{"1", "worker", "已请物业测量北侧空地，下次议事会上报告。", CommentPublic},
			{"", "resident", "晚上投放时间希望延长到九点。", CommentPublic},
			{"", "resident", "有人在投放点旁边办证贴小广告。", CommentHeld},
		} {
			parent := ""
			if cm.parent != "" {
				parent = fmt.Sprintf("00dk%s-%s", c, cm.parent)
			}
			comments = append(comments, []any{fmt.Sprintf("00dk%s-%d", c, k+1), tid(5), c, parent, "demo", cm.kind, "", cm.body, cm.state, "", t(-time.Duration(6-k) * day), t(-time.Duration(6-k) * day)})
		}
		// The notice board: last month's financial statement, the decision
		// on the cleared stairwells, and a policy households acknowledge.
		today := now.In(cst)
		month := today.AddDate(0, -1, 0).Format("2006-01")
		from := today.AddDate(0, 0, -3).Format("2006-01-02")
		until := today.AddDate(0, 0, 27).Format("2006-01-02")
		var total int64
		for k, l := range []AmountRow{{"income", "停车管理费", 1860000}, {"income", "公共用房租金", 520000}, {"expense", "保洁绿化", 980000}, {"expense", "公共照明电费", 126050}, {"expense", "议事会议事项目（楼道清理）", 350000}} {
			lines = append(lines, []any{"00dn" + c + "-1", k + 1, l.Kind, l.Item, l.Amount})
			if l.Kind == "income" {
				total += l.Amount
			} else {
				total -= l.Amount
			}
		}
		notices = append(notices,
			[]any{"00dn" + c + "-1", c, "finance", month + " 月度财务收支公开", "", from, until, false, month, total, "demo.worker", t(-3 * day)},
			[]any{"00dn" + c + "-2", c, "decision", "议事结果：" + demoTopics[6].title, "经居民议事会表决通过：楼道堆物集中清理，先公示方案，再分步实施。", from, until, false, "", int64(0), "demo.worker", t(-3 * day)},
			[]any{"00dn" + c + "-3", c, "policy", "高龄津贴申领提醒", "80 周岁以上老人可在社区服务中心申领高龄津贴，请各户确认已阅。", from, until, true, "", int64(0), "demo.worker", t(-3 * day)},
			[]any{"00dn" + c + "-4", c, "affairs", "上月停水通知", "因管道检修，上月曾停水一天。", today.AddDate(0, -1, -5).Format("2006-01-02"), today.AddDate(0, -1, 0).Format("2006-01-02"), false, "", int64(0), "demo.worker", t(-35 * day)})
		// Two past meetings: the first put the decided and implementing
		// topics on its agenda, the second the one under deliberation.
		for k, m := range []struct {
			ago    time.Duration
			topics []int
		}{{30 * day, []int{6, 7}}, {7 * day, []int{5}}} {
			mid := fmt.Sprintf("00dm%s-%d", c, k+1)
			meetings = append(meetings, []any{mid, c, cid, fmt.Sprintf("%s第 %d 次议事会", name, k+1), "社区党群服务中心会议室", t(-m.ago),
				"陈建国（居民代表）：赞成，建议分步实施；王海峰（物业）：可配合施工；李秀英（党员）：请先公示方案。", "与会成员就议程议题充分协商，形成一致意见，方案将在公开栏公示。", "demo.worker", t(-m.ago - 5*day)})
			for p, ti := range m.topics {
				agenda = append(agenda, []any{mid, tid(ti), p + 1})
			}
			for i, member := range mids {
				attendance = append(attendance, []any{mid, member, i != (ci+k)%len(mids)})
			}
		}
		// The decided topic's council vote: four of five members, 3 to 1.
		vid := "00dv" + c
		opts, _ := json.Marshal([]string{"同意", "不同意"})
		v := Vote{ID: vid, Options: []string{"同意", "不同意"}, QuorumPM: 500, Majority: MajoritySimple, ElectorateSize: len(mids)}
		var chain []Ballot
		prev := ""
		for i, member := range mids[:4] {
			b := Ballot{Seq: i + 1, Choice: []string{"同意", "同意", "不同意", "同意"}[i], Voter: member, Prev: prev}
			b.Hash = BallotHash(vid, b)
			prev = b.Hash
			chain = append(chain, b)
			voters = append(voters, []any{vid, member, "", false})
			ballots = append(ballots, []any{vid, b.Seq, b.Choice, b.Voter, b.Prev, b.Hash})
		}
		res, _ := json.Marshal(Tally(v, chain))
		votes = append(votes, []any{vid, tid(6), c, ElectorateCouncil, false, string(opts), t(-32 * day), t(-30 * day), 500, MajoritySimple, len(mids), string(res), t(-30 * day), "demo.worker", t(-32 * day)})
		for _, d := range []struct {
			topic    int
			vote     string
			progress int
		}{{6, vid, 0}, {7, "", 60}, {8, "", 100}} {
			did := fmt.Sprintf("00dd%s-%d", c, d.topic)
			decisions = append(decisions, []any{did, tid(d.topic), d.vote, c, "通过：" + demoTopics[d.topic].title, name + "居民议事会", "王海峰（物业）", "先公示方案，再分步实施，每月在公开栏更新进度。", d.progress, t(-29 * day), t(-2 * day)})
			for k, pct := range []int{30, 60, 100} {
				if pct > d.progress {
					break
				}
				progress = append(progress, []any{did, k + 1, pct, []string{"方案已公示", "施工过半", "已完成并验收"}[k], "demo.worker", t(-time.Duration(20-k*8) * day)})
			}
		}
		extra.community(c, cid, tid, mids, homes[c], now)
	}
	for _, tw := range townships {
		councils = append(councils, []any{"00dc" + tw, tw, "街道民生议事会", "township", 500, MajorityTwoThirds, 0, 14, t(-400 * day)})
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, b := range []struct {
			table string
			rows  [][]any
		}{
			{"dlb_councils (id, division_code, name, level, quorum_pm, majority, cosign_threshold, cosign_days, created_at)", councils},
			{"dlb_members (id, council_id, name, role, username, term_from, term_until)", members},
			{"dlb_topics (id, division_code, council_id, title, description, origin, raised_by, household_id, area_kind, area_ref, status, reason, cosign_needed, cosign_until, cosigns, created_at, updated_at)", topics},
			{"dlb_topic_events (topic_id, seq, action, from_status, to_status, actor, note, at)", events},
			{"dlb_meetings (id, division_code, council_id, title, place, starts_at, minutes, summary, minutes_by, created_at)", meetings},
			{"dlb_agenda (meeting_id, topic_id, position)", agenda},
			{"dlb_attendance (meeting_id, member_id, present)", attendance},
			{"dlb_votes (id, topic_id, division_code, electorate, secret, options, opens_at, closes_at, quorum_pm, majority, electorate_size, result, counted_at, created_by, created_at)", votes},
			{"dlb_voters (vote_id, voter, proxy_name, proxy_consent)", voters},
			{"dlb_ballots (vote_id, seq, choice, voter, prev_hash, hash)", ballots},
			{"dlb_decisions (id, topic_id, vote_id, division_code, text, decided_by, owner, plan, progress, created_at, updated_at)", decisions},
			{"dlb_progress (decision_id, seq, percent, note, actor, at)", progress},
			{"dlb_notices (id, division_code, category, title, body, publish_from, publish_until, ack_required, period, total, created_by, created_at)", notices},
			{"dlb_notice_lines (notice_id, seq, kind, item, amount)", lines},
			{"dlb_comments (id, topic_id, division_code, parent_id, author, author_kind, household_id, body, state, reason, created_at, updated_at)", comments},
		} {
			if err := insertRows(ctx, s.DB, tx, b.table, b.rows); err != nil {
				return err
			}
		}
		return extra.insert(ctx, s.DB, tx)
	})
}

// insertRows writes rows in multi-row INSERTs of at most 500 rows.
func insertRows(ctx context.Context, d *db.DB, tx *sql.Tx, table string, rows [][]any) error {
	for start := 0; start < len(rows); start += 500 {
		chunk := rows[start:min(start+500, len(rows))]
		marks := make([]string, len(chunk))
		var args []any
		for i, r := range chunk {
			marks[i] = d.Values(len(args), len(r))
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` VALUES `+strings.Join(marks, ","), args...); err != nil {
			return fmt.Errorf("demo %s: %w", strings.Fields(table)[0], err)
		}
	}
	return nil
}
