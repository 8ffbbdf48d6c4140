package requests

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode/utf8"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/pii"
)

// Personal data in free text. Residents type phone numbers, ID numbers and
// e-mail addresses into descriptions, addresses, comments and follow-ups,
// and workers into replies, reasons and notes. Each such text is stored
// masked (pii.Mask); when the detector found something, the original is
// sealed beside it with the data key, bound to its row and field, like the
// registry's fields. Who sees what:
//
//   - the reporter, on their own request: the originals;
//   - everyone else who may read the request (community and grid workers,
//     officers, a resident following a request theirs was merged into):
//     the masked texts, in lists, details, duplicates and the timeline;
//   - community workers and officers, when a call-back needs it: the
//     originals on demand with a reason, audited (Original). Grid workers
//     are refused, audited, as the registry refuses them ID numbers;
//   - Open311, which anyone may read: only public categories, masked
//     texts, and a description that held personal data only once a
//     community worker or officer has cleared its masked text for
//     publication (Clear, audited).

// originals are the sealed originals of a request's texts ("" when the
// text held no personal data and is stored as written).
type originals struct{ description, address, reply, reason, comment string }

// binding ties a sealed text to its row and field.
func binding(field, rowID string) string { return "requests." + field + ":" + rowID }

// seal masks text and, when it held personal data, seals the original.
func (s *Store) seal(text, field, rowID string) (masked, sealed string) {
	masked, found := pii.Mask(text)
	if found == nil {
		return text, ""
	}
	return masked, s.Keys.Seal(text, binding(field, rowID))
}

// ownRequest tells whether the caller reported r.
func ownRequest(ctx context.Context, r Request) bool {
	p := access.From(ctx)
	return p != nil && p.Role == access.Resident && r.ReporterID != "" && p.UserID == r.ReporterID
}

// present prepares r for the caller: the reporter's contact masked, and
// the texts' originals for the reporter only.
func (s *Store) present(ctx context.Context, r *Request) error {
	if err := s.reveal(r); err != nil {
		return err
	}
	if ownRequest(ctx, *r) {
		return s.openOriginals(r)
	}
	return nil
}

// openOriginals puts the originals of r's texts and of its events' notes
// in place of their masks.
func (s *Store) openOriginals(r *Request) error {
	for _, t := range []struct {
		field, sealed string
		text          *string
	}{{"description", r.sealed.description, &r.Description}, {"address", r.sealed.address, &r.Address},
		{"reply", r.sealed.reply, &r.Reply}, {"reason", r.sealed.reason, &r.Reason}, {"comment", r.sealed.comment, &r.RatingComment}} {
		if t.sealed == "" {
			continue
		}
		v, err := s.Keys.Open(t.sealed, binding(t.field, r.ID))
		if err != nil {
			return fmt.Errorf("request %s: %s: %w", r.Number, t.field, err)
		}
		*t.text = v
	}
	for i := range r.Events {
		e := &r.Events[i]
		if e.noteSealed == "" {
			continue
		}
		v, err := s.Keys.Open(e.noteSealed, binding("note", e.id))
		if err != nil {
			return fmt.Errorf("request %s: note %d: %w", r.Number, e.Seq, err)
		}
		e.Note = v
	}
	return nil
}

// mayReadOriginals tells whether p's role may see the originals of
// others' texts: community workers and officers.
func mayReadOriginals(p *access.Principal) bool {
	return p != nil && (p.Role == access.CommunityWorker || p.Role == access.Officer)
}

var errNoOriginals = fault.Forbidden(fault.M("您的角色不能查看诉求原文", "your role may not see the original text of requests"))

// Original returns the request with the originals of its texts to a
// community worker or officer of its area who gives a reason. The reveal
// is audited with the reason, and so is a refusal.
func (s *Store) Original(ctx context.Context, id, reason string) (Request, error) {
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n < 2 || n > 200 {
		return Request{}, fault.Invalid(fault.M("请填写查看理由", "give a reason for seeing the original"), fault.Field("reason", fault.M("请填写 2–200 字的查看理由", "give a reason of 2–200 characters")))
	}
	r, err := s.Get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	e := audit.Entry{Action: "request.reveal", Object: "request", ObjectID: r.Number, Division: r.Division, Detail: audit.Detail(map[string]string{"reason": reason})}
	if !mayReadOriginals(access.From(ctx)) {
		e.Result = audit.Denied
		return Request{}, firstErr(s.Audit.Record(ctx, e), errNoOriginals)
	}
	if err := s.Audit.Record(ctx, e); err != nil {
		return Request{}, err
	}
	return r, s.openOriginals(&r)
}

