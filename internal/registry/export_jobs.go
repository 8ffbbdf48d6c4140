package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"linli/internal/access"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/module"
)

// DefaultAsyncRows is the count above which a page's export is made by a
// job (about a county's residents at the default demo scale is 24,000; a
// county at full scale 1.2 million).
const DefaultAsyncRows = 100_000

// ExportKeep is how long a job's file stays downloadable.
const ExportKeep = 24 * time.Hour

// Job states.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobReady   = "ready"
	JobFailed  = "failed"
	JobExpired = "expired"
)

// ExportJob is an export made in the background for its requester.
type ExportJob struct {
	ID, Requester, Kind, Format, Scope, Status, FileName string
	RowsDone, RowsTotal                                  int
	Bytes                                                int64
	// Finished and Expires are zero until the file is made.
	Created, Finished, Expires time.Time
}

// Percent is the share of rows written.
func (j ExportJob) Percent() int {
	if j.RowsTotal <= 0 {
		return 0
	}
	return min(100, j.RowsDone*100/j.RowsTotal)
}

// StatusName is the state in words.
func (j ExportJob) StatusName() fault.Msg {
	return map[string]fault.Msg{JobQueued: fault.M("排队中", "queued"), JobRunning: fault.M("正在生成", "being made"), JobReady: fault.M("已生成", "ready"),
		JobFailed: fault.M("生成失败", "failed"), JobExpired: fault.M("已过期删除", "expired")}[j.Status]
}

// Busy tells whether the job is still to finish.
func (j ExportJob) Busy() bool { return j.Status == JobQueued || j.Status == JobRunning }

var exportJobsMigration = db.Migration{ID: "registry/010_export_jobs", SQL: `CREATE TABLE reg_export_jobs (
	id TEXT PRIMARY KEY,
	requester TEXT NOT NULL,
	role TEXT NOT NULL,
	division_code TEXT NOT NULL,
	kind TEXT NOT NULL,
	format TEXT NOT NULL,
	scope TEXT NOT NULL,
	options TEXT NOT NULL,
	status TEXT NOT NULL,
	rows_done INTEGER NOT NULL,
	rows_total INTEGER NOT NULL,
	file_name TEXT NOT NULL,
	file_path TEXT NOT NULL,
	bytes BIGINT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	finished_at TIMESTAMPTZ,
	expires_at TIMESTAMPTZ
);
CREATE INDEX reg_export_jobs_requester ON reg_export_jobs (requester, created_at);
CREATE INDEX reg_export_jobs_status ON reg_export_jobs (status, created_at);`}

var errNoJob = fault.NotFound(fault.M("导出任务不存在、不属于您或已过期", "no such export job of yours, or it has expired"))

