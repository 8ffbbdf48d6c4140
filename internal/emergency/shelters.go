package emergency

import (
	"context"
	"database/sql"
	"errors"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
)

// Shelters' managers (避难场所管理员): in peacetime a community worker names
// the worker account that opens each shelter; when a warning in force
// covers a shelter's place, opening it is a task on that manager's
// 工作台 until they record it open, and the situation view shows which
// shelters are open.

const sheltersSQL = `
CREATE TABLE em_shelter_managers (
	facility_id TEXT PRIMARY KEY,
	division_code TEXT NOT NULL,
	username TEXT NOT NULL,
	assigned_by TEXT NOT NULL,
	assigned_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX em_shelter_managers_user ON em_shelter_managers (username, facility_id);
CREATE TABLE em_shelter_openings (
	incident_id TEXT NOT NULL,
	facility_id TEXT NOT NULL,
	division_code TEXT NOT NULL,
	state TEXT NOT NULL,
	opened_by TEXT NOT NULL,
	opened_at TIMESTAMPTZ NOT NULL,
	closed_by TEXT NOT NULL DEFAULT '',
	closed_at TIMESTAMPTZ,
	PRIMARY KEY (incident_id, facility_id)
);
`

// A shelter's state in an incident.
const (
	ShelterToOpen = "to_open" // a warning in force covers it; not yet open
	ShelterOpen   = "open"
	ShelterClosed = "closed"
)

const kindShelter = "emergency.shelter"

// ShelterCall is a warning in force that covers a shelter's place, and
// what the shelter did about it.
type ShelterCall struct {
	IncidentID string `json:"incident_id"`
	AlertID    string `json:"alert_id"`
	Headline   string `json:"headline"`
	State      string `json:"state"` // to_open, open, closed
}

// ShelterCard is a shelter with its manager and the warnings calling it.
type ShelterCard struct {
	Shelter
	Manager string        `json:"manager"` // the manager's account; "" for none
	Calls   []ShelterCall `json:"calls"`
	// CanManage: the reader may name the manager; CanOpen: may open or
	// close it (its manager, or a community worker or officer).
	CanManage bool `json:"-"`
	CanOpen   bool `json:"-"`
}

// ManagerInput names a shelter's manager.
type ManagerInput struct {
	Username string `json:"username"`
}

// OpeningInput names the incident a shelter opens or closes for.
type OpeningInput struct {
	IncidentID string `json:"incident_id"`
}

// inForce is the condition on alerts (alias a) of warnings in force at $n.
func inForce(n string) string {
	return `a.state = 'active' AND a.msg_type <> 'Cancel' AND (a.expires IS NULL OR a.expires > ` + n + `)`
}

// ShelterCards lists the open shelters of the reader's jurisdiction (within
// division, if given), with manager, occupancy and calls.
func (s *Store) ShelterCards(ctx context.Context, division string) ([]ShelterCard, error) {
	sc := access.ScopeOf(ctx)
	if division != "" {
		if !sc.Contains(division) {
			return nil, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("division", fault.M("不在您的辖区内", "outside your jurisdiction")))
		}
		sc = access.Subtree(division)
	}
	cards, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (ShelterCard, error) {
		var c ShelterCard
		var caps string
		var mgr sql.NullString
		err := r.Scan(&c.ID, &c.Code, &c.Name, &c.Division, &caps, &mgr)
		c.Capacity, c.Manager = capacityOf(caps), mgr.String
		return c, err
	}, `SELECT f.id, f.code, f.name, f.division_code, f.capacities, m.username FROM registry_facility_cards f LEFT JOIN em_shelter_managers m ON m.facility_id = f.id
		WHERE f.category = $1 AND f.status = 'open' AND f.division_code >= $2 AND f.division_code < $3 ORDER BY f.division_code, f.name LIMIT 200`,
		ShelterCategory, sc.Lo, sc.Hi)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(cards))
	for i := range cards {
		ids[i] = cards[i].ID
	}
	occ, err := s.occupancies(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range cards {
		cards[i].Occupancy = occ[cards[i].ID]
		if err := s.fillShelter(ctx, &cards[i]); err != nil {
			return nil, err
		}
	}
	if cards == nil {
		cards = []ShelterCard{}
	}
	return cards, nil
}

