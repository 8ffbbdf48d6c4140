// Package notices keeps the in-app notices addressed to one account (a
// resident told that their request was answered, a worker told that a
// visit is due): sent once per key, listed newest first with the unread
// count, marked read when opened. Where a deployment configures an
// endpoint, each new notice also leaves as the same signed webhook the
// requests module sends, so that SMS or 浙里办 can be bound to it.
package notices

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
	"linli/internal/webhook"
)

// Migrations create the notices table. The unique (user, key) index is
// what makes sending idempotent; the partial index on unread rows keeps
// the header's count one index read.
var Migrations = []db.Migration{{ID: "user_notices/001", SQL: `CREATE TABLE user_notices (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	kind TEXT NOT NULL,
	title_zh TEXT NOT NULL,
	title_en TEXT NOT NULL,
	body_zh TEXT NOT NULL,
	body_en TEXT NOT NULL,
	href TEXT NOT NULL,
	dedup_key TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	read_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX user_notices_key ON user_notices (user_id, dedup_key);
CREATE INDEX user_notices_created ON user_notices (user_id, created_at);
CREATE INDEX user_notices_unread ON user_notices (user_id) WHERE read_at IS NULL;`},
	// The lists read an account's unread notices newest first, then its
	// read ones: each from its own partial index in that order, so a
	// worker with thousands of unread notices costs a page what it shows.
	// The header's count reads the unread index up to UnreadBound+1.
	{ID: "user_notices/002_by_time", SQL: `DROP INDEX user_notices_unread;
DROP INDEX user_notices_created;
CREATE INDEX user_notices_unread ON user_notices (user_id, created_at, id) WHERE read_at IS NULL;
CREATE INDEX user_notices_read ON user_notices (user_id, created_at, id) WHERE read_at IS NOT NULL;`}}

// UnreadBound caps the count of unread notices: past it the header says
// "99+".
const UnreadBound = 99

// Notice is one stored notice.
type Notice struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	Title     fault.Msg  `json:"title"`
	Body      fault.Msg  `json:"body"`
	Href      string     `json:"href"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at,omitempty"`
}

// Unread tells whether the notice has not been opened.
func (n Notice) Unread() bool { return n.ReadAt == nil }

// Service stores and sends notices. It implements module.Notifier.
type Service struct {
	DB  *db.DB
	Now func() time.Time
	Log *slog.Logger
	// Hook, when set, receives every new notice as a signed POST.
	Hook *webhook.Sender

	sending sync.WaitGroup
}

var _ module.Notifier = (*Service)(nil)

// Limits of a notice's parts.
const (
	maxTitle = 200
	maxBody  = 2000
	maxKey   = 200
)

var errNoNotice = fault.NotFound(fault.M("没有这条消息", "no such notice"))

// Delivery is what the webhook receives: the notice and whom it is for.
type Delivery struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Username  string    `json:"username"`
	Division  string    `json:"division_code"`
	Kind      string    `json:"kind"`
	Title     fault.Msg `json:"title"`
	Body      fault.Msg `json:"body"`
	Href      string    `json:"href"`
	CreatedAt time.Time `json:"created_at"`
}

