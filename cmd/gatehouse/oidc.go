package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/oidcprovider"
)

// rotateKeys is `gatehouse oidc rotate-keys`: new signing keys of the OpenID Provider, published
// at once and signing after --publish (docs/oidc-provider.md#keys). It works while servers run:
// they re-read the key table at least once a minute.
func rotateKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("oidc rotate-keys", flag.ContinueOnError)
	cfgPath := fs.String("config", "gatehouse.toml", "configuration file")
	publish := fs.Duration("publish", time.Hour, "how long the new keys are published before they sign (0 to 168h)")
	if err := cliFlags(fs, args, stderr); err != nil {
		return err
	}
	if *publish < 0 || *publish > 7*24*time.Hour {
		return usageError{"--publish must be between 0 and 168h"}
	}
	res, err := config.Load(*cfgPath, getenv, config.Overrides{}, false)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := app.OpenStore(ctx, res.Config)
	if err != nil {
		return err
	}
	defer store.Close()
	svc, closeLimiter, err := app.ServiceForCLI(ctx, res.Config, store, log)
	if err != nil {
		return err
	}
	defer closeLimiter()
	p, err := oidcprovider.New(ctx, oidcprovider.Deps{Store: store, Core: oidcprovider.CoreOf(svc), Logger: log, PublicURL: res.Config.PublicURL,
		SealSecret: res.Config.Auth.MFASecretKey, TokenSecret: res.Config.Auth.JWTSecret})
	if err != nil {
		return err
	}
	if err := p.RotateKeys(ctx, nil, *publish, auth.ClientMeta{IP: "cli"}); err != nil {
		return fmt.Errorf("rotating the signing keys: %w", err)
	}
	fmt.Fprintf(stdout, "new signing keys are published; they sign from %s\n", time.Now().Add(*publish).UTC().Format(time.RFC3339))
	return nil
}
