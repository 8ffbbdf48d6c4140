package main

import (
	"fmt"

	"linli/internal/circle/circlebench"
	"linli/internal/circle/circlecli"
)

// benchCommands are the benchmarks of `linli bench NAME`; each prints its
// figures beside a peer measured in the same run.
var benchCommands = map[string]func(e env, args []string) int{
	"circle": func(e env, args []string) int { return circlebench.Main(args, e.stdout, e.stderr) },
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

func init() {
	extraCommands["circle"] = command{"生活圈分析 / life-circle analysis (build, run, site)", circleUsage,
		func(e env, args []string) int { return circlecli.Main(args, e.stdout, e.stderr) }}
	extraCommands["bench"] = command{"性能基准（与对照同次运行）/ benchmarks against a peer in the same run", benchUsage(), runBench}
}

func benchUsage() string {
	return `linli bench circle --roads DIR [--nodes N]
  我们的生活圈引擎与 python3-igraph、pgRouting 在同一路网、同一批设施上对比，核对结果一致并打印耗时与倍数；
  缺少对照时用 apt-get 安装，无法安装则跳过并说明。
  Times the life-circle engine against python3-igraph and pgRouting on the same graph and facilities,
  checks that the labels agree, and prints times and speed-ups; peers are installed with apt-get or skipped.

linli bench requests [--duration 60s] [--workers 32] [--crash=true] [--database-url URL]
  以 HTTP 持续提交诉求，打印吞吐与 p50/p99，然后 kill -9 服务端、重启并核对每个已确认的诉求都在且编号不重复。
  Creates requests over HTTP for the duration, prints throughput and p50/p99, then kills the server with
  SIGKILL mid-run, restarts it and checks that every acknowledged request exists with a unique number.

例 / examples:
  linli bench circle --roads ../shared/data/hangzhou-roads
  linli bench requests --duration 60s`
}

func runBench(e env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, benchUsage())
		return 2
	}
	b, ok := benchCommands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "未知基准 %q / unknown benchmark %q\n\n%s\n", args[0], args[0], benchUsage())
		return 2
	}
	return b(e, args[1:])
}
