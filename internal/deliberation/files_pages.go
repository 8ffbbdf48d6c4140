package deliberation

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"

	"linli/internal/access"
	"linli/internal/fault"
	"linli/internal/web"
)

// registerFileAPI adds the attachments' operations: a list, an upload, a
// download and a deletion per owner kind (a progress update's photos are
// uploaded to the update and listed with the decision).
func (h *handlers) registerFileAPI(rt *web.Router) {
	const tag = "deliberation"
	thumbParam := web.Param{Name: "thumb", Type: "boolean", Description: "缩略图（JPEG，图片才有）/ the thumbnail (a JPEG; pictures only)"}
	nameParam := web.Param{Name: "name", Description: "文件名（可含中文）；类型按内容判断 / the file's name; its type is read from its content"}
	for _, o := range []struct {
		kind, base string
		what       fault.Msg
		public     bool
	}{
		{FileTopic, "/api/v1/topics/{id}/files", fault.M("议题照片", "a topic's photos"), false},
		{FileMeeting, "/api/v1/meetings/{id}/files", fault.M("会议附件", "a meeting's attachments"), false},
		{FileProgress, "/api/v1/decisions/{id}/files", fault.M("落实进展照片", "the photos of a decision's progress updates"), false},
		{FileNotice, "/api/v1/notices-board/{id}/files", fault.M("公开事项附件（公开事项公开后公开）", "a notice's attachments (public once the notice is)"), true},
	} {
		rt.API("GET "+o.base, web.Op{Summary: o.what.ZH + " / " + o.what.EN, Tag: tag, Public: o.public, Response: []File{}}, h.apiFiles(o.kind))
		rt.API("GET "+o.base+"/{file}", web.Op{Summary: "下载：" + o.what.ZH + " / Download " + o.what.EN, Tag: tag, Public: o.public,
			Params: []web.Param{thumbParam}, Produces: FileTypes(o.kind)}, h.apiFile(o.kind))
		rt.API("DELETE "+o.base+"/{file}", web.Op{Summary: "删除：" + o.what.ZH + "（记入审计）/ Delete one of " + o.what.EN + " (audited)", Tag: tag, Status: 204}, h.apiDeleteFile(o.kind))
		if o.kind != FileProgress {
			rt.API("POST "+o.base, web.Op{Summary: "上传：" + o.what.ZH + "（每个不超过 5 MB，记入审计）/ Upload one of " + o.what.EN + " (5 MB at most, audited)", Tag: tag,
				Params: []web.Param{nameParam}, Accepts: FileTypes(o.kind), Response: File{}, Status: 201}, h.apiUpload(o.kind))
		}
	}
	rt.API("POST /api/v1/decisions/{id}/progress/{seq}/files", web.Op{Summary: "给一条落实进展上传照片（每个不超过 5 MB，记入审计）/ Upload a photo of a progress update (5 MB at most, audited)", Tag: tag,
		Params: []web.Param{nameParam}, Accepts: FileTypes(FileProgress), Response: File{}, Status: 201}, h.apiUpload(FileProgress))
}

func (h *handlers) registerFilePages(rt *web.Router) {
	// Public: a published notice's attachments are read without signing
	// in; the store refuses the rest to whom may not see their owner.
	rt.Public("GET /deliberation/files/{id}", h.getFile(false))
	rt.Public("GET /deliberation/files/{id}/thumb", h.getFile(true))
	rt.Page("GET /deliberation/files/{id}/delete", func(w http.ResponseWriter, r *http.Request) { h.pageDeleteFile(w, r, 200, web.View{}) })
	rt.Page("POST /deliberation/files/{id}/delete", h.postDeleteFile)
	rt.Page("POST /deliberation/topics/{id}/files", h.postFiles(FileTopic))
	rt.Page("POST /deliberation/notices/{id}/files", h.postFiles(FileNotice))
}

