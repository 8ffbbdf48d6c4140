package requests

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"linli/internal/access"
	"linli/internal/divisions"
)

var demoTexts = map[string][]string{
	"sanitation": {"小区东门垃圾桶满溢三天未清运，气味很大。", "楼道里堆了很多纸箱杂物，影响通行。", "河边步道有狗粪无人清理。"},
	"property":   {"物业对电梯故障迟迟不处理。", "小区绿化很久没有修剪了。", "物业费上涨没有公示。"},
	"repair":     {"12幢门口路灯坏了一周，晚上很黑。", "人行道井盖松动，踩上去会晃。", "健身器材扶手断裂，存在安全隐患。"},
	"elderly":    {"独居老人希望有人定期上门探访。", "想申请适老化改造，卫生间需要扶手。"},
	"childcare":  {"社区附近有没有普惠托育机构？", "希望开设周末亲子活动。"},
	"meals":      {"老年食堂午餐能否增加软食？", "希望助餐配送覆盖到我们小区。"},
	"dispute":    {"楼上装修噪音晚上十点后还在继续。", "邻居家漏水到我家天花板。"},
	"security":   {"小区后门门禁坏了，外来人员随意进出。", "停车场监控探头不亮。"},
	"fire":       {"楼道里有电动车在充电。", "消防通道被私家车长期占用。"},
	"policy":     {"灵活就业人员医保怎么缴纳？", "新生儿落户需要什么材料？"},
	"employment": {"想参加社区组织的技能培训。", "有没有适合40岁以上人员的岗位？"},
	"assistance": {"家中突发困难，想了解临时救助。", "低保复核材料怎么准备？"},
	"legal":      {"房屋租赁合同纠纷想咨询律师。", "工资被拖欠怎么办？"},
	"culture":    {"希望广场舞时间和音量有规定。", "社区阅览室能否延长开放时间？"},
	"suggestion": {"建议在公园增加休息座椅。", "建议增设非机动车停车棚。"},
}

// demoBatch is how many demo requests, with all their steps, share one
// transaction: a county's demo is thousands of requests and ten thousand
// steps, each of which would otherwise commit (and on PostgreSQL wait for
// its WAL flush) on its own.
const demoBatch = 200

