package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/postgres"
	"github.com/gatehouse/gatehouse/sqlite"
)

// errCheckFailed ends `config check` with exit code 1 after the report said why.
var errCheckFailed = errors.New("the configuration has problems (see above)")

// configCheck validates the file and the environment without writing or migrating anything and
// prints what serve would use, secrets masked. environ lists the process environment, for
// misspelt GATEHOUSE__ variables that getenv alone cannot reveal.
func configCheck(ctx context.Context, args []string, getenv func(string) string, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	cfgPath := fs.String("config", "gatehouse.toml", "configuration file")
	if err := cliFlags(fs, args, stderr); err != nil {
		return err
	}
	res, err := config.Load(*cfgPath, getenv, config.Overrides{}, false)
	if err != nil {
		fmt.Fprintln(stdout, "problem:", err)
		return errCheckFailed
	}
	cfg := res.Config
	if res.NoFile {
		fmt.Fprintf(stdout, "configuration: environment only (%s does not exist; both secrets are set in the environment)\n", cfg.Path)
	} else {
		fmt.Fprintf(stdout, "configuration: %s\n", cfg.Path)
	}
	for _, s := range cfg.Settings(res.Sources) {
		fmt.Fprintf(stdout, "  %-32s = %s  (%s)\n", s.Key, s.Value, s.Source)
	}
	var problems, notes []string
	for _, name := range config.UnknownEnv(environ) {
		problems = append(problems, fmt.Sprintf("environment variable %s names no setting (misspelt?); it is ignored", name))
	}
	notes = append(notes, res.Warnings...)
	notes = append(notes, listenNotes(cfg)...)
	notes = append(notes, proxyNotes(cfg)...)
	dbCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if st, err := schemaStatus(dbCtx, cfg); err != nil {
		problems = append(problems, fmt.Sprintf("database (%s): %v", cfg.Database.Driver, err))
	} else {
		fmt.Fprintf(stdout, "database: reachable; %s\n", st)
		if st.Current > st.Latest {
			problems = append(problems, "database: "+st.String())
		}
	}
	for _, n := range notes {
		fmt.Fprintln(stdout, "note:", n)
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, "problem:", p)
	}
	if len(problems) > 0 {
		return errCheckFailed
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

func schemaStatus(ctx context.Context, cfg *config.Config) (sqlstore.SchemaStatus, error) {
	if cfg.Database.Driver == "postgres" {
		return postgres.Status(ctx, cfg.Database.DSN)
	}
	return sqlite.Status(ctx, cfg.Database.DSN)
}

// listenNotes compares the public URL with the listen address: the usual mistakes are a server
// reachable only on loopback with no proxy in front, and links in mail pointing at localhost.
func listenNotes(cfg *config.Config) []string {
	host, port, err := net.SplitHostPort(cfg.Server.Listen)
	if err != nil {
		return nil
	}
	loopback := host == "localhost"
	if a, err := netip.ParseAddr(host); err == nil {
		loopback = a.IsLoopback()
	}
	pubHost := cfg.PublicURL.Hostname()
	pubLocal := pubHost == "localhost" || strings.HasSuffix(pubHost, ".localhost")
	if a, err := netip.ParseAddr(pubHost); err == nil {
		pubLocal = a.IsLoopback()
	}
	var n []string
	switch {
	case loopback && !pubLocal:
		n = append(n, fmt.Sprintf("server.listen %s is loopback only while server.public_url is %s: fine behind a reverse proxy on this host; otherwise listen on :%s", cfg.Server.Listen, cfg.PublicURL, port))
	case !loopback && pubLocal:
		n = append(n, fmt.Sprintf("server.public_url %s points at this machine's loopback while server.listen %s accepts other hosts: links in mail, redirects and passkeys will point users at localhost; set public_url to the address users open", cfg.PublicURL, cfg.Server.Listen))
	}
	if pubLocal && cfg.PublicURL.Port() != "" && cfg.PublicURL.Port() != port && port != "0" {
		n = append(n, fmt.Sprintf("server.public_url %s has port %s but gatehouse listens on %s: without a proxy in between, links will not reach it", cfg.PublicURL, cfg.PublicURL.Port(), port))
	}
	return n
}

// proxyNotes flags trusted proxy ranges that let any client choose its own address.
func proxyNotes(cfg *config.Config) []string {
	if len(cfg.Server.TrustedProxies) == 0 {
		return []string{"server.trusted_proxies is empty: X-Forwarded-For is believed only from loopback; behind a proxy on another host (a container network, a load balancer) list it, or every client shows as the proxy's address"}
	}
	var n []string
	for _, p := range cfg.TrustedProxies {
		if p.Bits() == 0 {
			n = append(n, fmt.Sprintf("server.trusted_proxies holds %s: every client can forge its address (rate limits, session binding and the event log would believe it); list only your proxies", p))
		}
	}
	return n
}
