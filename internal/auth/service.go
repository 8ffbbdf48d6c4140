package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/secret"
)

// Service is the account system.
type Service struct {
	DB    *db.DB
	Audit *audit.Log
	Keys  *secret.Keyring
	// Now is the clock (tests move it instead of sleeping).
	Now func() time.Time
	// IdleTimeout ends a session unused for this long; MaxAge ends any
	// session this long after sign-in.
	IdleTimeout time.Duration
	MaxAge      time.Duration
	// DivisionExists reports whether a division code is known.
	DivisionExists func(ctx context.Context, code string) (level int, ok bool, err error)
	// Operations lists the API's operations as routed ("POST /api/v1/…"),
	// which a token's scope may name; the handlers set it when they
	// register their routes (nil: a scope may only be "read").
	Operations func() []string
}

func (s *Service) now() time.Time { return db.T(s.Now()).Time }

// HashToken is the stored form of a session or API token.
func HashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// User is an account.
type User struct {
	ID          string      `json:"id"`
	Username    string      `json:"username"`
	DisplayName string      `json:"display_name"`
	Role        access.Role `json:"role"`
	Division    string      `json:"division_code"`
	MustChange  bool        `json:"must_change_password"`
	TOTP        bool        `json:"totp_enabled"`
	Disabled    bool        `json:"disabled"`
	// Throttled: failed sign-ins have put the next one back (see
	// throttle.go); the security administrator may clear it.
	Throttled bool `json:"throttled"`
	// PendingApproval: made or reset by an admin, the account reads
	// personal data and waits for the security administrator.
	PendingApproval bool       `json:"pending_approval"`
	RequestedBy     string     `json:"requested_by,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	LastLoginAt     *time.Time `json:"last_login_at,omitempty"`

	hash       string
	totpSecret string
}

// userFrom reads accounts with their sign-in back-off.
const userFrom = ` FROM users u LEFT JOIN login_throttle t ON t.key = 'user:' || u.username `

const userCols = `u.id, u.username, u.display_name, u.role, u.division_code, u.password_hash, u.must_change_password, u.totp_secret, u.totp_enabled,
	u.disabled, u.awaiting_approval, u.requested_by, t.wait_until, u.created_at, u.last_login_at`

func (s *Service) scanUser(r interface{ Scan(...any) error }) (*User, error) {
	u := &User{}
	var waitUntil, created, last db.Time
	err := r.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Division, &u.hash, &u.MustChange, &u.totpSecret, &u.TOTP,
		&u.Disabled, &u.PendingApproval, &u.RequestedBy, &waitUntil, &created, &last)
	if err != nil {
		return nil, err
	}
	u.Throttled = waitUntil.After(s.now())
	u.CreatedAt = created.Time
	if !last.IsZero() {
		t := last.Time
		u.LastLoginAt = &t
	}
	return u, nil
}

// userBy reads one account; db.ErrNotFound when there is none.
func (s *Service) userBy(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, col, v string) (*User, error) {
	u, err := s.scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+userFrom+`WHERE u.`+col+` = $1`, v))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, db.ErrNotFound
	}
	return u, err
}

// invalid is a refusal of one field's value, the message repeated on the
// field so that forms can show it beside the input.
func invalid(field string, m fault.Msg) *fault.Error {
	return fault.Invalid(m, fault.Field(field, m))
}

// notAllowed is the refusal of an action the principal's role may not take.
func notAllowed() *fault.Error {
	return fault.Forbidden(fault.M("您的角色无权执行此操作", "your role may not do this"))
}

// accountNotFound is the answer for an account that does not exist or lies
// outside the principal's reach: the two read the same.
func accountNotFound() *fault.Error {
	return fault.NotFound(fault.M("账号不存在或不在您的管辖范围内", "account not found or outside your jurisdiction"))
}

func divisionRefused(code string) *fault.Error {
	return invalid("division_code", fault.M("区划不存在或不在您的管辖范围内："+code, "division not found or outside your jurisdiction: "+code))
}

var usernameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{2,31}$`)