// ShelterCard reads one shelter of the reader's jurisdiction.
func (s *Store) ShelterCard(ctx context.Context, id string) (ShelterCard, error) {
	var c ShelterCard
	var caps string
	var mgr sql.NullString
	err := s.DB.R.QueryRowContext(ctx, `SELECT f.id, f.code, f.name, f.division_code, f.capacities, m.username FROM registry_facility_cards f
		LEFT JOIN em_shelter_managers m ON m.facility_id = f.id WHERE f.id = $1 AND f.category = $2 AND f.status = 'open'`, id, ShelterCategory).
		Scan(&c.ID, &c.Code, &c.Name, &c.Division, &caps, &mgr)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !access.ScopeOf(ctx).Contains(c.Division) {
		return c, fault.NotFound(fault.M("没有这个避难场所，或不在您的辖区内", "no such shelter in your jurisdiction"))
	}
	if err != nil {
		return c, err
	}
	c.Capacity, c.Manager = capacityOf(caps), mgr.String
	if err := s.DB.R.QueryRowContext(ctx, occupancySQL, c.ID).Scan(&c.Occupancy); err != nil {
		return c, err
	}
	return c, s.fillShelter(ctx, &c)
}

// fillShelter adds the warnings calling the shelter and what the reader
// may do.
func (s *Store) fillShelter(ctx context.Context, c *ShelterCard) error {
	calls, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (ShelterCall, error) {
		var x ShelterCall
		var state sql.NullString
		err := r.Scan(&x.IncidentID, &x.AlertID, &x.Headline, &state)
		x.State = ShelterToOpen
		if state.Valid {
			x.State = state.String
		}
		return x, err
	}, `SELECT a.incident_id, MAX(a.id), MAX(a.headline), MAX(o.state) FROM em_alerts a JOIN em_alert_areas ar ON ar.alert_id = a.id
		LEFT JOIN em_shelter_openings o ON o.incident_id = a.incident_id AND o.facility_id = $1
		WHERE `+inForce("$3")+` AND substr(CAST($2 AS TEXT), 1, length(ar.division_code)) = ar.division_code
		GROUP BY a.incident_id ORDER BY a.incident_id`, c.ID, c.Division, db.T(s.Now()))
	if err != nil {
		return err
	}
	c.Calls = calls
	if calls == nil {
		c.Calls = []ShelterCall{}
	}
	p := access.From(ctx)
	c.CanManage = planWriter(p) == nil
	c.CanOpen = c.CanManage || p != nil && p.Username == c.Manager
	return nil
}

// AssignManager names the worker account that opens a shelter: a grid or
// community worker or officer of the shelter's township.
func (s *Store) AssignManager(ctx context.Context, id string, in ManagerInput) (ShelterCard, error) {
	if err := planWriter(access.From(ctx)); err != nil {
		return ShelterCard{}, err
	}
	c, err := s.ShelterCard(ctx, id)
	if err != nil {
		return c, err
	}
	town := access.Subtree(c.Division[:min(9, len(c.Division))])
	var n int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE username = $1 AND NOT disabled AND role IN ('grid_worker', 'community_worker', 'officer')
		AND division_code >= $2 AND division_code < $3`, in.Username, town.Lo, town.Hi).Scan(&n); err != nil {
		return c, err
	}
	if n == 0 {
		return c, fault.Invalid(fault.M("填写有误", "the input has errors"), fault.Field("username", fault.M("请从本乡镇（街道）的工作人员中选择", "choose a worker of the shelter's township")))
	}
	p := access.From(ctx)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO em_shelter_managers (facility_id, division_code, username, assigned_by, assigned_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (facility_id) DO UPDATE SET username = excluded.username, assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at`,
			c.ID, c.Division, in.Username, p.Username, db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "emergency.shelter_manager", Object: "facility", ObjectID: c.ID, Division: c.Division, Detail: in.Username})
	})
	if err != nil {
		return c, err
	}
	return s.ShelterCard(ctx, id)
}

