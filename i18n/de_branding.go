package i18n

// deBranding are the texts of the branding page, "My apps", the access rules' and the OpenID
// Provider apps' launch URL fields and the pages that show the site name, with the branding
// errors.
func deBranding() map[string]string {
	return map[string]string{
		"Branding":                                   "Erscheinungsbild",
		"Name, colour and footer":                    "Name, Farbe und Fußzeile",
		"Shown on every page and in every mail.":     "Wird auf jeder Seite und in jeder Mail angezeigt.",
		"Site name":                                  "Name der Website",
		"Shown in the header, page titles and mail.": "Wird in der Kopfzeile, in Seitentiteln und in Mails angezeigt.",
		"Accent colour":                              "Akzentfarbe",
		"A hex colour such as #2f6fdb for buttons, focus rings and the mark. It must reach 3:1 contrast on the light and the dark background. Empty: the built-in blue.": "Eine Hex-Farbe wie #2f6fdb für Schaltflächen, Fokusrahmen und das Zeichen. Sie muss auf dem hellen und dem dunklen Hintergrund einen Kontrast von 3:1 erreichen. Leer: das eingebaute Blau.",
		"Footer link text": "Text des Fußzeilenlinks",
		"For example Help or Imprint. Empty, with an empty address: no footer link.": "Zum Beispiel Hilfe oder Impressum. Leer, bei leerer Adresse: kein Fußzeilenlink.",
		"Footer link address": "Adresse des Fußzeilenlinks",
		"An https:// address, or a path on this site such as /help.": "Eine https://-Adresse oder ein Pfad auf dieser Website wie /help.",
		"Save branding":    "Erscheinungsbild speichern",
		"Logo":             "Logo",
		"Current logo:":    "Aktuelles Logo:",
		"The current logo": "Das aktuelle Logo",
		"No logo: pages show the built-in mark beside the site name.": "Kein Logo: Die Seiten zeigen das eingebaute Zeichen neben dem Namen der Website.",
		"Replace the logo": "Logo ersetzen",
		"Upload a logo":    "Logo hochladen",
		"PNG or SVG, at most %v KiB. It replaces the mark and the name in the header, so it should show the name itself. Mail shows a PNG logo only (mail programs do not show SVG).": "PNG oder SVG, höchstens %v KiB. Es ersetzt Zeichen und Namen in der Kopfzeile und sollte daher den Namen selbst zeigen. Mails zeigen nur ein PNG-Logo (Mailprogramme zeigen kein SVG).",
		"Upload":             "Hochladen",
		"Remove the logo":    "Logo entfernen",
		"Branding saved.":    "Erscheinungsbild gespeichert.",
		"The logo is saved.": "Das Logo ist gespeichert.",
		"The logo is removed; pages show the built-in mark.": "Das Logo ist entfernt; die Seiten zeigen das eingebaute Zeichen.",
		// Pages naming the site.
		"Back to %s":                      "Zurück zu %s",
		"Sign out of %s on this browser?": "In diesem Browser von %s abmelden?",
		// My apps and the access rules' app fields.
		"App":        "App",
		"Launch URL": "Startadresse",
		"Launch URL of %v (empty: not on My apps)":                                   "Startadresse von %v (leer: nicht unter „Meine Apps“)",
		"the launch URL of %v":                                                       "die Startadresse von %v",
		"The launch URL is saved: My apps shows it to the users the app admits.":     "Die Startadresse ist gespeichert: „Meine Apps“ zeigt sie den Benutzern, die die App zulässt.",
		"Launch URL (optional: lists the app on the My apps of the users it admits)": "Startadresse (optional: zeigt die App unter „Meine Apps“ der Benutzer, die sie zulässt)",
		"My apps":               "Meine Apps",
		"needs a second factor": "erfordert einen zweiten Faktor",
		"No apps to show yet. Apps appear here when an administrator gives an access rule or a registered app a launch address and it lets you in.": "Noch keine Apps. Apps erscheinen hier, wenn ein Administrator einer Zugriffsregel oder einer registrierten App eine Startadresse gibt und sie Sie zulässt.",
		"Display name (optional)": "Anzeigename (optional)",
		"Launch URL (optional)":   "Start-URL (optional)",
		"With both, the rule is an app on \"My apps\" of every user it lets in at that address.": "Mit beidem ist die Regel unter dieser Adresse eine App unter „Meine Apps“ jedes Benutzers, den sie zulässt.",
		// Errors.
		"the file starts like a PNG but is not a readable PNG image":         "die Datei beginnt wie ein PNG, ist aber kein lesbares PNG-Bild",
		"must be a hex colour like #2f6fdb":                                  "muss eine Hex-Farbe wie #2f6fdb sein",
		"must be an https:// address or a path on this site starting with /": "muss eine https://-Adresse oder ein mit / beginnender Pfad auf dieser Website sein",
		"the upload could not be read":                                       "der Upload konnte nicht gelesen werden",
		"the logo must be a PNG or SVG image":                                "das Logo muss ein PNG- oder SVG-Bild sein",
		"send the logo as a file upload (multipart/form-data)":               "senden Sie das Logo als Datei-Upload (multipart/form-data)",
		"choose a PNG or SVG file":                                           "wählen Sie eine PNG- oder SVG-Datei",
		"must be one address of at most 1024 characters, without spaces":     "muss eine einzelne Adresse mit höchstens 1024 Zeichen ohne Leerzeichen sein",
		"%s has a contrast of %.1f:1 against the light mode page background (%s); at least 3:1 is needed so buttons and focus rings stay visible in light and dark mode": "%s hat einen Kontrast von %.1f:1 zum Seitenhintergrund im hellen Modus (%s); mindestens 3:1 sind nötig, damit Schaltflächen und Fokusrahmen im hellen und im dunklen Modus sichtbar bleiben",
		"%s has a contrast of %.1f:1 against the light mode card background (%s); at least 3:1 is needed so buttons and focus rings stay visible in light and dark mode": "%s hat einen Kontrast von %.1f:1 zum Kartenhintergrund im hellen Modus (%s); mindestens 3:1 sind nötig, damit Schaltflächen und Fokusrahmen im hellen und im dunklen Modus sichtbar bleiben",
		"%s has a contrast of %.1f:1 against the dark mode page background (%s); at least 3:1 is needed so buttons and focus rings stay visible in light and dark mode":  "%s hat einen Kontrast von %.1f:1 zum Seitenhintergrund im dunklen Modus (%s); mindestens 3:1 sind nötig, damit Schaltflächen und Fokusrahmen im hellen und im dunklen Modus sichtbar bleiben",
		"%s has a contrast of %.1f:1 against the dark mode card background (%s); at least 3:1 is needed so buttons and focus rings stay visible in light and dark mode":  "%s hat einen Kontrast von %.1f:1 zum Kartenhintergrund im dunklen Modus (%s); mindestens 3:1 sind nötig, damit Schaltflächen und Fokusrahmen im hellen und im dunklen Modus sichtbar bleiben",
	}
}
