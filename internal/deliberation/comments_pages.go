package deliberation

import (
	"net/http"
	"net/url"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/keyset"
	"linli/internal/web"
)

func (h *handlers) registerCommentPages(rt *web.Router) {
	rt.Page("POST /deliberation/topics/{id}/comments", h.postComment)
	rt.Page("POST /deliberation/topics/{id}/support", h.postSupport(true))
	rt.Page("POST /deliberation/topics/{id}/unsupport", h.postSupport(false))
	rt.Page("POST /deliberation/comments/{id}/report", h.postReport)
	rt.Page("GET /deliberation/comments/{id}", func(w http.ResponseWriter, r *http.Request) { h.pageComment(w, r, 200, web.View{}) })
	rt.Page("POST /deliberation/comments/{id}/moderation", h.postModeration)
	rt.Page("GET /deliberation/moderation", h.pageQueue)
	rt.Page("GET /deliberation/words", func(w http.ResponseWriter, r *http.Request) { h.pageWords(w, r, 200, web.View{}) })
	rt.Page("POST /deliberation/words", h.postWords)
}

// discussion is the online part of a topic's page.
type discussion struct {
	Comments   []commentItem
	Pager      web.Pager
	Support    Support
	CanComment bool
	CanSupport bool // a resident of the community
	Moderator  bool
	ReplyTo    *Comment
}

// commentItem is a comment as its list shows it, with what the reader
// may do to it.
type commentItem struct {
	C         Comment
	Top       bool
	TopicID   string
	CanReply  bool
	Moderator bool
	Replies   []commentItem
}

func (h *handlers) discussion(r *http.Request, t Topic) (discussion, error) {
	ctx := r.Context()
	p := access.From(ctx)
	d := discussion{CanComment: p.Role == access.Resident || worker(p), CanSupport: p.Role == access.Resident, Moderator: h.store.moderator(ctx, t.Division)}
	cursor := r.URL.Query().Get("cursor")
	pg, err := h.store.Comments(ctx, t.ID, cursor, 20)
	if err != nil {
		return d, err
	}
	for _, c := range pg.Comments {
		it := commentItem{C: c.Comment, Top: true, TopicID: t.ID, CanReply: d.CanComment, Moderator: d.Moderator}
		for _, rc := range c.Replies {
			it.Replies = append(it.Replies, commentItem{C: rc, TopicID: t.ID, Moderator: d.Moderator})
		}
		d.Comments = append(d.Comments, it)
	}
	first, next := keyset.Links(r, cursor, pg.Next)
	d.Pager = web.Pager{First: first, Next: next}
	if d.Support, err = h.store.Supports(ctx, t.ID); err != nil {
		return d, err
	}
	if id := r.URL.Query().Get("reply"); id != "" {
		if c, err := h.store.CommentFor(ctx, id); err == nil && c.TopicID == t.ID && c.ParentID == "" {
			d.ReplyTo = &c
		}
	}
	return d, nil
}

func (h *handlers) postComment(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	id := r.PathValue("id")
	c, err := h.store.Comment(r.Context(), id, CommentInput{Body: r.FormValue("body"), ParentID: r.FormValue("parent_id")})
	if err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageTopic(w, r, st, v) })
		return
	}
	q := "?commented=1"
	if c.State == CommentHeld {
		q = "?held=1"
	}
	http.Redirect(w, r, "/deliberation/topics/"+id+q+"#comments", http.StatusSeeOther)
}

func (h *handlers) postSupport(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, err := h.store.SupportTopic(r.Context(), id, on); err != nil {
			h.again(w, r, err, func(st int, v web.View) { h.pageTopic(w, r, st, v) })
			return
		}
		http.Redirect(w, r, "/deliberation/topics/"+id+"#support", http.StatusSeeOther)
	}
}

func (h *handlers) postReport(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	c, err := h.store.CommentFor(r.Context(), r.PathValue("id"))
	if err == nil {
		err = h.store.Report(r.Context(), c.ID, ReportInput{Reason: r.FormValue("reason")})
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/deliberation/topics/"+c.TopicID+"?reported=1#comments", http.StatusSeeOther)
}

type commentView struct {
	Comment Comment
	Actions []string // the moderation actions the comment's state allows
}

// pageComment is one comment with the moderation its state allows.
func (h *handlers) pageComment(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	c, err := h.store.CommentFor(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cv := commentView{Comment: c}
	var t Topic
	if t, err = h.store.readTopic(r.Context(), h.store.DB.R, c.TopicID); err != nil {
		h.fail(w, r, err)
		return
	}
	if h.store.moderator(r.Context(), t.Division) {
		for _, a := range []string{"approve", "reject", "hide", "restore"} {
			if moderations[a].from == c.State {
				cv.Actions = append(cv.Actions, a)
			}
		}
	}
	if r.URL.Query().Get("done") == "1" {
		v.Notice = web.M("已处理。", "Done.")
	}
	v.Title, v.Data = web.M("评论", "Comment"), cv
	v.Crumbs = []web.Crumb{{Href: "/deliberation", Label: web.M("议事协商", "Deliberation")}, {Href: "/deliberation/topics/" + t.ID, Label: web.M("议题", "Topic")}, {Label: web.M("评论", "Comment")}}
	h.pages.Render(w, r, status, "comment", v)
}

func (h *handlers) postModeration(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	id := r.PathValue("id")
	if _, err := h.store.Moderate(r.Context(), id, ModerationInput{Action: r.FormValue("action"), Reason: r.FormValue("reason")}); err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageComment(w, r, st, v) })
		return
	}
	http.Redirect(w, r, "/deliberation/comments/"+id+"?done=1", http.StatusSeeOther)
}

type queueView struct {
	Division string
	Comments []Comment
}

// pageQueue lists a community's held and reported comments.
func (h *handlers) pageQueue(w http.ResponseWriter, r *http.Request) {
	div := h.division(r)
	cs, err := h.store.Queue(r.Context(), div)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.pages.Render(w, r, 200, "queue", web.View{Title: web.M("评论审核", "Comments to review"), Data: queueView{Division: div, Comments: cs},
		Crumbs: []web.Crumb{{Href: "/deliberation", Label: web.M("议事协商", "Deliberation")}, {Label: web.M("评论审核", "Comments to review")}}})
}

func (h *handlers) pageWords(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	div := h.division(r)
	if r.Method == http.MethodPost {
		div = r.FormValue("division_code")
	}
	ws, err := h.store.Words(r.Context(), div)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("saved") == "1" {
		v.Notice = web.M("敏感词已保存。", "The sensitive words are saved.")
	}
	v.Title, v.Data = web.M("敏感词", "Sensitive words"), ws
	v.Crumbs = []web.Crumb{{Href: "/deliberation", Label: web.M("议事协商", "Deliberation")}, {Label: web.M("敏感词", "Sensitive words")}}
	h.pages.Render(w, r, status, "words", v)
}

func (h *handlers) postWords(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fault.Invalid(web.M("表单无效", "invalid form")))
		return
	}
	div := r.FormValue("division_code")
	if _, err := h.store.SetWords(r.Context(), WordsInput{Division: div, Words: strings.Split(strings.ReplaceAll(r.FormValue("words"), "\r", ""), "\n")}); err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageWords(w, r, st, v) })
		return
	}
	http.Redirect(w, r, "/deliberation/words?saved=1&division_code="+url.QueryEscape(div), http.StatusSeeOther)
}
