package deliberation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// Comment states. A comment with a sensitive word waits as held until a
// moderator approves or rejects it; a public one may be hidden with a
// reason and restored.
const (
	CommentPublic   = "public"
	CommentHeld     = "held"
	CommentRejected = "rejected"
	CommentHidden   = "hidden"
)

// CommentMax is the longest comment, in characters.
const CommentMax = 500

// defaultWords are held for review in every community, before its own list.
var defaultWords = []string{"赌博", "代开发票", "办证", "色情", "高利贷"}

// HiddenText stands in for a hidden comment's body for all but moderators.
var HiddenText = fault.M("该评论已被隐藏", "This comment has been hidden")

// Comment is one comment on a topic; replies sit under their parent.
type Comment struct {
	ID       string `json:"id"`
	TopicID  string `json:"topic_id"`
	ParentID string `json:"parent_id,omitempty"`
	// Author is shown to moderators only; others see AuthorKind.
	Author     string    `json:"author,omitempty"`
	AuthorKind string    `json:"author_kind"` // resident or worker
	Mine       bool      `json:"mine"`
	Body       string    `json:"body"`
	State      string    `json:"state"`
	Reason     string    `json:"reason,omitempty"` // why hidden or rejected (moderators and the author)
	Reports    int       `json:"reports,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// Thread is a top-level comment with its replies (one level only).
type Thread struct {
	Comment
	Replies []Comment `json:"replies,omitempty"`
}

// StateName is the comment's state in words.
func (c Comment) StateName() fault.Msg {
	switch c.State {
	case CommentHeld:
		return fault.M("待审核", "Awaiting review")
	case CommentRejected:
		return fault.M("未通过审核", "Rejected")
	case CommentHidden:
		return fault.M("已隐藏", "Hidden")
	}
	return fault.M("已公开", "Public")
}

// CommentInput is a new comment or reply.
type CommentInput struct {
	Body     string `json:"body"`
	ParentID string `json:"parent_id,omitempty"`
}

// CommentPage is a page of a topic's comments (top level, each with its
// replies) and the cursor of the next.
type CommentPage struct {
	Comments []Thread `json:"comments"`
	Next     string   `json:"next_cursor,omitempty"`
}

// ModerationInput is a moderator's action on a comment.
type ModerationInput struct {
	Action string `json:"action"` // hide, restore, approve, reject
	Reason string `json:"reason,omitempty"`
}

// ReportInput is a resident's report of a comment.
type ReportInput struct {
	Reason string `json:"reason"`
}

// Support is a topic's count of supporting households.
type Support struct {
	TopicID  string `json:"topic_id"`
	Supports int    `json:"supports"`
	Mine     bool   `json:"mine"`
}

// WordsInput replaces a community's sensitive-word list.
type WordsInput struct {
	Division string   `json:"division_code"`
	Words    []string `json:"words"`
}

// Words is a community's own sensitive words and the built-in defaults.
type Words struct {
	Division string   `json:"division_code"`
	Words    []string `json:"words"`
	Defaults []string `json:"defaults"`
}

// moderator is a community worker or officer over the division, or a
// member of the council that takes its topics.
func (s *Store) moderator(ctx context.Context, division string) bool {
	p := access.From(ctx)
	if p == nil {
		return false
	}
	if worker(p) {
		return access.BusinessScope(p).Contains(division)
	}
	if p.Role != access.Resident || p.Username == "" {
		return false
	}
	var n int
	err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM dlb_members m JOIN dlb_councils c ON c.id = m.council_id
		WHERE m.username = $1 AND c.division_code IN ($2, $3)`, p.Username, division, division[:min(9, len(division))]).Scan(&n)
	return err == nil && n > 0
}

