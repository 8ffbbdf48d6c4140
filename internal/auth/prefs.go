package auth

import (
	"context"
	"database/sql"
	"errors"
	"net/http"

	"linli/internal/db"
	"linli/internal/web"
)

// SetElder remembers the account's 长辈模式 choice (not audited: it is a
// matter of display, and changes nothing anyone else sees).
func (s *Service) SetElder(ctx context.Context, userID string, on bool) error {
	v := 0
	if on {
		v = 1
	}
	res, err := s.DB.W.ExecContext(ctx, `UPDATE users SET elder_mode = $1 WHERE id = $2`, v, userID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(err, db.ErrNotFound)
	}
	return nil
}

// Elder returns the account's 长辈模式 choice; chosen is false when the
// account never made one.
func (s *Service) Elder(ctx context.Context, userID string) (on, chosen bool, err error) {
	var v sql.NullInt64
	err = s.DB.R.QueryRowContext(ctx, `SELECT elder_mode FROM users WHERE id = $1`, userID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, db.ErrNotFound
	}
	return v.Valid && v.Int64 == 1, v.Valid, err
}

// SetElderCookie remembers 长辈模式 in this browser for a year.
func SetElderCookie(w http.ResponseWriter, on bool, secure bool) {
	v := "0"
	if on {
		v = "1"
	}
	http.SetCookie(w, &http.Cookie{Name: web.ElderCookie, Value: v, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, HttpOnly: true, Secure: secure})
}

// applyElder carries the account's 长辈模式 choice into the browser at
// sign-in; an account that never chose keeps the browser's.
func (h *Handlers) applyElder(w http.ResponseWriter, r *http.Request, userID string) {
	on, chosen, err := h.Svc.Elder(r.Context(), userID)
	if err != nil {
		// A display preference never stops a sign-in.
		web.Logger(r.Context()).Warn("elder preference", "err", err.Error())
		return
	}
	if chosen && on != web.Elder(r) {
		SetElderCookie(w, on, h.secure(r))
	}
}
