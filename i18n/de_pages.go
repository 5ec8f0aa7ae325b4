package i18n

// dePages are the pages' own texts: the layout, sign-in, registration and recovery, account
// and admin pages. Formal address ("Sie") throughout.
func dePages() map[string]string {
	return merge(dePages1(), dePages2(), dePages3())
}

// dePages1 is part 1 of dePages, split to keep each function short.
func dePages1() map[string]string {
	return map[string]string{
		// Layout and navigation.
		"Skip to content":         "Zum Inhalt springen",
		"Main":                    "Hauptmenü",
		"Main (menu)":             "Hauptmenü (Menü)",
		"Menu":                    "Menü",
		"Language":                "Sprache",
		"Security":                "Sicherheit",
		"Dashboard":               "Übersicht",
		"Users":                   "Benutzer",
		"Settings":                "Einstellungen",
		"Groups":                  "Gruppen",
		"Access rules":            "Zugriffsregeln",
		"External authentication": "Externe Anmeldung",
		"Apps":                    "Apps",
		"Events":                  "Ereignisse",
		"Mail":                    "E-Mail",
		"Back to gatehouse":       "Zurück zu gatehouse",
		"Account security":        "Kontosicherheit",

		// Errors of the pages themselves.
		"Something went wrong; the server log has details.": "Etwas ist schiefgegangen; Einzelheiten stehen im Serverprotokoll.",
		"The form could not be read: %s":                    "Das Formular konnte nicht gelesen werden: %s",
		"This form was sent from another site or by an old browser, so it was refused. Go back, reload the page and try again.": "Dieses Formular kam von einer anderen Website oder aus einem alten Browser und wurde daher abgelehnt. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es noch einmal.",
		"This language is not offered.": "Diese Sprache wird nicht angeboten.",
		"There is no page at this address. Check it, or start again from the link below.": "Unter dieser Adresse gibt es keine Seite. Prüfen Sie sie oder beginnen Sie mit dem Link unten neu.",
		"This page does not take forms. Open it again from the link below.":               "Diese Seite nimmt keine Formulare an. Öffnen Sie sie erneut über den Link unten.",
		"Only administrators can open the admin console.":                                 "Nur Administratoren können die Verwaltung öffnen.",

		// Sign-in and first administrator.
		"Sign in":                                "Anmelden",
		"Sign out":                               "Abmelden",
		"Sign out of gatehouse on this browser?": "In diesem Browser von gatehouse abmelden?",
		"You are signed out.":                    "Sie sind abgemeldet.",
		"Username or email":                      "Benutzername oder E-Mail",
		"Username":                               "Benutzername",
		"Email":                                  "E-Mail",
		"Password":                               "Passwort",
		"Repeat the password":                    "Passwort wiederholen",
		"Stay signed in":                         "Angemeldet bleiben",
		"Forgot your password?":                  "Passwort vergessen?",
		"Sign in with a passkey":                 "Mit einem Passkey anmelden",
		"Sign in with %s":                        "Mit %s anmelden",
		"Create an account":                      "Konto erstellen",
		"Create the first administrator":         "Ersten Administrator anlegen",
		"Create administrator":                   "Administrator anlegen",
		"No account exists yet. The account you create now administers this gatehouse.":                  "Es gibt noch kein Konto. Das Konto, das Sie jetzt anlegen, verwaltet dieses gatehouse.",
		"Wrong username, email or password.":                                                             "Benutzername, E-Mail oder Passwort ist falsch.",
		"Enter your username or email.":                                                                  "Geben Sie Ihren Benutzernamen oder Ihre E-Mail-Adresse ein.",
		"Too many sign-in attempts. Wait a moment and try again.":                                        "Zu viele Anmeldeversuche. Warten Sie einen Moment und versuchen Sie es erneut.",
		"Too many sign-in attempts. Try again in %d seconds.":                                            "Zu viele Anmeldeversuche. Versuchen Sie es in %d Sekunden erneut.",
		"This account is not activated yet. Open the link in the activation mail, or ask for a new one.": "Dieses Konto ist noch nicht aktiviert. Öffnen Sie den Link in der Aktivierungs-E-Mail oder fordern Sie einen neuen an.",
		"The two passwords differ.":                                                                      "Die beiden Passwörter stimmen nicht überein.",
		"An administrator already exists. Sign in instead.":                                              "Es gibt bereits einen Administrator. Melden Sie sich stattdessen an.",
		"Send a new activation link":                                                                     "Neuen Aktivierungslink senden",

		// Second factor at sign-in and step-up.
		"Two-step verification": "Zweistufige Anmeldung",
		"Your password was right. Now enter the 6-digit code from your authenticator app.": "Ihr Passwort war richtig. Geben Sie jetzt den 6-stelligen Code aus Ihrer Authenticator-App ein.",
		"Authentication code": "Bestätigungscode",
		"Use a recovery code": "Einen Wiederherstellungscode verwenden",
		"Recovery code":       "Wiederherstellungscode",
		"Verify":              "Bestätigen",
		"Start over":          "Neu beginnen",
		"Too many code attempts. Wait a moment and try again.":             "Zu viele Codeversuche. Warten Sie einen Moment und versuchen Sie es erneut.",
		"Second factor needed":                                             "Zweiter Faktor nötig",
		"The address you opened":                                           "Die von Ihnen geöffnete Adresse",
		"%v asks for a sign-in with a second factor. You are signed in as": "%v verlangt eine Anmeldung mit einem zweiten Faktor. Sie sind angemeldet als",
		"asks for a sign-in with a second factor. You are signed in as":    "verlangt eine Anmeldung mit einem zweiten Faktor. Sie sind angemeldet als",
		"with one factor only.":                                            "mit nur einem Faktor.",
		"Code from your authenticator app":                                 "Code aus Ihrer Authenticator-App",
		"Use a passkey":                                                    "Einen Passkey verwenden",
		"Your account has no second factor yet.":                           "Ihr Konto hat noch keinen zweiten Faktor.",
	}
}

