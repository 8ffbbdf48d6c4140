package auth

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// loginRefused says why a sign-in failed, in words safe to show: a wrong
// username and a wrong password read the same.
func loginRefused(m fault.Msg) *fault.Error {
	return fault.New(fault.CodeUnauthenticated, m)
}

// totpRefused is a sign-in refused for want of a good one-time code: it
// names the totp field, so the form asks for one.
func totpRefused(m fault.Msg) *fault.Error {
	return fault.New(fault.CodeUnauthenticated, m, fault.Field("totp", m))
}

// NeedsTOTP tells whether a sign-in was refused for want of a good
// one-time code (the form should ask for one).
func NeedsTOTP(err error) bool {
	e, ok := fault.As(err)
	if !ok || e.Code != fault.CodeUnauthenticated {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == "totp" {
			return true
		}
	}
	return false
}

func badCredentials() *fault.Error {
	return loginRefused(fault.M("用户名或密码错误", "wrong username or password"))
}

// Login checks the credentials and opens a session, returning its token.
// Consecutive failures lock the account; every outcome is audited. A
// refused sign-in is an unauthenticated *fault.Error (see NeedsTOTP).
func (s *Service) Login(ctx context.Context, username, password, totp, ip, ua string) (string, *User, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	now := s.now()
	ctx = audit.WithIP(ctx, ip)
	fail := func(u *User, reason string, refusal *fault.Error) (string, *User, error) {
		e := audit.Entry{Actor: username, Action: "login", Result: audit.Failed, Object: "user", ObjectID: username, Detail: reason}
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			if u != nil {
				e.ActorID, e.Role, e.Division = u.ID, string(u.Role), u.Division
				if reason == "bad_password" || reason == "bad_totp" {
					n := u.failed + 1
					var lock any
					if n >= MaxFailures {
						lock = db.T(now.Add(LockFor))
						n = 0
						refusal = loginRefused(fault.M("连续失败次数过多，账号已锁定 15 分钟", "too many failed attempts; the account is locked for 15 minutes"))
					}
					if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_count = $1, locked_until = COALESCE($2, locked_until) WHERE id = $3`, n, lock, u.ID); err != nil {
						return err
					}
					if lock != nil {
						if err := s.Audit.RecordTx(ctx, tx, audit.Entry{ActorID: u.ID, Actor: username, Role: string(u.Role), Division: u.Division,
							Action: "login.lock", Object: "user", ObjectID: username, Result: audit.Denied, Detail: "locked for 15 minutes"}); err != nil {
							return err
						}
					}
				}
			}
			return s.Audit.RecordTx(ctx, tx, e)
		})
		if err != nil {
			return "", nil, err
		}
		return "", nil, refusal
	}
	u, err := s.userBy(ctx, s.DB.R, "username", username)
	if errors.Is(err, db.ErrNotFound) {
		CheckPassword(dummyHash, password)
		return fail(nil, "unknown_user", badCredentials())
	} else if err != nil {
		return "", nil, err
	}
	if u.Disabled {
		CheckPassword(dummyHash, password)
		return fail(u, "disabled", loginRefused(fault.M("账号已停用，请联系管理员", "the account is disabled; contact your administrator")))
	}
	if now.Before(u.lockedTill) {
		wait := u.lockedTill.Sub(now).Round(time.Minute).String()
		return fail(u, "locked", loginRefused(fault.M("账号已锁定，请 "+wait+" 后再试或联系安全管理员", "the account is locked; try again in "+wait+" or contact the security administrator")))
	}
	if !CheckPassword(u.hash, password) {
		return fail(u, "bad_password", badCredentials())
	}
	if u.TOTP {
		secretPlain, err := s.Keys.Open(u.totpSecret, "users.totp_secret:"+u.ID)
		if err != nil {
			return "", nil, err
		}
		if strings.TrimSpace(totp) == "" {
			return fail(u, "totp_missing", totpRefused(fault.M("请输入动态口令", "enter the one-time code from your authenticator")))
		}
		if !CheckTOTP(secretPlain, totp, now) {
			return fail(u, "bad_totp", totpRefused(fault.M("动态口令错误", "wrong one-time code")))
		}
	}
	tok, hash := NewToken("")
	if len(ua) > 300 {
		ua = ua[:300]
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, ip, user_agent) VALUES ($1,$2,$3,$3,$4,$5)`,
			hash, u.ID, db.T(now), ip, ua); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_count = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2`, db.T(now), u.ID); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{ActorID: u.ID, Actor: u.Username, Role: string(u.Role), Division: u.Division, Action: "login", Object: "user", ObjectID: u.Username})
	})
	if err != nil {
		return "", nil, err
	}
	return tok, u, nil
}

// touchEvery limits last-seen writes to one per session per minute, so that
// reading pages does not turn every request into a write.
const touchEvery = time.Minute

// Session looks up a session token and returns its principal, or nil when
// the token is unknown or the session has expired (idle or absolute).
func (s *Service) Session(ctx context.Context, token string) (*access.Principal, error) {
	if token == "" || len(token) > 100 {
		return nil, nil
	}
	hash := HashToken(token)
	var p access.Principal
	var created, seen db.Time
	var must, totpOn, requireTOTP, disabled bool
	err := s.DB.R.QueryRowContext(ctx, `SELECT u.id, u.username, u.role, u.division_code, u.must_change_password, u.totp_enabled, u.disabled,
		COALESCE(rp.require_totp, FALSE), s.created_at, s.last_seen_at
		FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN role_policies rp ON rp.role = u.role
		WHERE s.token_hash = $1`, hash).Scan(&p.UserID, &p.Username, &p.Role, &p.Division, &must, &totpOn, &disabled, &requireTOTP, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	if disabled || now.Sub(seen.Time) > s.IdleTimeout || now.Sub(created.Time) > s.MaxAge {
		_, err := s.DB.W.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash)
		return nil, err
	}
	if now.Sub(seen.Time) > touchEvery {
		if _, err := s.DB.W.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2`, db.T(now), hash); err != nil {
			return nil, err
		}
	}
	switch {
	case must:
		p.Pending = "password"
	case requireTOTP && !totpOn:
		p.Pending = "totp"
	}
	return &p, nil
}