// malformed refuses a path whose ids cannot be ids: on a public path that
// is the caller's mistake, not an attachment that is missing.
func malformed(r *http.Request, names ...string) error {
	for _, n := range names {
		id := r.PathValue(n)
		if len(id) < 16 || len(id) > 64 || strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyz-") != "" {
			return fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field(n, fault.M("编号格式有误", "malformed id")))
		}
	}
	return nil
}

func (h *handlers) apiFiles(kind string) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := malformed(r, "id"); err != nil {
			return err
		}
		fs, err := h.store.Files(r.Context(), kind, r.PathValue("id"))
		return respond(w, 200, fs, err)
	}
}

func (h *handlers) apiUpload(kind string) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		seq := 0
		if kind == FileProgress {
			n, err := strconv.Atoi(r.PathValue("seq"))
			if err != nil || n < 1 {
				return fault.NotFound(fault.M("没有这条进展", "no such progress update"))
			}
			seq = n
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxFileSize+1))
		if err != nil {
			return fault.Invalid(fault.M("无法读取上传的文件", "cannot read the uploaded file"), fault.Field("file", fault.M("读取失败", "unreadable")))
		}
		fs, err := h.store.Attach(r.Context(), kind, r.PathValue("id"), seq, "file", []Upload{{Name: r.URL.Query().Get("name"), Data: b}})
		if err != nil {
			return err
		}
		web.WriteJSON(w, 201, fs[0])
		return nil
	}
}

// ownFile reads a file through an owner's path: one of another owner is
// not found there.
func (h *handlers) ownFile(r *http.Request, kind string, small bool) (File, []byte, error) {
	f, b, err := h.store.FileData(r.Context(), r.PathValue("file"), small)
	if err == nil && (f.OwnerKind != kind || f.OwnerID != r.PathValue("id")) {
		err = fault.NotFound(fault.M("没有这个附件", "no such attachment"))
	}
	return f, b, err
}

func (h *handlers) apiFile(kind string) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := malformed(r, "id", "file"); err != nil {
			return err
		}
		small := r.URL.Query().Get("thumb") == "1" || r.URL.Query().Get("thumb") == "true"
		f, b, err := h.ownFile(r, kind, small)
		if err == nil && small && b == nil {
			err = fault.NotFound(fault.M("这个附件没有缩略图", "the attachment has no thumbnail"))
		}
		if err != nil {
			return err
		}
		serveFile(w, f, b, small)
		return nil
	}
}

