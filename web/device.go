package web

import "strings"

// Device names a browser and system from a user agent ("Firefox on Linux"), for session lists.
// It is deliberately rough: it only has to help a person recognise their own devices.
func Device(ua string) string {
	if ua == "" {
		return "Unknown device"
	}
	has := func(s string) bool { return strings.Contains(ua, s) }
	browser := ""
	switch {
	case has("curl/"):
		return "curl"
	case has("Edg/"):
		browser = "Edge"
	case has("OPR/"):
		browser = "Opera"
	case has("Firefox/"):
		browser = "Firefox"
	case has("Chromium/"):
		browser = "Chromium"
	case has("HeadlessChrome/"):
		browser = "Headless Chrome"
	case has("Chrome/"):
		browser = "Chrome"
	case has("Safari/"):
		browser = "Safari"
	case has("Go-http-client"):
		return "Go program"
	}
	system := ""
	switch {
	case has("iPhone"):
		system = "iPhone"
	case has("iPad"):
		system = "iPad"
	case has("Android"):
		system = "Android"
	case has("Windows"):
		system = "Windows"
	case has("Mac OS X"), has("Macintosh"):
		system = "macOS"
	case has("CrOS"):
		system = "ChromeOS"
	case has("Linux"):
		system = "Linux"
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return system
	}
	if len(ua) > 40 {
		ua = ua[:40] + "…"
	}
	return ua
}
