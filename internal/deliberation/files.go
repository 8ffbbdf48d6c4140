package deliberation

// Attachments (附件) of topics, meetings, progress updates and notices
// share one table and one set of rules.
//
// A topic's photos, a meeting's attachments and a progress update's photos
// show residents, their homes and their number plates, and a meeting's
// scanned sign-in sheet or minutes name people: they are stored sealed
// with the data key (internal/sealedphoto), as the requests' photos are,
// and shown only to whom their owner is shown. A notice's attachments are
// documents the community publishes on its public board (a PDF, a
// spreadsheet of the accounts, a picture of a plan): they are kept as
// they are and are public when the notice is. Every file's type is read
// from its bytes, never from its name.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/sealedphoto"
	"linli/internal/thumb"
	"linli/internal/web"
)

// The dlb_files table: an owner is a topic, a meeting, a decision's
// progress update (owner_id the decision, seq the update) or a notice.
const filesSQL = `
CREATE TABLE dlb_files (
	id TEXT PRIMARY KEY,
	owner_kind TEXT NOT NULL,
	owner_id TEXT NOT NULL,
	seq INTEGER NOT NULL DEFAULT 0,
	division_code TEXT NOT NULL,
	name TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size INTEGER NOT NULL,
	sha256 TEXT NOT NULL,
	sealed BOOLEAN NOT NULL,
	data BLOB NOT NULL,
	thumb BLOB,
	uploaded_by TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL
);
CREATE INDEX dlb_files_owner ON dlb_files (owner_kind, owner_id, seq, id);
`

var filesMigration = db.Migration{ID: "deliberation/005_files", SQL: filesSQL}

// fileCols are where the sealed files are kept.
var fileCols = sealedphoto.Columns{Table: "dlb_files", Key: "id", Photo: "data", Thumb: "thumb", Sealed: "sealed"}

// Owner kinds of an attachment.
const (
	FileTopic    = "topic"
	FileMeeting  = "meeting"
	FileProgress = "progress"
	FileNotice   = "notice"
)

// MaxFileSize is the largest file accepted.
const MaxFileSize = 5 << 20

// thumbSide is the longest side of a thumbnail: twice the size a page
// shows it at.
const thumbSide = 480

const (
	typeJPEG = "image/jpeg"
	typePNG  = "image/png"
	typeWebP = "image/webp"
	typePDF  = "application/pdf"
	typeXLSX = web.MediaXLSX
)

var imageTypes = []string{typeJPEG, typePNG, typeWebP}

// fileRule is what an owner kind accepts.
type fileRule struct {
	types  []string
	max    int // files per owner (per update for progress)
	sealed bool
	what   fault.Msg // the accepted types in words
}

var fileRules = map[string]fileRule{
	FileTopic:    {imageTypes, 6, true, fault.M("JPEG、PNG 或 WebP 图片", "JPEG, PNG or WebP images")},
	FileMeeting:  {append(imageTypes[:3:3], typePDF), 10, true, fault.M("JPEG、PNG、WebP 图片或 PDF 文件", "JPEG, PNG or WebP images or PDF files")},
	FileProgress: {imageTypes, 6, true, fault.M("JPEG、PNG 或 WebP 图片", "JPEG, PNG or WebP images")},
	FileNotice:   {append(imageTypes[:3:3], typePDF, typeXLSX), 10, false, fault.M("JPEG、PNG、WebP 图片，PDF 或 xlsx 表格", "JPEG, PNG or WebP images, PDF files or xlsx spreadsheets")},
}

// FileTypes are the media types an owner kind accepts.
func FileTypes(kind string) []string { return fileRules[kind].types }

// Upload is a file as received: its name as the sender gave it and its
// bytes.
type Upload struct {
	Name string
	Data []byte
}

// File is an attachment as listed (its bytes are read apart).
type File struct {
	ID          string    `json:"id"`
	OwnerKind   string    `json:"owner_kind"`
	OwnerID     string    `json:"owner_id"`
	Seq         int       `json:"seq,omitempty"` // the progress update
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int       `json:"size"`
	SHA256      string    `json:"sha256"`
	HasThumb    bool      `json:"has_thumb"`
	UploadedAt  time.Time `json:"uploaded_at"`
	// URL is where the API gives the file.
	URL string `json:"url"`
	// CanDelete: the reader may delete it (pages only).
	CanDelete  bool `json:"-"`
	uploadedBy string
}

