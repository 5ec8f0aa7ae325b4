package auth

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/token"
)

func (s *Core) userEvent(ctx context.Context, kind string, admin *Principal, target int64, meta ClientMeta, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["target_user_id"] = target
	s.event(ctx, kind, admin.User.ID, admin.SessionID, meta, data)
}

// Mail returns the outbox; serve runs its delivery loop, tests tick it.
func (s *Core) Mail() *mail.Outbox { return s.mail }

// MailConfigured reports whether SMTP host and sender are set.
func (s *Core) MailConfigured() bool { return mail.Configured(s.Settings()) }

// Settings returns the current runtime settings snapshot.
func (s *Core) Settings() *gatehouse.Settings { return s.settings.Load() }

// CookieSecureDefault is the bootstrap default of auth_cookie_secure.
func (s *Core) CookieSecureDefault() bool { return s.cookieSecureDefault }

// Revocations exposes the revoked-session set (metrics).
func (s *Core) Revocations() *token.Revocations { return s.revoked }

// CachedSessions is the number of sessions in the request-check cache (metrics).
func (s *Core) CachedSessions() int { return s.sessions.len() }

func (s *Core) reloadSettings(ctx context.Context) error {
	raw, err := s.store.Settings(ctx)
	if err != nil {
		return err
	}
	s.openSecretSettings(raw)
	st, warnings := gatehouse.NewSettings(raw, s.cookieSecureDefault)
	for _, w := range warnings {
		s.log.Warn(w)
	}
	s.settings.Store(st)
	return nil
}

// throttledEvent records an event that anyone can cause without credentials (an unknown state
// or challenge token): at most one per kind and client address a minute, so such requests, which
// cost an attacker nothing, cannot fill the audit trail or hold the database's writer.
func (s *Core) throttledEvent(ctx context.Context, kind string, meta ClientMeta, data map[string]any) {
	if ok, _, err := s.limiter.Allow(ctx, "event|"+kind+"|"+ipBucket(meta.IP), 1, time.Minute); err == nil && ok {
		s.event(ctx, kind, 0, "", meta, data)
	}
}

// RecordEvent records an audit event for a service outside this package (the same as event).
// Event kinds are constants in the root package's event.go.
func (s *Core) RecordEvent(ctx context.Context, kind string, userID int64, sid string, meta ClientMeta, data map[string]any) {
	s.event(ctx, kind, userID, sid, meta, data)
}

// event records an audit event; failures are logged, never returned, so that auditing cannot
// turn a sign-in into an error after the fact.
func (s *Core) event(ctx context.Context, kind string, userID int64, sid string, meta ClientMeta, data map[string]any) {
	e := &gatehouse.Event{Time: s.clock.Now(), Kind: kind, SessionID: sid, IP: meta.IP, UserAgent: meta.UserAgent, Data: data}
	if userID != 0 {
		e.UserID = &userID
	}
	if err := s.store.AddEvent(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("recording event failed", "kind", kind, "err", err)
	}
}

// SetupRequired reports whether no user exists yet. Once users exist the answer is cached.
func (s *Core) SetupRequired(ctx context.Context) (bool, error) {
	if s.hasUsers.Load() {
		return false, nil
	}
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return false, err
	}
	if n > 0 {
		s.hasUsers.Store(true)
	}
	return n == 0, nil
}

// PasskeyStatus reports whether passkeys are available here, and why not.
func (s *Core) PasskeyStatus() (enabled bool, reason string) { return s.passkeys.PasskeyStatus() }

// SettingNote explains what a runtime setting does on this instance (e.g. a binding setting
// without a GeoIP database); empty when there is nothing to add.
func (s *Core) SettingNote(key string) string { return s.binding.SettingNote(key) }

// RedirectURI is the callback address of a provider, to register at the provider.
func (s *Core) RedirectURI(providerID string) string { return s.providers.RedirectURI(providerID) }
