package notices_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"linli/internal/db"
	"linli/internal/dbtest"
	"linli/internal/notices"
)

// The header's count and the lists read an account's notices from the
// partial indexes in their order, on a skewed table (one worker holds
// thousands of unread and read notices, the others a few): the count
// stops at its bound, the lists read what they show, and neither sorts.
func TestNoticePlans(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, notices.Migrations, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			for i := range 3000 {
				user := "busy"
				if i%10 == 0 {
					user = fmt.Sprintf("u%d", i%50)
				}
				var read any
				if i%3 == 0 {
					read = db.T(at.Add(time.Duration(i+1) * time.Minute))
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO user_notices (id, user_id, division_code, kind, title_zh, title_en, body_zh, body_en, href, dedup_key, created_at, read_at)
					VALUES ($1, $2, '330106', 'k', '标题', 'title', '', '', '/x', $1, $3, $4)`, fmt.Sprintf("n%05d", i), user, db.T(at.Add(time.Duration(i)*time.Minute)), read); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Analyze(ctx, d, "user_notices"); err != nil {
			t.Fatal(err)
		}
		const cols = `SELECT id, kind, title_zh, title_en, body_zh, body_en, href, created_at, read_at FROM user_notices`
		for _, q := range []struct {
			name, index, sql string
			args             []any
		}{
			{"the header's count", "user_notices_unread", `SELECT COUNT(*) FROM (SELECT 1 FROM user_notices WHERE user_id = $1 AND read_at IS NULL LIMIT $2) x`, []any{"busy", notices.UnreadBound + 1}},
			{"the unread notices, newest first", "user_notices_unread", cols + ` WHERE user_id = $1 AND read_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $2`, []any{"busy", 6}},
			{"then the read ones", "user_notices_read", cols + ` WHERE user_id = $1 AND read_at IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT $2`, []any{"busy", 6}},
		} {
			t.Run(q.name, func(t *testing.T) {
				plan, err := d.Explain(ctx, q.sql, q.args, db.NoSeqScan())
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, q.index) {
					t.Errorf("the plan does not read %s:\n%s", q.index, plan)
				}
				for _, bad := range []string{"TEMP B-TREE", "Sort", "Seq Scan", "SCAN user_notices"} {
					if strings.Contains(plan, bad) {
						t.Errorf("the plan holds %q:\n%s", bad, plan)
					}
				}
			})
		}
	})
}
