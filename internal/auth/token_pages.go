package auth

import (
	"context"
	"net/http"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

type tokensView struct {
	Tokens []Token
	// All: the list is every token within the security administrator's
	// reach, not the principal's own.
	All bool
}

// tokensPage lists the tokens the principal may revoke: their own, or for
// the security administrator all within reach.
func (h *Handlers) tokensPage(w http.ResponseWriter, r *http.Request) {
	h.renderTokens(w, r, 200, web.View{})
}

func (h *Handlers) renderTokens(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	ts, err := h.Svc.Tokens(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Title = web.M("API 令牌", "API tokens")
	v.Data = tokensView{Tokens: ts, All: access.From(r.Context()).Role == access.SecAdmin}
	h.Pages.Render(w, r, status, "tokens", v)
}

func (h *Handlers) revokeTokenPost(w http.ResponseWriter, r *http.Request) {
	err := web.ParseForm(r)
	if err == nil && r.PostForm.Get("confirm") != "yes" {
		err = invalid("confirm", fault.M("请勾选确认", "tick the confirmation box"))
	}
	if err == nil {
		_, err = h.Svc.RevokeToken(r.Context(), r.PathValue("id"))
	}
	if e, ok := fault.As(err); ok {
		h.renderTokens(w, r, web.Status(e), web.View{Alert: e.Msg})
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderTokens(w, r, 200, web.View{Notice: web.M("令牌已撤销，立即失效", "token revoked; it stops working at once")})
}

func (h *Handlers) apiTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := h.Svc.Tokens(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, ts)
	return nil
}

func (h *Handlers) apiRevokeToken(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.Svc.RevokeToken(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// apiDecide applies the security administrator's decision on an account
// awaiting approval and answers with the account.
func (h *Handlers) apiDecide(w http.ResponseWriter, r *http.Request, decide func(ctx context.Context, username string) (*User, error)) error {
	u, err := decide(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, 200, u)
	return nil
}

func (h *Handlers) approvePost(w http.ResponseWriter, r *http.Request) {
	h.adminAction(w, r, func() (web.Msg, usersView, error) {
		_, err := h.Svc.Approve(r.Context(), r.PathValue("username"))
		return web.M("账号已批准，可以登录", "account approved; it may sign in"), usersView{}, err
	})
}

func (h *Handlers) rejectPost(w http.ResponseWriter, r *http.Request) {
	h.adminAction(w, r, func() (web.Msg, usersView, error) {
		_, err := h.Svc.Reject(r.Context(), r.PathValue("username"))
		return web.M("已拒绝，账号已停用", "refused; the account is disabled"), usersView{}, err
	})
}
