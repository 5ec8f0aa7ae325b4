package i18n

func deErrors() map[string]string {
	return map[string]string{}
}