// NewUser is what creating an account needs.
type NewUser struct {
	Username    string      `json:"username"`
	DisplayName string      `json:"display_name"`
	Role        access.Role `json:"role"`
	Division    string      `json:"division_code"`
	Password    string      `json:"password,omitempty"` // empty: a one-time password is generated
}

// Create makes an account as the principal in ctx and returns it with the
// one-time password when one was generated. A signed-in admin cannot create
// the three admin duties (the operator's CLI does) nor choose a password:
// the account gets a one-time password to change at first sign-in, and one
// that reads personal data waits for the security administrator's approval
// (two people, 三员分立). The operator at the console may give a password
// (the first admin, the demo, scripted set-ups); it is audited as them.
func (s *Service) Create(ctx context.Context, nu NewUser) (*User, string, error) {
	actor := access.From(ctx)
	nu.Username = strings.ToLower(strings.TrimSpace(nu.Username))
	nu.DisplayName = strings.TrimSpace(nu.DisplayName)
	if nu.DisplayName == "" {
		nu.DisplayName = nu.Username
	}
	switch {
	case actor == nil || (actor.Role != access.SysAdmin):
		return nil, "", notAllowed()
	case !usernameRe.MatchString(nu.Username):
		return nil, "", invalid("username", fault.M("用户名须为 3–32 位小写字母、数字或 _ . -，以字母或数字开头", "username must be 3–32 lower-case letters, digits or _ . -, starting with a letter or digit"))
	case len([]rune(nu.DisplayName)) > 50:
		return nil, "", invalid("display_name", fault.M("姓名不能超过 50 个字", "display name must be at most 50 characters"))
	case !nu.Role.Valid():
		return nil, "", invalid("role", fault.M("未知的角色："+string(nu.Role), "unknown role: "+string(nu.Role)))
	case !nu.Role.Business() && actor.UserID != "":
		return nil, "", invalid("role", fault.M("管理员账号只能由运维人员用命令行创建", "admin accounts are created by the operator with the command line"))
	case nu.Password != "" && actor.UserID != "":
		return nil, "", invalid("password", fault.M("管理员不能设定密码：系统生成一次性密码，首次登录须修改", "an admin cannot set the password: a one-time password is generated, to be changed at first sign-in"))
	case !access.Encloses(actor.Division, nu.Division):
		return nil, "", divisionRefused(nu.Division)
	}
	level, ok, err := s.DivisionExists(ctx, nu.Division)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", divisionRefused(nu.Division)
	}
	if want := nu.Role.RequiredLevel(); want != 0 && level != want {
		return nil, "", invalid("division_code", fault.M("该角色须绑定到村(社区)级区划（12 位代码）", "this role must be bound to a village/community (12-digit code)"))
	}
	if nu.Role == access.Officer && level > 4 {
		return nil, "", invalid("division_code", fault.M("民政干部须绑定到乡镇及以上区划", "officers are bound to a township or higher division"))
	}
	oneTime := ""
	if nu.Password == "" {
		oneTime = RandomPassword()
		nu.Password = oneTime
	} else if m, weak := PasswordProblem(nu.Password, nu.Username); weak {
		return nil, "", invalid("password", m)
	}
	now := s.now()
	u := &User{ID: db.NewID(), Username: nu.Username, DisplayName: nu.DisplayName, Role: nu.Role, Division: nu.Division, MustChange: oneTime != "", CreatedAt: now}
	if needsApproval(actor, u.Role) {
		u.PendingApproval, u.RequestedBy = true, actor.Username
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, username, display_name, role, division_code, password_hash, must_change_password,
			totp_secret, totp_enabled, disabled, awaiting_approval, requested_by, created_at, updated_at, last_login_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,'',FALSE,FALSE,$8,$9,$10,$10,NULL)`,
			u.ID, u.Username, u.DisplayName, string(u.Role), u.Division, HashPassword(nu.Password), u.MustChange, u.PendingApproval, u.RequestedBy, db.T(now))
		if db.IsUniqueViolation(err) {
			m := fault.M("用户名已被使用："+u.Username, "username already taken: "+u.Username)
			return fault.New(fault.CodeConflict, m, fault.Field("username", m))
		}
		if err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "user.create", Object: "user", ObjectID: u.Username, Division: u.Division,
			Detail: audit.Detail(map[string]any{"role": string(u.Role), "division": u.Division, "awaiting_approval": u.PendingApproval})})
	})
	if err != nil {
		return nil, "", err
	}
	return u, oneTime, nil
}

// Get returns an account the principal may manage (admins within their
// division's subtree), else a not-found refusal.
func (s *Service) Get(ctx context.Context, username string) (*User, error) {
	p := access.From(ctx)
	if p == nil {
		return nil, accountNotFound()
	}
	u, err := s.userBy(ctx, s.DB.R, "username", username)
	if errors.Is(err, db.ErrNotFound) {
		return nil, accountNotFound()
	} else if err != nil {
		return nil, err
	}
	if p.UserID != u.ID && !access.Encloses(p.Division, u.Division) {
		return nil, accountNotFound()
	}
	return u, nil
}

// List pages accounts in the principal's subtree, searching by username or
// display name.
func (s *Service) List(ctx context.Context, q string, offset, limit int) ([]*User, int, error) {
	p := access.From(ctx)
	if p == nil || (p.Role != access.SysAdmin && p.Role != access.SecAdmin && p.Role != access.Auditor) {
		return nil, 0, notAllowed()
	}
	sc := access.Subtree(p.Division)
	pat := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(strings.TrimSpace(q))) + "%"
	where := `u.division_code >= $1 AND u.division_code < $2 AND (u.username LIKE $3 ESCAPE '\' OR lower(u.display_name) LIKE $3 ESCAPE '\')`
	var total int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM users u WHERE `+where, sc.Lo, sc.Hi, pat).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+userCols+userFrom+`WHERE `+where+` ORDER BY u.username LIMIT $4 OFFSET $5`, sc.Lo, sc.Hi, pat, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*User
	for rows.Next() {
		u, err := s.scanUser(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, u)
	}
	return out, total, rows.Err()
}

// needsApproval tells whether an account of role made or handed over by
// actor waits for the security administrator: one that reads personal
// data, made by a signed-in admin rather than the operator at the console.
func needsApproval(actor *access.Principal, role access.Role) bool {
	return actor.UserID != "" && role.PersonalData()
}

// awaitingApproval is the answer of an account that waits for approval.
func awaitingApproval() fault.Msg {
	return fault.M("账号待安全管理员审批", "the account awaits the security administrator's approval")
}

// ResetPassword sets a new one-time password (sysadmin, or the CLI) and ends
// the account's sessions and API tokens. Whoever holds the one-time
// password holds the account, so one that reads personal data waits for
// the security administrator's approval again.
func (s *Service) ResetPassword(ctx context.Context, username string) (string, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.SysAdmin {
		return "", notAllowed()
	}
	u, err := s.Get(ctx, username)
	if err != nil {
		return "", err
	}
	pw := RandomPassword()
	waiting := needsApproval(p, u.Role)
	requestedBy := ""
	if waiting {
		requestedBy = p.Username
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, must_change_password = TRUE, awaiting_approval = $2, requested_by = $3, updated_at = $4 WHERE id = $5`,
			HashPassword(pw), waiting, requestedBy, db.T(s.now()), u.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1`, accountKey(u.Username)); err != nil {
			return err
		}
		ended, err := s.endTokens(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "user.reset_password", Object: "user", ObjectID: u.Username, Division: u.Division,
			Detail: audit.Detail(map[string]any{"tokens_ended": ended, "awaiting_approval": waiting})})
	})
	return pw, err
}

// Approve lets an account waiting for approval sign in (security
// administrator, within reach: a second person, since only the system
// administrator makes or resets accounts).
func (s *Service) Approve(ctx context.Context, username string) (*User, error) {
	return s.decide(ctx, username, "user.approve", `awaiting_approval = FALSE, requested_by = ''`)
}

// Reject refuses an account waiting for approval: it is disabled.
func (s *Service) Reject(ctx context.Context, username string) (*User, error) {
	return s.decide(ctx, username, "user.reject", `awaiting_approval = FALSE, requested_by = '', disabled = TRUE`)
}

// decide applies the security administrator's decision on a waiting
// account, once: a second decision is a conflict.
func (s *Service) decide(ctx context.Context, username, action, set string) (*User, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.SecAdmin {
		return nil, notAllowed()
	}
	u, err := s.Get(ctx, username)
	if err != nil {
		return nil, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET `+set+`, updated_at = $1 WHERE id = $2 AND awaiting_approval`, db.T(s.now()), u.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return fault.Conflict(fault.M("该账号不在待审批状态", "the account is not awaiting approval"))
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: action, Object: "user", ObjectID: u.Username, Division: u.Division,
			Detail: audit.Detail(map[string]string{"role": string(u.Role), "requested_by": u.RequestedBy})})
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, username)
}