// SetShelterOpen records a shelter opened (open true) or closed for an
// incident whose warning in force covers it: by its manager, or a
// community worker or officer.
func (s *Store) SetShelterOpen(ctx context.Context, id string, in OpeningInput, open bool) (ShelterCard, error) {
	c, err := s.ShelterCard(ctx, id)
	if err != nil {
		return c, err
	}
	if !c.CanOpen {
		return c, fault.Forbidden(fault.M("只有该避难场所的管理员或社区工作者、干部可以开放或关闭它", "only the shelter's manager, a community worker or an officer may open or close it"))
	}
	var call *ShelterCall
	for i := range c.Calls {
		if c.Calls[i].IncidentID == in.IncidentID {
			call = &c.Calls[i]
		}
	}
	if call == nil {
		return c, fault.Invalid(fault.M("填写有误", "the input has errors"), fault.Field("incident_id", fault.M("没有覆盖这个避难场所的生效中预警", "no warning in force covers this shelter")))
	}
	p, now := access.From(ctx), db.T(s.Now())
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if open {
			// Opened once per incident; a closed shelter opens again.
			res, err = tx.ExecContext(ctx, `INSERT INTO em_shelter_openings (incident_id, facility_id, division_code, state, opened_by, opened_at) VALUES ($1, $2, $3, 'open', $4, $5)
				ON CONFLICT (incident_id, facility_id) DO UPDATE SET state = 'open', opened_by = excluded.opened_by, opened_at = excluded.opened_at, closed_by = '', closed_at = NULL
				WHERE em_shelter_openings.state = 'closed'`, in.IncidentID, c.ID, c.Division, p.Username, now)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE em_shelter_openings SET state = 'closed', closed_by = $3, closed_at = $4 WHERE incident_id = $1 AND facility_id = $2 AND state = 'open'`,
				in.IncidentID, c.ID, p.Username, now)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 && open {
			return fault.Conflict(fault.M("这个避难场所已经开放", "the shelter is already open"))
		} else if n == 0 {
			return fault.Conflict(fault.M("这个避难场所尚未开放", "the shelter is not open"))
		}
		action := "emergency.shelter_close"
		if open {
			action = "emergency.shelter_open"
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: action, Object: "facility", ObjectID: c.ID, Division: c.Division, Detail: in.IncidentID})
	})
	if err != nil {
		return c, err
	}
	return s.ShelterCard(ctx, id)
}

// shelterWork is the manager's shelters to open: covered by a warning in
// force and not yet opened for its incident.
func (s *Store) shelterWork(ctx context.Context, username string, limit int) ([]module.WorkItem, error) {
	type due struct{ id, name, headline string }
	ds, err := db.Collect(ctx, s.DB.R, func(r db.Scanner) (due, error) {
		var d due
		return d, r.Scan(&d.id, &d.name, &d.headline)
	}, `SELECT m.facility_id, MAX(f.name), MAX(a.headline) FROM em_shelter_managers m
		JOIN registry_facility_cards f ON f.id = m.facility_id AND f.status = 'open'
		JOIN em_alert_areas ar ON substr(m.division_code, 1, length(ar.division_code)) = ar.division_code
		JOIN em_alerts a ON a.id = ar.alert_id AND `+inForce("$2")+`
		WHERE m.username = $1 AND NOT EXISTS (SELECT 1 FROM em_shelter_openings o WHERE o.incident_id = a.incident_id AND o.facility_id = m.facility_id)
		GROUP BY m.facility_id ORDER BY m.facility_id LIMIT $3`, username, db.T(s.Now()), limit)
	out := make([]module.WorkItem, 0, len(ds))
	for _, d := range ds {
		out = append(out, module.WorkItem{Module: "emergency", Kind: kindShelter, KindName: fault.M("预警：开放避难场所", "Warning: shelters to open"),
			Title: fault.M("开放避难场所「"+d.name+"」", "Open the shelter "+d.name), Whose: d.headline, Href: "/emergency/shelters/" + d.id, Urgent: true})
	}
	return out, err
}

// openings is each shelter's state in an incident (absent: not opened).
func (s *Store) openings(ctx context.Context, incident string) (map[string]string, error) {
	out := map[string]string{}
	err := db.EachRow(ctx, s.DB.R, func(r db.Scanner) error {
		var id, state string
		err := r.Scan(&id, &state)
		out[id] = state
		return err
	}, `SELECT facility_id, state FROM em_shelter_openings WHERE incident_id = $1`, incident)
	return out, err
}
