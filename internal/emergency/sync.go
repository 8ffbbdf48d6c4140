package emergency

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Degraded operation (平战一体 without the network): a township's laptop
// runs an incident alone on SQLite, then its records move to the county's
// store as one file of JSON lines. Every record carries the key that makes
// the merge idempotent: an alert its CAP identifier, a check its
// (incident, kind, subject), a status event its own id. The same file
// twice, or two overlapping files, change nothing the second time; where
// both sides moved a check, the later move wins and both events stay.

// SyncFormat and SyncVersion name the file's format in its first line.
const (
	SyncFormat  = "linli-emergency-sync"
	SyncVersion = 1
	// MediaSync is the file's media type.
	MediaSync = "application/x-ndjson"
	// syncMaxBytes bounds an uploaded file: a county's incident with tens
	// of thousands of households and their events fits many times over.
	syncMaxBytes = 64 << 20
)

// SyncHeader is the file's first line.
type SyncHeader struct {
	Type       string    `json:"type"` // header
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	IncidentID string    `json:"incident_id"`
	Division   string    `json:"division"` // the exporter's jurisdiction: the checks within it
	ExportedBy string    `json:"exported_by"`
	ExportedAt time.Time `json:"exported_at"`
}

// SyncAlert is one CAP message of the incident, as stored.
type SyncAlert struct {
	Type string `json:"type"` // alert
	Alert
}

// SyncCheck is one household's or vulnerable resident's check with the
// status it has, who set it and when.
type SyncCheck struct {
	Type        string    `json:"type"` // check
	Kind        string    `json:"kind"`
	SubjectID   string    `json:"subject_id"`
	HouseholdID string    `json:"household_id"`
	Division    string    `json:"division"`
	GridID      string    `json:"grid_id"`
	Helper      string    `json:"helper"`
	Status      string    `json:"status"`
	ShelterID   string    `json:"shelter_id"`
	People      int       `json:"people"`
	Note        string    `json:"note"`
	UpdatedBy   string    `json:"updated_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// SyncEvent is one status move of a check (the timeline).
type SyncEvent struct {
	Type      string    `json:"type"` // event
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	SubjectID string    `json:"subject_id"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	ShelterID string    `json:"shelter_id"`
	Note      string    `json:"note"`
	By        string    `json:"by"`
	Role      string    `json:"role"`
	At        time.Time `json:"at"`
}

// SyncEnd is the file's last line: how many lines come before it and the
// SHA-256 of those lines' bytes, each with its newline.
type SyncEnd struct {
	Type   string `json:"type"` // end
	Lines  int    `json:"lines"`
	SHA256 string `json:"sha256"`
}

// Export is an incident's records as a file.
type Export struct {
	Name   string // a file name
	SHA256 string
	Body   []byte
}

