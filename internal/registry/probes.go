package registry

import (
	"context"
	"sync"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/fault"
)

// An ID number is unique in the registry, so registering one that is
// already registered must be refused; but where it is registered outside
// the caller's jurisdiction, the refusal is all the caller learns, and
// repeated, it would let anyone test numbers for existence. Every such
// refusal is audited, and an account that has collected probeLimit of them
// within probeWindow registers no new ID number until the window has
// moved on — whatever the number, so that being held back says nothing
// about the next one.
const (
	probeLimit  = 10
	probeWindow = time.Hour
)

// errDuplicateID is the one answer to an ID number that cannot be
// registered: it says what to do, not where or whether the person is
// registered.
var errDuplicateID = fault.Invalid(fault.M("该身份证号不能在此登记：此人如已在别处登记，须由原登记地办理迁出后在此迁入", "this ID number cannot be registered here: a person registered elsewhere is moved out there and then moved in (迁入) here"),
	fault.Field("id_number", fault.M("不能在此登记；如此人已在别处登记，须办理迁出、迁入", "cannot be registered here; a person registered elsewhere is moved out and in")))

var errProbing = fault.New(fault.CodeTooMany, fault.M("一小时内被拒的身份证号过多，请稍后再登记（每小时最多 10 个）", "too many ID numbers refused within the hour: register again later (at most 10 an hour)"))

// probes counts, per account, the recent refusals of numbers registered
// outside its jurisdiction. The zero value is ready; it lives on the store.
type probes struct {
	mu sync.Mutex
	by map[string][]time.Time
}

// recent drops the refusals older than the window and returns the rest
// (callers hold mu).
func (p *probes) recent(account string, now time.Time) []time.Time {
	ts := p.by[account]
	for len(ts) > 0 && !ts[0].After(now.Add(-probeWindow)) {
		ts = ts[1:]
	}
	if len(ts) == 0 {
		delete(p.by, account)
	} else {
		p.by[account] = ts
	}
	return ts
}

// check refuses an account that has used up its refusals.
func (p *probes) check(account string, now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.recent(account, now)) >= probeLimit {
		return errProbing
	}
	return nil
}

// take counts n refusals and tells whether the account stays within its
// limit.
func (p *probes) take(account string, now time.Time, n int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.by == nil {
		p.by = map[string][]time.Time{}
	}
	ts := p.recent(account, now)
	for range n {
		ts = append(ts, now)
	}
	p.by[account] = ts
	return len(ts) <= probeLimit
}

// account is whom refusals count against: a signed-in account. The
// console's operator (no account) is not held back: whoever runs the
// command holds the database already.
func account(ctx context.Context) (string, bool) {
	p := access.From(ctx)
	return p.UserID, p.UserID != ""
}

// mayRegister refuses a caller held back for collecting refusals.
func (s *Store) mayRegister(ctx context.Context) error {
	if a, ok := account(ctx); ok {
		return s.probes.check(a, s.Now())
	}
	return nil
}

// countRefused counts n refusals against the caller and tells whether it
// stays within its limit.
func (s *Store) countRefused(ctx context.Context, n int) bool {
	if a, ok := account(ctx); ok {
		return s.probes.take(a, s.Now(), n)
	}
	return true
}

// refuseDuplicate audits the refusal of an ID number (by its blind index,
// and whether it is registered outside the caller's jurisdiction), counts
// it when it is, and returns the one answer.
func (s *Store) refuseDuplicate(ctx context.Context, idIdx string) error {
	elsewhere, err := s.registeredElsewhere(ctx, idIdx)
	if err != nil {
		return err
	}
	if err := s.auditRefused(ctx, elsewhere, 1, idIdx); err != nil {
		return err
	}
	if elsewhere {
		s.countRefused(ctx, 1)
	}
	return errDuplicateID
}

// registeredElsewhere tells whether the number of this blind index is
// registered outside the caller's jurisdiction.
func (s *Store) registeredElsewhere(ctx context.Context, idIdx string) (bool, error) {
	var code string
	ok, err := found(s.DB.R.QueryRowContext(ctx, `SELECT division_code FROM reg_residents WHERE id_idx = $1`, idIdx), &code)
	return ok && !access.ScopeOf(ctx).Contains(code), err
}

func (s *Store) auditRefused(ctx context.Context, elsewhere bool, rows int, idIdx string) error {
	d := map[string]any{"elsewhere": elsewhere, "rows": rows}
	if idIdx != "" {
		d["id_number_index"] = idIdx
	}
	return s.Audit.Record(ctx, audit.Entry{Action: "registry.id_number.refused", Object: "resident", Result: audit.Denied, Detail: audit.Detail(d)})
}
