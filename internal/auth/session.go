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
// The attempt is counted first (see throttle.go); every attempt that gets
// as far as a password check is audited. Until the password is right, an
// unknown, disabled or waiting account answers as a wrong password does. A
// refused sign-in is an unauthenticated or too-many *fault.Error (see
// NeedsTOTP, RetryAfter).
func (s *Service) Login(ctx context.Context, username, password, totp, ip, ua string) (string, *User, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	ctx = audit.WithIP(ctx, ip)
	g, err := s.count(ctx, username, ip)
	if err != nil {
		return "", nil, err
	}
	u, err := s.userBy(ctx, s.DB.R, "username", username)
	if errors.Is(err, db.ErrNotFound) {
		u = nil
	} else if err != nil {
		return "", nil, err
	}
	bothFactors := false
	if g.wait() > 0 {
		if g.address > 0 {
			return "", nil, s.refuse(ctx, u, username, "", g, throttled(g.wait()))
		}
		if bothFactors, err = s.checkBoth(ctx, u, password, totp); err != nil {
			return "", nil, err
		} else if !bothFactors {
			return "", nil, s.refuse(ctx, u, username, "", g, throttled(g.wait()))
		}
	}
	if !bothFactors {
		if u == nil {
			CheckPassword(dummyHash, password)
			return "", nil, s.refuse(ctx, nil, username, "unknown_user", g, badCredentials())
		}
		if !CheckPassword(u.hash, password) {
			return "", nil, s.refuse(ctx, u, username, "bad_password", g, badCredentials())
		}
	}
	switch {
	case u.Disabled:
		return "", nil, s.refuse(ctx, u, username, "disabled", g, loginRefused(fault.M("账号已停用，请联系管理员", "the account is disabled; contact your administrator")))
	case u.PendingApproval:
		return "", nil, s.refuse(ctx, u, username, "awaiting_approval", g, loginRefused(awaitingApproval()))
	case u.TOTP && !bothFactors && strings.TrimSpace(totp) == "":
		return "", nil, s.refuse(ctx, u, username, "totp_missing", g, totpRefused(fault.M("请输入动态口令", "enter the one-time code from your authenticator")))
	case u.TOTP && !bothFactors:
		ok, err := s.takeTOTP(ctx, u, totp)
		if err != nil {
			return "", nil, err
		}
		if !ok {
			return "", nil, s.refuse(ctx, u, username, "bad_totp", g, totpRefused(fault.M("动态口令错误", "wrong one-time code")))
		}
	}
	return s.open(ctx, u, ip, ua)
}

// checkBoth tells whether a sign-in shows the right password and a fresh
// one-time code of an account that has them: that lets it through its own
// back-off. The password is checked whenever a code is given, whoever the
// account, so that the time taken tells nothing.
func (s *Service) checkBoth(ctx context.Context, u *User, password, code string) (bool, error) {
	if strings.TrimSpace(code) == "" {
		return false, nil
	}
	if u == nil || !u.TOTP {
		CheckPassword(dummyHash, password)
		return false, nil
	}
	if !CheckPassword(u.hash, password) {
		return false, nil
	}
	return s.takeTOTP(ctx, u, code)
}