// ExportIncident writes the records of the incident of alert id within
// the officer's jurisdiction: its alerts, its checks with their status,
// and every status event (the shelter moves among them).
func (s *Store) ExportIncident(ctx context.Context, id string) (Export, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer {
		return Export{}, fault.Forbidden(fault.M("只有乡镇（街道）、县级干部可以导出事件记录", "only township and county officers export an incident's records"))
	}
	a, err := s.Get(ctx, id)
	if err != nil {
		return Export{}, err
	}
	inc := a.IncidentID
	sc := access.BusinessScope(p)
	var buf bytes.Buffer
	lines := 0
	put := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		buf.Write(b)
		buf.WriteByte('\n')
		lines++
		return nil
	}
	now := s.Now().UTC().Truncate(time.Second)
	if err := put(SyncHeader{Type: "header", Format: SyncFormat, Version: SyncVersion, IncidentID: inc, Division: p.Division, ExportedBy: p.Username, ExportedAt: now}); err != nil {
		return Export{}, err
	}
	// One read transaction: the lines are one moment's records.
	tx, err := s.DB.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Export{}, err
	}
	defer tx.Rollback()
	as, err := db.Collect(ctx, tx, scanAlert, `SELECT `+alertCols+` FROM em_alerts x WHERE x.incident_id = $1 ORDER BY x.sent, x.created_at, x.id`, inc)
	if err != nil {
		return Export{}, err
	}
	for i := range as {
		if err := s.areas(ctx, tx, &as[i]); err != nil {
			return Export{}, err
		}
		if err := put(SyncAlert{Type: "alert", Alert: as[i]}); err != nil {
			return Export{}, err
		}
	}
	var checks, events int
	err = db.EachRow(ctx, tx, func(r db.Scanner) error {
		c := SyncCheck{Type: "check"}
		var created, updated db.Time
		if err := r.Scan(&c.Kind, &c.SubjectID, &c.HouseholdID, &c.Division, &c.GridID, &c.Helper, &c.Status, &c.ShelterID, &c.People, &c.Note, &c.UpdatedBy, &created, &updated); err != nil {
			return err
		}
		c.CreatedAt, c.UpdatedAt = created.Time, updated.Time
		checks++
		return put(c)
	}, `SELECT kind, subject_id, household_id, division_code, grid_id, helper, status, shelter_id, people, note, updated_by, created_at, updated_at
		FROM em_checks WHERE incident_id = $1 AND division_code >= $2 AND division_code < $3 ORDER BY kind, subject_id`, inc, sc.Lo, sc.Hi)
	if err != nil {
		return Export{}, err
	}
	err = db.EachRow(ctx, tx, func(r db.Scanner) error {
		e := SyncEvent{Type: "event"}
		var at db.Time
		if err := r.Scan(&e.ID, &e.Kind, &e.SubjectID, &e.From, &e.To, &e.ShelterID, &e.Note, &e.By, &e.Role, &at); err != nil {
			return err
		}
		e.At = at.Time
		events++
		return put(e)
	}, `SELECT e.id, c.kind, c.subject_id, e.from_status, e.to_status, e.shelter_id, e.note, e.by_user, e.by_role, e.at
		FROM em_check_events e JOIN em_checks c ON c.id = e.check_id
		WHERE e.incident_id = $1 AND c.division_code >= $2 AND c.division_code < $3 ORDER BY e.at, e.id`, inc, sc.Lo, sc.Hi)
	if err != nil {
		return Export{}, err
	}
	sum := sha256.Sum256(buf.Bytes())
	x := Export{Name: "linli-emergency-" + inc + "-" + now.Format("20060102T150405Z") + ".jsonl", SHA256: hex.EncodeToString(sum[:])}
	if err := put(SyncEnd{Type: "end", Lines: lines, SHA256: x.SHA256}); err != nil {
		return Export{}, err
	}
	x.Body = buf.Bytes()
	err = s.Audit.Record(ctx, audit.Entry{Action: "emergency.sync.export", Object: "incident", ObjectID: inc, Division: p.Division,
		Detail: audit.Detail(map[string]any{"sha256": x.SHA256, "alerts": len(as), "checks": checks, "events": events})})
	return x, err
}

// SyncResult is what an import changed: all zero for a file merged before.
type SyncResult struct {
	IncidentID    string `json:"incident_id"`
	SHA256        string `json:"sha256"`
	Lines         int    `json:"lines"`
	AlertsAdded   int    `json:"alerts_added"`
	ChecksAdded   int    `json:"checks_added"`
	ChecksUpdated int    `json:"checks_updated"` // the file's move was the later one
	EventsAdded   int    `json:"events_added"`
}

// Unchanged tells whether the import changed nothing.
func (r SyncResult) Unchanged() bool {
	return r.AlertsAdded+r.ChecksAdded+r.ChecksUpdated+r.EventsAdded == 0
}

// syncFile is a read and checked file.
type syncFile struct {
	header SyncHeader
	alerts []SyncAlert
	checks []SyncCheck
	events []SyncEvent
	lineOf map[string]int // a record's line by its key, for the checks against the store
	sha    string
	lines  int
}

var (
	hexID      = regexp.MustCompile(`^[0-9a-f]{32}$`)
	maxProblem = 50
)

// problems gathers a file's faults, each naming its line and field.
type problems []fault.FieldError

func (ps *problems) add(line int, field, zh, en string) {
	if len(*ps) >= maxProblem {
		return
	}
	fe := fault.Field(field, fault.M("第 "+itoa(line)+" 行 "+field+"："+zh, "line "+itoa(line)+", "+field+": "+en))
	fe.Row = line
	*ps = append(*ps, fe)
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	first := ps[0]
	return fault.Invalid(fault.M("无法导入，未写入任何数据："+first.Message, "nothing was imported: "+first.MessageEN), ps...)
}