// StartExportJob checks and audits an export as StartExport does, and
// queues it for the job worker instead of writing it now.
func (s *Store) StartExportJob(ctx context.Context, o ExportOptions) (ExportJob, error) {
	if s.Files == "" {
		return ExportJob{}, fault.Conflict(fault.M("本服务未配置数据目录，不能生成导出文件", "this server has no data folder for export files"))
	}
	x, err := s.prepareExport(ctx, o)
	if err != nil {
		return ExportJob{}, err
	}
	total, err := x.Count(ctx, maxCount)
	if err != nil {
		return ExportJob{}, err
	}
	o.Format = x.Format
	opts, err := json.Marshal(o)
	if err != nil {
		return ExportJob{}, err
	}
	p := access.From(ctx)
	now := s.Now()
	j := ExportJob{ID: db.NewID(), Requester: p.Username, Kind: o.Kind, Format: x.Format, Scope: jobScope(p, o), Status: JobQueued, RowsTotal: total, FileName: x.Name, Created: now}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO reg_export_jobs (id, requester, role, division_code, kind, format, scope, options, status, rows_done, rows_total, file_name, file_path, bytes, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, '', 0, $12)`,
			j.ID, p.Username, string(p.Role), p.Division, o.Kind, x.Format, j.Scope, string(opts), JobQueued, total, x.Name, db.T(now)); err != nil {
			return err
		}
		return s.record(ctx, tx, "registry.export", o.Kind, j.ID, p.Division, map[string]any{"unmasked": o.Unmasked, "reason": o.Reason, "format": x.Format, "file": x.Name, "job": j.ID, "rows": total})
	})
	if err != nil {
		return ExportJob{}, err
	}
	select {
	case s.jobsWake <- struct{}{}:
	default:
	}
	return j, nil
}

// jobScope is the division the export covers, for the pages.
func jobScope(p *access.Principal, o ExportOptions) string {
	for _, d := range []string{o.Resident.Division, o.Household.Division, o.Filter.Division} {
		if d != "" {
			return d
		}
	}
	return p.Division
}

const jobCols = `id, requester, kind, format, scope, status, rows_done, rows_total, file_name, bytes, created_at, finished_at, expires_at`

func scanJob(row db.Scanner) (ExportJob, error) {
	var j ExportJob
	var created, finished, expires db.Time
	err := row.Scan(&j.ID, &j.Requester, &j.Kind, &j.Format, &j.Scope, &j.Status, &j.RowsDone, &j.RowsTotal, &j.FileName, &j.Bytes, &created, &finished, &expires)
	j.Created, j.Finished, j.Expires = created.Time, finished.Time, expires.Time
	return j, err
}

// ExportJob returns one of the caller's jobs: a job is the requester's
// alone, and only while the requester keeps the role and division it was
// made with (errNoJob to anyone else, as if it did not exist).
func (s *Store) ExportJob(ctx context.Context, id string) (ExportJob, error) {
	p := access.From(ctx)
	if p == nil {
		return ExportJob{}, errNoJob
	}
	j, err := scanJob(s.DB.R.QueryRowContext(ctx, `SELECT `+jobCols+` FROM reg_export_jobs WHERE id = $1 AND requester = $2 AND role = $3 AND division_code = $4`,
		id, p.Username, string(p.Role), p.Division))
	if errors.Is(err, sql.ErrNoRows) {
		return j, errNoJob
	}
	return j, err
}

// ExportJobs lists the caller's recent jobs, newest first.
func (s *Store) ExportJobs(ctx context.Context, limit int) ([]ExportJob, error) {
	p := access.From(ctx)
	if p == nil {
		return nil, nil
	}
	return db.Collect(ctx, s.DB.R, scanJob, `SELECT `+jobCols+` FROM reg_export_jobs WHERE requester = $1 AND role = $2 AND division_code = $3 ORDER BY created_at DESC, id LIMIT `+itoa(limit),
		p.Username, string(p.Role), p.Division)
}

// OpenExportFile opens a ready job's file for its requester, and audits
// the download.
func (s *Store) OpenExportFile(ctx context.Context, id string) (ExportJob, *os.File, error) {
	j, err := s.ExportJob(ctx, id)
	if err != nil {
		return j, nil, err
	}
	if j.Status != JobReady || !s.Now().Before(j.Expires) {
		return j, nil, errNoJob
	}
	var path string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT file_path FROM reg_export_jobs WHERE id = $1`, id).Scan(&path); err != nil {
		return j, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return j, nil, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.record(ctx, tx, "registry.export.download", j.Kind, j.ID, access.From(ctx).Division, map[string]any{"file": j.FileName, "bytes": j.Bytes})
	})
	if err != nil {
		f.Close()
		return j, nil, err
	}
	return j, f, nil
}