func (h *handlers) apiDeleteFile(kind string) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, _, err := h.ownFile(r, kind, true); err != nil {
			return err
		}
		if _, err := h.store.DeleteFile(r.Context(), r.PathValue("file")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// serveFile sends a file (or its JPEG thumbnail) under its own type, never
// sniffed by the browser, named for saving (RFC 6266 with the UTF-8 name):
// pictures and PDFs open in the browser, spreadsheets are saved.
func serveFile(w http.ResponseWriter, f File, b []byte, small bool) {
	ct, how, name := f.ContentType, "inline", f.Name
	if small {
		ct, name = typeJPEG, strings.TrimSuffix(name, path.Ext(name))+".thumb.jpg"
	} else if !f.Image() && ct != typePDF {
		how = "attachment"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", disposition(how, name))
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Write(b)
}

// disposition is a Content-Disposition value with an ASCII fallback name
// and the exact name as filename* (RFC 6266, RFC 8187).
func disposition(how, name string) string {
	var ascii, ext strings.Builder
	for _, r := range name {
		switch {
		case r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%':
			ascii.WriteByte('_')
		default:
			ascii.WriteRune(r)
		}
	}
	const attr = "!#$&+-.^_`|~"
	for _, c := range []byte(name) {
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte(attr, c) >= 0 {
			ext.WriteByte(c)
		} else {
			fmt.Fprintf(&ext, "%%%02X", c)
		}
	}
	return fmt.Sprintf(`%s; filename="%s"; filename*=UTF-8''%s`, how, ascii.String(), ext.String())
}

// getFile serves a file or its thumbnail to whom may see its owner; one
// not signed in is asked to, unless the file is public.
func (h *handlers) getFile(small bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, b, err := h.store.FileData(r.Context(), r.PathValue("id"), small)
		if err == nil && small && b == nil {
			err = fault.NotFound(fault.M("这个附件没有缩略图", "the attachment has no thumbnail"))
		}
		if err != nil {
			if access.From(r.Context()) == nil && fault.Is(err, fault.CodeNotFound) {
				http.Redirect(w, r, "/login?next="+r.URL.EscapedPath(), http.StatusSeeOther)
				return
			}
			h.fail(w, r, err)
			return
		}
		serveFile(w, f, b, small)
	}
}

// attachments is what an owner's page shows of its files and whether the
// reader may add some.
type attachments struct {
	Files  []File
	CanAdd bool
	Accept string
	Hint   fault.Msg
}

// Of is the files of one progress update.
func (a attachments) Of(seq int) []File {
	var out []File
	for _, f := range a.Files {
		if f.Seq == seq {
			out = append(out, f)
		}
	}
	return out
}

// attachments reads an owner's files for its page.
func (h *handlers) attachments(r *http.Request, kind, id string) (attachments, error) {
	o, err := h.store.owner(r.Context(), kind, id, 0)
	if err != nil {
		return attachments{}, err
	}
	fs, err := h.store.files(r.Context(), o)
	if err != nil {
		return attachments{}, err
	}
	rule := fileRules[kind]
	a := attachments{Files: fs, CanAdd: o.write, Accept: strings.Join(rule.types, ",")}
	a.Hint = fileHint(kind)
	if kind != FileProgress {
		a.Hint = fault.M(fmt.Sprintf("%s（已有 %d 个）", a.Hint.ZH, len(fs)), fmt.Sprintf("%s (%d already)", a.Hint.EN, len(fs)))
	}
	return a, nil
}

// fileHint says what a kind's file input takes.
func fileHint(kind string) fault.Msg {
	rule := fileRules[kind]
	return fault.M(fmt.Sprintf("%s，每个不超过 5 MB，最多 %d 个", rule.what.ZH, rule.max), fmt.Sprintf("%s, 5 MB each at most, %d at most", rule.what.EN, rule.max))
}

// fileInput is what a creating form's file input needs.
type fileInput struct {
	Accept string
	Hint   fault.Msg
}

func newFileInput(kind string) fileInput {
	return fileInput{Accept: strings.Join(fileRules[kind].types, ","), Hint: fileHint(kind)}
}

// formFiles parses a page's form, which may carry files (multipart) or
// not, and checks the files of its "files" input for kind, counting those
// an existing owner (owner, "" for one the form creates) already holds.
// Nothing is written.
func (h *handlers) formFiles(w http.ResponseWriter, r *http.Request, kind, owner string) ([]prepared, error) {
	rule := fileRules[kind]
	r.Body = http.MaxBytesReader(w, r.Body, int64(rule.max)*(MaxFileSize+64<<10)+1<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		if errors.Is(err, http.ErrNotMultipart) {
			if err := r.ParseForm(); err != nil {
				return nil, fault.Invalid(web.M("表单无效", "invalid form"))
			}
			return nil, nil
		}
		return nil, invalid(fault.Field("files", fault.M(fmt.Sprintf("附件过大：每个不超过 5 MB，最多 %d 个", rule.max), fmt.Sprintf("the attachments are too large: 5 MB each, %d at most", rule.max))))
	}
	if err := web.CheckValues(r.MultipartForm.Value); err != nil {
		return nil, err
	}
	var ups []Upload
	for _, fh := range r.MultipartForm.File["files"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue // no file chosen
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
		f.Close()
		if err != nil {
			return nil, err
		}
		ups = append(ups, Upload{Name: fh.Filename, Data: b})
	}
	have := 0
	if owner != "" && len(ups) > 0 {
		// Counted for whom may see the owner only.
		if _, err := h.store.owner(r.Context(), kind, owner, 0); err != nil {
			return nil, err
		}
		if err := h.store.DB.R.QueryRowContext(r.Context(), `SELECT COUNT(*) FROM dlb_files WHERE owner_kind = $1 AND owner_id = $2 AND seq = 0`, kind, owner).Scan(&have); err != nil {
			return nil, err
		}
	}
	return prepare(kind, "files", have, ups)
}

// attachNew adds the files of the form that created their owner (a worker
// in scope may attach to a notice already past its window, which the
// form allows).
func (h *handlers) attachNew(r *http.Request, kind, id string, seq int, ps []prepared) error {
	if len(ps) == 0 {
		return nil
	}
	o, err := h.store.owner(r.Context(), kind, id, seq)
	if err != nil {
		return err
	}
	if !o.write && !(kind == FileNotice && worker(access.From(r.Context())) && access.BusinessScope(access.From(r.Context())).Contains(o.division)) {
		return errNoWrite
	}
	_, err = h.store.attach(r.Context(), o, "files", ps)
	return err
}

// postFiles adds files to a topic or a notice from its page.
func (h *handlers) postFiles(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		show := func(st int, v web.View) {
			if kind == FileNotice {
				h.pageNotice(w, r, st, v)
			} else {
				h.pageTopic(w, r, st, v)
			}
		}
		ps, err := h.formFiles(w, r, kind, id)
		if err == nil && len(ps) == 0 {
			err = invalid(fault.Field("files", fault.M("请选择文件", "choose a file")))
		}
		var o fileOwner
		if err == nil {
			o, err = h.store.owner(r.Context(), kind, id, 0)
		}
		if err == nil && !o.write {
			err = errNoWrite
			if o.why != nil {
				err = o.why
			}
		}
		if err == nil {
			_, err = h.store.attach(r.Context(), o, "files", ps)
		}
		if err != nil {
			if kind == FileNotice {
				// The notice's page reads its community from the path.
				if n, nerr := h.store.Notice(r.Context(), id); nerr == nil {
					r.SetPathValue("community", n.Division)
				}
			}
			h.again(w, r, err, show)
			return
		}
		http.Redirect(w, r, o.page+"?uploaded="+strconv.Itoa(len(ps))+"#files", http.StatusSeeOther)
	}
}

