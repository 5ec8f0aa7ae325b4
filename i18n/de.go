package i18n

// German returns the German text of every key. The tables are split by area (de_*.go) so that
// engineers adding pages touch different files; a test fails when a key used by a template,
// a page handler or a mail has no German text here.
func German() map[string]string {
	return merge(dePages(), deAdmin(), deMail(), deErrors(), deBranding(), deInvitations(), deInvitationErrors(), deProvider())
}

// merge puts parts into one map; the tables are split into functions of a few dozen lines
// each (the 80-line limit), and a key appearing twice keeps the later text.
func merge(parts ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, part := range parts {
		for k, v := range part {
			out[k] = v
		}
	}
	return out
}