// decodeLine reads one line strictly: no field the format does not have.
func decodeLine(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// readSync reads the whole file and checks its form: the header's format
// and version, the hash of the end line, then every line's fields.
func readSync(r io.Reader) (*syncFile, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var raw [][]byte
	for sc.Scan() {
		raw = append(raw, slices.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, problemsOf(len(raw)+1, "line", "一行超过 4 MB", "a line is longer than 4 MB")
		}
		return nil, fault.Invalid(fault.M("无法读取文件", "cannot read the file"), fault.Field("file", fault.M("读取失败或超过 64 MB", "could not be read, or is over 64 MB")))
	}
	for len(raw) > 0 && len(bytes.TrimSpace(raw[len(raw)-1])) == 0 {
		raw = raw[:len(raw)-1]
	}
	if len(raw) < 2 {
		return nil, problemsOf(1, "header", "文件为空或不完整，须有首行 header 和末行 end", "the file is empty or incomplete: it needs a header line and an end line")
	}
	f := &syncFile{lineOf: map[string]int{}}
	var typ struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw[0], &typ) != nil || typ.Type != "header" {
		return nil, problemsOf(1, "type", "首行须为 header", "the first line must be the header")
	}
	if err := decodeLine(raw[0], &f.header); err != nil {
		return nil, problemsOf(1, "header", "无法读取："+err.Error(), "cannot be read: "+err.Error())
	}
	if f.header.Format != SyncFormat {
		return nil, problemsOf(1, "format", "应为 "+SyncFormat, "must be "+SyncFormat)
	}
	if f.header.Version != SyncVersion {
		return nil, problemsOf(1, "version", "不支持的格式版本 "+itoa(f.header.Version)+"（本系统读取版本 "+itoa(SyncVersion)+"）",
			"format version "+itoa(f.header.Version)+" is not supported (this system reads version "+itoa(SyncVersion)+")")
	}
	last := len(raw)
	var end SyncEnd
	if json.Unmarshal(raw[last-1], &typ) != nil || typ.Type != "end" || decodeLine(raw[last-1], &end) != nil {
		return nil, problemsOf(last, "type", "末行须为 end（行数和 SHA-256），文件可能不完整", "the last line must be the end line (count and SHA-256); the file may be truncated")
	}
	h := sha256.New()
	for _, b := range raw[:last-1] {
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	f.sha = hex.EncodeToString(h.Sum(nil))
	if end.Lines != last-1 {
		return nil, problemsOf(last, "lines", "应为 "+itoa(last-1)+"，文件缺行或多行", "must be "+itoa(last-1)+": lines are missing or added")
	}
	if !strings.EqualFold(end.SHA256, f.sha) {
		return nil, problemsOf(last, "sha256", "与文件内容不符，文件被改动或损坏", "does not match the content: the file was changed or damaged")
	}
	f.lines = last
	var ps problems
	seenAlert, seenCheck, seenEvent := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, b := range raw[1 : last-1] {
		n := i + 2
		typ.Type = ""
		if json.Unmarshal(b, &typ) != nil {
			ps.add(n, "type", "不是 JSON 对象", "is not a JSON object")
			continue
		}
		switch typ.Type {
		case "alert":
			var a SyncAlert
			if err := decodeLine(b, &a); err != nil {
				ps.add(n, "alert", "无法读取："+err.Error(), "cannot be read: "+err.Error())
				continue
			}
			checkAlertLine(&ps, n, f.header.IncidentID, a)
			if seenAlert[a.Identifier] {
				ps.add(n, "identifier", "重复", "is repeated")
			}
			seenAlert[a.Identifier] = true
			f.alerts = append(f.alerts, a)
			f.lineOf["alert:"+a.Identifier] = n
		case "check":
			var c SyncCheck
			if err := decodeLine(b, &c); err != nil {
				ps.add(n, "check", "无法读取："+err.Error(), "cannot be read: "+err.Error())
				continue
			}
			checkCheckLine(&ps, n, c)
			key := c.Kind + "/" + c.SubjectID
			if seenCheck[key] {
				ps.add(n, "subject_id", "同一对象重复出现", "the same subject is repeated")
			}
			seenCheck[key] = true
			f.lineOf["check:"+key] = n
			f.checks = append(f.checks, c)
		case "event":
			var e SyncEvent
			if err := decodeLine(b, &e); err != nil {
				ps.add(n, "event", "无法读取："+err.Error(), "cannot be read: "+err.Error())
				continue
			}
			checkEventLine(&ps, n, e)
			if seenEvent[e.ID] {
				ps.add(n, "id", "重复", "is repeated")
			}
			seenEvent[e.ID] = true
			f.lineOf["event:"+e.ID] = n
			f.events = append(f.events, e)
		default:
			ps.add(n, "type", "应为 alert、check 或 event", "must be alert, check or event")
		}
	}
	if !hexID.MatchString(f.header.IncidentID) {
		ps.add(1, "incident_id", "不是有效的事件编号", "is not an incident id")
	}
	if len(f.alerts) == 0 {
		ps.add(1, "incident_id", "文件中没有该事件的预警", "the file has none of the incident's alerts")
	}
	for _, e := range f.events {
		if !seenCheck[e.Kind+"/"+e.SubjectID] {
			ps.add(f.lineOf["event:"+e.ID], "subject_id", "文件中没有该对象的报平安记录", "no check of this subject is in the file")
		}
	}
	return f, ps.err()
}

func problemsOf(line int, field, zh, en string) error {
	var ps problems
	ps.add(line, field, zh, en)
	return ps.err()
}

var allStatuses = []string{StatusPending, StatusSafe, StatusNeedsHelp, StatusUnreachable, StatusEvacuated}

func checkAlertLine(ps *problems, n int, incident string, a SyncAlert) {
	if !hexID.MatchString(a.ID) {
		ps.add(n, "id", "不是有效的预警编号", "is not an alert id")
	}
	if a.IncidentID != incident {
		ps.add(n, "incident_id", "与首行的事件不同", "differs from the header's incident")
	}
	if a.Sent.IsZero() || a.CreatedAt.IsZero() {
		ps.add(n, "sent", "缺少发送时间", "is missing")
	}
	if !contains([]string{"Alert", "Update", "Cancel"}, a.MsgType) {
		ps.add(n, "msg_type", "应为 Alert、Update 或 Cancel", "must be Alert, Update or Cancel")
	}
	if !contains([]string{StateActive, StateSuperseded, StateCancelled, StateExpired}, a.State) {
		ps.add(n, "state", "应为 active、superseded、cancelled 或 expired", "must be active, superseded, cancelled or expired")
	}
	if len(a.Divisions) == 0 {
		ps.add(n, "divisions", "预警须有区域", "an alert needs its area")
	}
	if a.Colour != "" && !contains([]string{"blue", "yellow", "orange", "red"}, a.Colour) {
		ps.add(n, "colour", "应为 blue、yellow、orange 或 red", "must be blue, yellow, orange or red")
	}
	if a.ResponseLevel != "" && !contains(responseLevels, a.ResponseLevel) {
		ps.add(n, "response_level", "应为 I、II、III 或 IV", "must be I, II, III or IV")
	}
	// The message must be a valid CAP 1.2 document, as it is published.
	doc := a.CAP()
	doc.XMLName.Space, doc.XMLName.Local = CAPNamespace, "alert"
	if err := doc.Check(); err != nil {
		if we, ok := fault.As(err); ok && len(we.Fields) > 0 {
			ps.add(n, "cap/"+we.Fields[0].Field, we.Fields[0].Message, we.Fields[0].MessageEN)
		} else {
			ps.add(n, "cap", err.Error(), err.Error())
		}
	}
}

func checkCheckLine(ps *problems, n int, c SyncCheck) {
	if c.Kind != KindHousehold && c.Kind != KindPerson {
		ps.add(n, "kind", "应为 household 或 person", "must be household or person")
	}
	if c.SubjectID == "" {
		ps.add(n, "subject_id", "不能为空", "is empty")
	}
	if c.HouseholdID == "" {
		ps.add(n, "household_id", "不能为空", "is empty")
	}
	if c.Kind == KindHousehold && c.SubjectID != c.HouseholdID {
		ps.add(n, "subject_id", "住户的报平安对象应为该户", "a household's check is of the household")
	}
	if c.Division == "" {
		ps.add(n, "division", "不能为空", "is empty")
	}
	if !contains(allStatuses, c.Status) {
		ps.add(n, "status", "应为 pending、safe、needs_help、unreachable 或 evacuated", "must be pending, safe, needs_help, unreachable or evacuated")
	}
	if c.Status == StatusEvacuated && c.ShelterID == "" {
		ps.add(n, "shelter_id", "已转移须注明避难场所", "an evacuation names its shelter")
	}
	if c.People < 0 {
		ps.add(n, "people", "不能为负", "cannot be negative")
	}
	if c.CreatedAt.IsZero() || c.UpdatedAt.IsZero() {
		ps.add(n, "updated_at", "缺少时间", "is missing")
	}
	if len([]rune(c.Note)) > 500 {
		ps.add(n, "note", "不超过 500 字", "is at most 500 characters")
	}
}

func checkEventLine(ps *problems, n int, e SyncEvent) {
	if !hexID.MatchString(e.ID) {
		ps.add(n, "id", "不是有效的事件记录编号", "is not an event id")
	}
	if e.Kind != KindHousehold && e.Kind != KindPerson {
		ps.add(n, "kind", "应为 household 或 person", "must be household or person")
	}
	if !contains(allStatuses, e.From) {
		ps.add(n, "from", "不是已知状态", "is not a known status")
	}
	if !contains(reportStatuses, e.To) {
		ps.add(n, "to", "应为 safe、needs_help、unreachable 或 evacuated", "must be safe, needs_help, unreachable or evacuated")
	}
	if e.To == StatusEvacuated && e.ShelterID == "" {
		ps.add(n, "shelter_id", "已转移须注明避难场所", "an evacuation names its shelter")
	}
	if e.By == "" {
		ps.add(n, "by", "须注明登记人", "names who recorded it")
	}
	if e.At.IsZero() {
		ps.add(n, "at", "缺少时间", "is missing")
	}
	if len([]rune(e.Note)) > 500 {
		ps.add(n, "note", "不超过 500 字", "is at most 500 characters")
	}
}

// checkAgainstStore checks what the file names against this instance: the
// officer's jurisdiction, the registry's households, residents and
// shelters, and the alerts already here.
func (s *Store) checkAgainstStore(ctx context.Context, f *syncFile, sc access.Scope) error {
	var ps problems
	for _, a := range f.alerts {
		n := f.lineOf["alert:"+a.Identifier]
		var inc string
		err := s.DB.R.QueryRowContext(ctx, `SELECT incident_id FROM em_alerts WHERE identifier = $1`, a.Identifier).Scan(&inc)
		if err == nil {
			if inc != a.IncidentID {
				ps.add(n, "identifier", "本系统中该预警属于另一事件 "+inc, "this alert belongs to another incident here ("+inc+")")
			}
			continue // known here: its area was checked when it came
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		for _, c := range a.Divisions {
			if _, err := s.Divs.Get(ctx, c); err != nil {
				ps.add(n, "divisions", "区划 "+c+" 不存在", "division "+c+" does not exist")
			} else if !sc.Contains(c) {
				ps.add(n, "divisions", "区划 "+c+" 不在您的辖区内", "division "+c+" is outside your jurisdiction")
			}
		}
	}
	var hhs, people, shelters []string
	for _, c := range f.checks {
		n := f.lineOf["check:"+c.Kind+"/"+c.SubjectID]
		if !sc.Contains(c.Division) {
			ps.add(n, "division", "区划 "+c.Division+" 不在您的辖区内", "division "+c.Division+" is outside your jurisdiction")
		}
		hhs = append(hhs, c.HouseholdID)
		if c.Kind == KindPerson {
			people = append(people, c.SubjectID)
		}
		if c.ShelterID != "" {
			shelters = append(shelters, c.ShelterID)
		}
	}
	for _, e := range f.events {
		if e.ShelterID != "" {
			shelters = append(shelters, e.ShelterID)
		}
	}
	knownHH, err := s.known(ctx, `SELECT id FROM registry_households WHERE id IN `, hhs)
	if err != nil {
		return err
	}
	knownPeople, err := s.known(ctx, `SELECT id FROM registry_people WHERE id IN `, people)
	if err != nil {
		return err
	}
	knownShelters, err := s.known(ctx, `SELECT id FROM registry_facility_cards WHERE category = '`+ShelterCategory+`' AND id IN `, shelters)
	if err != nil {
		return err
	}
	for _, c := range f.checks {
		n := f.lineOf["check:"+c.Kind+"/"+c.SubjectID]
		if !knownHH[c.HouseholdID] {
			ps.add(n, "household_id", "登记库中没有住户 "+c.HouseholdID, "the registry has no household "+c.HouseholdID)
		}
		if c.Kind == KindPerson && !knownPeople[c.SubjectID] {
			ps.add(n, "subject_id", "登记库中没有居民 "+c.SubjectID, "the registry has no resident "+c.SubjectID)
		}
		if c.ShelterID != "" && !knownShelters[c.ShelterID] {
			ps.add(n, "shelter_id", "登记库中没有应急避难场所 "+c.ShelterID, "the registry has no emergency shelter "+c.ShelterID)
		}
	}
	for _, e := range f.events {
		if e.ShelterID != "" && !knownShelters[e.ShelterID] {
			ps.add(f.lineOf["event:"+e.ID], "shelter_id", "登记库中没有应急避难场所 "+e.ShelterID, "the registry has no emergency shelter "+e.ShelterID)
		}
	}
	return ps.err()
}

// known is the subset of ids that query (ending "IN ") finds, asked in
// batches.
func (s *Store) known(ctx context.Context, query string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		got, err := db.StringSet(ctx, s.DB.R, query+s.DB.Values(0, n), args...)
		if err != nil {
			return nil, err
		}
		for id := range got {
			out[id] = true
		}
		ids = ids[n:]
	}
	return out, nil
}

// ImportIncident merges a file of ExportIncident into this instance: the
// whole file is checked first, then merged in one transaction.
func (s *Store) ImportIncident(ctx context.Context, r io.Reader) (SyncResult, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Officer {
		return SyncResult{}, fault.Forbidden(fault.M("只有乡镇（街道）、县级干部可以导入事件记录", "only township and county officers import an incident's records"))
	}
	f, err := readSync(io.LimitReader(r, syncMaxBytes+1))
	if err != nil {
		return SyncResult{}, err
	}
	sc := access.BusinessScope(p)
	if err := s.checkAgainstStore(ctx, f, sc); err != nil {
		return SyncResult{}, err
	}
	res := SyncResult{IncidentID: f.header.IncidentID, SHA256: f.sha, Lines: f.lines}
	inc := f.header.IncidentID
	sort.SliceStable(f.alerts, func(i, j int) bool { return f.alerts[i].Sent.Before(f.alerts[j].Sent) })
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res.AlertsAdded, res.ChecksAdded, res.ChecksUpdated, res.EventsAdded = 0, 0, 0, 0
		if s.DB.Dialect == db.Postgres {
			// Two imports of one incident at once take turns.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "emergency.sync:"+inc); err != nil {
				return err
			}
		}
		for _, a := range f.alerts {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM em_alerts WHERE identifier = $1`, a.Identifier).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			if err := s.insertAlert(ctx, tx, a.Alert); err != nil {
				return err
			}
			res.AlertsAdded++
		}
		if res.AlertsAdded > 0 {
			if err := restate(ctx, tx, inc); err != nil {
				return err
			}
		}
		type local struct {
			id      int64
			updated time.Time
		}
		have := map[string]local{}
		err := db.EachRow(ctx, tx, func(r db.Scanner) error {
			var kind, subject string
			var l local
			var at db.Time
			if err := r.Scan(&l.id, &kind, &subject, &at); err != nil {
				return err
			}
			l.updated = at.Time
			have[kind+"/"+subject] = l
			return nil
		}, `SELECT id, kind, subject_id, updated_at FROM em_checks WHERE incident_id = $1`, inc)
		if err != nil {
			return err
		}
		for _, c := range f.checks {
			key := c.Kind + "/" + c.SubjectID
			l, ok := have[key]
			switch {
			case !ok:
				if err := tx.QueryRowContext(ctx, `INSERT INTO em_checks (incident_id, kind, subject_id, household_id, division_code, grid_id, helper, status, shelter_id, people, note, updated_by, created_at, updated_at)
					VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) RETURNING id`,
					inc, c.Kind, c.SubjectID, c.HouseholdID, c.Division, c.GridID, c.Helper, c.Status, c.ShelterID, c.People, c.Note, c.UpdatedBy,
					db.T(c.CreatedAt), db.T(c.UpdatedAt)).Scan(&l.id); err != nil {
					return err
				}
				have[key] = l
				res.ChecksAdded++
			case db.T(c.UpdatedAt).After(l.updated):
				// The file's last move is later than this one's: it wins.
				r, err := tx.ExecContext(ctx, `UPDATE em_checks SET status = $1, shelter_id = $2, people = $3, note = $4, updated_by = $5, updated_at = $6
					WHERE id = $7 AND NOT (status = $1 AND shelter_id = $2 AND people = $3 AND note = $4 AND updated_by = $5)`,
					c.Status, c.ShelterID, c.People, c.Note, c.UpdatedBy, db.T(c.UpdatedAt), l.id)
				if err != nil {
					return err
				}
				if n, _ := r.RowsAffected(); n > 0 {
					res.ChecksUpdated++
				}
			}
		}
		events, err := db.StringSet(ctx, tx, `SELECT id FROM em_check_events WHERE incident_id = $1`, inc)
		if err != nil {
			return err
		}
		for _, e := range f.events {
			if events[e.ID] {
				continue
			}
			r, err := tx.ExecContext(ctx, `INSERT INTO em_check_events (id, check_id, incident_id, from_status, to_status, shelter_id, note, by_user, by_role, at)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (id) DO NOTHING`,
				e.ID, have[e.Kind+"/"+e.SubjectID].id, inc, e.From, e.To, e.ShelterID, e.Note, e.By, e.Role, db.T(e.At))
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n == 0 {
				return fault.Conflict(fault.M("第 "+itoa(f.lineOf["event:"+e.ID])+" 行 id：该记录编号已属于另一事件", "line "+itoa(f.lineOf["event:"+e.ID])+", id: this event id belongs to another incident"))
			}
			res.EventsAdded++
		}
		if res.ChecksAdded+res.ChecksUpdated > 0 {
			if err := retally(ctx, tx, inc); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.sync.import", Object: "incident", ObjectID: inc, Division: p.Division,
			Detail: audit.Detail(map[string]any{"sha256": f.sha, "from": f.header.ExportedBy, "exported_at": f.header.ExportedAt, "alerts_added": res.AlertsAdded,
				"checks_added": res.ChecksAdded, "checks_updated": res.ChecksUpdated, "events_added": res.EventsAdded})})
	})
	if err != nil {
		return SyncResult{}, err
	}
	return res, nil
}

// restate sets the states of an incident's messages after new ones came:
// with a Cancel all are cancelled, else the newest is active.
func restate(ctx context.Context, tx *sql.Tx, incident string) error {
	var cancels int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM em_alerts WHERE incident_id = $1 AND msg_type = 'Cancel'`, incident).Scan(&cancels); err != nil {
		return err
	}
	if cancels > 0 {
		_, err := tx.ExecContext(ctx, `UPDATE em_alerts SET state = $1 WHERE incident_id = $2`, StateCancelled, incident)
		return err
	}
	var newest string
	if err := tx.QueryRowContext(ctx, `SELECT id FROM em_alerts WHERE incident_id = $1 ORDER BY sent DESC, created_at DESC LIMIT 1`, incident).Scan(&newest); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE em_alerts SET state = CASE WHEN id = $1 THEN $2 ELSE $3 END WHERE incident_id = $4`, newest, StateActive, StateSuperseded, incident)
	return err
}

// String is the result in words.
func (r SyncResult) String() string {
	return fmt.Sprintf("alerts +%d, checks +%d, checks updated %d, events +%d", r.AlertsAdded, r.ChecksAdded, r.ChecksUpdated, r.EventsAdded)
}