// Href is the file on the pages.
func (f File) Href() string { return "/deliberation/files/" + f.ID }

// ThumbHref is its thumbnail on the pages.
func (f File) ThumbHref() string { return "/deliberation/files/" + f.ID + "/thumb" }

// DeleteHref asks to delete it.
func (f File) DeleteHref() string { return "/deliberation/files/" + f.ID + "/delete" }

// Image tells whether the file is a picture.
func (f File) Image() bool { return strings.HasPrefix(f.ContentType, "image/") }

// SizeText is the size in words ("2.6 MB", "120 KB").
func (f File) SizeText() string {
	if f.Size >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(f.Size)/(1<<20))
	}
	return fmt.Sprintf("%d KB", (f.Size+1023)/1024)
}

// TypeText is the file's kind in words.
func (f File) TypeText() string {
	switch f.ContentType {
	case typePDF:
		return "PDF"
	case typeXLSX:
		return "xlsx"
	}
	return strings.ToUpper(strings.TrimPrefix(f.ContentType, "image/"))
}

// apiBase is the API path of an owner's files.
func apiBase(kind, owner string) string {
	switch kind {
	case FileTopic:
		return "/api/v1/topics/" + owner + "/files"
	case FileMeeting:
		return "/api/v1/meetings/" + owner + "/files"
	case FileProgress:
		return "/api/v1/decisions/" + owner + "/files"
	}
	return "/api/v1/notices-board/" + owner + "/files"
}

// sniffFile names a file's type by its bytes ("" for a type no owner
// takes): a text file named .jpg is text.
func sniffFile(b []byte) string {
	switch ct := http.DetectContentType(b); ct {
	case typeJPEG, typePNG, typeWebP, typePDF:
		return ct
	case "application/zip":
		if isXLSX(b) {
			return typeXLSX
		}
	}
	return ""
}

// isXLSX tells whether a zip archive is an Office Open XML workbook.
func isXLSX(b []byte) bool {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return false
	}
	types, book := false, false
	for _, f := range zr.File {
		types = types || f.Name == "[Content_Types].xml"
		book = book || f.Name == "xl/workbook.xml"
	}
	return types && book
}

// extOf is the usual extension of a type.
func extOf(ct string) string {
	switch ct {
	case typeJPEG:
		return ".jpg"
	case typePNG:
		return ".png"
	case typeWebP:
		return ".webp"
	case typePDF:
		return ".pdf"
	case typeXLSX:
		return ".xlsx"
	}
	return ""
}

// cleanName keeps the last element of a sent name (browsers on Windows
// send a whole path), without control characters, at most 100 characters;
// a file without a usable name is called 附件 with its type's extension.
func cleanName(name, ct string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base(strings.TrimSpace(name))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == "/" || name == "" || strings.Trim(name, ".") == "" {
		name = "附件" + extOf(ct)
	}
	if r := []rune(name); len(r) > 100 {
		ext := path.Ext(name)
		if utf8.RuneCountInString(ext) > 10 {
			ext = ""
		}
		name = string(r[:100-utf8.RuneCountInString(ext)]) + ext
	}
	return name
}

// prepared is a file that passed the checks, with its type, hash and
// thumbnail made.
type prepared struct {
	name, ct, sum string
	data, small   []byte
}

