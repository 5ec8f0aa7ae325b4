package http

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
)

// routes lists the whole API surface.
func (s *Server) routes() {
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)
	if s.metrics != nil {
		s.mux.Handle("GET /metrics", s.metricsGuard(s.metrics.handler()))
	}

	s.handle("GET /api/auth/state", s.state)
	s.handle("POST /api/setup/admin", s.setupAdmin)
	s.handle("POST /api/auth/login", s.login)
	s.handle("POST /api/auth/login/mfa", s.loginMFA)
	s.handle("POST /api/auth/refresh", s.refresh)
	s.handle("POST /api/auth/logout", s.logout)
	s.handle("GET /api/auth/me", s.user(s.me))
	// Forward auth answers any method: some proxies forward the original one.
	// ServeHTTP answers it before the mux; registered too, so the mux knows the pattern.
	s.verifyH = s.wrap(verifyPath, s.serve(s.verify))
	s.mux.Handle(verifyPath, s.verifyH)
	s.handle("POST /api/auth/register", s.register)
	s.handle("POST /api/auth/activate", s.activate)
	s.handle("POST /api/auth/activate/resend", s.resendActivation)
	s.handle("POST /api/auth/password/forgot", s.forgotPassword)
	s.handle("POST /api/auth/password/reset", s.resetPassword)

	s.accountRoutes()
	s.adminRoutes()
	s.externalRoutes()
	s.passkeyRoutes()

	// Groups and access rules: handlers_access.go.
	s.accessRoutes()
	s.invitationRoutes()

	// gatehouse as an OpenID Provider for apps: handlers_opclients.go (the protocol endpoints
	// and pages are mounted by the provider itself, see Deps.Provider).
	s.providerRoutes()
	s.myAppsRoutes()

	// Unknown API paths answer JSON, not the mux's plain-text 404.
	s.handle("/api/", func(w http.ResponseWriter, r *http.Request) error {
		return gatehouse.Errorf(gatehouse.ENotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	})
}

// accountRoutes are the signed-in user's own account.
func (s *Server) accountRoutes() {
	s.handle("GET /api/account/sessions", s.user(s.accountSessions))
	s.handle("DELETE /api/account/sessions/{id}", s.user(s.accountRevokeSession))
	s.handle("POST /api/account/sessions/sign-out-others", s.user(s.accountSignOutOthers))
	s.handle("POST /api/account/password", s.user(s.accountPassword))
	s.handle("PUT /api/account/language", s.user(s.accountLanguage))
	s.handle("GET /api/account/reauth", s.user(s.accountReauthState))
	s.handle("POST /api/account/reauth", s.user(s.accountReauth))
	s.handle("POST /api/account/reauth/passkey/begin", s.user(s.accountReauthPasskeyBegin))
	s.handle("POST /api/account/reauth/passkey/finish", s.user(s.accountReauthPasskeyFinish))
	s.handle("POST /api/account/mfa/totp/setup", s.user(s.accountTOTPSetup))
	s.handle("POST /api/account/mfa/totp/confirm", s.user(s.accountTOTPConfirm))
	s.handle("DELETE /api/account/mfa/totp", s.user(s.accountTOTPDelete))
	s.handle("POST /api/account/mfa/recovery-codes", s.user(s.accountRecoveryCodes))
	s.handle("POST /api/account/email", s.user(s.accountEmail))
	s.handle("POST /api/account/email/confirm", s.accountEmailConfirm)
}