// held is the first sensitive word in body, built-in or the community's.
func (s *Store) held(ctx context.Context, division, body string) (string, error) {
	words, err := s.words(ctx, division)
	if err != nil {
		return "", err
	}
	low := strings.ToLower(body)
	for _, w := range append(append([]string{}, defaultWords...), words...) {
		if w != "" && strings.Contains(low, strings.ToLower(w)) {
			return w, nil
		}
	}
	return "", nil
}

func (s *Store) words(ctx context.Context, division string) ([]string, error) {
	return db.Collect(ctx, s.DB.R, db.Value[string], `SELECT word FROM dlb_words WHERE division_code = $1 ORDER BY word`, division)
}

// Comment adds a comment or a reply to a topic the author's community
// owns. A comment with a sensitive word is held for review.
func (s *Store) Comment(ctx context.Context, topicID string, in CommentInput) (Comment, error) {
	p := access.From(ctx)
	if p == nil || !(p.Role == access.Resident || worker(p)) {
		return Comment{}, fault.Forbidden(fault.M("只有本社区居民和社区工作者可以评论", "only the community's residents and workers may comment"))
	}
	t, err := s.readTopic(ctx, s.DB.R, topicID)
	if err != nil {
		return Comment{}, err
	}
	if !s.sees(ctx, t.Division) {
		return Comment{}, errNotFound
	}
	if err := refuseMerged(t); err != nil {
		return Comment{}, err
	}
	hh := ""
	if p.Role == access.Resident {
		if hh, _, err = s.household(ctx, p); err != nil {
			return Comment{}, err
		}
	}
	var fields []fault.FieldError
	body := text("body", in.Body, CommentMax, true, &fields)
	if in.ParentID != "" {
		var parentOf string
		err := s.DB.R.QueryRowContext(ctx, `SELECT parent_id FROM dlb_comments WHERE id = $1 AND topic_id = $2`, in.ParentID, topicID).Scan(&parentOf)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			fields = append(fields, fault.Field("parent_id", fault.M("回复的评论不存在", "the comment replied to does not exist")))
		case err != nil:
			return Comment{}, err
		case parentOf != "":
			fields = append(fields, fault.Field("parent_id", fault.M("只能回复评论，不能回复回复", "reply to a comment, not to a reply")))
		}
	}
	if len(fields) > 0 {
		return Comment{}, invalid(fields...)
	}
	word, err := s.held(ctx, t.Division, body)
	if err != nil {
		return Comment{}, err
	}
	state := CommentPublic
	if word != "" {
		state = CommentHeld
	}
	kind := "resident"
	if worker(p) {
		kind = "worker"
	}
	now := s.Now()
	c := Comment{ID: db.NewID(), TopicID: topicID, ParentID: in.ParentID, Author: p.Username, AuthorKind: kind, Mine: true, Body: body, State: state, CreatedAt: db.T(now).Time}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_comments (id, topic_id, division_code, parent_id, author, author_kind, household_id, body, state, reason, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,'',$10,$10)`, c.ID, topicID, t.Division, c.ParentID, p.Username, kind, hh, body, state, db.T(now)); err != nil {
			return err
		}
		detail := ""
		if word != "" {
			detail = "held: sensitive word"
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.comment_create", Object: "comment", ObjectID: c.ID, Division: t.Division, Detail: detail})
	})
	return c, err
}

type commentRow struct {
	Comment
	division, household string
}

func scanComment(r db.Scanner) (commentRow, error) {
	var c commentRow
	var at db.Time
	err := r.Scan(&c.ID, &c.TopicID, &c.division, &c.ParentID, &c.Author, &c.AuthorKind, &c.household, &c.Body, &c.State, &c.Reason, &at, &c.Reports)
	c.CreatedAt = at.Time
	return c, err
}

const commentCols = `c.id, c.topic_id, c.division_code, c.parent_id, c.author, c.author_kind, c.household_id, c.body, c.state, c.reason, c.created_at,
	(SELECT COUNT(*) FROM dlb_comment_reports r WHERE r.comment_id = c.id)`

// view is a comment as the reader may see it: held and rejected ones only
// by moderators and their author, a hidden one's body and reason only by
// moderators.
func view(c commentRow, mod bool, user string) (Comment, bool) {
	out := c.Comment
	out.Mine = user != "" && c.Author == user
	if mod {
		return out, true
	}
	out.Author, out.Reports = "", 0
	switch c.State {
	case CommentHeld, CommentRejected:
		return out, out.Mine
	case CommentHidden:
		out.Body, out.Reason = "", ""
	}
	return out, true
}

// Comments is a page of a topic's top-level comments with their replies,
// as the reader may see them.
func (s *Store) Comments(ctx context.Context, topicID, cursor string, size int) (CommentPage, error) {
	t, err := s.readTopic(ctx, s.DB.R, topicID)
	if err != nil {
		return CommentPage{}, err
	}
	if !s.sees(ctx, t.Division) {
		return CommentPage{}, errNotFound
	}
	mod := s.moderator(ctx, t.Division)
	user := access.From(ctx).Username
	// Held and rejected comments are read only by moderators and their
	// authors: left out in the query, so that a page is full.
	rows, err := db.Collect(ctx, s.DB.R, scanComment, `SELECT `+commentCols+` FROM dlb_comments c
		WHERE c.topic_id = $1 AND c.parent_id = '' AND c.id > $2 AND ($4 OR c.state IN ('public', 'hidden') OR (c.author = $5 AND c.author <> ''))
		ORDER BY c.id LIMIT $3`, topicID, cursor, size+1, mod, user)
	if err != nil {
		return CommentPage{}, err
	}
	pg := CommentPage{Comments: []Thread{}}
	if len(rows) > size {
		rows = rows[:size]
		pg.Next = rows[size-1].ID
	}
	byID := map[string]int{}
	var ids []any
	for _, r := range rows {
		if c, ok := view(r, mod, user); ok {
			byID[c.ID] = len(pg.Comments)
			pg.Comments = append(pg.Comments, Thread{Comment: c})
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 0 {
		return pg, nil
	}
	ph := make([]string, len(ids))
	for i := range ids {
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	replies, err := db.Collect(ctx, s.DB.R, scanComment, `SELECT `+commentCols+` FROM dlb_comments c WHERE c.parent_id IN (`+strings.Join(ph, ",")+`) ORDER BY c.id`, ids...)
	if err != nil {
		return CommentPage{}, err
	}
	for _, r := range replies {
		if c, ok := view(r, mod, user); ok {
			i := byID[r.ParentID]
			pg.Comments[i].Replies = append(pg.Comments[i].Replies, c)
		}
	}
	return pg, nil
}

func (s *Store) readComment(ctx context.Context, q rowQuerier, id string) (commentRow, error) {
	c, err := scanComment(q.QueryRowContext(ctx, `SELECT `+commentCols+` FROM dlb_comments c WHERE c.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, errNotFound
	}
	return c, err
}

