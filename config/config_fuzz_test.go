package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: any file content either loads or is refused with an error; nothing panics, and no
// error repeats the value of a secret.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{"", "[server]\nlisten = \"127.0.0.1:1\"\n", "[server]\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
		"[database]\ndriver = \"postgres\"\ndsn = \"postgres://u:hunter2hunter2@h/db\"\n", "[redis]\nurl = \"redis://:pw@h\"\n", "[[[", "x = 1\n", "[server]\npublic_url = \"ftp://x\"\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, extra string) {
		p := filepath.Join(t.TempDir(), "gatehouse.toml")
		body := "[auth]\njwt_secret = \"" + secretA + "\"\nmfa_secret_key = \"" + secretB + "\"\n" + extra
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p, func(string) string { return "" }, Overrides{}, false)
		if err != nil && (strings.Contains(err.Error(), secretA) || strings.Contains(err.Error(), secretB)) {
			t.Fatalf("an error repeats a secret: %v", err)
		}
	})
}
