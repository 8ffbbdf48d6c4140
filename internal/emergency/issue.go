package emergency

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/questions"
)

// AlertInput is a warning as an officer issues or updates it.
type AlertInput struct {
	Divisions     []string `json:"divisions"`           // the area: division codes within your jurisdiction
	AreaDesc      string   `json:"area_desc,omitempty"` // default: the divisions' names
	Polygon       string   `json:"polygon,omitempty"`   // "lat,lon lat,lon …", closed
	Circle        string   `json:"circle,omitempty"`    // "lat,lon radius-km"
	Status        string   `json:"status,omitempty"`    // Actual (default), Exercise, Test
	Event         string   `json:"event"`
	Category      string   `json:"category"` // CAP category: Met, Geo, Fire, Health, …
	ResponseType  string   `json:"response_type,omitempty"`
	Colour        string   `json:"colour"`         // blue, yellow, orange, red
	ResponseLevel string   `json:"response_level"` // I, II, III, IV
	Urgency       string   `json:"urgency,omitempty"`
	Severity      string   `json:"severity,omitempty"`
	Certainty     string   `json:"certainty,omitempty"`
	Effective     string   `json:"effective,omitempty"` // RFC 3339, or YYYY-MM-DDTHH:MM in China time
	Onset         string   `json:"onset,omitempty"`
	Expires       string   `json:"expires,omitempty"`
	Headline      string   `json:"headline"`
	Description   string   `json:"description"`
	Instruction   string   `json:"instruction"`
}

// CancelInput is why a warning is cancelled.
type CancelInput struct {
	Note string `json:"note,omitempty"`
}

func parseWhen(field, v string) (time.Time, *fault.FieldError) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, l := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(l, v, questions.CST); err == nil {
			return t, nil
		}
	}
	fe := fault.Field(field, fault.M("时间格式应为 2026-11-29T16:00（北京时间）或带时区的 RFC 3339", "a time is 2026-11-29T16:00 (China time) or RFC 3339 with an offset"))
	return time.Time{}, &fe
}

var errCannotIssue = fault.M("无法发布预警", "cannot issue the warning")

