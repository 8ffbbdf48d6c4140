package care

import (
	"context"

	"linli/internal/module"
)

// Demo adds the demo county's home care.
func (m *careModule) Demo(ctx context.Context, o module.DemoOptions) error { return nil }