// CommentFor is one comment as the reader may see it.
func (s *Store) CommentFor(ctx context.Context, id string) (Comment, error) {
	c, err := s.readComment(ctx, s.DB.R, id)
	if err != nil {
		return Comment{}, err
	}
	if !s.sees(ctx, c.division) {
		return Comment{}, errNotFound
	}
	out, ok := view(c, s.moderator(ctx, c.division), access.From(ctx).Username)
	if !ok {
		return Comment{}, errNotFound
	}
	return out, nil
}

// moderations are the actions, the states each applies to and the state
// it leaves.
var moderations = map[string]struct {
	from   string
	to     string
	reason bool
}{
	"hide":    {CommentPublic, CommentHidden, true},
	"restore": {CommentHidden, CommentPublic, false},
	"approve": {CommentHeld, CommentPublic, false},
	"reject":  {CommentHeld, CommentRejected, true},
}

// Moderate hides, restores, approves or rejects a comment; each action is
// audited with its reason.
func (s *Store) Moderate(ctx context.Context, id string, in ModerationInput) (Comment, error) {
	c, err := s.readComment(ctx, s.DB.R, id)
	if err != nil {
		return Comment{}, err
	}
	if !s.sees(ctx, c.division) {
		return Comment{}, errNotFound
	}
	if !s.moderator(ctx, c.division) {
		return Comment{}, fault.Forbidden(fault.M("只有议事会成员或社区工作者可以管理评论", "only council members and community workers may moderate comments"))
	}
	var fields []fault.FieldError
	m, ok := moderations[in.Action]
	if !ok {
		fields = append(fields, fault.Field("action", fault.M("操作应为 hide、restore、approve 或 reject", "action is hide, restore, approve or reject")))
	}
	reason := text("reason", in.Reason, 200, ok && m.reason, &fields)
	if len(fields) > 0 {
		return Comment{}, invalid(fields...)
	}
	if !m.reason {
		reason = ""
	}
	now := s.Now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE dlb_comments SET state = $2, reason = $3, moderated_by = $4, updated_at = $5 WHERE id = $1 AND state = $6`,
			id, m.to, reason, access.From(ctx).Username, db.T(now), m.from)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.Conflict(fault.M("这条评论的状态不允许此操作", "the comment's state does not allow this action"))
		}
		if m.to == CommentPublic {
			// A restored or approved comment starts afresh in the queue.
			if _, err := tx.ExecContext(ctx, `DELETE FROM dlb_comment_reports WHERE comment_id = $1`, id); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.comment_" + in.Action, Object: "comment", ObjectID: id, Division: c.division, Detail: reason})
	})
	if err != nil {
		return Comment{}, err
	}
	return s.CommentFor(ctx, id)
}

// Report records a reader's report of a public comment, once per account.
func (s *Store) Report(ctx context.Context, id string, in ReportInput) error {
	p := access.From(ctx)
	c, err := s.readComment(ctx, s.DB.R, id)
	if err != nil {
		return err
	}
	if p == nil || !s.sees(ctx, c.division) || c.State != CommentPublic {
		return errNotFound
	}
	var fields []fault.FieldError
	reason := text("reason", in.Reason, 200, false, &fields)
	if len(fields) > 0 {
		return invalid(fields...)
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO dlb_comment_reports (comment_id, reporter, reason, at) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`,
			id, p.Username, reason, db.T(s.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.Conflict(fault.M("您已经举报过这条评论", "you have already reported this comment"))
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.comment_report", Object: "comment", ObjectID: id, Division: c.division, Detail: reason})
	})
}

