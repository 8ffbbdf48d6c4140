package requests

// Submission: what a reporter or a worker sends, its checks, the group
// commit that writes it with its first event and audit entry, and photos.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/sealedphoto"
	"linli/internal/thumb"
)

// NewRequest is what a reporter submits.
type NewRequest struct {
	Category    string            `json:"category"`
	Description string            `json:"description"`
	Division    string            `json:"division_code,omitempty"`
	Lon         *float64          `json:"lon,omitempty"`
	Lat         *float64          `json:"lat,omitempty"`
	Address     string            `json:"address,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	Channel     string            `json:"channel,omitempty"` // for workers: hotline, walkin
	Name        string            `json:"name,omitempty"`
	Phone       string            `json:"phone,omitempty"`
	Email       string            `json:"email,omitempty"`
	MediaURL    string            `json:"media_url,omitempty"` // a link to a photo or video of the place
	// Ref is what a worker raised the request from on a resident's behalf:
	// visit:<id>, a care visit; topic:<id>, a deliberation topic referred
	// to 民呼我为.
	Ref string `json:"ref,omitempty"`

	MultiAttrs map[string][]string `json:"-"` // form input (Open311, pages)
	Photo      *Photo              `json:"-"`
	SourceKey  string              `json:"-"` // Open311 key id
	KeyScope   string              `json:"-"` // Open311 key division
}

// Photo is an uploaded image.
type Photo struct {
	ContentType string
	Data        []byte
}

// refRE is the form of a request's source link.
var refRE = regexp.MustCompile(`^(visit:[1-9][0-9]{0,17}|topic:[0-9a-z-]{1,40})$`)

// MaxPhoto is the largest accepted photo.
const MaxPhoto = 5 << 20

// MaxDescription is the longest description in characters.
const MaxDescription = 4000

// Zhejiang's bounding box (WGS-84), generous by a few kilometres.
const (
	minLon, maxLon = 118.0, 123.3
	minLat, maxLat = 26.9, 31.3
)

// Channels of intake.
var workerChannels = map[string]bool{"hotline": true, "walkin": true}

// Create validates and stores a new request, numbering it and computing its
// deadlines in the same transaction.
func (s *Store) Create(ctx context.Context, in NewRequest) (Request, error) {
	j, err := s.newCreate(ctx, in)
	if err != nil {
		return Request{}, err
	}
	if err := s.commitCreate(ctx, j); err != nil {
		return Request{}, err
	}
	return j.created(ctx), nil
}

// createTx validates and writes a new request inside tx, which a bulk load
// (the demo) shares among many.
func (s *Store) createTx(ctx context.Context, tx *sql.Tx, in NewRequest) (Request, error) {
	j, err := s.newCreate(ctx, in)
	if err != nil {
		return Request{}, err
	}
	if err := s.writeCreates(tx, []*createJob{j}); err != nil {
		return Request{}, err
	}
	if err := s.auditCreate(tx, j); err != nil {
		return Request{}, err
	}
	return j.created(ctx), nil
}

// created is the written request as its submitter sees it: their own
// text unmasked.
func (j *createJob) created(ctx context.Context) Request {
	r := *j.r
	if ownRequest(ctx, r) {
		r.Description, r.Address = j.description, j.address
	}
	return r
}

// newCreate checks a submission and makes the job that writes it.
func (s *Store) newCreate(ctx context.Context, in NewRequest) (*createJob, error) {
	p := access.From(ctx)
	var errs []fault.FieldError
	cat, err := s.Category(ctx, strings.TrimSpace(in.Category))
	if fault.Is(err, fault.CodeNotFound) {
		errs = append(errs, fault.Field("category", fault.M("未知的服务类别", "unknown service category")))
	} else if err != nil {
		return nil, err
	}
	desc := strings.TrimSpace(in.Description)
	switch n := utf8.RuneCountInString(desc); {
	case !utf8.ValidString(desc):
		errs = append(errs, fault.Field("description", fault.M("描述含无效字符", "description holds invalid characters")))
	case n == 0 && in.KeyScope == "": // GeoReport makes the description optional
		errs = append(errs, fault.Field("description", fault.M("请描述诉求", "please describe the request")))
	case n > MaxDescription:
		errs = append(errs, fault.Field("description", fault.M(fmt.Sprintf("描述不能超过 %d 字（现有 %d 字）", MaxDescription, n), fmt.Sprintf("description must be at most %d characters (it has %d)", MaxDescription, n))))
	}
	if (in.Lon == nil) != (in.Lat == nil) {
		errs = append(errs, fault.Field("lat", fault.M("经纬度须同时提供", "give both longitude and latitude")))
	} else if in.Lon != nil && (math.IsNaN(*in.Lon) || math.IsNaN(*in.Lat) || *in.Lon < minLon || *in.Lon > maxLon || *in.Lat < minLat || *in.Lat > maxLat) {
		errs = append(errs, fault.Field("lat", fault.M("位置不在浙江省范围内", "the location is outside Zhejiang")))
	}
	if utf8.RuneCountInString(in.Address) > 200 {
		errs = append(errs, fault.Field("address", fault.M("地址不能超过 200 字", "address must be at most 200 characters")))
	}
	in.MediaURL = strings.TrimSpace(in.MediaURL)
	if in.MediaURL != "" && !mediaURL(in.MediaURL) {
		errs = append(errs, fault.Field("media_url", fault.M("须为 http(s):// 开头、不超过 1000 字符的网址", "must be an http(s):// URL of at most 1000 characters")))
	}
	if len(in.Name) > 100 || len(in.Phone) > 30 || len(in.Email) > 200 {
		errs = append(errs, fault.Field("phone", fault.M("联系方式过长", "contact details too long")))
	}
	if in.Photo != nil {
		if len(in.Photo.Data) > MaxPhoto {
			errs = append(errs, fault.Field("photo", fault.M("照片不能超过 5 MB", "the photo must be at most 5 MB")))
		} else if ct := sniffImage(in.Photo.Data); ct == "" {
			errs = append(errs, fault.Field("photo", fault.M("只接受 JPEG、PNG 或 WebP 图片", "only JPEG, PNG or WebP images are accepted")))
		} else {
			in.Photo.ContentType = ct
		}
	}
	// Location: the community chosen, else the reporter's own unit.
	div := strings.TrimSpace(in.Division)
	channel := "web"
	reporter := ""
	scope := access.ScopeOf(ctx)
	switch {
	case in.KeyScope != "":
		channel, scope = "open311", access.Subtree(in.KeyScope)
		if div == "" {
			div = in.KeyScope
		}
	case p == nil:
		return nil, errUnauthenticated
	case p.Role == access.Resident:
		reporter = p.UserID
		if div == "" {
			div = p.Division
		}
	case p.Role == access.CommunityWorker || p.Role == access.GridWorker || p.Role == access.Officer:
		channel = in.Channel
		if channel == "" {
			channel = "hotline"
		}
		if !workerChannels[channel] && channel != "api" {
			errs = append(errs, fault.Field("channel", fault.M("渠道须为 hotline（12345 热线）、walkin（来访）或 api", "channel must be hotline (12345), walkin or api")))
		}
		if div == "" {
			div = p.Division
		}
	default:
		return nil, fault.Forbidden(fault.M("该角色不能提交诉求", "this role cannot submit requests"))
	}
	if p != nil && p.TokenID != "" && in.KeyScope == "" && p.Role != access.Resident {
		channel = "api"
	}
	// A place given only as coordinates inside a larger area is routed to
	// the community it lies in, as far as the deployment can tell.
	if s.Locate != nil && in.Lon != nil && in.Lat != nil && divisions.LevelOf(div) < 5 && scope.Contains(div) {
		if code, ok, err := s.Locate(ctx, *in.Lon, *in.Lat, div); err != nil {
			return nil, err
		} else if ok {
			div = code
		}
	}
	var unitDiv divisions.Division
	if !divisions.ValidCode(div) || !scope.Contains(div) {
		errs = append(errs, fault.Field("division_code", fault.M("请选择您所在辖区内的社区（村）", "choose a community (village) within your area")))
	} else if d, err := s.division(ctx, div); errors.Is(err, db.ErrNotFound) || (err == nil && d.Level < 3) {
		errs = append(errs, fault.Field("division_code", fault.M("区划代码不存在", "no such division code")))
	} else if err != nil {
		return nil, err
	} else {
		unitDiv = d
	}
	var attrs map[string]string
	if cat.Code != "" {
		multi := in.MultiAttrs
		if multi == nil {
			multi = map[string][]string{}
			for k, v := range in.Attributes {
				if strings.Contains(v, ",") {
					multi[k] = strings.Split(v, ",")
				} else {
					multi[k] = []string{v}
				}
			}
		}
		var aerrs []fault.FieldError
		attrs, aerrs = CheckAttributes(cat, multi)
		errs = append(errs, aerrs...)
	}
	if in.Ref = strings.TrimSpace(in.Ref); in.Ref != "" && (!refRE.MatchString(in.Ref) || p == nil || p.Role == access.Resident || in.KeyScope != "") {
		errs = append(errs, fault.Field("ref", fault.M("来源须为工作人员填写的 visit:<编号> 或 topic:<编号>", "the source must be visit:<number> or topic:<number>, given by a worker")))
	}
	if in.Ref != "" && len(errs) == 0 {
		find := s.visitedAccount
		if strings.HasPrefix(in.Ref, "topic:") {
			find = s.topicAccount
		}
		found, account, err := find(ctx, in.Ref, scope)
		if err != nil {
			return nil, err
		}
		if !found {
			errs = append(errs, fault.Field("ref", fault.M("找不到您辖区内的这次探访或议题", "no such visit or topic within your area")))
		}
		reporter = account
	}
	if len(errs) > 0 {
		return nil, fault.Invalid(fault.M("诉求信息有误，请修改后重新提交", "the request has errors; please correct and resubmit"), errs...)
	}
	// Dispatch: the unit of the category's level that holds the location.
	unit, err := s.unitFor(ctx, unitDiv, cat.UnitLevel)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	r := Request{ID: db.NewID(), Division: div, Unit: unit.Code, UnitName: unit.Name, Category: cat.Code, Status: Submitted, Version: 1, Channel: channel,
		Lon: in.Lon, Lat: in.Lat, Attributes: attrs, ReporterID: reporter, MediaURL: in.MediaURL, Ref: in.Ref, CreatedAt: now, UpdatedAt: now, checked: true}
	addr := strings.TrimSpace(in.Address)
	r.Description, r.sealed.description = s.seal(desc, "description", r.ID)
	r.Address, r.sealed.address = s.seal(addr, "address", r.ID)
	r.PersonalData = r.sealed.description != "" || r.sealed.address != ""
	r.Token = r.ID // GeoReport token: the request id, unguessable
	r.ResponseDue = s.cal().Due(now, cat.ResponseHours, cat.WorkingHours)
	r.ResolveDue = s.cal().Due(now, cat.ResolveHours, cat.WorkingHours)
	seal := func(v, field string) string {
		if v = strings.TrimSpace(v); v == "" {
			return ""
		}
		return s.Keys.Seal(v, "requests."+field+":"+r.ID)
	}
	name, phone, email := seal(in.Name, "name"), seal(in.Phone, "phone"), seal(in.Email, "email")
	phoneIdx := ""
	if ph := strings.TrimSpace(in.Phone); ph != "" {
		phoneIdx = s.Keys.Index("requests.phone", ph)
	}
	return &createJob{ctx: context.WithoutCancel(ctx), r: &r, name: name, phone: phone, email: email, phoneIdx: phoneIdx, sourceKey: in.SourceKey,
		photo: in.Photo, actor: actorOf(ctx), done: make(chan error, 1), description: desc, address: addr}, nil
}

// mediaURL tells whether v is an absolute http(s) address of sensible length.
func mediaURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && len(v) <= 1000 && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && utf8.ValidString(v) && !strings.ContainsAny(v, " \t\r\n\x00")
}

// writeCreates writes new requests with their numbers and events inside tx:
// one counter update per county and day, one multi-row insert per table.
func (s *Store) writeCreates(tx *sql.Tx, jobs []*createJob) error {
	ctx := context.Background()
	type key struct{ county, day string }
	groups := map[key][]*createJob{}
	var order []key
	for _, j := range jobs {
		k := key{j.r.Division[:6], j.r.CreatedAt.In(CST).Format("20060102")}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], j)
	}
	for _, k := range order {
		g := groups[k]
		var n int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO request_counters (county, day, n) VALUES ($1, $2, $3)
			ON CONFLICT (county, day) DO UPDATE SET n = request_counters.n + $3 RETURNING n`, k.county, k.day, len(g)).Scan(&n); err != nil {
			return err
		}
		for i, j := range g {
			j.r.Number = fmt.Sprintf("MH-%s-%s-%06d", k.county, k.day, n-int64(len(g))+int64(i)+1)
		}
	}
	var rq, ev strings.Builder
	var rargs, eargs []any
	for i, j := range jobs {
		r := j.r
		var lon, lat any
		if r.Lon != nil {
			lon, lat = *r.Lon, *r.Lat
		}
		if i > 0 {
			rq.WriteByte(',')
			ev.WriteByte(',')
		}
		rq.WriteString(s.DB.Values(len(rargs), 42))
		rargs = append(rargs, r.ID, r.Number, r.Division, r.Unit, r.UnitName, r.Category, string(r.Status), 1, r.Channel, r.Description, r.Address, lon, lat, mustJSON(r.Attributes),
			r.ReporterID, j.name, j.phone, j.email, j.phoneIdx, j.sourceKey, r.Token, "", "", "", "", "", "", 0, 0, 0,
			db.T(r.CreatedAt), db.T(r.CreatedAt), db.T(r.ResponseDue), db.T(r.ResolveDue), 0, 0,
			r.sealed.description, r.sealed.address, r.PersonalData, true, r.MediaURL, r.Ref)
		ev.WriteString(s.DB.Values(len(eargs), 13))
		eargs = append(eargs, db.NewID(), r.ID, r.Division, 1, "submit", "", string(Submitted), r.Unit, j.actor.id, j.actor.name, j.actor.role, channelNote(r.Channel), db.T(r.CreatedAt))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO requests (id, number, division_code, unit_code, unit_name, category, status, version, channel, description, address, lon, lat, attributes,
		reporter_id, reporter_name, reporter_phone, reporter_email, reporter_phone_idx, source_key, token, assignee, merged_into, reply, reason, rating, rating_comment,
		reopen_count, return_count, escalation_level, created_at, updated_at, response_due, resolve_due, response_stage, resolve_stage,
		description_sealed, address_sealed, personal, pii_checked, media_url, ref) VALUES `+rq.String(), rargs...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO request_events (id, request_id, division_code, seq, action, from_status, to_status, unit_code, actor_id, actor, role, note, at) VALUES `+ev.String(), eargs...); err != nil {
		return err
	}
	for _, j := range jobs {
		if j.photo != nil {
			pid := db.NewID()
			if _, err := tx.ExecContext(ctx, `INSERT INTO request_attachments (id, request_id, division_code, content_type, size, data, sealed, created_at) VALUES ($1,$2,$3,$4,$5,$6,TRUE,$7)`,
				pid, j.r.ID, j.r.Division, j.photo.ContentType, len(j.photo.Data), sealedphoto.Keep(s.Keys, j.photo.Data, true, photoCols.PhotoAAD(pid)), db.T(j.r.CreatedAt)); err != nil {
				return err
			}
		}
	}
	return nil
}

