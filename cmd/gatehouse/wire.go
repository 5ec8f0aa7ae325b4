package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/geo"
	"github.com/gatehouse/gatehouse/oidc"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/postgres"
	"github.com/gatehouse/gatehouse/ratelimit"
	"github.com/gatehouse/gatehouse/sqlite"
	"github.com/gatehouse/gatehouse/token"
	"github.com/redis/go-redis/v9"
)

func version() string { return gatehouse.Version }

// openStore opens the configured backend.
func openStore(ctx context.Context, cfg *config.Config) (gatehouse.Store, error) {
	switch cfg.Database.Driver {
	case "postgres":
		return postgres.Open(ctx, cfg.Database.DSN)
	default:
		return sqlite.Open(ctx, cfg.Database.DSN)
	}
}

// limiter is the configured rate limiter with what serve reports about it.
type limiter struct {
	auth.Limiter
	// fallback is nil without [redis] url.
	fallback *ratelimit.Fallback
	close    func()
}

// Detail is the limiter's line in /readyz.
func (l *limiter) Detail() map[string]string {
	if l.fallback == nil {
		return map[string]string{"rate_limits": "local (no [redis] url)"}
	}
	if shared, since := l.fallback.Status(); !shared {
		return map[string]string{"rate_limits": "local: Redis unreachable since " + since.UTC().Format(time.RFC3339) + "; limits count on this instance only"}
	}
	return map[string]string{"rate_limits": "shared (Redis)"}
}

// newLimiter picks Redis when [redis] url is set, so several instances share one budget, with
// this instance's memory behind it for when Redis fails.
func newLimiter(cfg *config.Config, clock gatehouse.Clock, log *slog.Logger) (*limiter, error) {
	mem := ratelimit.NewMemory(clock.Now)
	if cfg.Redis.URL == "" {
		return &limiter{Limiter: mem, close: func() {}}, nil
	}
	opts, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		// Not wrapped: the parser's error quotes the whole URL, password included.
		return nil, errors.New("redis.url is not a valid Redis URL (redis://[user:password@]host:port/db)")
	}
	ratelimit.TuneClient(opts)
	c := redis.NewClient(opts)
	fb := ratelimit.NewFallback(ratelimit.NewRedis(c), mem, clock.Now, log)
	return &limiter{Limiter: fb, fallback: fb, close: func() { _ = c.Close() }}, nil
}

// service builds the auth service over an open store. issuer may be nil for commands that never
// sign tokens. The returned limiter must be closed when the service is done.
func service(ctx context.Context, cfg *config.Config, store gatehouse.Store, issuer *token.Issuer, log *slog.Logger, obs auth.Observer, hasher *password.Hasher, gdb *geo.DB) (*auth.App, *limiter, error) {
	clock := gatehouse.SystemClock{}
	lim, err := newLimiter(cfg, clock, log)
	if err != nil {
		return nil, nil, err
	}
	// External sign-in seals client secrets under a key derived from auth.mfa_secret_key.
	rp, err := oidc.New(cfg.Auth.MFASecretKey, nil, clock.Now)
	if err != nil {
		lim.close()
		return nil, nil, err
	}
	svc, err := auth.New(ctx, auth.Deps{
		Store: store, Hasher: hasher, Tokens: issuer, Limiter: lim.Limiter, Clock: clock, Logger: log, Observer: obs,
		CookieSecureDefault: !cfg.Auth.BootstrapInsecureCookies, MFASecretKey: cfg.Auth.MFASecretKey, OIDC: rp, PublicURL: cfg.PublicURL, GeoIP: gdb,
		// Only the server checks the secret: the users commands sign no tokens (issuer nil).
		CheckSecret: issuer != nil,
	})
	if err != nil {
		lim.close()
		return nil, nil, err
	}
	return svc, lim, nil
}

// readPasswordStdin reads one line from stdin without its line ending.
func readPasswordStdin(stdin io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
	if err != nil {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", usageError{"no password on stdin: pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | gatehouse ..."}
	}
	return pw, nil
}

// cliFlags parses a subcommand's flags, turning flag errors into usage errors.
func cliFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelpShown
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// userMessage turns a coded error into one sentence for the terminal.
func userMessage(err error) error {
	var e *gatehouse.Error
	if errors.As(err, &e) {
		return errors.New(e.Message)
	}
	return err
}

type svcT = *auth.App