// Queue is a community's comments awaiting a moderator: held ones and
// public ones with reports, oldest first.
func (s *Store) Queue(ctx context.Context, division string) ([]Comment, error) {
	if !s.moderator(ctx, division) || len(division) != 12 {
		return nil, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("division_code", fault.M("请选择您管理的村（社区）", "choose a community you moderate")))
	}
	rows, err := db.Collect(ctx, s.DB.R, scanComment, `SELECT `+commentCols+` FROM dlb_comments c
		WHERE c.division_code = $1 AND (c.state = 'held' OR (c.state = 'public' AND EXISTS (SELECT 1 FROM dlb_comment_reports r WHERE r.comment_id = c.id)))
		ORDER BY c.id LIMIT 200`, division)
	out := make([]Comment, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Comment)
	}
	return out, err
}

// SupportTopic records the resident's household's support of a topic of
// its community, once per household.
func (s *Store) SupportTopic(ctx context.Context, topicID string, on bool) (Support, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.Resident {
		return Support{}, fault.Forbidden(fault.M("只有居民可以支持议题", "only residents may support a topic"))
	}
	t, err := s.readTopic(ctx, s.DB.R, topicID)
	if err != nil {
		return Support{}, err
	}
	if !s.sees(ctx, t.Division) {
		return Support{}, errNotFound
	}
	if err := refuseMerged(t); err != nil && on {
		return Support{}, err
	}
	hh, _, err := s.household(ctx, p)
	if err != nil {
		return Support{}, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if on {
			res, err = tx.ExecContext(ctx, `INSERT INTO dlb_supports (topic_id, household_id, supported_by, at) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`, topicID, hh, p.Username, db.T(s.Now()))
		} else {
			res, err = tx.ExecContext(ctx, `DELETE FROM dlb_supports WHERE topic_id = $1 AND household_id = $2`, topicID, hh)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 && on {
			return fault.Conflict(fault.M("您家已经支持过这个议题", "your household already supports this topic"))
		} else if n == 0 {
			return fault.Conflict(fault.M("您家还没有支持这个议题", "your household does not support this topic"))
		}
		action := "deliberation.topic_support"
		if !on {
			action = "deliberation.topic_unsupport"
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: action, Object: "topic", ObjectID: topicID, Division: t.Division})
	})
	if err != nil {
		return Support{}, err
	}
	return s.Supports(ctx, topicID)
}