// adminRoutes are the admin console's users, settings, events and mail.
func (s *Server) adminRoutes() {
	s.handle("GET /api/admin/users", s.admin(s.adminListUsers))
	s.handle("POST /api/admin/users", s.admin(s.adminCreateUser))
	s.handle("GET /api/admin/users/{id}", s.admin(s.adminGetUser))
	s.handle("PATCH /api/admin/users/{id}", s.admin(s.adminUpdateUser))
	s.handle("DELETE /api/admin/users/{id}", s.admin(s.adminDeleteUser))
	s.handle("POST /api/admin/users/{id}/password", s.admin(s.adminResetPassword))
	s.handle("DELETE /api/admin/users/{id}/mfa", s.admin(s.adminResetMFA))
	s.handle("GET /api/admin/users/{id}/sessions", s.admin(s.adminUserSessions))
	s.handle("DELETE /api/admin/sessions/{id}", s.admin(s.adminRevokeSession))
	s.handle("GET /api/admin/settings", s.admin(s.adminSettings))
	s.handle("PATCH /api/admin/settings", s.admin(s.adminPatchSettings))
	s.handle("GET /api/admin/events", s.admin(s.adminEvents))
	s.handle("GET /api/admin/dashboard", s.admin(s.adminDashboard))
	s.handle("GET /api/admin/branding", s.admin(s.adminBranding))
	s.handle("PUT /api/admin/branding", s.admin(s.adminPutBranding))
	s.handle("PUT /api/admin/branding/logo", s.admin(s.adminPutLogo))
	s.handle("DELETE /api/admin/branding/logo", s.admin(s.adminDeleteLogo))
	s.handle("GET /api/admin/users/pending", s.admin(s.adminPendingUsers))
	s.handle("POST /api/admin/users/{id}/activation", s.admin(s.adminResendActivation))
	s.handle("POST /api/admin/mail/test", s.admin(s.adminMailTest))
	s.handle("GET /api/admin/mail/templates", s.admin(s.adminMailTemplates))
	s.handle("GET /api/admin/mail/templates/{kind}", s.admin(s.adminMailTemplate))
	s.handle("PUT /api/admin/mail/templates/{kind}", s.admin(s.adminSaveMailTemplate))
	s.handle("DELETE /api/admin/mail/templates/{kind}", s.admin(s.adminResetMailTemplate))
	s.handle("POST /api/admin/mail/templates/{kind}/preview", s.admin(s.adminPreviewMailTemplate))
	s.handle("GET /api/admin/mail/outbox", s.admin(s.adminMailOutbox))
	s.handle("POST /api/admin/mail/outbox/{id}/retry", s.admin(s.adminMailRetry))
}

// externalRoutes are external sign-in (OpenID Connect), the identities it links and the
// providers it uses: handlers_oidc.go.
func (s *Server) externalRoutes() {
	s.handle("GET /api/auth/oidc/{provider}/start", s.externalStart)
	s.handle("GET /api/auth/oidc/{provider}/callback", s.externalCallback)
	s.handle("POST /api/auth/oidc/verify-email", s.externalVerifySend)
	s.handle("POST /api/auth/oidc/verify-email/confirm", s.externalVerifyConfirm)
	s.handle("GET /api/account/identities", s.user(s.accountIdentities))
	s.handle("DELETE /api/account/identities/{id}", s.user(s.accountUnlinkIdentity))
	s.handle("GET /api/admin/providers", s.admin(s.adminListProviders))
	s.handle("POST /api/admin/providers", s.admin(s.adminCreateProvider))
	s.handle("GET /api/admin/providers/{id}", s.admin(s.adminGetProvider))
	s.handle("PATCH /api/admin/providers/{id}", s.admin(s.adminUpdateProvider))
	s.handle("DELETE /api/admin/providers/{id}", s.admin(s.adminDeleteProvider))
}

// passkeyRoutes are the WebAuthn endpoints (CONTRACT.md). Cookie-authenticated POST, PATCH and
// DELETE pass the same cross-origin check as every other unsafe request (s.handle).
func (s *Server) passkeyRoutes() {
	s.handle("POST /api/auth/passkey/begin", s.passkeyLoginBegin)
	s.handle("POST /api/auth/passkey/finish", s.passkeyLoginFinish)

	s.handle("GET /api/account/passkeys", s.user(s.accountPasskeys))
	s.handle("POST /api/account/passkeys/begin", s.user(s.accountPasskeyBegin))
	s.handle("POST /api/account/passkeys/finish", s.user(s.accountPasskeyFinish))
	s.handle("PATCH /api/account/passkeys/{id}", s.user(s.accountPasskeyRename))
	s.handle("DELETE /api/account/passkeys/{id}", s.user(s.accountPasskeyDelete))

	s.handle("GET /api/admin/users/{id}/passkeys", s.admin(s.adminUserPasskeys))
	s.handle("DELETE /api/admin/users/{id}/passkeys/{pid}", s.admin(s.adminDeletePasskey))
}
