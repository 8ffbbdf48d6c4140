package care

import "linli/internal/module"

const benchUsage = `linli bench care`

func runBench(c module.CLI, args []string) int { return 0 }