// Supports counts a topic's supporting households and says whether the
// reader's is one.
func (s *Store) Supports(ctx context.Context, topicID string) (Support, error) {
	t, err := s.readTopic(ctx, s.DB.R, topicID)
	if err != nil {
		return Support{}, err
	}
	if !s.sees(ctx, t.Division) {
		return Support{}, errNotFound
	}
	sp := Support{TopicID: topicID}
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM dlb_supports WHERE topic_id = $1`, topicID).Scan(&sp.Supports); err != nil {
		return sp, err
	}
	if p := access.From(ctx); p.Role == access.Resident {
		if hh, _, err := s.household(ctx, p); err == nil {
			var n int
			if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM dlb_supports WHERE topic_id = $1 AND household_id = $2`, topicID, hh).Scan(&n); err != nil {
				return sp, err
			}
			sp.Mine = n > 0
		}
	}
	return sp, nil
}

// Words reads a community's sensitive-word list.
func (s *Store) Words(ctx context.Context, division string) (Words, error) {
	if !worker(access.From(ctx)) || len(division) != 12 || !s.sees(ctx, division) {
		return Words{}, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("division_code", fault.M("请选择辖区内的村（社区）", "choose a community in your jurisdiction")))
	}
	ws, err := s.words(ctx, division)
	if ws == nil {
		ws = []string{}
	}
	return Words{Division: division, Words: ws, Defaults: defaultWords}, err
}

// SetWords replaces a community's sensitive-word list; community workers
// and officers over it manage it.
func (s *Store) SetWords(ctx context.Context, in WordsInput) (Words, error) {
	p := access.From(ctx)
	if !worker(p) {
		return Words{}, fault.Forbidden(fault.M("只有社区工作者或干部可以管理敏感词", "only community workers and officers manage sensitive words"))
	}
	var fields []fault.FieldError
	if len(in.Division) != 12 || !access.BusinessScope(p).Contains(in.Division) {
		fields = append(fields, fault.Field("division_code", fault.M("请选择辖区内的村（社区）", "choose a community in your jurisdiction")))
	}
	seen := map[string]bool{}
	var words []string
	for i, w := range in.Words {
		w = text(fmt.Sprintf("words[%d]", i), w, 20, false, &fields)
		if w != "" && !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	if len(words) > 500 {
		fields = append(fields, fault.Field("words", fault.M("最多 500 个词", "at most 500 words")))
	}
	if len(fields) > 0 {
		return Words{}, invalid(fields...)
	}
	sort.Strings(words)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dlb_words WHERE division_code = $1`, in.Division); err != nil {
			return err
		}
		for _, w := range words {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_words (division_code, word) VALUES ($1,$2)`, in.Division, w); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.words_set", Object: "division", ObjectID: in.Division, Division: in.Division,
			Detail: fmt.Sprintf("%d words", len(words))})
	})
	if err != nil {
		return Words{}, err
	}
	return s.Words(ctx, in.Division)
}
