package http

import (
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
)

// Linking an external identity by proving the email address (auth/extverify.go).

// verifyOffer is the JSON form of the offer in a not-linked answer.
type verifyOffer struct {
	Email    string `json:"email"`
	Endpoint string `json:"endpoint"`
}

// notLinkedBody is the JSON error of a not-linked external sign-in, with the offer.
type notLinkedBody struct {
	Error        errorDetail `json:"error"`
	Verification verifyOffer `json:"verification"`
}

func (s *Server) verifyEndpoint() string {
	return strings.TrimSuffix(s.public.Path, "/") + "/api/auth/oidc/verify-email"
}

// notLinkedOffer returns the offer carried by err, if any.
func notLinkedOffer(err error) *auth.NotLinkedError {
	var nl *auth.NotLinkedError
	if errors.As(err, &nl) && nl.Offer != nil {
		return nl
	}
	return nil
}

// externalVerifySend queues the verification mail for the pending identity of this browser. The
// request carries no body: the cookie says which identity, and the mail goes to the account that
// holds the provider's address, never to one the client chose. The answer does not depend on
// whether a mail was sent. The route is same-origin checked like every unsafe API request.
func (s *Server) externalVerifySend(w http.ResponseWriter, r *http.Request) error {
	tok := ""
	if c, err := r.Cookie(ExternalPendingCookie); err == nil {
		tok = c.Value
	}
	sent, err := s.auth.SignIn.SendExternalVerification(r.Context(), tok, s.meta(r))
	if err != nil {
		return s.externalError(w, r, err)
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent", "email": sent.MaskedEmail, "provider": sent.Provider})
		return nil
	}
	base := strings.TrimSuffix(s.public.Path, "/")
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusAccepted)
	_ = verifySentPage.Execute(w, map[string]string{"Base": base, "Email": sent.MaskedEmail, "Provider": sent.Provider})
	return nil
}

// externalVerifyConfirm uses a verification link (API clients; browsers use the page at
// /login/external/verify). It answers like a password login: tokens, or the MFA step.
func (s *Server) externalVerifyConfirm(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := s.auth.SignIn.ConfirmExternalVerification(r.Context(), req.Token, s.meta(r))
	if err != nil {
		return err
	}
	if res.Tokens.MFA != nil {
		writeMFARequired(w, res.Tokens.MFA)
		return nil
	}
	s.signedIn(w, r, http.StatusOK, res.Tokens)
	return nil
}

var verifySentPage = template.Must(template.New("sent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Check your mail · gatehouse</title><link rel="stylesheet" href="{{.Base}}/static/app.css"></head>
<body><header class="top"><a class="brand" href="{{.Base}}/">gatehouse</a></header>
<main id="main"><section class="card narrow"><h1>Check your mail</h1>
<p role="status" id="verify-sent">If {{.Email}} belongs to an account here, a link to link your {{.Provider}} sign-in to it is on its way. Open it to finish signing in; it works once.</p>
<p><a href="{{.Base}}/login">Back to sign-in</a></p>
</section></main></body></html>
`))
