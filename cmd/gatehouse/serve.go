package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/geo"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/password"
)

// stringFlag records whether a flag was given, so an unset flag never overrides the environment.
type stringFlag struct {
	val *string
}

func (f *stringFlag) String() string {
	if f.val == nil {
		return ""
	}
	return "[set]" // never print secrets in usage output
}

func (f *stringFlag) Set(s string) error { f.val = &s; return nil }

// geoReloadEvery is how often the GeoIP files are checked for a new version (mtime and size).
const geoReloadEvery = 5 * time.Second

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := fs.String("config", "gatehouse.toml", "configuration file (written with fresh secrets if missing)")
	var listen, publicURL, jwtSecret, mfaKey stringFlag
	fs.Var(&listen, "listen", "address to listen on, e.g. 127.0.0.1:8080 (overrides server.listen)")
	fs.Var(&publicURL, "public-url", "the address people open, e.g. https://auth.example.com (overrides server.public_url)")
	fs.Var(&jwtSecret, "jwt-secret", "access token signing secret (overrides auth.jwt_secret)")
	fs.Var(&mfaKey, "mfa-secret-key", "MFA secret encryption key (overrides auth.mfa_secret_key)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file from start until shutdown (bench/README.md)")
	if err := cliFlags(fs, args, stderr); err != nil {
		return err
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel(getenv("GATEHOUSE_LOG_LEVEL"))}))

	res, err := config.Load(*cfgPath, getenv, config.Overrides{Listen: listen.val, PublicURL: publicURL.val, JWTSecret: jwtSecret.val, MFASecretKey: mfaKey.val}, true)
	if err != nil {
		return err
	}
	cfg := res.Config
	if res.Created {
		log.Info("wrote a new configuration file with fresh secrets; keep it safe and back it up", "path", cfg.Path)
	}
	for _, w := range res.Warnings {
		log.Warn(w)
	}

	store, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return fmt.Errorf("opening the %s database: %w", cfg.Database.Driver, err)
	}
	defer store.Close()

	hasher, stopHashing := serveHasher(ctx, cfg.Server.HashInProcess, getenv, log)
	defer stopHashing()
	// GeoIP databases for session binding; a configured file that cannot be read stops the start.
	gdb, err := geo.Open(cfg.GeoIP.CityDB, cfg.GeoIP.ASNDB, log)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, app.Parts{Store: store, Hasher: hasher, Logger: log, GeoIP: gdb})
	if err != nil {
		return err
	}
	defer a.Close()
	// After start-up, whose garbage (parsing templates and catalogs) is collected at Go's default
	// pace, so the idle process stays small.
	if pct, ok := gcPercent(getenv); ok {
		debug.SetGCPercent(pct)
	}

	if cfg.Dev.SeedAdmin {
		if err := seedDevAdmin(ctx, a, log); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Server.Listen, err)
	}
	log.Info("gatehouse is listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL.String(), "database", cfg.Database.Driver, "version", version())
	return serveUntilDone(ctx, ln, a, store, gdb, log)
}

// seedDevAdmin creates the development administrator ([dev] seed_admin) when there is no user.
func seedDevAdmin(ctx context.Context, a *app.App, log *slog.Logger) error {
	seeded, err := a.Auth.Admin.SeedDevAdmin(ctx)
	if err != nil {
		return fmt.Errorf("seeding the development administrator: %w", err)
	}
	if seeded {
		log.Warn("DEVELOPMENT ONLY: seeded administrator admin@admin.com with password \"admin\"; never enable [dev] seed_admin in production")
	}
	return nil
}

