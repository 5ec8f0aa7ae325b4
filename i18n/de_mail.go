package i18n

// deMail are the texts of the built-in mail templates (mail/templates) and the durations they
// name ("24 hours", written by package auth).
func deMail() map[string]string {
	return map[string]string{
		"Hello %s,":     "Hallo %s,",
		"Hello,":        "Hallo,",
		"Sent by %s at": "Gesendet von %s unter",
		"Or copy this address into your browser: %s": "Oder kopieren Sie diese Adresse in Ihren Browser: %s",

		"Activate your %s account": "Aktivieren Sie Ihr %s-Konto",
		"someone, hopefully you, created the account \"%s\" on %s with this address. To activate it, open this link within %s:": "jemand, hoffentlich Sie, hat mit dieser Adresse das Konto „%s“ bei %s angelegt. Um es zu aktivieren, öffnen Sie diesen Link innerhalb von %s:",
		"If you did not create this account, ignore this mail: without activation it cannot be used.":                           "Wenn Sie dieses Konto nicht angelegt haben, ignorieren Sie diese E-Mail: Ohne Aktivierung kann es nicht benutzt werden.",

		"Someone tried to register on %s with your address": "Jemand wollte sich mit Ihrer Adresse bei %s registrieren",
		"someone, hopefully you, tried to create a new account on %s with this address. An account with this address already exists, so no new account was created.": "jemand, hoffentlich Sie, wollte mit dieser Adresse ein neues Konto bei %s anlegen. Es gibt bereits ein Konto mit dieser Adresse, daher wurde kein neues angelegt.",
		"If it was you, sign in at %s or, if you forgot your password, ask for a reset link on the sign-in page. If it was not you, you can ignore this mail.":       "Wenn Sie es waren, melden Sie sich unter %s an oder fordern Sie, falls Sie Ihr Passwort vergessen haben, auf der Anmeldeseite einen Link zum Zurücksetzen an. Wenn Sie es nicht waren, können Sie diese E-Mail ignorieren.",

		"Reset your %s password": "Setzen Sie Ihr %s-Passwort zurück",
		"someone, hopefully you, asked to reset the password of your %s account. To choose a new password, open this link within %s. It works once, and using it signs you out everywhere:": "jemand, hoffentlich Sie, hat verlangt, das Passwort Ihres %s-Kontos zurückzusetzen. Um ein neues Passwort zu wählen, öffnen Sie diesen Link innerhalb von %s. Er funktioniert einmal, und wenn Sie ihn benutzen, werden Sie überall abgemeldet:",
		"If you did not ask for this, ignore this mail: your password stays as it is.":                                                                                                      "Wenn Sie das nicht verlangt haben, ignorieren Sie diese E-Mail: Ihr Passwort bleibt, wie es ist.",

		"Confirm your new %s email address": "Bestätigen Sie Ihre neue E-Mail-Adresse bei %s",
		"you asked to use this address for your %s account. To confirm it, open this link within %s:":          "Sie möchten diese Adresse für Ihr %s-Konto verwenden. Um sie zu bestätigen, öffnen Sie diesen Link innerhalb von %s:",
		"Until you do, your account keeps its current address. If you did not ask for this, ignore this mail.": "Bis dahin behält Ihr Konto seine bisherige Adresse. Wenn Sie das nicht verlangt haben, ignorieren Sie diese E-Mail.",
		"Confirm this address": "Diese Adresse bestätigen",

		"Your %s email address is about to change": "Ihre E-Mail-Adresse bei %s soll geändert werden",
		"someone signed in to your %s account asked to change its email address to %s. The change happens only when that new address is confirmed.": "jemand, der in Ihrem %s-Konto angemeldet ist, möchte dessen E-Mail-Adresse in %s ändern. Die Änderung geschieht erst, wenn die neue Adresse bestätigt ist.",
		"If this was not you, sign in at %s, change your password and end your other sessions, or tell your administrator.":                         "Wenn Sie das nicht waren, melden Sie sich unter %s an, ändern Sie Ihr Passwort und beenden Sie Ihre anderen Sitzungen, oder benachrichtigen Sie Ihren Administrator.",

		"Link your %s sign-in to %s": "Verknüpfen Sie Ihre %s-Anmeldung mit %s",
		"someone, hopefully you, signed in to %[1]s with %[2]s using this address and asked to link that %[2]s account to your %[1]s account. To link it and sign in, open this link within %[3]s. It works once:":                                                                 "jemand, hoffentlich Sie, hat sich mit dieser Adresse über %[2]s bei %[1]s angemeldet und möchte dieses %[2]s-Konto mit Ihrem %[1]s-Konto verknüpfen. Um es zu verknüpfen und sich anzumelden, öffnen Sie diesen Link innerhalb von %[3]s. Er funktioniert einmal:",
		"Do not use the link if you did not ask for this yourself: whoever signed in with that %s account would then be able to sign in to yours. Ignore this mail and nothing is linked. You can see and remove linked sign-ins under Settings → Security → External identities.": "Benutzen Sie den Link nicht, wenn Sie das nicht selbst verlangt haben: Wer sich mit diesem %s-Konto angemeldet hat, könnte sich dann bei Ihrem Konto anmelden. Ignorieren Sie diese E-Mail, dann wird nichts verknüpft. Verknüpfte Anmeldungen sehen und entfernen Sie unter Einstellungen → Sicherheit → Externe Identitäten.",
		"Link %s and sign in": "%s verknüpfen und anmelden",

		"Test mail from %s": "Test-E-Mail von %s",
		"this is a test mail from %s at %s. If you can read it, mail delivery works.": "dies ist eine Test-E-Mail von %s unter %s. Wenn Sie sie lesen können, funktioniert der E-Mail-Versand.",

		// Durations (auth's humanDuration).
		"1 day":      "1 Tag",
		"%d days":    "%d Tage",
		"1 hour":     "1 Stunde",
		"%d hours":   "%d Stunden",
		"1 minute":   "1 Minute",
		"%d minutes": "%d Minuten",
		"1 second":   "1 Sekunde",
		"%d seconds": "%d Sekunden",
	}
}