// auditCreate appends the audit entry of a written submission. A batch
// appends all its entries last, so that the audit chain's lock (one writer
// at a time across processes on PostgreSQL) is held only for them and the
// commit.
func (s *Store) auditCreate(tx *sql.Tx, j *createJob) error {
	return s.Audit.RecordTx(j.ctx, tx, createEntry(j))
}

func createEntry(j *createJob) audit.Entry {
	r := j.r
	return audit.Entry{Action: "request.create", Object: "request", ObjectID: r.Number, Division: r.Division,
		Detail: audit.Detail(map[string]any{"category": r.Category, "channel": r.Channel, "unit": r.Unit})}
}

func channelNote(ch string) string {
	return map[string]string{"web": "网上提交 / submitted online", "hotline": "12345 热线代录 / entered from the 12345 hotline", "walkin": "来访代录 / entered for a walk-in caller",
		"api": "接口提交 / submitted through the API", "open311": "Open311 接入 / submitted through Open311"}[ch]
}

type actor struct{ id, name, role string }

func actorOf(ctx context.Context) actor {
	if p := access.From(ctx); p != nil {
		return actor{p.UserID, p.Username, string(p.Role)}
	}
	return actor{"", "system", "system"}
}

// insertEvent adds a step to r's timeline; its note is stored masked, the
// original sealed when it held personal data.
func (s *Store) insertEvent(ctx context.Context, tx *sql.Tx, r Request, seq int, action string, from, to Status, a actor, note string, at time.Time) error {
	id := db.NewID()
	masked, sealed := s.seal(note, "note", id)
	_, err := tx.ExecContext(ctx, `INSERT INTO request_events (id, request_id, division_code, seq, action, from_status, to_status, unit_code, actor_id, actor, role, note, note_sealed, at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`, id, r.ID, r.Division, seq, action, string(from), string(to), r.Unit, a.id, a.name, a.role, masked, sealed, db.T(at))
	return err
}

