package divisions_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"linli/internal/db"
	"linli/internal/divisions"
)

func TestLoadAndTree(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		t.Run("a second load changes nothing", func(t *testing.T) {
			n, err := e.store.Load(ctx)
			if err != nil || n != 0 {
				t.Fatalf("reloaded %d: %v", n, err)
			}
			if total, err := e.store.Count(ctx); err != nil || total != 27036 {
				t.Fatalf("count %d %v", total, err)
			}
		})
		t.Run("a division carries its class, full name and children", func(t *testing.T) {
			got, err := e.store.Get(ctx, communityA)
			want := divisions.Division{Code: communityA, Name: "上保社区", Level: 5, ParentCode: "330106002", UrbanRural: divisions.Urban,
				FullName: "浙江省杭州市西湖区北山街道上保社区", Children: 0}
			if err != nil || got != want {
				t.Fatalf("got %+v %v", got, err)
			}
			if c, err := e.store.Get(ctx, county); err != nil || c.Children != 12 || c.ParentCode != "3301" {
				t.Fatalf("county %+v %v", c, err)
			}
		})
		t.Run("an unknown code is not found", func(t *testing.T) {
			if _, err := e.store.Get(ctx, "330106999999"); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("got %v", err)
			}
			if _, err := e.store.Path(ctx, "330106999999"); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("path: %v", err)
			}
		})
		t.Run("several divisions are read at once by code, unknown codes left out", func(t *testing.T) {
			got, err := e.store.GetMany(ctx, []string{communityA, county, "330106999999"})
			if err != nil || len(got) != 2 || got[communityA].Name != "上保社区" || got[county].Children != 12 {
				t.Fatalf("got %+v %v", got, err)
			}
			if none, err := e.store.GetMany(ctx, nil); err != nil || len(none) != 0 {
				t.Fatalf("none: %+v %v", none, err)
			}
		})
		t.Run("reading several divisions looks each up by its key (27,036 rows, analysed)", func(t *testing.T) {
			if err := db.Analyze(ctx, e.d, "divisions"); err != nil {
				t.Fatal(err)
			}
			args := []any{communityA, county, "330106002", "3301"}
			plan, err := e.d.Explain(ctx, divisions.GetManyQuery(e.d, len(args)), args, db.NoSeqScan())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan, "divisions_pkey") && !strings.Contains(plan, "sqlite_autoindex_divisions_1") {
				t.Fatalf("not by the key:\n%s", plan)
			}
		})
		t.Run("the path runs from the province down", func(t *testing.T) {
			path, err := e.store.Path(ctx, communityA)
			if want := []string{"33", "3301", county, "330106002", communityA}; err != nil || !reflect.DeepEqual(codes(path), want) {
				t.Fatalf("got %v %v", codes(path), err)
			}
		})
		t.Run("children come in code order, a page at a time", func(t *testing.T) {
			all, total, err := e.store.Children(ctx, county, 0, 100)
			if err != nil || total != 12 || len(all) != 12 {
				t.Fatalf("got %d of %d: %v", len(all), total, err)
			}
			page, total, err := e.store.Children(ctx, county, 5, 5)
			if err != nil || total != 12 || !reflect.DeepEqual(codes(page), codes(all[5:10])) {
				t.Fatalf("page %v: %v", codes(page), err)
			}
			if none, total, err := e.store.Children(ctx, communityA, 0, 10); err != nil || total != 0 || len(none) != 0 {
				t.Fatalf("a community's children: %v %d %v", none, total, err)
			}
		})
	})
}

func TestSearch(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		search := func(q, within string, limit int) ([]divisions.Division, int) {
			t.Helper()
			ds, total, err := e.store.Search(context.Background(), q, within, 0, limit)
			if err != nil {
				t.Fatal(err)
			}
			return ds, total
		}
		t.Run("the exact name ranks first, higher levels first", func(t *testing.T) {
			ds, total := search("西湖", "", 5)
			if len(ds) == 0 || ds[0].Code != county || ds[0].Name != "西湖区" || total < 5 {
				t.Fatalf("got %v (%d)", codes(ds), total)
			}
			for i := 1; i < len(ds); i++ {
				if ds[i].Name == "西湖" && ds[i-1].Name != "西湖" {
					t.Errorf("exact match %s ranked below %s", ds[i].Code, ds[i-1].Code)
				}
			}
		})
		t.Run("an exact name beats a prefix, a prefix beats the middle", func(t *testing.T) {
			ds, _ := search("上保社区", "", 5)
			if len(ds) == 0 || ds[0].Code != communityA {
				t.Fatalf("got %v", codes(ds))
			}
		})
		t.Run("digits search by code prefix, top levels first", func(t *testing.T) {
			ds, total := search("3301060", "", 100)
			if total != 158 || len(ds) != 100 {
				t.Fatalf("got %d of %d", len(ds), total)
			}
			for i, d := range ds {
				if d.Code[:7] != "3301060" || (i > 0 && d.Level < ds[i-1].Level) {
					t.Fatalf("result %d: %s (level %d) out of order", i, d.Code, d.Level)
				}
			}
			if ds[0].Level != 4 || ds[len(ds)-1].Level != 5 {
				t.Errorf("levels %d … %d", ds[0].Level, ds[len(ds)-1].Level)
			}
		})
		t.Run("within keeps to a subtree", func(t *testing.T) {
			ds, total := search("社区", "330106002", 200)
			if total == 0 || total != len(ds) {
				t.Fatalf("got %d of %d", len(ds), total)
			}
			for _, d := range ds {
				if d.Code[:9] != "330106002" {
					t.Errorf("%s is outside", d.Code)
				}
			}
		})
		t.Run("wildcards are characters", func(t *testing.T) {
			for _, q := range []string{"%", "_", `\`} {
				if ds, total := search(q, "", 5); total != 0 {
					t.Errorf("%q matched %v", q, codes(ds))
				}
			}
		})
	})
}

func TestEmbeddedIsStable(t *testing.T) {
	t.Parallel()
	a, err := divisions.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	b, err := divisions.Embedded()
	if err != nil || len(a) != len(b) || a[100] != b[100] {
		t.Fatalf("two reads differ: %v", err)
	}
}
