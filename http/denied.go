package http

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/redirect"
)

// deniedTmpl is forward auth's 403 for browsers. A proxy shows it on the app's own host (Caddy,
// Traefik), so it is self-contained: an inline style (the CSP allows inline style and nothing
// else: no script), and links to the public URL only.
var deniedTmpl = template.Must(template.New("denied").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Access denied</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1d2330}
a.button{display:inline-block;padding:.5rem 1rem;border-radius:.4rem;background:#2452c7;color:#fff;text-decoration:none}</style>
</head><body><main>
<h1>Access denied</h1>
{{if .User}}<p>You are signed in as <strong>{{.User.Username}}</strong>{{if .User.Email}} ({{.User.Email}}){{end}}, and this account may not open
{{if .URL}}<code>{{.URL}}</code>{{else}}this address{{end}}.</p>
<p>If another account of yours may, sign out and sign in with it.</p>
<p><a class="button" href="{{.Switch}}">Sign in as someone else</a></p>
{{else}}<p>Nobody may open {{if .URL}}<code>{{.URL}}</code>{{else}}this address{{end}}.</p>{{end}}
<p>If you think you should have access, ask an administrator.</p>
</main></body></html>
`))

// deniedPage writes the 403 page for u (nil: not signed in) about the address orig.
func (s *Server) deniedPage(w http.ResponseWriter, u *gatehouse.User, orig string) {
	logout := *s.public
	logout.Path = strings.TrimSuffix(logout.Path, "/") + "/logout"
	shown := ""
	if safe, ok := redirect.Safe(s.public, orig); ok {
		logout.RawQuery = url.Values{"rd": {safe}}.Encode()
		shown = safe
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusForbidden)
	if err := deniedTmpl.Execute(w, map[string]any{"User": u, "URL": shown, "Switch": logout.String()}); err != nil {
		s.log.Error("rendering the access-denied page failed", "err", err)
	}
}