// unitFor returns the handling unit at level (5 community, 4 township,
// 3 county) that holds the location.
func (s *Store) unitFor(ctx context.Context, loc divisions.Division, level int) (divisions.Division, error) {
	if level <= 0 || loc.Level <= level {
		return loc, nil
	}
	code := loc.Code
	for divisions.LevelOf(code) > level {
		code = divisions.ParentCode(code)
	}
	return s.division(ctx, code)
}

// sniffImage names the type of a JPEG, PNG or WebP image by its first
// bytes ("" for anything else).
func sniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\xFF\xD8\xFF")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1A\n")):
		return "image/png"
	case len(b) >= 14 && bytes.HasPrefix(b, []byte("RIFF")) && string(b[8:14]) == "WEBPVP":
		return "image/webp"
	}
	return ""
}

// Attachments lists the ids of a request's photos (scope checked by Get).
func (s *Store) Photo(ctx context.Context, requestID, id string) (Photo, error) {
	if _, err := s.Get(ctx, requestID); err != nil {
		return Photo{}, err
	}
	var p Photo
	var sealed bool
	err := s.DB.R.QueryRowContext(ctx, `SELECT content_type, data, sealed FROM request_attachments WHERE id = $1 AND request_id = $2`, id, requestID).Scan(&p.ContentType, &p.Data, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fault.NotFound(fault.M("照片不存在", "no such photo"))
	} else if err != nil {
		return p, err
	}
	p.Data, err = sealedphoto.Open(s.Keys, p.Data, sealed, photoCols.PhotoAAD(id))
	return p, err
}

