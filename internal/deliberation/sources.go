package deliberation

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
)

// A topic may come from a 民呼我为 suggestion or from a care visit's
// finding: the worker opens the raise form from the request's or the
// visit's page, prefilled, and the topic keeps its source. One source
// becomes at most one topic, and the request's page links to it.
//
// sourcesSQL adds the source to topics and publishes, for the requests
// module, which topic each request became (without who raised it).
const sourcesSQL = `
ALTER TABLE dlb_topics ADD COLUMN source TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX dlb_topics_source ON dlb_topics (source) WHERE source <> '';
CREATE VIEW deliberation_topic_sources AS
	SELECT source, id AS topic_id, division_code, title, status FROM dlb_topics WHERE source <> '';
`

// Origins of a topic.
const (
	OriginResident = "resident" // a resident, with co-signs
	OriginMember   = "member"   // a council member or a worker
	OriginRequest  = "request"  // a 民呼我为 suggestion
	OriginVisit    = "visit"    // a care visit's finding
)

var sourceRE = regexp.MustCompile(`^(request:[0-9A-Za-z-]{1,40}|visit:[1-9][0-9]{0,17})$`)

// source is what a topic was raised from, as found in the worker's scope.
type source struct {
	Ref, Origin, Division string
	// Title and Description prefill the form: a suggestion's text as the
	// requests module shows it (masked where it held personal data); a
	// visit's finding is about a person, so the worker words the topic.
	Title, Description string
}

// findSource reads a source within the signed-in worker's jurisdiction: a
// suggestion request, or a recorded visit.
func (s *Store) findSource(ctx context.Context, ref string) (source, error) {
	p := access.From(ctx)
	notFound := invalid(fault.Field("source", fault.M("找不到您辖区内的这条建议或这次探访", "no such suggestion or visit within your jurisdiction")))
	if !worker(p) {
		return source{}, fault.Forbidden(fault.M("只有社区工作者可以把建议或探访发现提为议题", "only community workers may raise a topic from a suggestion or a visit"))
	}
	if !sourceRE.MatchString(ref) {
		return source{}, notFound
	}
	sc := access.BusinessScope(p)
	kind, id, _ := strings.Cut(ref, ":")
	src := source{Ref: ref}
	var err error
	if kind == "request" {
		var category string
		src.Origin = OriginRequest
		err = s.DB.R.QueryRowContext(ctx, `SELECT division_code, category, description FROM requests WHERE id = $1 AND division_code >= $2 AND division_code < $3`,
			id, sc.Lo, sc.Hi).Scan(&src.Division, &category, &src.Description)
		if err == nil && category != "suggestion" {
			return source{}, invalid(fault.Field("source", fault.M("只有“意见建议”类诉求可以提为议题", "only a suggestion can become a topic")))
		}
		src.Title = firstRunes(src.Description, 30)
	} else {
		n, _ := strconv.ParseInt(id, 10, 64)
		src.Origin = OriginVisit
		err = s.DB.R.QueryRowContext(ctx, `SELECT division_code FROM vis_visits WHERE id = $1 AND status = 'done' AND division_code >= $2 AND division_code < $3`,
			n, sc.Lo, sc.Hi).Scan(&src.Division)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return source{}, notFound
	}
	if err != nil {
		return source{}, err
	}
	if id, err := s.topicFrom(ctx, s.DB.R, ref); err != nil {
		return source{}, err
	} else if id != "" {
		return source{}, sourceTaken(id)
	}
	return src, nil
}

// topicFrom is the topic a source became ("" for none).
func (s *Store) topicFrom(ctx context.Context, q rowQuerier, ref string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM dlb_topics WHERE source = $1`, ref).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

func sourceTaken(topic string) error {
	if topic == "" {
		return fault.Conflict(fault.M("这条建议（探访发现）已经提为议题", "this suggestion (visit finding) is already a topic"))
	}
	return fault.Conflict(fault.M("这条建议（探访发现）已经提为议题："+topic, "this suggestion (visit finding) is already a topic: "+topic))
}

// firstRunes is s cut to n characters at most, on one line.
func firstRunes(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// SourceHref is the page of what the topic was raised from ("" for none).
func (t Topic) SourceHref() string {
	kind, id, _ := strings.Cut(t.Source, ":")
	switch kind {
	case "request":
		return "/requests/" + id
	case "visit":
		return "/visits/" + id
	}
	return ""
}

// SourceName says in words what the topic was raised from.
func (t Topic) SourceName() fault.Msg {
	if strings.HasPrefix(t.Source, "visit:") {
		return fault.M("探访发现", "A visit's finding")
	}
	return fault.M("民呼我为意见建议", "A 民呼我为 suggestion")
}

// insertTopic writes a new topic's row; a second topic from one source
// loses to the first (the unique index) and is refused.
func insertTopic(ctx context.Context, tx *sql.Tx, t Topic, raisedBy, household string, until any, now db.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO dlb_topics (id, division_code, council_id, title, description, origin, raised_by, household_id, area_kind, area_ref,
			status, cosign_needed, cosign_until, created_at, updated_at, source) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$14,$15)`,
		t.ID, t.Division, t.CouncilID, t.Title, t.Description, t.Origin, raisedBy, household, t.AreaKind, t.AreaRef, t.Status, t.CosignNeeded, until, now, t.Source)
	if err != nil && t.Source != "" && db.IsUniqueViolation(err) {
		return sourceTaken("")
	}
	return err
}
