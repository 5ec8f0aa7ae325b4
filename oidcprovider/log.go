package oidcprovider

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
)

// zitadel/oidc v3.52.0 logs only through slog's package functions (slog.Log(ctx, ...)); its
// WithLogger option is kept for source compatibility and does nothing. The one hook left is the
// process's default handler, which receives the request's context with every record. So the
// provider puts its injected logger into the context of every request it serves, and LogRouter
// (installed once as the default handler by the program: cmd/gatehouse's main, the tests'
// TestMain) hands each record to the logger the context carries. The logger stays injected: no
// gatehouse code reads slog.Default, and two providers in one process log to their own loggers.

type logKey struct{}

// withLogger gives the requests of h the provider's logger, and a memo of what they read
// (requestMemo).
func (p *Provider) withLogger(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), logKey{}, p.log)
		h.ServeHTTP(w, r.WithContext(context.WithValue(ctx, requestMemoKey{}, &requestMemo{})))
	})
}

// LogRouter returns the handler to install as slog's default: records made with a context from
// the provider go to the provider's logger, with values that could be secrets redacted; all
// others go to fallback.
func LogRouter(fallback slog.Handler) slog.Handler { return router{fallback: fallback} }

type router struct {
	fallback slog.Handler
	// with replays WithAttrs/WithGroup calls on whichever handler a record goes to.
	with []func(slog.Handler) slog.Handler
}

func (r router) target(ctx context.Context) slog.Handler {
	h := r.fallback
	if ctx != nil {
		if l, ok := ctx.Value(logKey{}).(*slog.Logger); ok {
			h = redact{l.Handler()}
		}
	}
	for _, f := range r.with {
		h = f(h)
	}
	return h
}

func (r router) Enabled(ctx context.Context, l slog.Level) bool { return r.target(ctx).Enabled(ctx, l) }

func (r router) Handle(ctx context.Context, rec slog.Record) error {
	return r.target(ctx).Handle(ctx, rec)
}

func (r router) WithAttrs(as []slog.Attr) slog.Handler {
	return r.and(func(h slog.Handler) slog.Handler { return h.WithAttrs(as) })
}

func (r router) WithGroup(name string) slog.Handler {
	return r.and(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}

func (r router) and(f func(slog.Handler) slog.Handler) slog.Handler {
	return router{fallback: r.fallback, with: append(r.with[:len(r.with):len(r.with)], f)}
}

// secretKey: attribute names whose values are credentials in OAuth and OpenID Connect. The op
// package does not log them today; a later version must not start leaking them through us.
func secretKey(k string) bool {
	switch k {
	case "client_secret", "code", "code_verifier", "access_token", "refresh_token", "id_token", "id_token_hint",
		"token", "assertion", "client_assertion", "password", "authorization", "cookie":
		return true
	}
	return false
}

// redact replaces the values of secretKey attributes, at any depth of groups.
type redact struct{ slog.Handler }

func (h redact) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, rec.Message, rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h redact) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = redactAttr(a)
	}
	return redact{h.Handler.WithAttrs(clean)}
}

func (h redact) WithGroup(name string) slog.Handler { return redact{h.Handler.WithGroup(name)} }

func redactAttr(a slog.Attr) slog.Attr {
	if secretKey(strings.ToLower(a.Key)) {
		return slog.String(a.Key, "[redacted]")
	}
	v := a.Value.Resolve()
	if v.Kind() != slog.KindGroup {
		return slog.Attr{Key: a.Key, Value: v}
	}
	g := v.Group()
	clean := make([]slog.Attr, len(g))
	for i, x := range g {
		clean[i] = redactAttr(x)
	}
	return slog.Attr{Key: a.Key, Value: slog.GroupValue(clean...)}
}