type deleteFileView struct {
	File File
	Page string
}

func (h *handlers) pageDeleteFile(w http.ResponseWriter, r *http.Request, status int, v web.View) {
	f, o, err := h.store.fileRow(r.Context(), r.PathValue("id"))
	if err == nil && status == 200 {
		err = mayDelete(r.Context(), f, o)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Title, v.Data = fault.M("删除附件："+f.Name, "Delete the attachment: "+f.Name), deleteFileView{File: f, Page: o.page}
	h.pages.Render(w, r, status, "file_delete", v)
}

func (h *handlers) postDeleteFile(w http.ResponseWriter, r *http.Request) {
	_, o, err := h.store.fileRow(r.Context(), r.PathValue("id"))
	if err == nil {
		_, err = h.store.DeleteFile(r.Context(), r.PathValue("id"))
	}
	if err != nil {
		h.again(w, r, err, func(st int, v web.View) { h.pageDeleteFile(w, r, st, v) })
		return
	}
	http.Redirect(w, r, o.page+"?deleted=1#files", http.StatusSeeOther)
}

// latestUpdate is the seq of a decision's newest progress update.
func latestUpdate(d Decision) int {
	n := 0
	for _, u := range d.Updates {
		n = max(n, u.Seq)
	}
	return n
}

func noticeIDs(ns []Notice) []string {
	ids := make([]string, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	return ids
}
