// Command gatehouse runs the gatehouse sign-in server and its administrative commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse/gatehouse/oidcprovider"
	"github.com/gatehouse/gatehouse/password"
)

func main() {
	// The OpenID Provider's protocol library logs only through slog's default; the router sends
	// what it logs while serving to the provider's injected logger (oidcprovider/log.go).
	slog.SetDefault(slog.New(oidcprovider.LogRouter(slog.NewTextHandler(os.Stderr, nil))))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	args := os.Args[1:]
	var err error
	if len(args) >= 2 && args[0] == "config" && args[1] == "check" {
		// Only config check needs the whole environment (to find misspelt GATEHOUSE__ names).
		err = configCheck(ctx, args[2:], os.Getenv, os.Environ(), os.Stdout, os.Stderr)
	} else {
		err = run(ctx, args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	}
	stop()
	if err != nil && !errors.Is(err, errHelpShown) {
		fmt.Fprintln(os.Stderr, "gatehouse: "+err.Error())
		os.Exit(exitCode(err))
	}
}

// errHelpShown ends a command whose --help printed its flags: asked-for help is not an error.
var errHelpShown = errors.New("help shown")

// usageError marks a mistake in how the command was called (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	if errors.Is(err, errHelpShown) {
		return 0
	}
	if _, ok := err.(usageError); ok {
		return 2
	}
	return 1
}

const usage = `gatehouse: a self-hosted sign-in and session server

Usage:
  gatehouse serve [--config PATH] [--listen ADDR] [--jwt-secret S] [--mfa-secret-key S]
  gatehouse users bootstrap-admin --email E [--username U] --password-stdin [--config PATH]
  gatehouse users reset-password --user LOGIN --password-stdin [--config PATH]
  gatehouse rules export [--config PATH] > rules.toml
  gatehouse rules import FILE [--config PATH]      (FILE "-" reads standard input)
  gatehouse oidc rotate-keys [--publish 1h] [--config PATH]
  gatehouse backup --out FILE [--force] [--config PATH]
  gatehouse config check [--config PATH]
  gatehouse healthcheck [--url URL] [--config PATH]
  gatehouse version
`

// run is the whole program; tests call it with their own arguments, environment and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "users":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return usageError{"users needs a subcommand: bootstrap-admin or reset-password"}
		}
		switch args[1] {
		case "bootstrap-admin":
			return bootstrapAdmin(ctx, args[2:], getenv, stdin, stdout, stderr)
		case "reset-password":
			return resetPassword(ctx, args[2:], getenv, stdin, stdout, stderr)
		}
		return usageError{fmt.Sprintf("unknown users subcommand %q (want bootstrap-admin or reset-password)", args[1])}
	case "rules":
		return rulesCommand(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "oidc":
		if len(args) < 2 || args[1] != "rotate-keys" {
			fmt.Fprint(stderr, usage)
			return usageError{"oidc needs a subcommand: rotate-keys"}
		}
		return rotateKeys(ctx, args[2:], getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, versionLine())
		return nil
	case "backup":
		return backup(ctx, args[1:], getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args[1:], getenv, stdout, stderr)
	case "config":
		if len(args) < 2 || args[1] != "check" {
			return usageError{"config needs a subcommand: check"}
		}
		return configCheck(ctx, args[2:], getenv, nil, stdout, stderr)
	case hashWorkerCommand:
		// Internal: the process serve runs its password hashes in (password.Process). It ends
		// when its input does, never on a signal: main's NotifyContext holds SIGINT and SIGTERM,
		// so a Ctrl-C to the terminal's process group or systemd's SIGTERM to the whole unit
		// lets the server finish its shutdown, which closes the worker's input.
		return password.ServeWorker(stdin, stdout)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}
