package i18n

// deProvider is the OpenID Provider's pages (oidcprovider/templates) and the titles, messages
// and claims its Go code puts on them.
func deProvider() map[string]string {
	return map[string]string{
		"Sign in to %s?":           "Bei %s anmelden?",
		"You are signed in as %s.": "Sie sind als %s angemeldet.",
		"%s will learn:":           "%s erfährt:",
		"You can take this back on your security page, under “Apps you signed in to”.": "Sie können das auf Ihrer Sicherheitsseite unter „Apps, bei denen Sie angemeldet sind“ zurücknehmen.",
		"Allow":          "Erlauben",
		"Continue to %s": "Weiter zu %s",
		"Your account has no password. Sign out and sign in again, then go back to %s.":               "Ihr Konto hat kein Passwort. Melden Sie sich ab und wieder an und kehren Sie dann zu %s zurück.",
		"Confirming with a passkey needs JavaScript. Sign out and sign in again, then go back to %s.": "Die Bestätigung mit einem Passkey braucht JavaScript. Melden Sie sich ab und wieder an und kehren Sie dann zu %s zurück.",
		"Not allowed": "Nicht erlaubt",
		"You are signed in as %s, and this account may not use %s.":                "Sie sind als %s angemeldet, und dieses Konto darf %s nicht verwenden.",
		"Ask an administrator to add you to one of the groups the app is open to.": "Bitten Sie eine Administratorin oder einen Administrator, Sie einer der Gruppen hinzuzufügen, für die die App offen ist.",
		"Sign-in link expired": "Anmeldelink abgelaufen",
		"This sign-in request is unknown or has expired. Go back to the app and start again.": "Diese Anmeldeanfrage ist unbekannt oder abgelaufen. Kehren Sie zur App zurück und beginnen Sie erneut.",
		"Unknown app": "Unbekannte App",
		"The app that sent you here is no longer registered.": "Die App, die Sie hierher geschickt hat, ist nicht mehr registriert.",
		"Something went wrong":                                "Etwas ist schiefgegangen",
		"Try again in a moment.":                              "Versuchen Sie es gleich noch einmal.",
		"Request refused":                                     "Anfrage abgelehnt",
		"This form was sent from another site or by an old browser. Go back, reload the page and try again.": "Dieses Formular wurde von einer anderen Website oder einem alten Browser gesendet. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.",
		"Bad request":                                                "Ungültige Anfrage",
		"The form could not be read.":                                "Das Formular konnte nicht gelesen werden.",
		"The form did not say what to do.":                           "Das Formular hat nicht gesagt, was zu tun ist.",
		"That did not match. Try again.":                             "Das hat nicht gepasst. Versuchen Sie es erneut.",
		"%s asks you to sign in again.":                              "%s bittet Sie, sich erneut anzumelden.",
		"%s asks for a recent sign-in.":                              "%s verlangt eine kürzlich erfolgte Anmeldung.",
		"that you are signed in, and a stable identifier for you":    "dass Sie angemeldet sind, und eine gleichbleibende Kennung für Sie",
		"your name and username":                                     "Ihren Namen und Benutzernamen",
		"your email address":                                         "Ihre E-Mail-Adresse",
		"the groups you are in":                                      "die Gruppen, in denen Sie sind",
		"access while you are away, until you sign out of gatehouse": "Zugriff in Ihrer Abwesenheit, bis Sie sich bei gatehouse abmelden",
	}
}