// takeTOTP accepts a one-time code of u once: the step it belongs to must
// be later than the last one taken, and taking it is one conditional
// UPDATE, so two sign-ins with the same code cannot both pass.
func (s *Service) takeTOTP(ctx context.Context, u *User, code string) (bool, error) {
	secret, err := s.Keys.Open(u.totpSecret, "users.totp_secret:"+u.ID)
	if err != nil {
		return false, err
	}
	step, ok := matchTOTP(secret, code, s.now())
	if !ok {
		return false, nil
	}
	res, err := s.DB.W.ExecContext(ctx, `UPDATE users SET totp_step = $1 WHERE id = $2 AND totp_step < $1`, step, u.ID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// refuse audits a refused sign-in that reached a check (reason, "" for one
// turned away by the back-off, which only the count records) and the start
// of a back-off, then returns the refusal.
func (s *Service) refuse(ctx context.Context, u *User, username, reason string, g gate, refusal error) error {
	var entries []audit.Item
	actor := audit.Entry{Actor: username}
	if u != nil {
		actor.ActorID, actor.Role, actor.Division = u.ID, string(u.Role), u.Division
	}
	if reason != "" {
		e := actor
		e.Action, e.Result, e.Object, e.ObjectID, e.Detail = "login", audit.Failed, "user", username, reason
		entries = append(entries, audit.Item{Ctx: ctx, Entry: e})
	}
	for _, key := range g.began {
		e := actor
		e.Action, e.Result, e.Object, e.ObjectID, e.Detail = "login.throttle", audit.Denied, "user", username, key
		entries = append(entries, audit.Item{Ctx: ctx, Entry: e})
	}
	if len(entries) > 0 {
		if err := s.DB.Tx(ctx, func(tx *sql.Tx) error { return s.Audit.RecordAllTx(ctx, tx, entries) }); err != nil {
			return err
		}
	}
	return refusal
}

// open starts a session for u after a good sign-in.
func (s *Service) open(ctx context.Context, u *User, ip, ua string) (string, *User, error) {
	now := s.now()
	tok, hash := NewToken("")
	if len(ua) > 300 {
		ua = ua[:300]
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, ip, user_agent) VALUES ($1,$2,$3,$3,$4,$5)`,
			hash, u.ID, db.T(now), ip, ua); err != nil {
			return err
		}
		if err := signedIn(ctx, tx, u.Username, ip); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET last_login_at = $1 WHERE id = $2`, db.T(now), u.ID); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{ActorID: u.ID, Actor: u.Username, Role: string(u.Role), Division: u.Division, Action: "login", Object: "user", ObjectID: u.Username})
	})
	if err != nil {
		return "", nil, err
	}
	u.Throttled = false
	return tok, u, s.forgetQuiet(ctx)
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
	var must, totpOn, requireTOTP, disabled, waiting bool
	err := s.DB.R.QueryRowContext(ctx, `SELECT u.id, u.username, u.role, u.division_code, u.must_change_password, u.totp_enabled, u.disabled,
		u.awaiting_approval, COALESCE(rp.require_totp, FALSE), s.created_at, s.last_seen_at
		FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN role_policies rp ON rp.role = u.role
		WHERE s.token_hash = $1`, hash).Scan(&p.UserID, &p.Username, &p.Role, &p.Division, &must, &totpOn, &disabled, &waiting, &requireTOTP, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	if disabled || waiting || now.Sub(seen.Time) > s.IdleTimeout || now.Sub(created.Time) > s.MaxAge {
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
		ended, err := s.endTokens(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "user.change_password", Object: "user", ObjectID: u.Username, Division: u.Division,
			Detail: audit.Detail(map[string]int64{"tokens_ended": ended})})
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

// StartTOTP returns the principal's pending secret, making one if needed
// (a state change: the enrolment page calls it on POST only).
func (s *Service) StartTOTP(ctx context.Context) (string, error) {
	u, err := s.self(ctx)
	if err != nil {
		return "", err
	}
	if pending, err := s.pendingTOTP(u); err != nil || pending != "" {
		return pending, err
	}
	sec := NewTOTPSecret()
	_, err = s.DB.W.ExecContext(ctx, `UPDATE users SET totp_secret = $1 WHERE id = $2 AND totp_enabled = FALSE`, s.Keys.Seal(sec, "users.totp_secret:"+u.ID), u.ID)
	return sec, err
}

// pendingTOTP is u's secret made but not yet confirmed, "" when none.
func (s *Service) pendingTOTP(u *User) (string, error) {
	if u.totpSecret == "" || u.TOTP {
		return "", nil
	}
	return s.Keys.Open(u.totpSecret, "users.totp_secret:"+u.ID)
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
	step, ok := matchTOTP(sec, code, s.now())
	if !ok {
		return invalid("code", fault.M("动态口令不正确，请核对手机时间后重试", "the code is wrong; check your phone's clock and try again"))
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// The code that enrols is taken: it cannot sign in as well.
		if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_enabled = TRUE, totp_step = $1, updated_at = $2 WHERE id = $3`, step, db.T(s.now()), u.ID); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "user.totp_enable", Object: "user", ObjectID: u.Username, Division: u.Division})
	})
}