// serveUntilDone serves on ln, with the background work (change feed, GeoIP reloads), until ctx
// ends or serving fails; then it shuts down gracefully.
func serveUntilDone(ctx context.Context, ln net.Listener, a *app.App, store gatehouse.Store, gdb *geo.DB, log *slog.Logger) error {
	hs := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	notify := listenChanges(bg, store, log, &wg)
	wg.Go(func() { a.Run(bg, notify) })
	wg.Go(func() { gdb.Run(bg, geoReloadEvery) })

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	select {
	case err := <-errc:
		stopBG()
		wg.Wait()
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	// Stop background work after the last request, so its final flush sees every last-seen time.
	stopBG()
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// listenChanges wakes the change-feed poll on PostgreSQL NOTIFY when the store supports it; the
// one-second poll remains the fallback.
func listenChanges(ctx context.Context, store gatehouse.Store, log *slog.Logger, wg *sync.WaitGroup) <-chan struct{} {
	l, ok := store.(interface {
		ListenChanges(ctx context.Context, notify func()) error
	})
	if !ok {
		return nil
	}
	ch := make(chan struct{}, 1)
	wg.Go(func() {
		for ctx.Err() == nil {
			err := l.ListenChanges(ctx, func() {
				select {
				case ch <- struct{}{}:
				default:
				}
			})
			if err != nil && ctx.Err() == nil {
				log.Warn("listening for change notifications failed; polling continues", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Second):
				}
			}
		}
	})
	return ch
}

// memoryLimit is the Go runtime's soft memory limit for serve, unless GOMEMLIMIT sets one: every
// hashing worker's Argon2 memory plus 48 MiB for everything else. Every hash allocates its whole
// memory afresh; without a limit the collector lets the heap grow to twice what is live, and a
// sign-in flood held about 20 MiB more than the pool needs (bench/load's flood case). The limit
// is soft: above it the collector works harder, nothing fails.
func memoryLimit(getenv func(string) string, h *password.Hasher) (int64, bool) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	if h.Offloaded() {
		// The hashes' memory is the worker process's (it falls back to this one only while a
		// dead worker is replaced, and the limit is soft: the collector works harder then).
		return 48 << 20, true
	}
	workers, _ := h.Size()
	return int64(workers)*int64(h.Params().Memory)*1024 + 48<<20, true
}

// serveHasher makes serve's hashing pool, in a worker process unless inProcess, and the
// runtime's memory limit and Ps that suit where the hashes run; stop ends the worker.
func serveHasher(ctx context.Context, inProcess bool, getenv func(string) string, log *slog.Logger) (h *password.Hasher, stop func()) {
	h = password.NewHasher(password.DefaultParams(), 0, 0)
	var stops []func()
	if !inProcess {
		if proc := hashProcess(h, log); proc != nil {
			stops = append(stops, func() { _ = proc.Close() })
		}
	}
	if limit, ok := memoryLimit(getenv, h); ok {
		debug.SetMemoryLimit(limit)
	}
	if n, ok := schedulerProcs(getenv, h); ok {
		fctx, stopFollowing := context.WithCancel(ctx)
		stops = append(stops, stopFollowing)
		go followPool(fctx, h, n)
	}
	return h, func() {
		for _, f := range stops {
			f()
		}
	}
}

// hashWorkerCommand is the internal command serve starts its hashing process with.
const hashWorkerCommand = "hash-worker"

// hashProcess moves the pool's hashes into a worker process, this program run as
// hashWorkerCommand (password.Process says why), and starts it. Where that cannot be done, the
// pool hashes in the server, as with server.hash_in_process, and the log says why.
func hashProcess(h *password.Hasher, log *slog.Logger) *password.Process {
	exe, err := os.Executable()
	if err != nil {
		log.Warn("cannot find this program to start the password hashing process; hashing in the server", "err", err)
		return nil
	}
	path := exe
	if runtime.GOOS == "linux" {
		// The program this process runs, even after its file is replaced by an upgrade: a
		// worker restarted later must speak the same protocol as the server that started it.
		path = "/proc/self/exe"
	}
	workers, _ := h.Size()
	proc := password.NewProcess(path, []string{hashWorkerCommand}, workers, log, time.Now)
	proc.Name = exe
	if err := h.Offload(proc); err != nil {
		log.Warn("could not start the password hashing process; hashing in the server", "err", err)
		return nil
	}
	return proc
}

// serveGCPercent is serve's GOGC while serve's own memory limit caps the heap. At Go's default
// of 100 the collector starts a cycle each time the heap has grown by as much as is live, and
// gatehouse keeps about 7 MiB live (templates, catalogs, caches, metrics) where a bare net/http
// handler keeps almost none: every request's garbage then costs gatehouse several times the
// marking a bare handler pays (bench/README.md, results of 2026-12-03 12:47-13:58Z). At
// 400 a cycle comes a fifth as often; the heap's goal (live x 5, about 35 MiB) stays under the
// memory limit, which still bounds the heap when sign-ins hash (each hash's memory is live while
// it runs).
const serveGCPercent = 400

// gcPercent is the GOGC serve sets: serveGCPercent when neither GOGC nor GOMEMLIMIT is set.
// An operator's GOGC wins; so does an operator's GOMEMLIMIT, since without serve's own limit
// nothing would cap a heap allowed to grow to five times what is live.
func gcPercent(getenv func(string) string) (int, bool) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	return serveGCPercent, true
}

func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// startCPUProfile profiles the whole process until stop: how bench/README.md finds where the
// request check's time goes under a real load generator, without a debug listener in production.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