// dePages2 is part 2 of dePages, split to keep each function short.
func dePages2() map[string]string {
	return map[string]string{
		"Set up an authenticator app or a passkey":            "Richten Sie eine Authenticator-App oder einen Passkey",
		"on your security page, then open the address again.": "auf Ihrer Sicherheitsseite ein und öffnen Sie dann die Adresse erneut.",
		"Sign in as someone else":                             "Als jemand anderes anmelden",

		// Registration and activation.
		"Check your mail": "Sehen Sie in Ihr Postfach",
		"We sent an activation link to the address you gave. Open it to activate your account, then sign in.": "Wir haben einen Aktivierungslink an die angegebene Adresse gesendet. Öffnen Sie ihn, um Ihr Konto zu aktivieren, und melden Sie sich dann an.",
		"No mail after a few minutes? Look in your spam folder, or ask for a new link from the sign-in page.": "Nach ein paar Minuten keine E-Mail? Sehen Sie im Spam-Ordner nach oder fordern Sie auf der Anmeldeseite einen neuen Link an.",
		"Go to sign-in":          "Zur Anmeldung",
		"Account created":        "Konto erstellt",
		"Your account is ready.": "Ihr Konto ist bereit.",
		"Registration is closed": "Die Registrierung ist geschlossen",
		"This site does not take new accounts. Ask an administrator for one.": "Diese Website nimmt keine neuen Konten an. Bitten Sie einen Administrator um eines.",
		"Create account":                  "Konto erstellen",
		"I already have an account":       "Ich habe schon ein Konto",
		"Activate your account":           "Konto aktivieren",
		"Activate my account":             "Mein Konto aktivieren",
		"Account activated":               "Konto aktiviert",
		"Your account":                    "Ihr Konto",
		"is active. You can sign in now.": "ist aktiv. Sie können sich jetzt anmelden.",
		"If an account with that name or address waits for activation, a new activation link is on its way. Only the newest link works.": "Wenn ein Konto mit diesem Namen oder dieser Adresse auf die Aktivierung wartet, ist ein neuer Aktivierungslink unterwegs. Nur der neueste Link funktioniert.",
		"Ask for a new activation link:": "Einen neuen Aktivierungslink anfordern:",

		// Password recovery.
		"Forgot your password? ": "Passwort vergessen? ",
		"Enter the email address of your account. We will mail you a link to choose a new password.": "Geben Sie die E-Mail-Adresse Ihres Kontos ein. Wir senden Ihnen einen Link, mit dem Sie ein neues Passwort wählen.",
		"Send me a link":  "Link senden",
		"Back to sign-in": "Zurück zur Anmeldung",
		"If an active account uses that address, a link to choose a new password is on its way. It works once and for a limited time.": "Wenn ein aktives Konto diese Adresse verwendet, ist ein Link zum Wählen eines neuen Passworts unterwegs. Er funktioniert einmal und nur für begrenzte Zeit.",
		"Choose a new password":               "Neues Passwort wählen",
		"Saving it signs you out everywhere.": "Beim Speichern werden Sie überall abgemeldet.",
		"New password":                        "Neues Passwort",
		"Repeat the new password":             "Neues Passwort wiederholen",
		"Save the new password":               "Neues Passwort speichern",
		"Password changed":                    "Passwort geändert",
		"Your new password is saved and every session of your account has ended.": "Ihr neues Passwort ist gespeichert und jede Sitzung Ihres Kontos wurde beendet.",
		"Sign in with the new password":                                           "Mit dem neuen Passwort anmelden",
		"Ask for a new link":                                                      "Einen neuen Link anfordern",

		// Messages of the account and admin pages.
		"A new secret is made; the old one no longer works.": "Ein neues Geheimnis wurde erzeugt; das alte gilt nicht mehr.",
		"Link your sign-in":      "Anmeldung verknüpfen",
		"No settings were sent.": "Es wurden keine Einstellungen gesendet.",
		"No user has this username or number. A deleted user's events are found by their number.": "Kein Benutzer hat diesen Namen oder diese Nummer. Die Ereignisse eines gelöschten Benutzers findet man über seine Nummer.",
		"Preview with sample data below; not saved yet.":                                          "Vorschau mit Beispieldaten unten; noch nicht gespeichert.",
		"Save these recovery codes now: they are shown only once.":                                "Speichern Sie diese Wiederherstellungscodes jetzt: Sie werden nur einmal angezeigt.",
		"Settings saved.":                                           "Einstellungen gespeichert.",
		"Test mail accepted by the server.":                         "Test-E-Mail vom Server angenommen.",
		"The change was refused.":                                   "Die Änderung wurde abgelehnt.",
		"Tick the box to confirm that the app and its sign-ins go.": "Setzen Sie das Häkchen, um zu bestätigen, dass die App und ihre Anmeldungen entfernt werden.",

		// Account security.
		". A new address is used only once you open the link we mail to it; your current address is told about the change.": ". Eine neue Adresse gilt erst, wenn Sie den Link öffnen, den wir an sie senden; Ihre bisherige Adresse wird über die Änderung informiert.",
		"; your groups:":       "; Ihre Gruppen:",
		"Signed in as":         "Angemeldet als",
		"none":                 "keine",
		"Now":                  "Derzeit",
		"Change email address": "E-Mail-Adresse ändern",
		"Change password":      "Passwort ändern",
		"Current password":     "Aktuelles Passwort",
		"Email address":        "E-Mail-Adresse",
		"New email address":    "Neue E-Mail-Adresse",
		"Your other sessions end when the password changes.": "Wenn sich das Passwort ändert, enden Ihre anderen Sitzungen.",
		"Sessions": "Sitzungen",
		"Everywhere you are signed in. End any session you do not recognise.": "Überall, wo Sie angemeldet sind. Beenden Sie jede Sitzung, die Sie nicht kennen.",
		"This browser":                  "Dieser Browser",
		"IP %s":                         "IP %s",
		"· signed in %s · last seen %s": "· angemeldet %s · zuletzt gesehen %s",
		"End session":                   "Sitzung beenden",
		"End session of %s from %s":     "Sitzung beenden: %s aus %s",
		"Sign out everywhere else":      "Überall sonst abmelden",
		"Preferred language":            "Bevorzugte Sprache",
	}
}

