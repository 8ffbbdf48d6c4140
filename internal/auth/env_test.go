package auth_test

import (
	"context"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/auth"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/secret"
)

// Real codes of 西湖区 and one of 宁波.
const (
	communityA = "330106002051"
	county     = "330106"
	township   = "330106002"
	ningbo     = "3302"
	ningboVil  = "330203001001"
	password   = "Test-Passw0rd-2026"
)

// known divisions: the service asks only whether a code exists and its level.
var known = map[string]int{"33": 1, "3301": 2, county: 3, township: 4, communityA: 5, ningbo: 2, ningboVil: 5}

type env struct {
	t     *testing.T
	d     *db.DB
	svc   *auth.Service
	clock *dbtest.Clock
}

// each runs fn with an account service over a fresh store of each kind.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	dbtest.Each(t, append(append([]db.Migration{}, audit.Migrations...), auth.Migrations...), func(t *testing.T, d *db.DB) {
		keys, _, err := secret.Load("", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		ck := dbtest.NewClock(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC))
		svc := &auth.Service{DB: d, Audit: audit.New(d, ck.Now), Keys: keys, Now: ck.Now, IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour,
			DivisionExists: func(_ context.Context, code string) (int, bool, error) {
				l, ok := known[code]
				return l, ok, nil
			}}
		fn(t, &env{t: t, d: d, svc: svc, clock: ck})
	})
}

// operator is the command line's context.
func operator() context.Context { return access.With(context.Background(), access.Operator()) }

// as is a request context of p.
func as(p *access.Principal) context.Context { return access.With(context.Background(), p) }

// user creates an account with the test password, as the operator would.
func (e *env) user(name string, role access.Role, division string) *auth.User {
	e.t.Helper()
	u, _, err := e.svc.Create(operator(), auth.NewUser{Username: name, Role: role, Division: division, Password: password})
	if err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
	return u
}

// principal is the principal of an account, as a session would give.
func principal(u *auth.User) *access.Principal {
	return &access.Principal{UserID: u.ID, Username: u.Username, Role: u.Role, Division: u.Division}
}

// login signs in with the test password and fails the test unless it works.
func (e *env) login(name string) string {
	e.t.Helper()
	tok, _, err := e.svc.Login(context.Background(), name, password, "", "198.51.100.7", "test")
	if err != nil {
		e.t.Fatalf("login %s: %v", name, err)
	}
	return tok
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.d.R.QueryRow(query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}
