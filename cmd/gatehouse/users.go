package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/internal/app"
)

// openForCLI loads the configuration and opens the store and service. Like serve, it writes a
// fresh configuration file when there is none: `users bootstrap-admin` is often the very first
// command on a new machine (a container's init step), and the server started next must find
// the same secrets and database.
func openForCLI(ctx context.Context, path string, getenv func(string) string, stderr io.Writer) (func(func(svcT) error) error, error) {
	res, err := config.Load(path, getenv, config.Overrides{}, true)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if res.Created {
		log.Warn("wrote a new configuration file with fresh secrets; keep it safe and back it up", "path", res.Config.Path)
	}
	return func(f func(svcT) error) error {
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
		return f(svc)
	}, nil
}

func bootstrapAdmin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users bootstrap-admin", flag.ContinueOnError)
	cfgPath := fs.String("config", "gatehouse.toml", "configuration file")
	email := fs.String("email", "", "the administrator's email (required)")
	username := fs.String("username", "", "the administrator's username (default: the email's local part)")
	stdinPw := fs.Bool("password-stdin", false, "read the password from standard input")
	pwFile := fs.String("password-file", "", "read the password from this file (a mounted Kubernetes or Docker secret)")
	if err := cliFlags(fs, args, stderr); err != nil {
		return err
	}
	if *email == "" || *stdinPw == (*pwFile != "") {
		return usageError{"users bootstrap-admin needs --email and one of --password-stdin or --password-file"}
	}
	pw, err := readPassword(*pwFile, stdin)
	if err != nil {
		return err
	}
	with, err := openForCLI(ctx, *cfgPath, getenv, stderr)
	if err != nil {
		return err
	}
	return with(func(svc svcT) error {
		created, err := svc.Admin.BootstrapAdmin(ctx, *username, *email, pw)
		if err != nil {
			return userMessage(err)
		}
		if !created {
			fmt.Fprintln(stdout, "an administrator already exists; nothing to do")
			return nil
		}
		fmt.Fprintf(stdout, "administrator %s created\n", gatehouse.NormalizeLogin(*email))
		return nil
	})
}

func resetPassword(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users reset-password", flag.ContinueOnError)
	cfgPath := fs.String("config", "gatehouse.toml", "configuration file")
	login := fs.String("user", "", "username or email of the account (required)")
	stdinPw := fs.Bool("password-stdin", false, "read the new password from standard input (required)")
	if err := cliFlags(fs, args, stderr); err != nil {
		return err
	}
	if *login == "" || !*stdinPw {
		return usageError{"users reset-password needs --user and --password-stdin"}
	}
	pw, err := readPasswordStdin(stdin)
	if err != nil {
		return err
	}
	with, err := openForCLI(ctx, *cfgPath, getenv, stderr)
	if err != nil {
		return err
	}
	return with(func(svc svcT) error {
		u, err := svc.Admin.ResetPasswordCLI(ctx, *login, pw)
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return fmt.Errorf("no user with username or email %q", *login)
		}
		if err != nil {
			return userMessage(err)
		}
		fmt.Fprintf(stdout, "password of %s reset; their sessions have ended\n", u.Username)
		return nil
	})
}
