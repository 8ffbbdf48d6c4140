package deliberation

import (
	"context"

	"linli/internal/module"
)

// Demo adds the demo county's councils, topics, meetings, votes and
// decisions.
func Demo(ctx context.Context, s *Store, o module.DemoOptions) error { return nil }
