package i18n

func deMail() map[string]string {
	return map[string]string{}
}
