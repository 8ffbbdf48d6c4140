package auth

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
)

// TokenPrefix marks Linli API tokens so that leaked ones are easy to find.
const TokenPrefix = "lnl_"

// IssueToken creates a bearer API token for an account, bound to the
// account's role and division at issue time. The token is returned once.
func (s *Service) IssueToken(ctx context.Context, username, name string, ttl time.Duration) (string, error) {
	if p := access.From(ctx); p == nil || p.Role != access.SysAdmin {
		return "", notAllowed()
	}
	u, err := s.Get(ctx, username)
	if err != nil {
		return "", err
	}
	if u.Disabled {
		return "", invalid("username", fault.M("账号已停用", "the account is disabled"))
	}
	if ttl <= 0 || ttl > 366*24*time.Hour {
		return "", invalid("days", fault.M("有效期须为 1 至 366 天", "validity must be 1 to 366 days"))
	}
	tok, hash := NewToken(TokenPrefix)
	now := s.now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		id := db.NewID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, token_hash, user_id, name, role, division_code, created_at, expires_at, revoked_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,NULL)`, id, hash, u.ID, name, string(u.Role), u.Division, db.T(now), db.T(now.Add(ttl))); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "token.issue", Object: "user", ObjectID: u.Username, Division: u.Division,
			Detail: audit.Detail(map[string]string{"token_id": id, "name": name})})
	})
	return tok, err
}

// Bearer resolves an API token to its principal, or nil.
func (s *Service) Bearer(ctx context.Context, token string) (*access.Principal, error) {
	if len(token) > 100 {
		return nil, nil
	}
	var p access.Principal
	var expires, revoked db.Time
	var disabled bool
	err := s.DB.R.QueryRowContext(ctx, `SELECT t.id, u.id, u.username, t.role, t.division_code, t.expires_at, t.revoked_at, u.disabled
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1`, HashToken(token)).
		Scan(&p.TokenID, &p.UserID, &p.Username, &p.Role, &p.Division, &expires, &revoked, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if disabled || !revoked.IsZero() || s.now().After(expires.Time) {
		return nil, nil
	}
	return &p, nil
}
