package volunteers

import (
	"context"
	"database/sql"
)

// CreditBatch runs creditBatch in its own transaction, for tests.
func (s *Store) CreditBatch(ctx context.Context, staging string) (n int64, err error) {
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		n, err = s.creditBatch(ctx, tx, staging, "test")
		return err
	})
	return n, err
}
