package emergency

import (
	"context"
	"database/sql"
	"errors"

	"linli/internal/access"
	"linli/internal/questions"
)

// demoPlanAndTeam gives the demo community (demo.worker's) a plan for
// flood and typhoon at all four levels, opening its shelters from
// orange, and a team of its personnel and the township's workers with
// a rota that covers today. Once only: a second run leaves them.
func demoPlanAndTeam(ctx context.Context, s *Store) error {
	var div string
	err := s.DB.R.QueryRowContext(ctx, `SELECT division_code FROM users WHERE username = 'demo.worker' AND NOT disabled`).Scan(&div)
	if errors.Is(err, sql.ErrNoRows) || err == nil && len(div) != 12 {
		return nil
	}
	if err != nil {
		return err
	}
	var n int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM em_plans WHERE division_code = $1`, div).Scan(&n); err != nil || n > 0 {
		return err
	}
	wctx := access.With(ctx, &access.Principal{Username: "demo.worker", Role: access.CommunityWorker, Division: div})
	sh, err := s.PlanShelters(wctx, div)
	if err != nil {
		return err
	}
	var open []string
	for i, x := range sh {
		if i < 2 {
			open = append(open, x.ID)
		}
	}
	level := func(l string, door bool, shelters []string, actions ...string) PlanLevel {
		if shelters == nil {
			shelters = []string{}
		}
		return PlanLevel{Level: l, Actions: actions, DoorToDoor: door, Shelters: shelters}
	}
	in := PlanInput{Title: "社区防汛防台应急预案", Owner: "demo.worker", Note: "首次编制", Hazards: []PlanHazard{
		{Hazard: "flood", Levels: []PlanLevel{
			level("blue", false, nil, "社区值班人员 24 小时在岗，关注水位和雨情", "检查排水沟、地下车库挡水板"),
			level("yellow", false, nil, "网格员提醒低洼地带住户做好准备", "清点救生衣、沙袋等物资"),
			level("orange", true, open, "网格员逐户确认，结对帮扶人联系每位重点人员", "开放避难场所，组织低洼地带住户转移"),
			level("red", true, open, "全员上岗，低洼地带住户全部转移", "每两小时向街道报告转移和安置人数")}},
		{Hazard: "typhoon", Levels: []PlanLevel{
			level("blue", false, nil, "发布台风提示，提醒居民收好阳台物品"),
			level("yellow", false, nil, "加固广告牌、临时构筑物", "应急队伍集结待命"),
			level("orange", true, open, "网格员逐户确认，危旧房住户转移", "开放避难场所"),
			level("red", true, open, "停止一切户外活动，危旧房和低洼地带住户全部转移", "应急队伍分片值守")}},
	}}
	if _, err := s.CreatePlan(wctx, in); err != nil {
		return err
	}
	t, err := s.CreateTeam(wctx, TeamInput{Name: "社区应急救援队", Note: "社区工作者、网格员和志愿者组成"})
	if err != nil {
		return err
	}
	cs, err := s.candidatesOf(wctx, div, "")
	if err != nil {
		return err
	}
	skills := [][]string{{"rescue", "driving"}, {"first_aid"}, {"evacuation", "comms"}, {"supplies"}, {"counselling", "evacuation"}}
	var members []Member
	people := 0
	for _, c := range cs {
		if c.Kind == MemberPersonnel && people >= 3 || len(members) >= 5 {
			continue
		}
		if c.Kind == MemberPersonnel {
			people++
		}
		m, err := s.AddMember(wctx, t.ID, MemberInput{Kind: c.Kind, Ref: c.Ref, Skills: skills[len(members)]})
		if err != nil {
			return err
		}
		members = append(members, m)
	}
	today := s.Now().In(questions.CST)
	for i, m := range members {
		from := today.AddDate(0, 0, 7*(i%2)-3)
		if _, err := s.AddRota(wctx, t.ID, RotaInput{MemberID: m.ID, StartsOn: from.Format("2006-01-02"), EndsOn: from.AddDate(0, 0, 6).Format("2006-01-02")}); err != nil {
			return err
		}
	}
	return nil
}