// SetDisabled disables or enables an account (security admin); disabling
// ends its sessions and API tokens at once.
func (s *Service) SetDisabled(ctx context.Context, username string, disabled bool) error {
	if p := access.From(ctx); p == nil || (p.Role != access.SecAdmin && p.Role != access.SysAdmin) {
		return notAllowed()
	}
	u, err := s.Get(ctx, username)
	if err != nil {
		return err
	}
	if u.ID == access.From(ctx).UserID {
		return invalid("username", fault.M("不能停用自己的账号", "you cannot disable your own account"))
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3`, disabled, db.T(s.now()), u.ID); err != nil {
			return err
		}
		if disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
				return err
			}
		}
		action := "user.enable"
		if disabled {
			action = "user.disable"
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: action, Object: "user", ObjectID: u.Username, Division: u.Division})
	})
}

// Unlock clears an account's sign-in back-off (security admin).
func (s *Service) Unlock(ctx context.Context, username string) error {
	if p := access.From(ctx); p == nil || p.Role != access.SecAdmin {
		return notAllowed()
	}
	u, err := s.Get(ctx, username)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1`, accountKey(u.Username)); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "user.unlock", Object: "user", ObjectID: u.Username, Division: u.Division})
	})
}

// Policies returns which roles must use a second factor.
func (s *Service) Policies(ctx context.Context) (map[access.Role]bool, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT role, require_totp FROM role_policies`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[access.Role]bool{}
	for rows.Next() {
		var r string
		var b bool
		if err := rows.Scan(&r, &b); err != nil {
			return nil, err
		}
		out[access.Role(r)] = b
	}
	return out, rows.Err()
}

// SetPolicy requires (or not) a second factor for a role (security admin).
func (s *Service) SetPolicy(ctx context.Context, role access.Role, requireTOTP bool) error {
	if p := access.From(ctx); p == nil || p.Role != access.SecAdmin {
		return notAllowed()
	}
	if !role.Valid() {
		return invalid("role", fault.M("未知的角色："+string(role), "unknown role: "+string(role)))
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE role_policies SET require_totp = $1 WHERE role = $2`, requireTOTP, string(role)); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "policy.set", Object: "role", ObjectID: string(role),
			Detail: audit.Detail(map[string]bool{"require_totp": requireTOTP})})
	})
}

// CountUsers tells whether any account exists (first start).
func (s *Service) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// EnsureFirstAdmin creates the first system administrator when there is no
// account at all, returning its one-time password (empty when accounts exist).
func (s *Service) EnsureFirstAdmin(ctx context.Context) (string, error) {
	n, err := s.CountUsers(ctx)
	if err != nil {
		return "", err
	}
	if n > 0 {
		return "", nil
	}
	_, pw, err := s.Create(access.With(ctx, access.Operator()), NewUser{Username: "admin", DisplayName: "系统管理员", Role: access.SysAdmin, Division: "33"})
	if err != nil {
		return "", fmt.Errorf("first admin: %w", err)
	}
	return pw, nil
}
