package lifecircle

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"linli/internal/access"
	"linli/internal/circle/circlebench"
	"linli/internal/circle/circlecli"
	"linli/internal/config"
	"linli/internal/divisions"
	"linli/internal/module"
	"linli/internal/web"
)

// Module declares the life circles: 15-minute (urban) and 30-minute
// (rural) accessibility per division, the C20/C21 data elements and the
// `linli circle` tools.
func Module() module.Spec {
	return module.Spec{Name: "lifecircle", Migrations: Migrations, New: newModule,
		Settings: []config.Setting{{Env: "LINLI_ROADS", Flag: "roads",
			Usage: "生活圈路网目录（nodes.csv.gz、edges.csv.gz），缺省用合成路网 / road network folder for life circles; default a synthetic network",
			Check: checkRoads}},
		Commands: []module.Command{
			{Name: "circle", Summary: "生活圈分析 / life-circle analysis (build, run, site)", Usage: circleUsage,
				Run: func(c module.CLI, args []string) int { return circlecli.Main(args, c.Stdout, c.Stderr) }},
			{Name: "bench circle", Summary: "生活圈引擎与 igraph、pgRouting 对比 / the life-circle engine against igraph and pgRouting", Usage: benchUsage,
				Run: func(c module.CLI, args []string) int { return circlebench.Main(args, c.Stdout, c.Stderr) }},
		},
	}
}

func checkRoads(v string, _ config.Values) error {
	if v == "" {
		return nil
	}
	if st, err := os.Stat(v); err != nil || !st.IsDir() {
		return fmt.Errorf("路网目录不存在 / road network folder not found: %q", v)
	}
	return nil
}

const circleUsage = `linli circle build --roads DIR --out graph.bin
linli circle run --graph graph.bin (--facilities F.csv --demand D.csv | --synthetic) --out DIR
linli circle site --graph graph.bin --facilities F.csv --demand D.csv --category ID --k 20 [--remove]

15 分钟（城市）/ 30 分钟（农村）生活圈：路网建图（CSV 或 OpenStreetMap，步行/驾车）、设施与需求点挂接、
到各类设施的最短时间、覆盖率与缺口、选址与撤并。DIR 含 nodes.csv.gz 与 edges.csv.gz。
Life-circle analysis over a real road network: graph build (CSV or OpenStreetMap, walk/drive profile),
linking, minutes to each category, coverage and gaps, siting and least-loss removal.
"linli circle COMMAND -h" lists every flag.

例 / examples:
  linli circle build --roads ../shared/data/hangzhou-roads --out hz.graph
  linli circle run --graph hz.graph --synthetic --out circle-out`

const benchUsage = `linli bench circle --roads DIR [--nodes N]
  我们的生活圈引擎与 python3-igraph、pgRouting 在同一路网、同一批设施上对比，核对结果一致并打印耗时与倍数；
  缺少对照时用 apt-get 安装，无法安装则跳过并说明。
  Times the life-circle engine against python3-igraph and pgRouting on the same graph and facilities,
  checks that the labels agree, and prints times and speed-ups; peers are installed with apt-get or skipped.

例 / example:
  linli bench circle --roads ../shared/data/hangzhou-roads`

type lifecircleModule struct{ svc *Service }

func newModule(d module.Deps) (module.Module, error) {
	roads := d.Settings.Get("LINLI_ROADS")
	cache := ""
	if d.DataDir != "" && roads != "" {
		cache = filepath.Join(d.DataDir, "cache")
	}
	return &lifecircleModule{svc: &Service{DB: d.DB, Divs: d.Divisions, Now: d.Now, RoadsDir: roads, CacheDir: cache, Log: d.Log}}, nil
}

func (m *lifecircleModule) Nav() []web.NavItem {
	return []web.NavItem{{Href: "/lifecircle", Label: web.M("生活圈", "Life circles"), Group: web.NavAnalysis, Roles: []access.Role{access.Officer, access.CommunityWorker}}}
}

func (m *lifecircleModule) Mount(rt *web.Router, rd *web.Renderer) error {
	h := &Handlers{Svc: m.svc, Pages: ParsePages(rd)}
	h.Register(rt)
	return nil
}

// Demo places synthetic demand points in the demo county.
func (m *lifecircleModule) Demo(ctx context.Context, o module.DemoOptions) error {
	_, err := m.svc.SeedDemand(ctx, o.County, o.Seed)
	return err
}

// Elements are the life-circle completeness sums behind C20/C21 (current
// year only: the analysis is of today's facilities).
func (m *lifecircleModule) Elements() []module.Element {
	el := func(key, zh, en, class string, withValue bool) module.Element {
		f := m.svc.Completeness(class, withValue)
		// Measured: a unit without an analysis has no data, not 0.
		return module.Element{Key: key, NameZH: zh, NameEN: en, Source: "computed", Measured: true,
			Sum: func(ctx context.Context, q *sql.DB, g module.Group) (map[string]float64, error) {
				return f(ctx, q, g.Prefix, g.Lo, g.Hi, g.Year)
			}}
	}
	return []module.Element{
		el("urban_units_in_15min", "城市社区15分钟生活圈完整度之和", "Σ 15-minute circle completeness of urban communities", divisions.Urban, true),
		el("urban_units_analysed", "已做生活圈分析的城市社区", "Urban communities with a life-circle analysis", divisions.Urban, false),
		el("rural_units_in_30min", "行政村30分钟生活圈完整度之和", "Σ 30-minute circle completeness of villages", divisions.Rural, true),
		el("rural_units_analysed", "已做生活圈分析的行政村", "Villages with a life-circle analysis", divisions.Rural, false),
	}
}

// PlacesView publishes the places this module knows, for locating points.
func (m *lifecircleModule) PlacesView() string { return "lifecircle_places" }

// ServiceOf is the service of a built life-circle module (nil for another
// module), for tests.
func ServiceOf(m module.Module) *Service {
	if lm, ok := m.(*lifecircleModule); ok {
		return lm.svc
	}
	return nil
}