// PhotoInfo is what a page needs to show a photo without reading it.
type PhotoInfo struct {
	ID          string
	ContentType string
	Size        int
}

// Scalable tells whether a thumbnail can be made of the photo.
func (p PhotoInfo) Scalable() bool {
	return p.ContentType == "image/jpeg" || p.ContentType == "image/png"
}

// PhotoList lists a request's photos (scope checked by the caller's Get).
func (s *Store) PhotoList(ctx context.Context, requestID string) ([]PhotoInfo, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, content_type, size FROM request_attachments WHERE request_id = $1 ORDER BY id`, requestID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PhotoInfo
	for rows.Next() {
		var p PhotoInfo
		if err := rows.Scan(&p.ID, &p.ContentType, &p.Size); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Thumb returns a photo's thumbnail (a JPEG of at most thumb.MaxSide px),
// made on the first view and kept beside the photo. ok is false when the
// photo cannot be scaled (a WebP image): the page then links to it only.
func (s *Store) Thumb(ctx context.Context, requestID, id string) (data []byte, ok bool, err error) {
	if _, err := s.Get(ctx, requestID); err != nil {
		return nil, false, err
	}
	var kept []byte
	var ct string
	var sealed bool
	err = s.DB.R.QueryRowContext(ctx, `SELECT content_type, thumb, sealed FROM request_attachments WHERE id = $1 AND request_id = $2`, id, requestID).Scan(&ct, &kept, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, fault.NotFound(fault.M("照片不存在", "no such photo"))
	}
	if err != nil {
		return nil, false, err
	}
	if len(kept) > 0 {
		small, err := sealedphoto.Open(s.Keys, kept, sealed, photoCols.ThumbAAD(id))
		return small, err == nil, err
	}
	if ct != "image/jpeg" && ct != "image/png" {
		return nil, false, nil
	}
	p, err := s.Photo(ctx, requestID, id)
	if err != nil {
		return nil, false, err
	}
	small, err := thumb.Make(p.Data, thumb.MaxSide)
	if errors.Is(err, thumb.ErrUnsupported) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	// Kept as the photo is kept; a photo sealed meanwhile gets its thumbnail on a later view.
	keep := sealedphoto.Keep(s.Keys, small, sealed, photoCols.ThumbAAD(id))
	if _, err := s.DB.W.ExecContext(ctx, `UPDATE request_attachments SET thumb = $1 WHERE id = $2 AND sealed = $3`, keep, id, sealed); err != nil {
		return nil, false, err
	}
	return small, true, nil
}

// visitedAccount finds the care visit ref (visit:<id>) within scope and
// the login account the registry links to the visited resident ("" when
// none): a request raised on a resident's behalf is theirs, so they follow
// it on 我的 and are told when it is accepted or answered.
func (s *Store) visitedAccount(ctx context.Context, ref string, scope access.Scope) (found bool, account string, err error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(ref, "visit:"), 10, 64)
	if err != nil {
		return false, "", nil
	}
	var user sql.NullString
	err = s.DB.R.QueryRowContext(ctx, `SELECT u.id FROM vis_visits v LEFT JOIN reg_residents r ON r.id = v.resident_id AND r.username <> ''
		LEFT JOIN users u ON u.username = r.username AND u.role = 'resident'
		WHERE v.id = $1 AND v.division_code >= $2 AND v.division_code < $3`, id, scope.Lo, scope.Hi).Scan(&user)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", nil
	}
	return err == nil, user.String, err
}

// topicAccount finds the deliberation topic ref (topic:<id>) within scope
// and the account of the resident who raised it ("" when a worker did):
// the referred topic's request is theirs to follow.
func (s *Store) topicAccount(ctx context.Context, ref string, scope access.Scope) (found bool, account string, err error) {
	var user sql.NullString
	err = s.DB.R.QueryRowContext(ctx, `SELECT u.id FROM dlb_topics t LEFT JOIN users u ON u.username = t.raised_by AND u.role = 'resident'
		WHERE t.id = $1 AND t.division_code >= $2 AND t.division_code < $3`, strings.TrimPrefix(ref, "topic:"), scope.Lo, scope.Hi).Scan(&user)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", nil
	}
	return err == nil, user.String, err
}
