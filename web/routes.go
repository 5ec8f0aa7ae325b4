package web

import (
	"io/fs"
	"net/http"
)

// Every page route. The API's are in http/routes.go.

func (p *pages) routes(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	mux.Handle("GET /{$}", p.page(func(w http.ResponseWriter, r *http.Request) error {
		p.redirect(w, r, "/settings/security")
		return nil
	}))

	mux.Handle("GET /login", p.page(p.loginPage))
	mux.Handle("POST /login", p.page(p.loginSubmit))
	mux.Handle("POST /login/setup", p.page(p.setupSubmit))
	mux.Handle("POST /login/mfa", p.page(p.loginMFASubmit))
	mux.Handle("GET /logout", p.page(p.logoutPage))
	mux.Handle("POST /language", p.page(p.languageSubmit))
	mux.Handle("POST /logout", p.page(p.logoutSubmit))

	mux.Handle("GET /settings/security", p.page(p.user(p.securityPage)))
	mux.Handle("POST /settings/security/password", p.page(p.user(p.securityPassword)))
	mux.Handle("POST /settings/security/sessions/{id}/revoke", p.page(p.user(p.securityRevoke)))
	mux.Handle("POST /settings/security/sign-out-others", p.page(p.user(p.securitySignOutOthers)))
	mux.Handle("POST /settings/security/language", p.page(p.user(p.securityLanguage)))
	mux.Handle("POST /settings/security/mfa/setup", p.page(p.user(p.mfaSetup)))
	mux.Handle("GET /settings/security/mfa/qr.png", p.page(p.user(p.mfaQR)))
	mux.Handle("POST /settings/security/mfa/confirm", p.page(p.user(p.mfaConfirm)))
	mux.Handle("POST /settings/security/mfa/recovery-codes", p.page(p.user(p.mfaRecoveryCodes)))
	mux.Handle("POST /settings/security/mfa/disable", p.page(p.user(p.mfaDisable)))

	mux.Handle("GET /admin", p.page(p.admin(p.adminDashboard)))
	mux.Handle("GET /admin/users", p.page(p.admin(p.adminUsers)))
	mux.Handle("POST /admin/users", p.page(p.admin(p.adminCreateUser)))
	mux.Handle("GET /admin/users/{id}", p.page(p.admin(p.adminUser)))
	mux.Handle("POST /admin/users/{id}", p.page(p.admin(p.adminUserAction)))
	mux.Handle("GET /admin/users/{id}/delete", p.page(p.admin(p.adminDeletePage)))
	mux.Handle("POST /admin/users/{id}/delete", p.page(p.admin(p.adminDeleteSubmit)))
	mux.Handle("POST /admin/users/{id}/sessions/{sid}/revoke", p.page(p.admin(p.adminRevokeSession)))
	mux.Handle("POST /admin/users/{id}/mfa/reset", p.page(p.admin(p.adminResetMFA)))
	mux.Handle("GET /admin/settings", p.page(p.admin(p.adminSettings)))
	mux.Handle("POST /admin/settings", p.page(p.admin(p.adminSettingsSubmit)))
	mux.Handle("GET /admin/events", p.page(p.admin(p.adminEvents)))
	p.reauthRoutes(mux)
	p.stepUpRoutes(mux)
	p.accessRoutes(mux)
	p.invitationRoutes(mux)
	p.passkeyRoutes(mux)
	p.mailRoutes(mux)
	p.externalRoutes(mux)
	p.appRoutes(mux)
	p.brandingRoutes(mux)
	mux.Handle("/", p.page(p.fallback(mux)))
}