// Logout deletes the session.
func (s *Service) Logout(ctx context.Context, token string) error {
	p, err := s.Session(ctx, token)
	if err != nil || p == nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, HashToken(token)); err != nil {
			return err
		}
		return s.Audit.RecordTx(access.With(ctx, p), tx, audit.Entry{Action: "logout", Object: "user", ObjectID: p.Username, Division: p.Division})
	})
}

// ChangePassword replaces the principal's password after checking the old
// one; other sessions of the account end.
func (s *Service) ChangePassword(ctx context.Context, token, old, new string) error {
	u, err := s.self(ctx)
	if err != nil {
		return err
	}
	if !CheckPassword(u.hash, old) {
		if err := s.Audit.Record(ctx, audit.Entry{Action: "user.change_password", Object: "user", ObjectID: u.Username, Result: audit.Failed, Detail: "bad_old_password"}); err != nil {
			return err
		}
		return invalid("old_password", fault.M("原密码不正确", "the current password is wrong"))
	}
	if m, weak := PasswordProblem(new, u.Username); weak {
		return invalid("new_password", m)
	}
	if old == new {
		return invalid("new_password", fault.M("新密码不能与原密码相同", "the new password must differ from the current one"))
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, must_change_password = FALSE, updated_at = $2 WHERE id = $3`,
			HashPassword(new), db.T(s.now()), u.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2`, u.ID, HashToken(token)); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "user.change_password", Object: "user", ObjectID: u.Username, Division: u.Division})
	})
}

// self is the signed-in principal's own account.
func (s *Service) self(ctx context.Context) (*User, error) {
	p := access.From(ctx)
	if p == nil || p.UserID == "" {
		return nil, notAllowed()
	}
	u, err := s.userBy(ctx, s.DB.R, "id", p.UserID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, accountNotFound()
	}
	return u, err
}

// StartTOTP returns the principal's pending secret, making one if needed.
func (s *Service) StartTOTP(ctx context.Context) (string, error) {
	u, err := s.self(ctx)
	if err != nil {
		return "", err
	}
	if u.totpSecret != "" && !u.TOTP {
		return s.Keys.Open(u.totpSecret, "users.totp_secret:"+u.ID)
	}
	sec := NewTOTPSecret()
	_, err = s.DB.W.ExecContext(ctx, `UPDATE users SET totp_secret = $1 WHERE id = $2 AND totp_enabled = FALSE`, s.Keys.Seal(sec, "users.totp_secret:"+u.ID), u.ID)
	return sec, err
}

// ConfirmTOTP turns the second factor on once the user shows a valid code.
func (s *Service) ConfirmTOTP(ctx context.Context, code string) error {
	u, err := s.self(ctx)
	if err != nil {
		return err
	}
	if u.totpSecret == "" {
		return invalid("code", fault.M("请先生成密钥", "generate a secret first"))
	}
	sec, err := s.Keys.Open(u.totpSecret, "users.totp_secret:"+u.ID)
	if err != nil {
		return err
	}
	if !CheckTOTP(sec, code, s.now()) {
		return invalid("code", fault.M("动态口令不正确，请核对手机时间后重试", "the code is wrong; check your phone's clock and try again"))
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_enabled = TRUE, updated_at = $1 WHERE id = $2`, db.T(s.now()), u.ID); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "user.totp_enable", Object: "user", ObjectID: u.Username, Division: u.Division})
	})
}
