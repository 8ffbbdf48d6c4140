package care

import "context"

// OrdersQuery exposes the order list's statement to the plan test.
func (s *Store) OrdersQuery(ctx context.Context, f OrderFilter) (string, []any, error) {
	return s.ordersQuery(ctx, &f)
}
