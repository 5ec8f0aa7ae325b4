package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	ghttp "github.com/gatehouse/gatehouse/http"
)

// passkeyNotices are the messages after a passkey form (?done=...), on the security page and the
// admin's user page.
var passkeyNotices = map[string]string{
	"passkey_added":   "The passkey is added. You can now sign in with it.",
	"passkey_renamed": "The passkey is renamed.",
	"passkey_deleted": "The passkey is deleted. It can no longer sign in to this account.",
}

// passkeyEventKinds are offered in the admin's event filter.
var passkeyEventKinds = []string{gatehouse.EventPasskeyAdded, gatehouse.EventPasskeyRenamed, gatehouse.EventPasskeyRemoved, gatehouse.EventPasskeyCloneWarning}

// passkeyStatus is what the pages show about the server's WebAuthn set-up.
type passkeyStatus struct {
	Enabled bool
	Reason  string
}

// passkeyFuncs are the template functions of the passkey sections (templates/partial_passkeys.html).
// The sections are included in pages whose data other features also extend, so they fetch their
// own data instead of widening those pages' data types. A template function has no request, so
// the look-up is bounded by a short timeout of its own.
func (p *pages) passkeyFuncs() template.FuncMap {
	return template.FuncMap{
		"passkeyStatus": func() passkeyStatus {
			on, why := p.auth.Core.PasskeyStatus()
			return passkeyStatus{Enabled: on, Reason: why}
		},
		// The viewer is the signed-in user the page is rendered for (view.User): their own
		// passkeys, or, on the admin pages, another user's through the admin use case.
		"passkeys": func(viewer *gatehouse.User) ([]auth.PasskeyView, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return p.auth.Account.Passkeys(ctx, &auth.Principal{User: viewer})
		},
		"userPasskeys": func(viewer *gatehouse.User, userID int64) ([]auth.PasskeyView, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return p.auth.Admin.AdminPasskeys(ctx, &auth.Principal{User: viewer}, userID)
		},
	}
}

func pathInt(r *http.Request, name string) (int64, error) {
	return ghttp.PathID(r, name, "no such passkey")
}

func (p *pages) passkeyRename(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id, err := pathInt(r, "id")
	if err == nil {
		_, err = p.auth.Account.RenamePasskey(r.Context(), pr, id, r.PostForm.Get("name"), p.kit.Meta(r))
	}
	if err == nil {
		p.redirect(w, r, "/settings/security?done=passkey_renamed#passkeys")
		return nil
	}
	if gatehouse.ErrorCode(err) != gatehouse.EInvalid {
		return err
	}
	v, verr := p.securityView(r, pr)
	if verr != nil {
		return verr
	}
	var e *gatehouse.Error
	if asError(err, &e) {
		// Every passkey row has a name field; the message says which form it is about.
		v.Error = fmt.Sprintf("The passkey was not renamed: %s.", e.Message)
	}
	p.render(w, ghttpStatus(err), "security", v)
	return nil
}

func (p *pages) passkeyDelete(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id, err := pathInt(r, "id")
	if err == nil {
		err = p.auth.Account.DeletePasskey(r.Context(), pr, id, p.kit.Meta(r))
	}
	if gatehouse.IsCode(err, gatehouse.EReauthRequired) {
		return p.renderReauth(w, r, pr, "passkey_delete:"+r.PathValue("id"), nil)
	}
	if err != nil {
		return err
	}
	p.redirect(w, r, "/settings/security?done=passkey_deleted#passkeys")
	return nil
}

func (p *pages) adminPasskeyDelete(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	uid, err := auth.ParseID(r.PathValue("id"))
	var id int64
	if err == nil {
		id, err = pathInt(r, "pid")
	}
	if err == nil {
		err = p.auth.Admin.AdminDeletePasskey(r.Context(), pr, uid, id, p.kit.Meta(r))
	}
	if err != nil {
		return err
	}
	p.redirect(w, r, fmt.Sprintf("/admin/users/%d?done=passkey_deleted#passkeys", uid))
	return nil
}
