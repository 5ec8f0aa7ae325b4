package postgres

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Status connects to dsn and reads the schema version without migrating anything.
func Status(ctx context.Context, dsn string) (sqlstore.SchemaStatus, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return sqlstore.SchemaStatus{}, fmt.Errorf("database.dsn is not a valid PostgreSQL connection string")
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return sqlstore.SchemaStatus{}, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	ms, err := sqlstore.LoadMigrations(migrations, "migrations")
	if err != nil {
		return sqlstore.SchemaStatus{}, err
	}
	// to_regclass follows search_path, like the unqualified names the store uses.
	return sqlstore.ReadSchemaStatus(ctx, db, ms, `SELECT COUNT(*) FROM (SELECT to_regclass('schema_migrations') AS t) x WHERE t IS NOT NULL`)
}
