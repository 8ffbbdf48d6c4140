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
}

// Throttling: this many consecutive failures lock an account for LockFor.
const (
	MaxFailures = 5
	LockFor     = 15 * time.Minute
)

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
	Locked      bool        `json:"locked"`
	CreatedAt   time.Time   `json:"created_at"`
	LastLoginAt *time.Time  `json:"last_login_at,omitempty"`

	hash       string
	totpSecret string
	failed     int
	lockedTill time.Time
}

const userCols = `id, username, display_name, role, division_code, password_hash, must_change_password, totp_secret, totp_enabled,
	failed_count, locked_until, disabled, created_at, last_login_at`

func (s *Service) scanUser(r interface{ Scan(...any) error }) (*User, error) {
	u := &User{}
	var locked, created, last db.Time
	err := r.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Division, &u.hash, &u.MustChange, &u.totpSecret, &u.TOTP,
		&u.failed, &locked, &u.Disabled, &created, &last)
	if err != nil {
		return nil, err
	}
	u.lockedTill = locked.Time
	u.Locked = !locked.IsZero() && s.now().Before(locked.Time)
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
	u, err := s.scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+col+` = $1`, v))
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
// one-time password when one was generated. Business admins cannot create
// the three admin duties: those are created by the operator's CLI.
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
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, username, display_name, role, division_code, password_hash, must_change_password,
			totp_secret, totp_enabled, failed_count, locked_until, disabled, created_at, updated_at, last_login_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,'',FALSE,0,NULL,FALSE,$8,$8,NULL)`,
			u.ID, u.Username, u.DisplayName, string(u.Role), u.Division, HashPassword(nu.Password), u.MustChange, db.T(now))
		if db.IsUniqueViolation(err) {
			m := fault.M("用户名已被使用："+u.Username, "username already taken: "+u.Username)
			return fault.New(fault.CodeConflict, m, fault.Field("username", m))
		}
		if err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "user.create", Object: "user", ObjectID: u.Username, Division: u.Division,
			Detail: audit.Detail(map[string]string{"role": string(u.Role), "division": u.Division})})
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
	where := `division_code >= $1 AND division_code < $2 AND (username LIKE $3 ESCAPE '\' OR lower(display_name) LIKE $3 ESCAPE '\')`
	var total int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE `+where, sc.Lo, sc.Hi, pat).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE `+where+` ORDER BY username LIMIT $4 OFFSET $5`, sc.Lo, sc.Hi, pat, limit, offset)
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

// ResetPassword sets a new one-time password (sysadmin, or the CLI) and ends
// the account's sessions.
func (s *Service) ResetPassword(ctx context.Context, username string) (string, error) {
	if p := access.From(ctx); p == nil || p.Role != access.SysAdmin {
		return "", notAllowed()
	}
	u, err := s.Get(ctx, username)
	if err != nil {
		return "", err
	}
	pw := RandomPassword()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, must_change_password = TRUE, failed_count = 0, locked_until = NULL, updated_at = $2 WHERE id = $3`,
			HashPassword(pw), db.T(s.now()), u.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "user.reset_password", Object: "user", ObjectID: u.Username, Division: u.Division})
	})
	return pw, err
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

// Unlock clears a throttling lock (security admin).
func (s *Service) Unlock(ctx context.Context, username string) error {
	if p := access.From(ctx); p == nil || p.Role != access.SecAdmin {
		return notAllowed()
	}
	u, err := s.Get(ctx, username)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_count = 0, locked_until = NULL, updated_at = $1 WHERE id = $2`, db.T(s.now()), u.ID); err != nil {
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