// RunExportJobs makes every queued export file, oldest first, and returns
// how many it finished. A job runs as its requester: the scope, masks and
// checks are those of a direct export.
func (s *Store) RunExportJobs(ctx context.Context) (int, error) {
	done := 0
	for ctx.Err() == nil {
		var id, requester, role, division, options string
		err := s.DB.R.QueryRowContext(ctx, `SELECT id, requester, role, division_code, options FROM reg_export_jobs WHERE status = $1 ORDER BY created_at, id LIMIT 1`, JobQueued).
			Scan(&id, &requester, &role, &division, &options)
		if errors.Is(err, sql.ErrNoRows) {
			return done, nil
		} else if err != nil {
			return done, err
		}
		res, err := s.DB.W.ExecContext(ctx, `UPDATE reg_export_jobs SET status = $1 WHERE id = $2 AND status = $3`, JobRunning, id, JobQueued)
		if err != nil {
			return done, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // another worker took it
		}
		p := &access.Principal{Username: requester, Role: access.Role(role), Division: division}
		jctx := access.With(ctx, p)
		path, size, err := s.runExportJob(jctx, id, options)
		now := db.T(s.Now())
		if err != nil {
			if ctx.Err() != nil {
				// Stopping: the job runs again at the next start.
				_, _ = s.DB.W.ExecContext(context.WithoutCancel(ctx), `UPDATE reg_export_jobs SET status = $1, rows_done = 0 WHERE id = $2`, JobQueued, id)
				return done, ctx.Err()
			}
			_, uerr := s.DB.W.ExecContext(ctx, `UPDATE reg_export_jobs SET status = $1, finished_at = $2 WHERE id = $3`, JobFailed, now, id)
			return done, errors.Join(err, uerr)
		}
		err = s.DB.Tx(jctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE reg_export_jobs SET status = $1, file_path = $2, bytes = $3, finished_at = $4, expires_at = $5 WHERE id = $6`,
				JobReady, path, size, now, db.T(s.Now().Add(ExportKeep)), id); err != nil {
				return err
			}
			return s.record(jctx, tx, "registry.export.ready", "export_job", id, division, map[string]any{"bytes": size})
		})
		if err != nil {
			os.Remove(path)
			return done, err
		}
		done++
	}
	return done, ctx.Err()
}

// jobProgressRows is how often a job writes its progress.
const jobProgressRows = 5000

// runExportJob writes one job's file into the data folder (0600) and
// returns its path and size.
func (s *Store) runExportJob(ctx context.Context, id, options string) (string, int64, error) {
	var o ExportOptions
	if err := json.Unmarshal([]byte(options), &o); err != nil {
		return "", 0, err
	}
	x, err := s.prepareExport(ctx, o)
	if err != nil {
		return "", 0, err
	}
	var name string
	if err := s.DB.R.QueryRowContext(ctx, `SELECT file_name FROM reg_export_jobs WHERE id = $1`, id).Scan(&name); err != nil {
		return "", 0, err
	}
	x.Name = name
	x.stamp[3][1] = name
	var progressErr error
	x.Progress = func(done int) {
		if done%jobProgressRows == 0 && progressErr == nil {
			_, progressErr = s.DB.W.ExecContext(ctx, `UPDATE reg_export_jobs SET rows_done = $1 WHERE id = $2`, done, id)
		}
	}
	dir := filepath.Join(s.Files, "exports")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", 0, err
	}
	path := filepath.Join(dir, id+"."+x.Format)
	rows := 0
	inner := x.Progress
	x.Progress = func(done int) { rows = done; inner(done) }
	if err := writeFile(path, func(f *os.File) error { return x.Write(ctx, f) }); err != nil {
		return "", 0, err
	}
	if progressErr != nil {
		os.Remove(path)
		return "", 0, progressErr
	}
	if _, err := s.DB.W.ExecContext(ctx, `UPDATE reg_export_jobs SET rows_done = $1 WHERE id = $2`, rows, id); err != nil {
		os.Remove(path)
		return "", 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", 0, err
	}
	return path, st.Size(), nil
}

// ExpireExportJobs deletes the files of jobs past their expiry and marks
// them expired (audited as the system), returning how many.
func (s *Store) ExpireExportJobs(ctx context.Context) (int, error) {
	now := s.Now()
	type gone struct{ id, path, division string }
	var olds []gone
	err := db.EachRow(ctx, s.DB.R, func(row db.Scanner) error {
		var g gone
		if err := row.Scan(&g.id, &g.path, &g.division); err != nil {
			return err
		}
		olds = append(olds, g)
		return nil
	}, `SELECT id, file_path, division_code FROM reg_export_jobs WHERE status = $1 AND expires_at <= $2`, JobReady, db.T(now))
	if err != nil {
		return 0, err
	}
	sys := access.With(ctx, &access.Principal{Username: "system", Role: access.SysAdmin, Division: "33"})
	for _, g := range olds {
		if err := os.Remove(g.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
		err := s.DB.Tx(sys, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE reg_export_jobs SET status = $1, file_path = '' WHERE id = $2`, JobExpired, g.id); err != nil {
				return err
			}
			return s.record(sys, tx, "registry.export.expire", "export_job", g.id, g.division, nil)
		})
		if err != nil {
			return 0, err
		}
	}
	return len(olds), nil
}

// Run is the registry's background worker: it makes queued export files
// and deletes expired ones until ctx ends, then waits for the maps being
// drawn anew beside a view.
func (m *registryModule) Run(ctx context.Context) {
	s := m.store
	defer func() { s.maps.Wait() }() // maps being drawn for a viewer already served
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if _, err := s.RunExportJobs(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("export job", "err", err.Error())
		}
		if _, err := s.ExpireExportJobs(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("export expiry", "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.jobsWake:
		}
	}
}

// Work lists the signed-in worker's export files ready to download.
func (m *registryModule) Work(ctx context.Context, p *access.Principal, limit int) ([]module.WorkItem, error) {
	jobs, err := m.store.ExportJobs(access.With(ctx, p), limit)
	if err != nil {
		return nil, err
	}
	var out []module.WorkItem
	for _, j := range jobs {
		if j.Status != JobReady || !m.store.Now().Before(j.Expires) {
			continue
		}
		out = append(out, module.WorkItem{Module: "registry", Kind: "registry.export.ready", KindName: fault.M("导出文件可下载", "Export files ready"), Href: "/registry/exports/jobs/" + j.ID, Due: j.Expires,
			Title: fault.M("导出文件已生成："+j.FileName, "export file ready: "+j.FileName)})
	}
	return out, nil
}