// Demo adds n synthetic requests in every state across the county,
// deterministic by seed; progress, if set, is told how many are done. It runs through the real lifecycle, so
// every request has a consistent timeline, deadlines and audit entries.
// The requests are written demoBatch at a time in one transaction; each
// step reads what the batch wrote before it.
func Demo(ctx context.Context, s *Store, county string, seed uint64, n int, progress func(done, total int)) error {
	if county == "" {
		county = "330106"
	}
	units, _, err := s.Divs.Search(ctx, "", county, 0, 100000)
	if err != nil {
		return err
	}
	var comms []divisions.Division
	for _, u := range units {
		if u.Level == 5 {
			comms = append(comms, u)
		}
	}
	if len(comms) == 0 {
		return fmt.Errorf("no communities in %s", county)
	}
	cats, err := s.Categories(ctx)
	if err != nil {
		return err
	}
	var residentID, residentDiv string
	err = s.DB.R.QueryRowContext(ctx, `SELECT id, division_code FROM users WHERE username = 'demo.resident'`).Scan(&residentID, &residentDiv)
	if err != nil && !errors.Is(err, sql.ErrNoRows) { // without the demo resident, workers file every request
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d68776d))
	real := s.Now()
	clock := real.Add(-60 * 24 * time.Hour)
	ds := &Store{DB: s.DB, Keys: s.Keys, Audit: s.Audit, Divs: s.Divs, Calendar: s.Calendar, Log: s.Log, Now: func() time.Time { return clock }}
	defer ds.Close()
	names := []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"}
	var tx *sql.Tx
	var sent []Notice
	// flush commits the batch under way and delivers its notices.
	flush := func() error {
		if tx == nil {
			return nil
		}
		err := tx.Commit()
		tx = nil
		if err != nil {
			return err
		}
		ds.deliver(ctx, sent)
		sent = nil
		return nil
	}
	defer func() {
		if tx != nil {
			tx.Rollback()
		}
	}()
	for i := 0; i < n; i++ {
		if progress != nil && i%100 == 0 {
			progress(i, n)
		}
		if i%demoBatch == 0 {
			if err := flush(); err != nil {
				return err
			}
			if tx, err = s.DB.W.BeginTx(ctx, nil); err != nil {
				return err
			}
		}
		clock = real.Add(-time.Duration(60*24*(n-i)/n)*time.Hour - time.Duration(rng.IntN(600))*time.Minute)
		com := comms[rng.IntN(len(comms))]
		cat := cats[rng.IntN(len(cats))]
		worker := &access.Principal{UserID: "demo-worker-" + com.Code, Username: "社区工作者" + com.Code[9:], Role: access.CommunityWorker, Division: com.Code}
		var ctxR context.Context
		in := NewRequest{Category: cat.Code, Description: demoTexts[cat.Code][rng.IntN(len(demoTexts[cat.Code]))], Division: com.Code, MultiAttrs: map[string][]string{}}
		for _, a := range cat.Attributes {
			switch {
			case len(a.Values) > 0:
				in.MultiAttrs[a.Code] = []string{a.Values[rng.IntN(len(a.Values))].Key}
			case a.Type == "number":
				in.MultiAttrs[a.Code] = []string{fmt.Sprint(2 + rng.IntN(80))}
			}
		}
		if rng.IntN(3) == 0 {
			lon, lat := 120.08+rng.Float64()*0.08, 30.22+rng.Float64()*0.08
			in.Lon, in.Lat = &lon, &lat
		}
		if residentID != "" && com.Code == residentDiv || residentID != "" && i%17 == 0 {
			in.Division = residentDiv
			worker.Division = residentDiv
			ctxR = access.With(ctx, &access.Principal{UserID: residentID, Username: "demo.resident", Role: access.Resident, Division: residentDiv})
		} else {
			in.Channel = []string{"hotline", "walkin"}[rng.IntN(2)]
			in.Name = names[rng.IntN(len(names))] + "先生"
			in.Phone = fmt.Sprintf("13%d%08d", 5+rng.IntN(4), rng.IntN(100000000))
			ctxR = access.With(ctx, worker)
		}
		ctxW := access.With(ctx, worker)
		r, err := ds.createTx(ctxR, tx, in)
		if err != nil {
			return fmt.Errorf("demo request %d: %w", i, err)
		}
		// step takes an action later on the clock; the first failure ends
		// the request's story and the demo.
		var failed error
		step := func(a Action, in Input, after time.Duration) bool {
			if failed != nil {
				return false
			}
			clock = clock.Add(after)
			if clock.After(real) {
				clock = real
			}
			c := ctxW
			if Rules[a].by == reporter {
				c = ctxR
			}
			if _, err := ds.transitionTx(c, tx, r.ID, a, in, clock, &sent); err != nil {
				failed = fmt.Errorf("demo request %d: %s: %w", i, a, err)
				return false
			}
			return true
		}
		hours := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Hour }
		age := real.Sub(clock)
		// The fate of the request: most are done, the newest are still open.
		fate := rng.IntN(100)
		if age < 3*24*time.Hour {
			fate = rng.IntN(40)
		}
		switch {
		case fate < 8: // still new
		case fate < 12:
			step("accept", Input{}, hours(1, 6))
		case fate < 16:
			_ = step("accept", Input{}, hours(1, 6)) && step("assign", Input{Assignee: "网格员"}, hours(1, 4))
		case fate < 20:
			_ = step("accept", Input{}, hours(1, 6)) && step("start", Input{}, hours(1, 20))
		case fate < 23:
			step("return", Input{Reason: "不属于本社区职责 / not this community's duty"}, hours(1, 8))
		case fate < 25:
			step("transfer", Input{Unit: comms[rng.IntN(len(comms))].Code, Reason: "", Note: "位置在相邻社区 / location is in the next community"}, hours(1, 8))
		case fate < 27:
			step("reject", Input{Reason: "重复反映，已在办理 / already being handled"}, hours(1, 8))
		case fate < 30:
			prev, err := ds.list(ctxW, tx, Filter{Box: "open", Category: cat.Code}, "", 2)
			if err != nil {
				return err
			}
			for _, p := range prev.Items {
				if p.ID != r.ID {
					step("merge", Input{Into: p.Number}, hours(1, 3))
					break
				}
			}
		default:
			slow := hours(2, 90)
			reply := "已处理完毕，感谢您的反映。"
			if len(cat.Templates) > 0 {
				reply = cat.Templates[rng.IntN(len(cat.Templates))]
			}
			if !(step("accept", Input{}, hours(0, 10)) && step("answer", Input{Reply: reply}, slow)) {
				break
			}
			switch k := rng.IntN(10); {
			case k < 5:
				_ = step("evaluate", Input{Rating: Satisfied}, hours(2, 30)) && step("close", Input{}, hours(1, 24))
			case k < 7:
				step("evaluate", Input{Rating: FairlySatisfed, Comment: "速度可以再快些"}, hours(2, 30))
			case k < 8:
				if step("evaluate", Input{Rating: Unsatisfied, Comment: "问题没有彻底解决"}, hours(2, 30)) && rng.IntN(2) == 0 {
					step("answer", Input{Reply: "已再次上门处理并回访。"}, hours(4, 30))
				}
			default: // answered, waiting for the evaluation
			}
		}
		if failed != nil {
			return failed
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if progress != nil {
		progress(n, n)
	}
	// Warn about and escalate what is late now.
	_, err = s.RunSLAOnce(ctx, real)
	return err
}