func (p *pages) mailRoutes(mux *http.ServeMux) {
	mux.Handle("GET /register", p.page(p.registerPage))
	mux.Handle("POST /register", p.page(p.registerSubmit))
	mux.Handle("GET /activate", p.page(p.activatePage))
	mux.Handle("POST /activate", p.page(p.activateSubmit))
	mux.Handle("POST /activate/resend", p.page(p.resendSubmit))
	mux.Handle("GET /recover", p.page(p.recoverPage))
	mux.Handle("POST /recover", p.page(p.recoverSubmit))
	mux.Handle("GET /recover/reset", p.page(p.resetPage))
	mux.Handle("POST /recover/reset", p.page(p.resetSubmit))
	mux.Handle("GET /settings/email/confirm", p.page(p.emailConfirmPage))
	mux.Handle("POST /settings/email/confirm", p.page(p.emailConfirmSubmit))
	mux.Handle("POST /settings/security/email", p.page(p.user(p.securityEmail)))

	mux.Handle("GET /admin/mail", p.page(p.admin(p.adminMail)))
	mux.Handle("POST /admin/mail/test", p.page(p.admin(p.adminMailTest)))
	mux.Handle("POST /admin/mail/outbox/{id}/retry", p.page(p.admin(p.adminMailRetry)))
	mux.Handle("GET /admin/mail/templates/{kind}", p.page(p.admin(p.adminMailTemplate)))
	mux.Handle("POST /admin/mail/templates/{kind}", p.page(p.admin(p.adminMailTemplateSubmit)))
	mux.Handle("POST /admin/mail/templates/{kind}/reset", p.page(p.admin(p.adminMailTemplateReset)))
	mux.Handle("POST /admin/users/{id}/activation", p.page(p.admin(p.adminResendActivation)))
}

func (p *pages) externalRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/providers", p.page(p.admin(p.adminProviders)))
	mux.Handle("POST /admin/providers", p.page(p.admin(p.adminCreateProvider)))
	mux.Handle("GET /admin/providers/{id}", p.page(p.admin(p.adminProvider)))
	mux.Handle("POST /admin/providers/{id}", p.page(p.admin(p.adminSaveProvider)))
	mux.Handle("POST /admin/providers/{id}/enabled", p.page(p.admin(p.adminToggleProvider)))
	mux.Handle("GET /admin/providers/{id}/delete", p.page(p.admin(p.adminDeleteProviderPage)))
	mux.Handle("POST /admin/providers/{id}/delete", p.page(p.admin(p.adminDeleteProviderSubmit)))

	mux.Handle("POST /settings/security/link/{provider}", p.page(p.user(p.securityLink)))
	mux.Handle("POST /settings/security/identities/{id}/unlink", p.page(p.user(p.securityUnlink)))
	p.externalVerifyRoutes(mux)
}

func (p *pages) passkeyRoutes(mux *http.ServeMux) {
	mux.Handle("POST /settings/security/passkeys/{id}/rename", p.page(p.user(p.passkeyRename)))
	mux.Handle("POST /settings/security/passkeys/{id}/delete", p.page(p.user(p.passkeyDelete)))
	mux.Handle("POST /admin/users/{id}/passkeys/{pid}/delete", p.page(p.admin(p.adminPasskeyDelete)))
}

func (p *pages) reauthRoutes(mux *http.ServeMux) {
	mux.Handle("POST /settings/security/reauth", p.page(p.user(p.securityReauth)))
	// After a passkey confirmed it is the user (a script, POST /api/account/reauth/passkey/...),
	// the form goes here to carry the refused action out. Every action checks the recent
	// authentication itself, so this endpoint grants nothing.
	mux.Handle("POST /settings/security/reauth/continue", p.page(p.user(p.securityReauthContinue)))
}

func (p *pages) externalVerifyRoutes(mux *http.ServeMux) {
	mux.Handle("GET /login/external/verify", p.page(p.externalVerifyPage))
	mux.Handle("POST /login/external/verify", p.page(p.externalVerifySubmit))
}

func (p *pages) appRoutes(mux *http.ServeMux) {
	if p.provider == nil {
		return
	}
	mux.Handle("GET /admin/apps", p.page(p.admin(p.adminApps)))
	mux.Handle("POST /admin/apps", p.page(p.admin(p.adminCreateApp)))
	mux.Handle("POST /admin/apps/{id}/secret", p.page(p.admin(p.adminRotateAppSecret)))
	mux.Handle("POST /admin/apps/{id}/delete", p.page(p.admin(p.adminDeleteApp)))
	mux.Handle("POST /admin/apps/{id}/launch-url", p.page(p.admin(p.adminAppLaunchURL)))
	mux.Handle("POST /admin/apps/keys/rotate", p.page(p.admin(p.adminRotateKeys)))
	mux.Handle("POST /settings/security/apps/{id}/revoke", p.page(p.user(p.securityRevokeApp)))
}
