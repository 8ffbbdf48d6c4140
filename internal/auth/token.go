package auth

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// TokenPrefix marks Linli API tokens so that leaked ones are easy to find.
const TokenPrefix = "lnl_"

// MaxTokenTTL is the longest a token may live.
const MaxTokenTTL = 366 * 24 * time.Hour

// TokenRequest is what issuing a token needs.
type TokenRequest struct {
	Username string
	Name     string // what the token is for, e.g. "12345-hotline"
	// Scope is "read" (every GET) and/or API operations as routed
	// ("POST /api/v1/requests"), comma-separated.
	Scope string
	TTL   time.Duration
}

// Token is an API token as its owner and the security administrator see
// it (never its secret, which is shown once at issue).
type Token struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Username  string      `json:"username"`
	Role      access.Role `json:"role"`
	Division  string      `json:"division_code"`
	Scope     string      `json:"scope"`
	IssuedBy  string      `json:"issued_by"`
	CreatedAt time.Time   `json:"created_at"`
	ExpiresAt time.Time   `json:"expires_at"`
	RevokedAt *time.Time  `json:"revoked_at,omitempty"`
	RevokedBy string      `json:"revoked_by,omitempty"`
	Active    bool        `json:"active"`
}

// IssueToken creates a bearer API token for an account (system
// administrator or the operator), bound to the account's role and
// division at issue time and limited to its scope; it returns the secret,
// once, with the token's record. The issue is audited with who issued it.
func (s *Service) IssueToken(ctx context.Context, req TokenRequest) (string, *Token, error) {
	p := access.From(ctx)
	if p == nil || p.Role != access.SysAdmin {
		return "", nil, notAllowed()
	}
	u, err := s.Get(ctx, req.Username)
	if err != nil {
		return "", nil, err
	}
	switch {
	case u.Disabled:
		return "", nil, invalid("username", fault.M("账号已停用", "the account is disabled"))
	case u.PendingApproval:
		return "", nil, invalid("username", awaitingApproval())
	case req.TTL <= 0 || req.TTL > MaxTokenTTL:
		return "", nil, invalid("days", fault.M("有效期须为 1 至 366 天", "validity must be 1 to 366 days"))
	}
	scope, err := s.parseScope(req.Scope)
	if err != nil {
		return "", nil, err
	}
	secret, hash := NewToken(TokenPrefix)
	now := s.now()
	t := &Token{ID: db.NewID(), Name: req.Name, Username: u.Username, Role: u.Role, Division: u.Division, Scope: scope, IssuedBy: p.Username,
		CreatedAt: now, ExpiresAt: now.Add(req.TTL), Active: true}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, token_hash, user_id, name, role, division_code, scope, issued_by, created_at, expires_at, revoked_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,NULL)`, t.ID, hash, u.ID, t.Name, string(t.Role), t.Division, t.Scope, t.IssuedBy, db.T(now), db.T(t.ExpiresAt)); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "token.issue", Object: "user", ObjectID: u.Username, Division: u.Division,
			Detail: audit.Detail(map[string]string{"token_id": t.ID, "name": t.Name, "scope": t.Scope, "issued_by": t.IssuedBy,
				"role": string(t.Role), "expires_at": db.T(t.ExpiresAt).Format(time.RFC3339)})})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// parseScope checks a scope — "read" and API operations the router knows,
// comma-separated — and returns its clean form.
func (s *Service) parseScope(scope string) (string, error) {
	var known []string
	if s.Operations != nil {
		known = s.Operations()
	}
	var out []string
	for _, part := range strings.Split(scope, ",") {
		part = strings.Join(strings.Fields(part), " ")
		switch {
		case part == "" || slices.Contains(out, part):
		case part == access.ScopeRead || slices.Contains(known, part):
			out = append(out, part)
		default:
			return "", invalid("scope", fault.M("未知的操作："+part+"（范围为 read 或 API 操作，如 \"POST /api/v1/requests\"）",
				"unknown operation: "+part+` (a scope is read or API operations such as "POST /api/v1/requests")`))
		}
	}
	if len(out) == 0 {
		return "", invalid("scope", fault.M("请给出令牌的范围：read 或允许的 API 操作", "give the token a scope: read, or the API operations it may call"))
	}
	return strings.Join(out, ","), nil
}

// Bearer resolves an API token to its principal: nil for an unknown,
// expired or revoked token or a disabled account, and a forbidden refusal
// while the account is not in good standing (a one-time password to
// change, a required second factor not enrolled, an approval awaited). A
// sign-in back-off does not stop tokens: failures by anyone must not cut
// off an account's integrations.
func (s *Service) Bearer(ctx context.Context, token string) (*access.Principal, error) {
	if len(token) > 100 {
		return nil, nil
	}
	var p access.Principal
	var expires, revoked db.Time
	var disabled, must, waiting, totpOn, requireTOTP bool
	err := s.DB.R.QueryRowContext(ctx, `SELECT t.id, t.scope, u.id, u.username, t.role, t.division_code, t.expires_at, t.revoked_at,
		u.disabled, u.must_change_password, u.awaiting_approval, u.totp_enabled, COALESCE(rp.require_totp, FALSE)
		FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN role_policies rp ON rp.role = u.role WHERE t.token_hash = $1`, HashToken(token)).
		Scan(&p.TokenID, &p.Scope, &p.UserID, &p.Username, &p.Role, &p.Division, &expires, &revoked, &disabled, &must, &waiting, &totpOn, &requireTOTP)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if disabled || !revoked.IsZero() || !s.now().Before(expires.Time) {
		return nil, nil
	}
	switch {
	case waiting:
		return nil, fault.Forbidden(fault.M("账号待安全管理员审批，令牌暂不可用", "the account awaits the security administrator's approval; its tokens do not work yet"))
	case must:
		return nil, fault.Forbidden(fault.M("账号须先在网页上修改初始密码，令牌暂不可用", "the account must change its one-time password on the web before its tokens work"))
	case requireTOTP && !totpOn:
		return nil, fault.Forbidden(fault.M("账号的角色要求动态口令，须先在网页上绑定，令牌暂不可用", "the account's role requires one-time codes: enrol on the web before its tokens work"))
	}
	return &p, nil
}

const tokenCols = `t.id, t.name, u.username, t.role, t.division_code, t.scope, t.issued_by, t.created_at, t.expires_at, t.revoked_at, t.revoked_by, u.id`

func (s *Service) scanToken(r db.Scanner) (Token, string, error) {
	var t Token
	var ownerID string
	var created, expires, revoked db.Time
	if err := r.Scan(&t.ID, &t.Name, &t.Username, &t.Role, &t.Division, &t.Scope, &t.IssuedBy, &created, &expires, &revoked, &t.RevokedBy, &ownerID); err != nil {
		return t, "", err
	}
	t.CreatedAt, t.ExpiresAt = created.Time, expires.Time
	if !revoked.IsZero() {
		at := revoked.Time
		t.RevokedAt = &at
	}
	t.Active = t.RevokedAt == nil && s.now().Before(t.ExpiresAt)
	return t, ownerID, nil
}

// tokenScope is the SQL condition on the tokens p may see and revoke: the
// operator at the console all, the security administrator those of
// accounts within reach, anyone else their own.
func tokenScope(p *access.Principal) (string, []any) {
	switch {
	case p.UserID == "" && p.Role == access.SysAdmin:
		return `TRUE`, nil
	case p.Role == access.SecAdmin:
		sc := access.Subtree(p.Division)
		return `u.division_code >= $1 AND u.division_code < $2`, []any{sc.Lo, sc.Hi}
	}
	return `u.id = $1`, []any{p.UserID}
}

// Tokens lists the tokens the principal may see, newest first (at most
// 500).
func (s *Service) Tokens(ctx context.Context) ([]Token, error) {
	p := access.From(ctx)
	if p == nil || (p.UserID == "" && p.Role != access.SysAdmin) {
		return nil, notAllowed()
	}
	cond, args := tokenScope(p)
	out, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (Token, error) {
		t, _, err := s.scanToken(r)
		return t, err
	}, `SELECT `+tokenCols+` FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE `+cond+` ORDER BY t.created_at DESC, t.id DESC LIMIT 500`, args...)
	if out == nil {
		out = []Token{}
	}
	return out, err
}

func tokenNotFound() *fault.Error {
	return fault.NotFound(fault.M("令牌不存在或不在您的管辖范围内", "token not found or outside your reach"))
}

// RevokeToken ends a token at once: its owner, the security administrator
// (within reach) or the operator may; audited.
func (s *Service) RevokeToken(ctx context.Context, id string) (*Token, error) {
	p := access.From(ctx)
	if p == nil || (p.UserID == "" && p.Role != access.SysAdmin) {
		return nil, notAllowed()
	}
	cond, args := tokenScope(p)
	n := len(args)
	t, ownerID, err := s.scanToken(s.DB.R.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE `+cond+
		` AND t.id = $`+strconv.Itoa(n+1), append(args, id)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tokenNotFound()
	} else if err != nil {
		return nil, err
	}
	if t.RevokedAt != nil {
		return nil, fault.Conflict(fault.M("令牌已被撤销", "the token is already revoked"))
	}
	now := s.now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL`, db.T(now), p.Username, t.ID); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "token.revoke", Object: "user", ObjectID: t.Username, Division: t.Division,
			Detail: audit.Detail(map[string]string{"token_id": t.ID, "name": t.Name, "owner_id": ownerID})})
	})
	if err != nil {
		return nil, err
	}
	at := db.T(now).Time
	t.RevokedAt, t.RevokedBy, t.Active = &at, p.Username, false
	return &t, nil
}

// endTokens revokes every live token of an account inside tx (a password
// change or reset), returning how many ended.
func (s *Service) endTokens(ctx context.Context, tx *sql.Tx, userID string) (int64, error) {
	by := ""
	if p := access.From(ctx); p != nil {
		by = p.Username
	}
	res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1, revoked_by = $2 WHERE user_id = $3 AND revoked_at IS NULL`, db.T(s.now()), by, userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
