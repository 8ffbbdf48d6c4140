package auth

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"linli/internal/db"
	"linli/internal/fault"
)

// Sign-in throttling. Every attempt is counted before its password is
// checked — against the account name (known or not, so that the answers do
// not tell which accounts exist) and against the client's address — in one
// transaction, so parallel attempts are each counted. Past its free tries,
// each attempt on a key pushes the next one allowed back by a delay that
// doubles (1 s, 2 s, 4 s …) up to BackoffCap; an attempt that comes sooner
// is answered 429 with Retry-After, without checking anything. Nothing locks:
// five wrong passwords cost their owner a second. An account with one-time
// codes passes its own back-off (not its address's) with the right password
// and code, so that others' failures cannot keep its owner out. A sign-in
// clears the account's count; counts are forgotten after a quiet hour.
const (
	AccountFreeTries = 5
	AddressFreeTries = 20
	BackoffCap       = 15 * time.Minute
	quietReset       = time.Hour
)

// backoff is the delay after the failures-th counted attempt on a key with
// free tries.
func backoff(failures, free int) time.Duration {
	if failures < free {
		return 0
	}
	if n := failures - free; n < 10 {
		return min(BackoffCap, time.Second<<n)
	}
	return BackoffCap
}

func accountKey(username string) string { return "user:" + username }
func addressKey(ip string) string       { return "addr:" + ip }

// gate is what counting an attempt found: how long the account's and the
// address's back-offs still run (0: free to go), and the keys whose
// back-off this attempt began.
type gate struct {
	account, address time.Duration
	began            []string
}

// wait is the longer of the two back-offs.
func (g gate) wait() time.Duration { return max(g.account, g.address) }

// count records an attempt on the account name and the address, in that
// order (the order every transaction takes them, so none deadlock).
func (s *Service) count(ctx context.Context, username, ip string) (gate, error) {
	now := s.now()
	var g gate
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		g = gate{}
		for _, k := range []struct {
			key  string
			free int
			wait *time.Duration
		}{{accountKey(username), AccountFreeTries, &g.account}, {addressKey(ip), AddressFreeTries, &g.address}} {
			var n int
			var until db.Time
			err := tx.QueryRowContext(ctx, `INSERT INTO login_throttle (key, failures, last_at, wait_until) VALUES ($1, 1, $2, $2)
				ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN login_throttle.last_at < $3 THEN 1 ELSE login_throttle.failures + 1 END,
				last_at = excluded.last_at
				RETURNING failures, wait_until`, k.key, db.T(now), db.T(now.Add(-quietReset))).Scan(&n, &until)
			if err != nil {
				return err
			}
			next := now.Add(backoff(n, k.free))
			if until.After(now) {
				*k.wait = max(until.Sub(now), next.Sub(now))
			}
			if next.After(until.Time) {
				if _, err := tx.ExecContext(ctx, `UPDATE login_throttle SET wait_until = $1 WHERE key = $2`, db.T(next), k.key); err != nil {
					return err
				}
			}
			if n == k.free {
				g.began = append(g.began, k.key)
			}
		}
		return nil
	})
	return g, err
}

// signedIn clears the account's count and gives the address back the
// attempt that succeeded, inside the sign-in's transaction.
func signedIn(ctx context.Context, tx *sql.Tx, username, ip string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1`, accountKey(username)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0`, addressKey(ip))
	return err
}

// forgetQuiet deletes counts unused for a quiet hour. On PostgreSQL it
// skips rows a sign-in holds, so that it never waits for one.
func (s *Service) forgetQuiet(ctx context.Context) error {
	q := `DELETE FROM login_throttle WHERE last_at < $1`
	if s.DB.Dialect == db.Postgres {
		q = `DELETE FROM login_throttle WHERE key IN (SELECT key FROM login_throttle WHERE last_at < $1 FOR UPDATE SKIP LOCKED)`
	}
	_, err := s.DB.W.ExecContext(ctx, q, db.T(s.now().Add(-quietReset)))
	return err
}

// throttledError is a sign-in refused for coming too soon: a too-many
// refusal that also carries the wait, for the Retry-After header.
type throttledError struct {
	refusal *fault.Error
	wait    time.Duration
}

func (e *throttledError) Error() string { return e.refusal.Error() }
func (e *throttledError) Unwrap() error { return e.refusal }

// seconds rounds a wait up to whole seconds, at least one.
func seconds(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }

func throttled(wait time.Duration) error {
	n := strconv.Itoa(seconds(wait))
	return &throttledError{fault.New(fault.CodeTooMany, fault.M("登录尝试过多，请 "+n+" 秒后再试", "too many sign-in attempts; try again in "+n+" s")), wait}
}

// RetryAfter is the wait a throttled sign-in was told, in whole seconds
// for a Retry-After header; false for any other error.
func RetryAfter(err error) (time.Duration, bool) {
	var t *throttledError
	if !errors.As(err, &t) {
		return 0, false
	}
	return time.Duration(seconds(t.wait)) * time.Second, true
}