// fromInput checks an officer's input and builds the alert it issues
// (without its identity, which Issue gives it).
func (s *Store) fromInput(ctx context.Context, in AlertInput) (Alert, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer {
		return Alert{}, fault.Forbidden(fault.M("只有乡镇（街道）、县级干部可以发布预警", "only township and county officers issue warnings"))
	}
	sc := access.BusinessScope(p)
	var fields []fault.FieldError
	bad := func(f, zh, en string) { fields = append(fields, fault.Field(f, fault.M(zh, en))) }
	a := Alert{Status: in.Status, Event: strings.TrimSpace(in.Event), Colour: in.Colour, ResponseLevel: in.ResponseLevel,
		Urgency: in.Urgency, Severity: in.Severity, Certainty: in.Certainty, Headline: strings.TrimSpace(in.Headline),
		Description: strings.TrimSpace(in.Description), Instruction: strings.TrimSpace(in.Instruction), AreaDesc: strings.TrimSpace(in.AreaDesc), Language: "zh-CN", Scope: "Public"}
	if a.Status == "" {
		a.Status = "Actual"
	}
	if !contains([]string{"Actual", "Exercise", "Test"}, a.Status) {
		bad("status", "应为 Actual（实际）、Exercise（演练）或 Test（测试）", "must be Actual, Exercise or Test")
	}
	seen := map[string]bool{}
	var names []string
	for _, c := range in.Divisions {
		c = strings.TrimSpace(c)
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		d, err := s.Divs.Get(ctx, c)
		if err != nil || !sc.Contains(c) {
			bad("divisions", "区划 "+c+" 不存在或不在您的辖区内", "division "+c+" does not exist or is outside your jurisdiction")
			continue
		}
		a.Divisions = append(a.Divisions, c)
		names = append(names, d.Name)
	}
	if len(a.Divisions) == 0 && len(in.Divisions) == 0 {
		bad("divisions", "请选择预警区域", "choose the warning's area")
	}
	if a.AreaDesc == "" {
		a.AreaDesc = strings.Join(names, "、")
	}
	if a.Event == "" {
		bad("event", "请填写事件类型（如 台风、暴雨）", "name the event (e.g. typhoon, rainstorm)")
	}
	if in.Category == "" || !contains(capCategories, in.Category) {
		bad("category", "请选择 CAP 类别（"+strings.Join(capCategories, ", ")+"）", "choose a CAP category ("+strings.Join(capCategories, ", ")+")")
	}
	a.Category = []string{in.Category}
	if in.ResponseType != "" {
		if !contains(capResponses, in.ResponseType) {
			bad("response_type", "应为 "+strings.Join(capResponses, ", "), "must be one of "+strings.Join(capResponses, ", "))
		}
		a.ResponseType = []string{in.ResponseType}
	}
	ci := -1
	for i, c := range colours {
		if c.Key == in.Colour {
			ci = i
		}
	}
	if ci < 0 {
		bad("colour", "请选择预警颜色：蓝、黄、橙、红", "choose the colour: blue, yellow, orange, red")
	} else {
		if a.Urgency == "" {
			a.Urgency = colours[ci].Urgency
		}
		if a.Severity == "" {
			a.Severity = colours[ci].Severity
		}
		if a.Certainty == "" {
			a.Certainty = colours[ci].Certainty
		}
	}
	if !contains(responseLevels, in.ResponseLevel) {
		bad("response_level", "请选择响应级别 I–IV", "choose the response level I–IV")
	}
	for _, e := range []struct {
		f, v string
		list []string
	}{{"urgency", a.Urgency, capUrgencies}, {"severity", a.Severity, capSeverities}, {"certainty", a.Certainty, capCertainty}} {
		if e.v != "" && !contains(e.list, e.v) {
			bad(e.f, "应为 "+strings.Join(e.list, ", "), "must be one of "+strings.Join(e.list, ", "))
		}
	}
	var fe *fault.FieldError
	for _, t := range []struct {
		f   string
		v   string
		dst *time.Time
	}{{"effective", in.Effective, &a.Effective}, {"onset", in.Onset, &a.Onset}, {"expires", in.Expires, &a.Expires}} {
		if *t.dst, fe = parseWhen(t.f, t.v); fe != nil {
			fields = append(fields, *fe)
		}
	}
	if !a.Expires.IsZero() && (!a.Onset.IsZero() && !a.Expires.After(a.Onset) || !a.Effective.IsZero() && !a.Expires.After(a.Effective)) {
		bad("expires", "失效时间须晚于生效和开始时间", "expires must be after effective and onset")
	}
	if a.Headline == "" {
		bad("headline", "请填写标题", "write the headline")
	} else if len([]rune(a.Headline)) > 160 {
		bad("headline", "标题不超过 160 字", "the headline is at most 160 characters")
	}
	if a.Instruction == "" {
		bad("instruction", "请告诉居民该做什么", "tell residents what to do")
	}
	if in.Polygon != "" {
		ps, err := parsePolygon(in.Polygon)
		if err != nil {
			bad("polygon", err.ZH, err.EN)
		} else {
			a.Polygons = []string{formatPolygon(ps)}
		}
	}
	if in.Circle != "" {
		if _, _, _, err := parseCircle(in.Circle); err != nil {
			bad("circle", err.ZH, err.EN)
		} else {
			a.Circles = []string{strings.Join(strings.Fields(in.Circle), " ")}
		}
	}
	if len(fields) > 0 {
		return a, fault.Invalid(errCannotIssue, fields...)
	}
	a.SenderName = "邻里 " + p.Division
	return a, nil
}

// senderOf is the CAP sender of a division's warnings: no spaces or commas.
func senderOf(division string) string { return "linli." + division + "@zj.gov.cn" }

