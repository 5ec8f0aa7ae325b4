package i18n

// deInvitations are the texts of the invitation pages (admin list and the invitee's sign-up),
// the mail preview, the providers' default groups and the apps list's hidden labels.
func deInvitations() map[string]string {
	return map[string]string{
		// Admin: invitations.
		"Invitations":               "Einladungen",
		"The new invitation's link": "Der Link der neuen Einladung",
		"Send this link to the person you invite. It is shown only now: the server keeps only a hash of it.": "Senden Sie diesen Link an die eingeladene Person. Er wird nur jetzt angezeigt: Der Server speichert nur einen Hash davon.",
		"Copy link": "Link kopieren",
		"An invitation is a sign-up link: it works while public registration is off. The invitee chooses a username and a password; a fixed email needs no activation mail, since the link proves the address.": "Eine Einladung ist ein Registrierungslink: Er funktioniert auch, wenn die öffentliche Registrierung ausgeschaltet ist. Die eingeladene Person wählt einen Benutzernamen und ein Passwort; eine fest vorgegebene E-Mail-Adresse braucht keine Aktivierungsmail, da der Link die Adresse bestätigt.",
		"Uses":                  "Verwendungen",
		"State":                 "Status",
		"Expires":               "Läuft ab",
		"chosen by the invitee": "von der eingeladenen Person gewählt",
		"used":                  "verwendet",
		"expired":               "abgelaufen",
		"revoked":               "widerrufen",
		"Revoke":                "Widerrufen",
		"No invitation yet.":    "Noch keine Einladung.",
		"Invite someone":        "Jemanden einladen",
		"Email (optional: leave empty to let the invitee choose)": "E-Mail (optional: leer lassen, damit die eingeladene Person sie wählt)",
		"Groups to join":                 "Beizutretende Gruppen",
		"Expires after (days)":           "Läuft ab nach (Tagen)",
		"Number of accounts it may make": "Anzahl der Konten, die damit erstellt werden dürfen",
		"Create invitation":              "Einladung erstellen",
		"The invitation is made. Copy its link now: it is shown only once.": "Die Einladung ist erstellt. Kopieren Sie jetzt ihren Link: Er wird nur einmal angezeigt.",
		"enter a number of days from 1 to 90":                               "geben Sie eine Anzahl Tage von 1 bis 90 ein",
		"enter a number of uses from 1 to 1000":                             "geben Sie eine Anzahl Verwendungen von 1 bis 1000 ein",
		// The invitee's page.
		"Invitation not valid": "Einladung nicht gültig",
		"This invitation link is invalid, expired, revoked or already used. Ask an administrator for a new one.": "Dieser Einladungslink ist ungültig, abgelaufen, widerrufen oder bereits verwendet. Bitten Sie einen Administrator um einen neuen.",
		"You are invited": "Sie sind eingeladen",
		"Choose a username and a password for your account.": "Wählen Sie einen Benutzernamen und ein Passwort für Ihr Konto.",
		"You will join":                       "Sie werden Mitglied von:",
		"The invitation is for this address.": "Die Einladung gilt für diese Adresse.",
		// Mail preview, provider default groups, apps.
		"HTML part": "HTML-Teil",
		"As a mail program shows it: links are not followed and pictures from other sites are not loaded here.": "So, wie ein Mailprogramm ihn zeigt: Links werden hier nicht geöffnet und Bilder von anderen Websites nicht geladen.",
		"HTML part of the previewed mail":                                        "HTML-Teil der Vorschau-Mail",
		"Groups for auto-created users (names separated by spaces; empty: none)": "Gruppen für automatisch erstellte Benutzer (Namen durch Leerzeichen getrennt; leer: keine)",
		"New secret":  "Neues Geheimnis",
		"for %v":      "für %v",
		", delete %v": ", %v löschen",
	}
}

// deInvitationErrors are the messages of invitations and providers' default groups in auth.
func deInvitationErrors() map[string]string {
	return map[string]string{
		"max_uses must be between 1 and 1000":                   "max_uses muss zwischen 1 und 1000 liegen",
		"invitation links need server.public_url: set it first": "Einladungslinks brauchen server.public_url: Legen Sie es zuerst fest",
		"expires_in must be between 60 seconds and 90 days":     "expires_in muss zwischen 60 Sekunden und 90 Tagen liegen",
		"at most 100 groups":                                    "höchstens 100 Gruppen",
		"this invitation link is invalid, expired, revoked or already used; ask an administrator for a new one": "dieser Einladungslink ist ungültig, abgelaufen, widerrufen oder bereits verwendet; bitten Sie einen Administrator um einen neuen",
		"there is no group %q (create it under Groups first)":                                                   "es gibt keine Gruppe %q (legen Sie sie zuerst unter Gruppen an)",
		"an account with this email already exists":                                                             "ein Konto mit dieser E-Mail-Adresse existiert bereits",
		"an invitation with a fixed email makes one account: max_uses must be 1":                                "eine Einladung mit fester E-Mail-Adresse erstellt ein Konto: max_uses muss 1 sein",
		"at most 20 default groups":                                                                             "höchstens 20 Standardgruppen",
	}
}