// Notify stores n for its account; a notice whose (account, key) was
// stored before is dropped, so a replayed event tells nobody twice. A
// new notice is posted to the webhook when one is configured, after the
// row is written and without waiting for the answer: the row is the
// durable record.
func (s *Service) Notify(ctx context.Context, n module.Notice) error {
	if err := check(n); err != nil {
		return err
	}
	var username, division string
	err := s.DB.R.QueryRowContext(ctx, `SELECT username, division_code FROM users WHERE id = $1`, n.UserID).Scan(&username, &division)
	if errors.Is(err, sql.ErrNoRows) {
		return fault.Invalid(fault.M("收件账号不存在", "the account told does not exist"), fault.Field("user_id", fault.M("没有这个账号", "no such account")))
	} else if err != nil {
		return err
	}
	id := db.NewID()
	key := n.Key
	if key == "" {
		key = "id:" + id
	}
	now := s.Now()
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO user_notices (id, user_id, division_code, kind, title_zh, title_en, body_zh, body_en, href, dedup_key, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (user_id, dedup_key) DO NOTHING`,
		id, n.UserID, division, n.Kind, n.Title.ZH, n.Title.EN, n.Body.ZH, n.Body.EN, n.Href, key, db.T(now))
	if err != nil {
		return err
	}
	if k, err := res.RowsAffected(); err != nil || k == 0 {
		return err // nil: sent before under this key
	}
	if s.Hook != nil {
		d := Delivery{ID: id, UserID: n.UserID, Username: username, Division: division, Kind: n.Kind, Title: n.Title, Body: n.Body, Href: n.Href, CreatedAt: now}
		s.sending.Go(func() {
			if err := s.Hook.Post(context.WithoutCancel(ctx), d); err != nil {
				s.logger().Warn("notice not delivered to the webhook", "notice", id, "kind", n.Kind, "err", err.Error())
			}
		})
	}
	return nil
}

func check(n module.Notice) error {
	var errs []fault.FieldError
	if n.UserID == "" {
		errs = append(errs, fault.Field("user_id", fault.M("请指明收件账号", "name the account told")))
	}
	if n.Kind == "" || len(n.Kind) > 60 {
		errs = append(errs, fault.Field("kind", fault.M("请指明消息类别（不超过 60 个字符）", "name the notice's kind (at most 60 characters)")))
	}
	if strings.TrimSpace(n.Title.ZH) == "" || utf8.RuneCountInString(n.Title.ZH) > maxTitle || utf8.RuneCountInString(n.Title.EN) > maxTitle {
		errs = append(errs, fault.Field("title", fault.M("标题不能为空，且不超过 200 字", "a title is needed, of at most 200 characters")))
	}
	if utf8.RuneCountInString(n.Body.ZH) > maxBody || utf8.RuneCountInString(n.Body.EN) > maxBody {
		errs = append(errs, fault.Field("body", fault.M("正文不超过 2000 字", "the body is at most 2,000 characters")))
	}
	if len(n.Key) > maxKey {
		errs = append(errs, fault.Field("key", fault.M("去重键过长", "the key is too long")))
	}
	if n.Href != "" && (!strings.HasPrefix(n.Href, "/") || strings.HasPrefix(n.Href, "//")) {
		errs = append(errs, fault.Field("href", fault.M("链接须为本站地址", "the link must be a path on this site")))
	}
	if errs != nil {
		return fault.Invalid(fault.M("消息内容有误", "the notice is not valid"), errs...)
	}
	return nil
}

// Close waits for webhook posts under way.
func (s *Service) Close() { s.sending.Wait() }

func (s *Service) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

const cols = `id, kind, title_zh, title_en, body_zh, body_en, href, created_at, read_at`

func scan(row db.Scanner) (Notice, error) {
	var n Notice
	var at, read db.Time
	err := row.Scan(&n.ID, &n.Kind, &n.Title.ZH, &n.Title.EN, &n.Body.ZH, &n.Body.EN, &n.Href, &at, &read)
	n.CreatedAt = at.Time
	if !read.IsZero() {
		r := read.Time
		n.ReadAt = &r
	}
	return n, err
}

// List returns an account's newest notices, the unread ones first, with
// the count of unread ones (at most UnreadBound+1).
func (s *Service) List(ctx context.Context, userID string, limit int) ([]Notice, int, error) {
	unread, err := s.Unread(ctx, userID)
	if err != nil {
		return nil, 0, err
	}
	ns, err := db.Collect(ctx, s.DB.R, scan, `SELECT `+cols+` FROM user_notices WHERE user_id = $1 AND read_at IS NULL
		ORDER BY created_at DESC, id DESC LIMIT $2`, userID, limit)
	if err != nil || len(ns) >= limit {
		return ns, unread, err
	}
	read, err := db.Collect(ctx, s.DB.R, scan, `SELECT `+cols+` FROM user_notices WHERE user_id = $1 AND read_at IS NOT NULL
		ORDER BY created_at DESC, id DESC LIMIT $2`, userID, limit-len(ns))
	return append(ns, read...), unread, err
}

// Unread counts an account's unread notices up to UnreadBound+1: one
// read of the partial index that stops there.
func (s *Service) Unread(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM user_notices WHERE user_id = $1 AND read_at IS NULL LIMIT $2) x`, userID, UnreadBound+1).Scan(&n)
	return n, err
}

// UnreadText is an unread count as shown: "99+" past UnreadBound.
func UnreadText(n int) string {
	if n > UnreadBound {
		return strconv.Itoa(UnreadBound) + "+"
	}
	return strconv.Itoa(n)
}

// Open returns one of the account's notices and marks it read; another
// account's notice is as absent as one that never was.
func (s *Service) Open(ctx context.Context, userID, id string) (Notice, error) {
	now := s.Now()
	if _, err := s.DB.W.ExecContext(ctx, `UPDATE user_notices SET read_at = $1 WHERE id = $2 AND user_id = $3 AND read_at IS NULL`, db.T(now), id, userID); err != nil {
		return Notice{}, err
	}
	n, err := scan(s.DB.W.QueryRowContext(ctx, `SELECT `+cols+` FROM user_notices WHERE id = $1 AND user_id = $2`, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return n, errNoNotice
	}
	return n, err
}

// ReadAll marks every unread notice of the account read and says how many.
func (s *Service) ReadAll(ctx context.Context, userID string) (int, error) {
	res, err := s.DB.W.ExecContext(ctx, `UPDATE user_notices SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL`, db.T(s.Now()), userID)
	if err != nil {
		return 0, err
	}
	k, err := res.RowsAffected()
	return int(k), err
}
