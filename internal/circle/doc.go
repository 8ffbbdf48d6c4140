// Package circle is the life-circle engine: it builds compact road graphs,
// links points to them, computes per-category travel-time labels with
// bounded multi-source bucket-queue searches, and answers coverage, gap and
// siting questions for the plan's 15-minute urban / 30-minute rural service
// circles and the GB 50180-2018 5/10/15-minute tiers. It has no database
// and no dependency on the rest of Linli.
//
// Typical use by the web platform:
//
//	el, _ := circle.ReadCSVDir(dir)                      // or ReadOSMXML + OSMEdgeList, or SyntheticRoads
//	g, _ := circle.Build(el, circle.BuildOptions{Profile: circle.Walk, UseLength: true})
//	circle.SaveGraph(path, g)                            // later: circle.LoadGraph(path)
//	s, _ := circle.NewStudy(g, circle.DefaultTiers(), facilities, demand, 500)
//	s.Compute(nil, 0, progress)                          // labels for every category
//	cv, _ := s.Coverage("plan-urban-15")                 // cv.Units, cv.Subtree("330106"), cv.Rollup(9), cv.Gaps(1)
//	res, _ := s.Site("clinic", 15, 5, candidates, nil)   // where to add k
//	rm, _ := s.Removal("clinic", 15)                     // which closure loses least
//
// Times are integer ticks of 0.1 s. Labels are uint16 ticks per category
// and node (Unreached beyond the search bound, which is at most about 109
// minutes); s.Labels.D[c][v] colours a network map, s.Times[c][p] gives a
// demand point's time. A time exactly equal to a threshold counts as within.
//
// The command line lives beside it: package circlecli ("linli circle
// build|run|site") and package circlebench ("linli bench circle"), which
// compares the labels with python3-igraph and pgRouting on the same graph
// and facilities.
package circle