// dePages3 is part 3 of dePages, split to keep each function short.
func dePages3() map[string]string {
	return map[string]string{
		"Not chosen (English mail)": "Nicht gewählt (E-Mails auf Englisch)",
		"Save language":             "Sprache speichern",
		"The language of your mail, and of these pages unless you pick another with the switch at the foot of the page.":   "Die Sprache Ihrer E-Mails und dieser Seiten, sofern Sie nicht mit der Umschaltung am Seitenende eine andere wählen.",
		"Your language is saved. Mail to you is written in it from now on.":                                                "Ihre Sprache ist gespeichert. E-Mails an Sie werden ab jetzt in ihr geschrieben.",
		"Welcome! Your account is created and you are signed in. Consider adding a passkey or an authenticator app below.": "Willkommen! Ihr Konto ist angelegt und Sie sind angemeldet. Fügen Sie unten am besten einen Passkey oder eine Authenticator-App hinzu.",
		"Your password is changed. Your other sessions have ended.":                                                        "Ihr Passwort ist geändert. Ihre anderen Sitzungen wurden beendet.",
		"The session has ended.":              "Die Sitzung wurde beendet.",
		"All your other sessions have ended.": "Alle Ihre anderen Sitzungen wurden beendet.",
		"Multi-factor authentication is off.": "Die Mehr-Faktor-Authentifizierung ist aus.",
		"You signed in with a recovery code, which is now used up. Regenerate your codes or set up the authenticator again if it is lost.": "Sie haben sich mit einem Wiederherstellungscode angemeldet, der nun verbraucht ist. Erzeugen Sie neue Codes oder richten Sie den Authenticator neu ein, falls er verloren ist.",
		"We sent a confirmation link to the new address. Your address changes when you open it.":                                           "Wir haben einen Bestätigungslink an die neue Adresse gesendet. Ihre Adresse ändert sich, wenn Sie ihn öffnen.",
		"The app is removed; it will ask before signing you in again.":                                                                     "Die App ist entfernt; sie fragt nach, bevor sie Sie wieder anmeldet.",
		"The external identity is linked. You can now sign in with it.":                                                                    "Die externe Identität ist verknüpft. Sie können sich jetzt damit anmelden.",
		"The external identity is unlinked.":                                                                                               "Die Verknüpfung der externen Identität ist aufgehoben.",
		"The passkey is added. You can now sign in with it.":                                                                               "Der Passkey ist hinzugefügt. Sie können sich jetzt damit anmelden.",
		"The passkey is deleted. It can no longer sign in to this account.":                                                                "Der Passkey ist gelöscht. Er kann sich nicht mehr bei diesem Konto anmelden.",
		"The passkey is renamed.":      "Der Passkey ist umbenannt.",
		"the two new passwords differ": "die beiden neuen Passwörter stimmen nicht überein",
		"the two passwords differ":     "die beiden Passwörter stimmen nicht überein",
		"enter a current code from your authenticator app, or your password":     "geben Sie einen aktuellen Code aus Ihrer Authenticator-App oder Ihr Passwort ein",
		"enter the 6-digit code from your authenticator app, or a recovery code": "geben Sie den 6-stelligen Code aus Ihrer Authenticator-App oder einen Wiederherstellungscode ein",
		"A new activation link is on its way.":                                   "Ein neuer Aktivierungslink ist unterwegs.",
		"Registration closed":                                                    "Registrierung geschlossen",

		// Admin notices.
		"Saved.":               "Gespeichert.",
		"The user is created.": "Der Benutzer ist angelegt.",
		"The user is deleted.": "Der Benutzer ist gelöscht.",
		"The user is disabled and their sessions have ended.":                      "Der Benutzer ist deaktiviert und seine Sitzungen wurden beendet.",
		"The user is enabled.":                                                     "Der Benutzer ist aktiviert.",
		"The role is changed.":                                                     "Die Rolle ist geändert.",
		"The password is reset and the user's sessions have ended.":                "Das Passwort ist zurückgesetzt und die Sitzungen des Benutzers wurden beendet.",
		"Multi-factor authentication is reset and the user's sessions have ended.": "Die Mehr-Faktor-Authentifizierung ist zurückgesetzt und die Sitzungen des Benutzers wurden beendet.",
		"The mail is queued again.":                                                "Die E-Mail ist wieder in der Warteschlange.",
		"The template is back to the built-in one.":                                "Die Vorlage ist wieder die eingebaute.",
		"The template is saved: mail of this kind uses it from now on.":            "Die Vorlage ist gespeichert: E-Mails dieser Art verwenden sie ab jetzt.",
		"The group is created.":                                                    "Die Gruppe ist angelegt.",
		"The member is added.":                                                     "Das Mitglied ist hinzugefügt.",
		"The member is removed.":                                                   "Das Mitglied ist entfernt.",
		"The app is deleted; its tokens no longer work.":                           "Die App ist gelöscht; ihre Tokens gelten nicht mehr.",
		"New signing keys are published; they sign in an hour.":                    "Neue Signaturschlüssel sind veröffentlicht; sie signieren ab in einer Stunde.",
		"confirm the deletion":                                                     "bestätigen Sie das Löschen",
		"no such mail":                                                             "diese E-Mail gibt es nicht",
		"that rule is not there any more: reload the page":                         "diese Regel gibt es nicht mehr: Laden Sie die Seite neu",
		"unknown action %q":                                                        "unbekannte Aktion %q",
		"unknown action":                                                           "unbekannte Aktion",
		"use whole seconds":                                                        "verwenden Sie ganze Sekunden",

		// Email change.
		"Confirm your new address": "Neue Adresse bestätigen",
		"Use this address":         "Diese Adresse verwenden",
		"Address changed":          "Adresse geändert",
		"Your account now uses":    "Ihr Konto verwendet jetzt",
		"Ask for the change again": "Die Änderung erneut anfordern",
	}
}
