package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/config"
)

// healthcheck asks the local server's /readyz, for a container HEALTHCHECK (the image has no
// curl). Without --url it derives the address from server.listen, so the same image works
// whatever port the operator picks.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	cfgPath := fs.String("config", "gatehouse.toml", "configuration file (read for server.listen when --url is not given)")
	target := fs.String("url", "", "readiness URL (default: http://<server.listen>/readyz, 127.0.0.1 for a wildcard host)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := cliFlags(fs, args, stderr); err != nil {
		return err
	}
	u := *target
	if u == "" {
		listen, err := config.ListenAddr(*cfgPath, getenv)
		if err != nil {
			return err
		}
		u = "http://" + localAddr(listen) + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return usageError{fmt.Sprintf("--url %q is not a valid URL", u)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s did not answer: %w", u, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s, want 200 OK", u, resp.Status)
	}
	fmt.Fprintln(stdout, "ok:", u)
	return nil
}

// localAddr turns a listen address into one to dial from the same host: a wildcard or empty host
// becomes loopback.
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