// firstErr is the first error that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Clear lets Open311 publish the masked description of a request whose
// text held personal data: a community worker or officer of its area has
// read it and found nothing personal left. The clearance is a step of the
// timeline and audited; a refusal is audited too. version, when not 0, is
// the version the caller saw.
func (s *Store) Clear(ctx context.Context, id string, version int) (Request, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	e := audit.Entry{Action: "request.clear", Object: "request", ObjectID: r.Number, Division: r.Division}
	if !mayReadOriginals(access.From(ctx)) {
		e.Result = audit.Denied
		return Request{}, firstErr(s.Audit.Record(ctx, e), fault.Forbidden(fault.M("只有社区工作者和民政干部可以核准公开", "only community workers and officers clear a text for publication")))
	}
	switch {
	case !r.PersonalData:
		return Request{}, fault.Conflict(fault.M("该诉求的描述未检出个人信息，已可公开", "nothing personal was found in this request's text: it is published as written"))
	case r.PublicCleared:
		return Request{}, fault.Conflict(fault.M("该诉求的描述已核准公开", "this request's text is already cleared for publication"))
	case version != 0 && version != r.Version:
		return Request{}, errChanged
	}
	now := s.Now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE requests SET cleared_at = $1, updated_at = $1, version = version + 1 WHERE id = $2 AND version = $3 AND cleared_at IS NULL`, db.T(now), r.ID, r.Version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errChanged
		}
		r.Version++
		if err := s.insertEvent(ctx, tx, r, r.Version, "clear", r.Status, r.Status, actorOf(ctx), "核准公开遮蔽后的描述 / masked text cleared for publication", now); err != nil {
			if db.IsUniqueViolation(err) {
				return errChanged
			}
			return err
		}
		e.Detail = audit.Detail(map[string]any{"version": r.Version})
		return s.Audit.RecordTx(ctx, tx, e)
	})
	if err != nil {
		return Request{}, err
	}
	return s.Get(ctx, r.ID)
}

// SealBacklog masks and seals the texts of requests written before the
// detector, a batch at a time, and says how many requests it changed.
// The module runs it at start; a request changed meanwhile is taken again.
func (s *Store) SealBacklog(ctx context.Context) (int, error) {
	n := 0
	for {
		ids, err := s.unchecked(ctx, 200)
		if err != nil || len(ids) == 0 {
			return n, err
		}
		for _, id := range ids {
			var done bool
			if err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
				var err error
				done, err = s.sealOld(ctx, tx, id)
				return err
			}); err != nil {
				return n, err
			}
			if done {
				n++
			}
		}
	}
}

func (s *Store) unchecked(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id FROM requests WHERE NOT pii_checked ORDER BY created_at LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// sealOld masks and seals one old request's texts and its events' notes
// (false when the request changed since it was read: it stays unchecked).
func (s *Store) sealOld(ctx context.Context, tx *sql.Tx, id string) (bool, error) {
	r, err := scan(tx.QueryRowContext(ctx, `SELECT `+cols+` FROM requests r WHERE r.id = $1`, id))
	if err != nil {
		return false, err
	}
	c := &change{s: s, r: r}
	for _, t := range []struct{ col, field, text, sealed string }{
		{"description", "description", r.Description, r.sealed.description}, {"address", "address", r.Address, r.sealed.address},
		{"reply", "reply", r.Reply, r.sealed.reply}, {"reason", "reason", r.Reason, r.sealed.reason}, {"rating_comment", "comment", r.RatingComment, r.sealed.comment},
	} {
		if t.sealed == "" { // a text sealed already was written masked
			c.putText(t.col, t.field, t.text)
		}
	}
	personal := r.sealed.description != "" || r.sealed.address != ""
	for _, x := range c.sealed {
		personal = personal || x == "description" || x == "address"
	}
	c.put("personal", personal)
	c.put("pii_checked", true)
	c.args = append(c.args, r.ID, r.Version)
	res, err := tx.ExecContext(ctx, `UPDATE requests SET `+strings.Join(c.set, ", ")+fmt.Sprintf(` WHERE id = $%d AND version = $%d`, len(c.args)-1, len(c.args)), c.args...)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	return true, s.sealOldNotes(ctx, tx, id)
}

func (s *Store) sealOldNotes(ctx context.Context, tx *sql.Tx, requestID string) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, note FROM request_events WHERE request_id = $1 AND note_sealed = ''`, requestID)
	if err != nil {
		return err
	}
	type note struct{ id, masked, sealed string }
	var found []note
	for rows.Next() {
		var id, text string
		if err := rows.Scan(&id, &text); err != nil {
			rows.Close()
			return err
		}
		if masked, sealed := s.seal(text, "note", id); sealed != "" {
			found = append(found, note{id, masked, sealed})
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, n := range found {
		if _, err := tx.ExecContext(ctx, `UPDATE request_events SET note = $1, note_sealed = $2 WHERE id = $3`, n.masked, n.sealed, n.id); err != nil {
			return err
		}
	}
	return nil
}
