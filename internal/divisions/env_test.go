package divisions_test

import (
	"context"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/divisions"
)

// Real codes of 西湖区 (NBS 2023): two communities in different townships,
// and one of 宁波.
const (
	communityA = "330106002051" // 北山街道 上保社区
	communityB = "330106004053" // 西溪街道 石灰桥社区
	county     = "330106"
	ningboVil  = "330203001001"
)

type env struct {
	t     *testing.T
	d     *db.DB
	store *divisions.Store
	log   *audit.Log
	clock *dbtest.Clock
}

// each runs fn over a fresh store of each kind with the divisions loaded.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	dbtest.Each(t, append(append([]db.Migration{}, audit.Migrations...), divisions.Migrations...), func(t *testing.T, d *db.DB) {
		ck := dbtest.NewClock(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC))
		s := &divisions.Store{DB: d, Now: ck.Now}
		if _, err := s.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		fn(t, &env{t: t, d: d, store: s, log: audit.New(d, ck.Now), clock: ck})
	})
}

var (
	countyOfficer = &access.Principal{UserID: "u-1", Username: "county", Role: access.Officer, Division: county}
	workerA       = &access.Principal{UserID: "u-2", Username: "worker.a", Role: access.CommunityWorker, Division: communityA}
	ningboOfficer = &access.Principal{UserID: "u-3", Username: "ningbo", Role: access.Officer, Division: "3302"}
	sysAdmin      = &access.Principal{UserID: "u-4", Username: "sys", Role: access.SysAdmin, Division: "33"}
)

func as(p *access.Principal) context.Context { return access.With(context.Background(), p) }

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.d.R.QueryRow(query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func codes(ds []divisions.Division) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.Code)
	}
	return out
}
