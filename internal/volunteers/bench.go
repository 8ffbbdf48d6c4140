package volunteers

import "linli/internal/module"

const benchUsage = `linli bench volunteers`

func runBench(c module.CLI, args []string) int { return 0 }