// Issue issues a new warning (msgType Alert): it is stored, its area's
// households and vulnerable residents are targeted, and the residents
// and helpers there are told.
func (s *Store) Issue(ctx context.Context, in AlertInput) (Alert, Targeted, error) {
	a, err := s.fromInput(ctx, in)
	if err != nil {
		return a, Targeted{}, err
	}
	a.MsgType = "Alert"
	return s.store(ctx, a, "")
}

// Update issues an Update of the incident of alert id, referencing every
// earlier message of it.
func (s *Store) Update(ctx context.Context, id string, in AlertInput) (Alert, Targeted, error) {
	prev, err := s.Get(ctx, id)
	if err != nil {
		return Alert{}, Targeted{}, err
	}
	if err := s.inForce(prev); err != nil {
		return Alert{}, Targeted{}, err
	}
	a, err := s.fromInput(ctx, in)
	if err != nil {
		return a, Targeted{}, err
	}
	a.MsgType = "Update"
	return s.store(ctx, a, prev.IncidentID)
}

// Cancel issues the Cancel of the incident of alert id: the checks close.
func (s *Store) Cancel(ctx context.Context, id string, in CancelInput) (Alert, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer {
		return Alert{}, fault.Forbidden(fault.M("只有乡镇（街道）、县级干部可以解除预警", "only township and county officers cancel warnings"))
	}
	prev, err := s.Get(ctx, id)
	if err != nil {
		return Alert{}, err
	}
	last, err := s.latest(ctx, s.DB.R, prev.IncidentID)
	if err != nil {
		return Alert{}, err
	}
	if err := s.inForce(last); err != nil {
		return Alert{}, err
	}
	sc := access.BusinessScope(p)
	for _, c := range last.Divisions {
		if !sc.Contains(c) {
			return Alert{}, fault.Forbidden(fault.M("预警区域超出您的辖区，请由上级解除", "the warning's area is wider than your jurisdiction; a higher level cancels it"))
		}
	}
	a := last
	a.MsgType = "Cancel"
	a.Headline = "解除：" + last.Headline
	if n := strings.TrimSpace(in.Note); n != "" {
		a.Description = n
	}
	a.Instruction = "预警已解除。 / The warning is cancelled."
	a.ResponseType = []string{"AllClear"}
	a.Urgency, a.Severity, a.Certainty = "Past", last.Severity, last.Certainty
	a.SenderName = "邻里 " + p.Division
	out, _, err := s.store(ctx, a, prev.IncidentID)
	return out, err
}

// Targeted is what issuing a warning reached.
type Targeted struct {
	Households int `json:"households"`
	Vulnerable int `json:"vulnerable"`
	Told       int `json:"residents_told"`
}

// store writes a message of an incident ("" for a new one), with its
// references to the incident's earlier messages, targets the area and
// tells who must know.
func (s *Store) store(ctx context.Context, a Alert, incident string) (Alert, Targeted, error) {
	p := access.From(ctx)
	now := s.Now()
	a.ID = db.NewID()
	a.Identifier = "LINLI-" + a.ID
	a.Sender = senderOf(p.Division)
	a.Sent = now.Truncate(time.Second)
	a.SentText = capTime(a.Sent)
	a.CreatedBy, a.CreatedAt, a.State = p.Username, now, StateActive
	if a.MsgType == "Cancel" {
		a.State = StateCancelled
	}
	var t Targeted
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if incident == "" {
			a.IncidentID = a.ID
		} else {
			a.IncidentID = incident
			// Each message of an incident is sent after the one before:
			// CAP's references and the message in force go by sent.
			var last db.Time
			if err := tx.QueryRowContext(ctx, `SELECT MAX(sent) FROM em_alerts WHERE incident_id = $1`, incident).Scan(&last); err != nil {
				return err
			}
			if !a.Sent.After(last.Time) {
				a.Sent = last.Time.Add(time.Second)
				a.SentText = capTime(a.Sent)
			}
			refs, err := db.Collect(ctx, tx, func(r db.Scanner) (string, error) {
				var ref Reference
				err := r.Scan(&ref.Sender, &ref.Identifier, &ref.Sent)
				return ref.String(), err
			}, `SELECT sender, identifier, sent_text FROM em_alerts WHERE incident_id = $1 ORDER BY sent, created_at`, incident)
			if err != nil {
				return err
			}
			a.References = strings.Join(refs, " ")
			state := StateSuperseded
			if a.MsgType == "Cancel" {
				state = StateCancelled
			}
			if _, err := tx.ExecContext(ctx, `UPDATE em_alerts SET state = $1 WHERE incident_id = $2`, state, incident); err != nil {
				return err
			}
		}
		if err := s.insertAlert(ctx, tx, a); err != nil {
			return err
		}
		if a.MsgType != "Cancel" {
			var err error
			if t, err = s.target(ctx, tx, a); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.alert." + strings.ToLower(a.MsgType), Object: "alert", ObjectID: a.ID, Division: p.Division,
			Detail: audit.Detail(map[string]any{"incident": a.IncidentID, "divisions": a.Divisions, "colour": a.Colour, "level": a.ResponseLevel, "status": a.Status,
				"households": t.Households, "vulnerable": t.Vulnerable})})
	})
	if err != nil {
		return a, t, err
	}
	s.freshStats(ctx, t)
	t.Told = s.tell(ctx, a)
	return a, t, nil
}

