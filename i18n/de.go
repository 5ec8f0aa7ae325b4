package i18n

// German returns the German text of every key. The tables are split by area (de_*.go) so that
// engineers adding pages touch different files; a test fails when a key used by a template,
// a page handler or a mail has no German text here.
func German() map[string]string {
	out := map[string]string{}
	for _, part := range []map[string]string{dePages(), deAdmin(), deMail(), deErrors()} {
		for k, v := range part {
			out[k] = v
		}
	}
	return out
}
