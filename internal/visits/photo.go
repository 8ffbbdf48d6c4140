package visits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/fault"
	"linli/internal/sealedphoto"
	"linli/internal/thumb"
)

var errNoPhoto = fault.NotFound(fault.M("这次探访没有照片", "this visit has no photo"))

// Photo is a visit's photo as recorded.
type Photo struct {
	Type string
	Data []byte
}

// Photo returns a visit's photo to a caller who may read the visit; it
// shows a vulnerable resident's home, so every view is audited.
func (s *Store) Photo(ctx context.Context, id int64) (Photo, error) {
	p := access.From(ctx)
	if !canRead(p) {
		return Photo{}, errNoRole
	}
	cond, args := scopeSQL(p, 2)
	var ph Photo
	var division string
	var sealed bool
	err := s.DB.R.QueryRowContext(ctx, `SELECT v.photo_type, v.photo, v.photo_sealed, v.division_code FROM vis_visits v WHERE v.id = $1 AND `+cond,
		append([]any{id}, args...)...).Scan(&ph.Type, &ph.Data, &sealed, &division)
	if errors.Is(err, sql.ErrNoRows) {
		return Photo{}, errNotFound
	} else if err != nil {
		return Photo{}, err
	}
	if ph.Type == "" {
		return Photo{}, errNoPhoto
	}
	if ph.Data, err = sealedphoto.Open(s.Keys, ph.Data, sealed, photoCols.PhotoAAD(id)); err != nil {
		return Photo{}, err
	}
	err = s.Audit.Record(ctx, audit.Entry{Action: "visits.photo.read", Object: "visit", ObjectID: fmt.Sprint(id), Division: division})
	return ph, err
}

// Thumb returns a visit photo's thumbnail (a JPEG of at most
// thumb.MaxSide px), made on the first view and kept beside the photo.
// ok is false when the photo cannot be scaled (WebP): the page then only
// links to it. The full photo's view is the audited one.
func (s *Store) Thumb(ctx context.Context, id int64) (data []byte, ok bool, err error) {
	p := access.From(ctx)
	if !canRead(p) {
		return nil, false, errNoRole
	}
	cond, args := scopeSQL(p, 2)
	var typ string
	var kept []byte
	var sealed bool
	err = s.DB.R.QueryRowContext(ctx, `SELECT v.photo_type, v.photo_thumb, v.photo_sealed FROM vis_visits v WHERE v.id = $1 AND `+cond,
		append([]any{id}, args...)...).Scan(&typ, &kept, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, errNotFound
	} else if err != nil {
		return nil, false, err
	}
	switch {
	case typ == "":
		return nil, false, errNoPhoto
	case len(kept) > 0:
		small, err := sealedphoto.Open(s.Keys, kept, sealed, photoCols.ThumbAAD(id))
		return small, err == nil, err
	case typ != "image/jpeg" && typ != "image/png":
		return nil, false, nil
	}
	var stored []byte
	if err := s.DB.R.QueryRowContext(ctx, `SELECT photo FROM vis_visits WHERE id = $1 AND photo_sealed = $2`, id, sealed).Scan(&stored); errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil // sealed between the two reads: the page links to the photo, a later view makes it
	} else if err != nil {
		return nil, false, err
	}
	full, err := sealedphoto.Open(s.Keys, stored, sealed, photoCols.PhotoAAD(id))
	if err != nil {
		return nil, false, err
	}
	small, err := thumb.Make(full, thumb.MaxSide)
	if errors.Is(err, thumb.ErrUnsupported) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	// Kept as the photo is kept.
	keep := sealedphoto.Keep(s.Keys, small, sealed, photoCols.ThumbAAD(id))
	if _, err := s.DB.W.ExecContext(ctx, `UPDATE vis_visits SET photo_thumb = $1 WHERE id = $2 AND photo_sealed = $3`, keep, id, sealed); err != nil {
		return nil, false, err
	}
	return small, true, nil
}

func (h *Handlers) getPhoto(w http.ResponseWriter, r *http.Request) {
	id, err := visitID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ph, err := h.Store.Photo(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sendImage(w, ph.Type, ph.Data)
}

func (h *Handlers) getThumb(w http.ResponseWriter, r *http.Request) {
	id, err := visitID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	small, ok, err := h.Store.Thumb(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !ok {
		http.Redirect(w, r, fmt.Sprintf("/visits/photos/%d", id), http.StatusSeeOther)
		return
	}
	sendImage(w, "image/jpeg", small)
}

// sendImage answers with an image the browser must not sniff as anything
// else, cached only by this person's browser.
func sendImage(w http.ResponseWriter, typ string, data []byte) {
	w.Header().Set("Content-Type", typ)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Write(data)
}
