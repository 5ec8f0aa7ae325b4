package oidcprovider

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// The router sends records without a provider's context to the fallback untouched, and those
// with one to the provider's logger, credential-named attributes redacted at any depth.
func TestLogRouter(t *testing.T) {
	var fallback, mine bytes.Buffer
	l := slog.New(LogRouter(slog.NewTextHandler(&fallback, nil))).With("svc", "x")
	l.Info("plain", "note", "in-fallback")
	if !strings.Contains(fallback.String(), "in-fallback") || !strings.Contains(fallback.String(), "svc=x") {
		t.Fatalf("fallback: %q", fallback.String())
	}
	ctx := context.WithValue(context.Background(), logKey{}, slog.New(slog.NewTextHandler(&mine, nil)))
	l.WithGroup("g").InfoContext(ctx, "routed", "client_secret", "s3cret", slog.Group("req", "Code", "c0de", "client_id", "app"),
		"err", errors.New("plain error"))
	got := mine.String()
	if strings.Contains(got, "s3cret") || strings.Contains(got, "c0de") || !strings.Contains(got, "g.req.client_id=app") ||
		!strings.Contains(got, "svc=x") || !strings.Contains(got, "plain error") {
		t.Fatalf("routed: %q", got)
	}
	if strings.Contains(fallback.String(), "routed") {
		t.Fatalf("a routed record also reached the fallback: %q", fallback.String())
	}
}
