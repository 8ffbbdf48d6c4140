package circle

import (
	"os"
	"path/filepath"
)

// FindRoadsDir locates the shared Hangzhou road data: $LINLI_ROADS_DIR if
// set, else a shared/data/hangzhou-roads folder beside any parent of the
// working directory. It returns "" when none exists.
func FindRoadsDir() string {
	if d := os.Getenv("LINLI_ROADS_DIR"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		cand := filepath.Join(dir, "shared", "data", "hangzhou-roads")
		if _, err := os.Stat(filepath.Join(cand, "edges.csv.gz")); err == nil {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
