package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/sqlite"
)

// backup copies the SQLite database while the server runs. It never creates a configuration
// file: a backup of a database whose secrets were just invented would be useless.
func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	cfgPath := fs.String("config", "gatehouse.toml", "configuration file")
	out := fs.String("out", "", "file to write the copy to (required)")
	force := fs.Bool("force", false, "replace --out if it exists")
	if err := cliFlags(fs, args, stderr); err != nil {
		return err
	}
	if *out == "" {
		return usageError{"backup needs --out FILE"}
	}
	res, err := config.Load(*cfgPath, getenv, config.Overrides{}, false)
	if err != nil {
		return err
	}
	cfg := res.Config
	if cfg.Database.Driver == "postgres" {
		return usageError{"the database is PostgreSQL: back it up with pg_dump (see docs/operations.md), e.g. pg_dump --format=custom --file=gatehouse.dump \"$DSN\""}
	}
	info, err := sqlite.Backup(ctx, cfg.Database.DSN, *out, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes, mode 0600): schema version %d, %d users, %d sessions, %d events\n",
		info.Path, info.Bytes, info.Schema, info.Users, info.Sessions, info.Events)
	fmt.Fprintln(stdout, "keep it with the auth.mfa_secret_key it was taken under: without that key the TOTP secrets and provider secrets in it cannot be decrypted")
	return nil
}