// bigTargeting is how many checks a warning writes before the store's
// statistics are brought up to date at once.
const bigTargeting = 10_000

// freshStats brings the statistics of em_checks up to date after a large
// targeting: it changes the table more than they know until autovacuum
// comes round, and the check-ins and the board that follow at once are
// planned with them.
func (s *Store) freshStats(ctx context.Context, t Targeted) {
	if t.Households+t.Vulnerable < bigTargeting {
		return
	}
	if err := db.Analyze(context.WithoutCancel(ctx), s.DB, "em_checks", "em_tally"); err != nil {
		s.log().Warn("emergency: analyze after targeting", "err", err.Error())
	}
}

func (s *Store) insertAlert(ctx context.Context, tx *sql.Tx, a Alert) error {
	first := ""
	if len(a.Divisions) > 0 {
		first = a.Divisions[0]
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO em_alerts (id, incident_id, identifier, sender, sent, sent_text, status, msg_type, scope, refs, division_code, language,
		category, event, response_type, urgency, severity, certainty, effective, onset, expires, sender_name, headline, description, instruction, colour, response_level,
		area_desc, polygons, circles, state, created_by, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30,$31,$32,$33)`,
		a.ID, a.IncidentID, a.Identifier, a.Sender, db.T(a.Sent), a.SentText, a.Status, a.MsgType, a.Scope, a.References, first, a.Language,
		strings.Join(a.Category, ","), a.Event, strings.Join(a.ResponseType, ","), a.Urgency, a.Severity, a.Certainty, db.T(a.Effective), db.T(a.Onset), db.T(a.Expires),
		a.SenderName, a.Headline, a.Description, a.Instruction, a.Colour, a.ResponseLevel, a.AreaDesc, strings.Join(a.Polygons, "\n"), strings.Join(a.Circles, "\n"),
		a.State, a.CreatedBy, db.T(a.CreatedAt))
	if err != nil {
		if db.IsUniqueViolation(err) {
			return fault.Conflict(fault.M("该 CAP 预警已导入过（identifier 相同）", "this CAP alert was imported before (same identifier)"))
		}
		return err
	}
	for _, c := range a.Divisions {
		if _, err := tx.ExecContext(ctx, `INSERT INTO em_alert_areas (alert_id, division_code) VALUES ($1, $2)`, a.ID, c); err != nil {
			return err
		}
	}
	return nil
}

// target writes a check for every household in the area and every
// vulnerable resident there, with the helper paired with them (else the
// grid's worker), in two INSERT … SELECT. An Update adds only what is new.
func (s *Store) target(ctx context.Context, tx *sql.Tx, a Alert) (Targeted, error) {
	var t Targeted
	now := db.T(s.Now())
	hc, hargs := areaCond("h.division_code", a.Divisions, 3)
	res, err := tx.ExecContext(ctx, `INSERT INTO em_checks (incident_id, kind, subject_id, household_id, division_code, grid_id, helper, status, people, created_at, updated_at)
		SELECT $1, 'household', h.id, h.id, h.division_code, COALESCE(h.grid_id, ''),
			COALESCE((SELECT MIN(w.username) FROM registry_grid_workers w WHERE w.grid_id = h.grid_id), ''), 'pending', 0, $2, $2
		FROM registry_households h WHERE `+hc+`
		ON CONFLICT (incident_id, kind, subject_id) DO NOTHING`, append([]any{a.IncidentID, now}, hargs...)...)
	if err != nil {
		return t, err
	}
	n, _ := res.RowsAffected()
	t.Households = int(n)
	today := s.today()
	born := s.Now().In(questions.CST).AddDate(-80, 0, 0).Format("2006-01-02")
	rc, rargs := areaCond("r.division_code", a.Divisions, 5)
	tc, targs := areaCond("g.division_code", a.Divisions, 5+len(rargs))
	tags := make([]string, len(VulnerableTags))
	for i, tg := range VulnerableTags {
		tags[i] = "'" + tg + "'" // fixed keys of the catalogue
	}
	args := append([]any{a.IncidentID, now, today, born}, rargs...)
	// The people are the union of the old by birth date and the tagged,
	// joined by key: "born before OR id IN (tagged)" made PostgreSQL test
	// each of a county's residents against an unhashed list of its
	// hundred thousand tags once its estimate outgrew work_mem.
	r0c, _ := areaCond("r0.division_code", a.Divisions, 5)
	res, err = tx.ExecContext(ctx, `INSERT INTO em_checks (incident_id, kind, subject_id, household_id, division_code, grid_id, helper, status, people, created_at, updated_at)
		SELECT $1, 'person', r.id, r.household_id, r.division_code, COALESCE(h.grid_id, ''),
			COALESCE((SELECT hp.helper FROM em_helpers hp WHERE hp.resident_id = r.id),
				(SELECT MIN(w.username) FROM registry_grid_workers w WHERE w.grid_id = h.grid_id), ''), 'pending', 1, $2, $2
		FROM (SELECT r0.id FROM registry_people r0 WHERE `+r0c+` AND r0.birth_date <> '' AND r0.birth_date <= $4
			UNION
			SELECT g.resident_id FROM registry_person_tags g WHERE g.tag IN (`+strings.Join(tags, ",")+`) AND `+tc+`
				AND g.active = TRUE AND (g.since_date = '' OR g.since_date <= $3) AND (g.until_date = '' OR g.until_date >= $3)) v
		JOIN registry_people r ON r.id = v.id JOIN registry_households h ON h.id = r.household_id
		WHERE `+rc+`
		ON CONFLICT (incident_id, kind, subject_id) DO NOTHING`, append(args, targs...)...)
	if err != nil {
		return t, err
	}
	n, _ = res.RowsAffected()
	t.Vulnerable = int(n)
	return t, retally(ctx, tx, a.IncidentID)
}

// tell sends the warning to every resident account of the area and to
// every helper with people to check; a replay tells nobody twice.
func (s *Store) tell(ctx context.Context, a Alert) int {
	if s.Notices == nil {
		return 0
	}
	rc, rargs := areaCond("r.division_code", a.Divisions, 1)
	type target struct{ id, kind string }
	var ts []target
	err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var t target
		t.kind = "resident"
		if err := r.Scan(&t.id); err != nil {
			return err
		}
		ts = append(ts, t)
		return nil
	}, `SELECT u.id FROM registry_people r JOIN users u ON u.username = r.username WHERE r.username <> '' AND `+rc, rargs...)
	if err == nil && a.MsgType != "Cancel" {
		err = db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
			var t target
			t.kind = "helper"
			if err := r.Scan(&t.id); err != nil {
				return err
			}
			ts = append(ts, t)
			return nil
		}, `SELECT u.id FROM users u WHERE u.username IN (SELECT DISTINCT c.helper FROM em_checks c WHERE c.incident_id = $1 AND c.kind = 'person' AND c.helper <> '')`, a.IncidentID)
	}
	if err != nil {
		s.log().Warn("emergency: who to tell", "alert", a.ID, "err", err.Error())
		return 0
	}
	told := 0
	for _, t := range ts {
		n := module.Notice{UserID: t.id, Kind: "emergency." + strings.ToLower(a.MsgType), Key: "emergency:" + a.ID + ":" + t.kind,
			Title: fault.M(a.ColourName().ZH+"："+a.Headline, a.ColourName().EN+": "+a.Headline),
			Body:  fault.M(a.Instruction, a.Instruction), Href: "/emergency/mine"}
		if t.kind == "helper" {
			n.Title = fault.M("请确认结对对象安全："+a.Headline, "Check on the people you are paired with: "+a.Headline)
			n.Href = "/work?kind=emergency.person"
		}
		if err := s.Notices.Notify(ctx, n); err != nil {
			s.log().Warn("emergency: notice not delivered", "alert", a.ID, "err", err.Error())
			continue
		}
		if t.kind == "resident" {
			told++
		}
	}
	return told
}

// CAP builds the CAP 1.2 document of an alert.
func (a Alert) CAP() CAPAlert {
	in := CAPInfo{Language: a.Language, Category: a.Category, Event: a.Event, ResponseType: a.ResponseType, Urgency: a.Urgency, Severity: a.Severity,
		Certainty: a.Certainty, Effective: capTime(a.Effective), Onset: capTime(a.Onset), Expires: capTime(a.Expires), SenderName: a.SenderName,
		Headline: a.Headline, Description: a.Description, Instruction: a.Instruction}
	if a.Colour != "" {
		in.Parameter = append(in.Parameter, CAPValue{paramColour, a.Colour})
	}
	if a.ResponseLevel != "" {
		in.Parameter = append(in.Parameter, CAPValue{paramResponse, a.ResponseLevel})
	}
	area := CAPArea{AreaDesc: a.AreaDesc, Polygon: a.Polygons, Circle: a.Circles}
	for _, c := range a.Divisions {
		area.Geocode = append(area.Geocode, CAPValue{geocodeNBS, c})
	}
	in.Area = []CAPArea{area}
	return CAPAlert{Identifier: a.Identifier, Sender: a.Sender, Sent: a.SentText, Status: a.Status, MsgType: a.MsgType, Scope: a.Scope,
		References: a.References, Info: []CAPInfo{in}}
}

// Import stores a CAP 1.2 document from another sender as a warning for
// the divisions its area names by geocode (NBS2023) within the officer's
// jurisdiction; an Update or Cancel must reference a known alert. Nothing
// is written when anything is wrong.
func (s *Store) Import(ctx context.Context, doc CAPAlert) (Alert, Targeted, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer {
		return Alert{}, Targeted{}, fault.Forbidden(fault.M("只有乡镇（街道）、县级干部可以导入预警", "only township and county officers import warnings"))
	}
	if err := doc.Check(); err != nil {
		return Alert{}, Targeted{}, err
	}
	if !contains([]string{"Alert", "Update", "Cancel"}, doc.MsgType) {
		return Alert{}, Targeted{}, capError("msgType", "只能导入 Alert、Update 或 Cancel", "only Alert, Update or Cancel can be imported")
	}
	if len(doc.Info) == 0 {
		return Alert{}, Targeted{}, capError("info", "导入的预警须有 info", "an imported alert needs an info")
	}
	in := doc.Info[0]
	sent, _ := parseCAPTime(doc.Sent)
	a := Alert{ID: db.NewID(), Identifier: doc.Identifier, Sender: doc.Sender, Sent: sent, SentText: doc.Sent, Status: doc.Status, MsgType: doc.MsgType,
		Scope: doc.Scope, References: doc.References, Language: in.Language, Category: in.Category, Event: in.Event, ResponseType: in.ResponseType,
		Urgency: in.Urgency, Severity: in.Severity, Certainty: in.Certainty, SenderName: in.SenderName, Headline: in.Headline, Description: in.Description,
		Instruction: in.Instruction, State: StateActive, CreatedBy: p.Username, CreatedAt: s.Now()}
	if a.Language == "" {
		a.Language = "en-US"
	}
	a.Effective, _ = parseCAPTime(in.Effective)
	a.Onset, _ = parseCAPTime(in.Onset)
	a.Expires, _ = parseCAPTime(in.Expires)
	for _, pm := range in.Parameter {
		switch pm.ValueName {
		case paramColour:
			a.Colour = pm.Value
		case paramResponse:
			a.ResponseLevel = pm.Value
		}
	}
	if a.Colour != "" && !contains([]string{"blue", "yellow", "orange", "red"}, a.Colour) {
		return a, Targeted{}, capError("info[1]/parameter", "colour 应为 blue、yellow、orange 或 red", "colour must be blue, yellow, orange or red")
	}
	if a.ResponseLevel != "" && !contains(responseLevels, a.ResponseLevel) {
		return a, Targeted{}, capError("info[1]/parameter", "responseLevel 应为 I、II、III 或 IV", "responseLevel must be I, II, III or IV")
	}
	sc := access.BusinessScope(p)
	var descs []string
	for _, ar := range in.Area {
		descs = append(descs, ar.AreaDesc)
		a.Polygons = append(a.Polygons, ar.Polygon...)
		a.Circles = append(a.Circles, ar.Circle...)
		for _, g := range ar.Geocode {
			if g.ValueName != geocodeNBS {
				continue
			}
			if _, err := s.Divs.Get(ctx, g.Value); err != nil || !sc.Contains(g.Value) {
				return a, Targeted{}, capError("info[1]/area/geocode", "区划 "+g.Value+" 不存在或不在您的辖区内", "division "+g.Value+" does not exist or is outside your jurisdiction")
			}
			if !contains(a.Divisions, g.Value) {
				a.Divisions = append(a.Divisions, g.Value)
			}
		}
	}
	if len(a.Divisions) == 0 {
		return a, Targeted{}, capError("info[1]/area/geocode", "须至少有一个 valueName 为 "+geocodeNBS+" 的区划代码", "needs at least one division code with valueName "+geocodeNBS)
	}
	a.AreaDesc = strings.Join(descs, "；")
	var t Targeted
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		a.IncidentID = a.ID
		if a.MsgType != "Alert" {
			refs, _ := ParseReferences(a.References)
			found := ""
			for _, r := range refs {
				var inc string
				err := tx.QueryRowContext(ctx, `SELECT incident_id FROM em_alerts WHERE sender = $1 AND identifier = $2`, r.Sender, r.Identifier).Scan(&inc)
				if err == nil {
					found = inc
					break
				}
				if err != sql.ErrNoRows {
					return err
				}
			}
			if found == "" {
				return capError("references", "引用的预警均未找到", "none of the referenced alerts is known")
			}
			a.IncidentID = found
			state := StateSuperseded
			if a.MsgType == "Cancel" {
				state, a.State = StateCancelled, StateCancelled
			}
			if _, err := tx.ExecContext(ctx, `UPDATE em_alerts SET state = $1 WHERE incident_id = $2`, state, found); err != nil {
				return err
			}
		}
		if err := s.insertAlert(ctx, tx, a); err != nil {
			return err
		}
		if a.MsgType != "Cancel" {
			var err error
			if t, err = s.target(ctx, tx, a); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.alert.import", Object: "alert", ObjectID: a.ID, Division: p.Division,
			Detail: audit.Detail(map[string]any{"identifier": a.Identifier, "sender": a.Sender, "msg_type": a.MsgType, "divisions": a.Divisions})})
	})
	if err != nil {
		return a, t, err
	}
	s.freshStats(ctx, t)
	t.Told = s.tell(ctx, a)
	return a, t, nil
}

var _ = fmt.Sprint