// prepare checks files for an owner kind that already holds have files:
// each is not empty, at most MaxFileSize, of a type the kind takes (read
// from its bytes) and, for a picture, a picture that decodes; together
// they stay within the kind's count. field is the form's or API's name
// for the file input; each refusal names the file. Nothing is written.
func prepare(kind, field string, have int, ups []Upload) ([]prepared, error) {
	rule, ok := fileRules[kind]
	if !ok {
		return nil, fault.NotFound(fault.M("没有这类附件", "no such kind of attachment"))
	}
	var fields []fault.FieldError
	if have+len(ups) > rule.max {
		fields = append(fields, fault.Field(field, fault.M(fmt.Sprintf("最多 %d 个附件，已有 %d 个，本次 %d 个", rule.max, have, len(ups)),
			fmt.Sprintf("at most %d attachments: %d already, %d sent", rule.max, have, len(ups)))))
	}
	out := make([]prepared, 0, len(ups))
	for i, u := range ups {
		label := fmt.Sprintf("第 %d 个文件“%s”", i+1, cleanName(u.Name, ""))
		labelEN := fmt.Sprintf("file %d (%s)", i+1, cleanName(u.Name, ""))
		switch {
		case len(u.Data) == 0:
			fields = append(fields, fault.Field(field, fault.M(label+"是空的", labelEN+" is empty")))
			continue
		case len(u.Data) > MaxFileSize:
			fields = append(fields, fault.Field(field, fault.M(label+"超过 5 MB", labelEN+" is over 5 MB")))
			continue
		}
		ct := sniffFile(u.Data)
		allowed := false
		for _, t := range rule.types {
			allowed = allowed || t == ct
		}
		if !allowed {
			fields = append(fields, fault.Field(field, fault.M(label+"不是"+rule.what.ZH+"（按文件内容判断，不看扩展名）",
				labelEN+" is not one of "+rule.what.EN+" (judged by its content, not its name)")))
			continue
		}
		p := prepared{name: cleanName(u.Name, ct), ct: ct, data: u.Data}
		if ct == typeJPEG || ct == typePNG {
			if _, _, err := image.DecodeConfig(bytes.NewReader(u.Data)); err != nil {
				fields = append(fields, fault.Field(field, fault.M(label+"图片已损坏，无法打开", labelEN+" is a damaged picture")))
				continue
			}
			small, err := thumb.Make(u.Data, thumbSide)
			switch {
			case err == nil:
				p.small = small
			case !errors.Is(err, thumb.ErrUnsupported): // a huge canvas has no thumbnail
				return nil, err
			}
		}
		sum := sha256.Sum256(u.Data)
		p.sum = hex.EncodeToString(sum[:])
		out = append(out, p)
	}
	if len(fields) > 0 {
		return nil, invalid(fields...)
	}
	return out, nil
}

// fileOwner is an attachment's owner as the caller may use it.
type fileOwner struct {
	kind, id string
	seq      int
	division string
	// page is the owner's page.
	page string
	// write: the caller may add files; erase: the caller may delete any
	// of its files (a resident their own topic photos only).
	write, erase bool
	// why is the refusal of a write or deletion the state forbids.
	why error
}

var errNoWrite = fault.Forbidden(fault.M("您不能给它添加或删除附件", "you may not add or delete its attachments"))

// owner reads an attachment's owner, scoped as the owner is: a topic or a
// meeting by its community's residents and the offices above, a progress
// update by those who see its decision's community, a notice by anyone
// once published. An owner the caller may not see is not found.
func (s *Store) owner(ctx context.Context, kind, id string, seq int) (fileOwner, error) {
	p := access.From(ctx)
	o := fileOwner{kind: kind, id: id, seq: seq}
	inScope := func() bool { return worker(p) && access.BusinessScope(p).Contains(o.division) }
	switch kind {
	case FileTopic:
		t, err := s.Topic(ctx, id)
		if err != nil {
			return o, err
		}
		var raiser string
		if err := s.DB.R.QueryRowContext(ctx, `SELECT raised_by FROM dlb_topics WHERE id = $1`, id).Scan(&raiser); err != nil {
			return o, err
		}
		o.division, o.page = t.Division, "/deliberation/topics/"+id
		o.write = inScope() || (p.Role == access.Resident && raiser == p.Username)
		o.erase = inScope()
	case FileMeeting:
		m, err := s.Meeting(ctx, id)
		if err != nil {
			return o, err
		}
		o.division, o.page = m.Division, "/deliberation/meetings/"+id
		o.write, o.erase = inScope(), inScope()
	case FileProgress:
		d, err := s.Decision(ctx, id)
		if err != nil {
			return o, err
		}
		if !s.sees(ctx, d.Division) {
			return o, errNotFound
		}
		o.division, o.page = d.Division, "/deliberation/decisions/"+id
		o.write, o.erase = inScope(), inScope()
		if seq != 0 {
			var n int
			if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM dlb_progress WHERE decision_id = $1 AND seq = $2`, id, seq).Scan(&n); err != nil {
				return o, err
			}
			if n == 0 {
				return o, fault.NotFound(fault.M("没有这条进展", "no such progress update"))
			}
		}
	case FileNotice:
		n, err := s.Notice(ctx, id)
		if err != nil {
			return o, err
		}
		o.division, o.page = n.Division, "/notices/"+n.Division+"/"+id
		o.write, o.erase = inScope(), inScope()
		switch today := s.today(); {
		case n.Until != "" && n.Until < today:
			o.why = fault.Conflict(fault.M("公开事项已过期，不能再添加或删除附件", "the notice has expired: its attachments stay as they are"))
			o.write, o.erase = false, false
		case n.From <= today:
			// What the board has shown stays on the record.
			o.erase = false
		}
	default:
		return o, fault.NotFound(fault.M("没有这类附件", "no such kind of attachment"))
	}
	return o, nil
}

// Attach adds files to an owner for one who may write it: a topic's
// raiser or a worker over its community; a worker for a meeting, a
// progress update (seq) or a notice before it expires. field names the
// input in refusals. All are written, each audited, or none.
func (s *Store) Attach(ctx context.Context, kind, id string, seq int, field string, ups []Upload) ([]File, error) {
	if kind == FileProgress && seq == 0 {
		return nil, invalid(fault.Field("seq", fault.M("请指明哪条进展", "say which progress update")))
	}
	o, err := s.owner(ctx, kind, id, seq)
	if err != nil {
		return nil, err
	}
	if !o.write {
		if o.why != nil {
			return nil, o.why
		}
		return nil, errNoWrite
	}
	if len(ups) == 0 {
		return nil, invalid(fault.Field(field, fault.M("请选择文件", "choose a file")))
	}
	ps, err := prepare(kind, field, 0, ups)
	if err != nil {
		return nil, err
	}
	return s.attach(ctx, o, field, ps)
}

// attach writes prepared files in one transaction, counting the owner's
// files again inside it.
func (s *Store) attach(ctx context.Context, o fileOwner, field string, ps []prepared) ([]File, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	rule := fileRules[o.kind]
	p := access.From(ctx)
	now := s.Now()
	var out []File
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dlb_files WHERE owner_kind = $1 AND owner_id = $2 AND seq = $3`, o.kind, o.id, o.seq).Scan(&have); err != nil {
			return err
		}
		if have+len(ps) > rule.max {
			return invalid(fault.Field(field, fault.M(fmt.Sprintf("最多 %d 个附件，已有 %d 个，本次 %d 个", rule.max, have, len(ps)),
				fmt.Sprintf("at most %d attachments: %d already, %d sent", rule.max, have, len(ps)))))
		}
		for _, f := range ps {
			id := db.NewID()
			var small any
			if f.small != nil {
				small = sealedphoto.Keep(s.Keys, f.small, rule.sealed, fileCols.ThumbAAD(id))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_files (id, owner_kind, owner_id, seq, division_code, name, content_type, size, sha256, sealed, data, thumb, uploaded_by, at)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`, id, o.kind, o.id, o.seq, o.division, f.name, f.ct, len(f.data), f.sum, rule.sealed,
				sealedphoto.Keep(s.Keys, f.data, rule.sealed, fileCols.PhotoAAD(id)), small, p.Username, db.T(now)); err != nil {
				return err
			}
			if err := s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.file_upload", Object: "file", ObjectID: id, Division: o.division,
				Detail: fmt.Sprintf("%s %s %d; %s, %d bytes, sha256 %s", o.kind, o.id, o.seq, f.ct, len(f.data), f.sum[:16])}); err != nil {
				return err
			}
			out = append(out, File{ID: id, OwnerKind: o.kind, OwnerID: o.id, Seq: o.seq, Name: f.name, ContentType: f.ct, Size: len(f.data), SHA256: f.sum,
				HasThumb: f.small != nil, UploadedAt: db.T(now).Time, URL: apiBase(o.kind, o.id) + "/" + id, uploadedBy: p.Username})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const fileListCols = `id, owner_kind, owner_id, seq, name, content_type, size, sha256, thumb IS NOT NULL, uploaded_by, at`

func scanFile(r db.Scanner) (File, error) {
	var f File
	var at db.Time
	err := r.Scan(&f.ID, &f.OwnerKind, &f.OwnerID, &f.Seq, &f.Name, &f.ContentType, &f.Size, &f.SHA256, &f.HasThumb, &f.uploadedBy, &at)
	f.UploadedAt = at.Time
	f.URL = apiBase(f.OwnerKind, f.OwnerID) + "/" + f.ID
	return f, err
}

// Files lists an owner's attachments (for progress, every update's), in
// the order they came, for whom the owner is visible.
func (s *Store) Files(ctx context.Context, kind, id string) ([]File, error) {
	o, err := s.owner(ctx, kind, id, 0)
	if err != nil {
		return nil, err
	}
	return s.files(ctx, o)
}

func (s *Store) files(ctx context.Context, o fileOwner) ([]File, error) {
	fs, err := db.Collect(ctx, s.DB.R, scanFile, `SELECT `+fileListCols+` FROM dlb_files WHERE owner_kind = $1 AND owner_id = $2 ORDER BY seq, id`, o.kind, o.id)
	if fs == nil {
		fs = []File{}
	}
	for i := range fs {
		fs[i].CanDelete = mayDelete(ctx, fs[i], o) == nil
	}
	return fs, err
}

// noticeFiles lists the attachments of notices already read (a board's),
// by notice.
func (s *Store) noticeFiles(ctx context.Context, ids []string) (map[string][]File, error) {
	out := map[string][]File{}
	if len(ids) == 0 {
		return out, nil
	}
	args := []any{FileNotice}
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	fs, err := db.Collect(ctx, s.DB.R, scanFile, `SELECT `+fileListCols+` FROM dlb_files WHERE owner_kind = $1 AND owner_id IN (`+strings.Join(marks, ",")+`) ORDER BY id`, args...)
	for _, f := range fs {
		out[f.OwnerID] = append(out[f.OwnerID], f)
	}
	return out, err
}

// fileRow reads a file's listing and its owner, for one who may see the
// owner.
func (s *Store) fileRow(ctx context.Context, id string) (File, fileOwner, error) {
	f, err := scanFile(s.DB.R.QueryRowContext(ctx, `SELECT `+fileListCols+` FROM dlb_files WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return f, fileOwner{}, fault.NotFound(fault.M("没有这个附件", "no such attachment"))
	} else if err != nil {
		return f, fileOwner{}, err
	}
	o, err := s.owner(ctx, f.OwnerKind, f.OwnerID, 0)
	if fault.Is(err, fault.CodeNotFound) {
		err = fault.NotFound(fault.M("没有这个附件", "no such attachment"))
	}
	return f, o, err
}

// FileData returns an attachment with its bytes (or its thumbnail's, a
// JPEG; nil when it has none) for whom its owner is visible.
func (s *Store) FileData(ctx context.Context, id string, small bool) (File, []byte, error) {
	f, _, err := s.fileRow(ctx, id)
	if err != nil {
		return f, nil, err
	}
	var data, th []byte
	var sealed bool
	if err := s.DB.R.QueryRowContext(ctx, `SELECT data, thumb, sealed FROM dlb_files WHERE id = $1`, id).Scan(&data, &th, &sealed); err != nil {
		return f, nil, err
	}
	if small {
		if len(th) == 0 {
			return f, nil, nil
		}
		b, err := sealedphoto.Open(s.Keys, th, sealed, fileCols.ThumbAAD(id))
		return f, b, err
	}
	b, err := sealedphoto.Open(s.Keys, data, sealed, fileCols.PhotoAAD(id))
	return f, b, err
}

// DeleteFile removes an attachment, audited: a worker over its owner's
// community (a notice's only before it is published), or the resident
// who raised a topic their own photos.
func (s *Store) DeleteFile(ctx context.Context, id string) (File, error) {
	f, o, err := s.fileRow(ctx, id)
	if err != nil {
		return f, err
	}
	if err := mayDelete(ctx, f, o); err != nil {
		return f, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dlb_files WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.NotFound(fault.M("没有这个附件", "no such attachment"))
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.file_delete", Object: "file", ObjectID: id, Division: o.division,
			Detail: fmt.Sprintf("%s %s %d; %s, %d bytes, sha256 %s", f.OwnerKind, f.OwnerID, f.Seq, f.ContentType, f.Size, f.SHA256[:16])})
	})
	return f, err
}

// mayDelete says why the caller may not delete a file (nil when they may).
func mayDelete(ctx context.Context, f File, o fileOwner) error {
	p := access.From(ctx)
	if o.erase || (o.kind == FileTopic && o.write && f.uploadedBy == p.Username) {
		return nil
	}
	if o.why != nil {
		return o.why
	}
	if o.kind == FileNotice && o.write {
		return fault.Conflict(fault.M("公开事项已发布，附件不能删除", "the notice is published: its attachments stay"))
	}
	return errNoWrite
}
