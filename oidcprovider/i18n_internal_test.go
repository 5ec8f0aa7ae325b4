package oidcprovider

import (
	"io/fs"
	"regexp"
	"testing"

	"github.com/gatehouse/gatehouse/i18n"
)

// Every text of the provider's pages, and every title, message and claim its code shows, has a
// German translation.
func TestProviderTextsHaveGerman(t *testing.T) {
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"Sign in to %s?", "%s asks you to sign in again.", "%s asks for a recent sign-in.", "That did not match. Try again."}
	keys = append(keys, claimsOf([]string{"profile", "email", ScopeGroups, "offline_access"})...)
	lit := regexp.MustCompile(`\{\{t "((?:[^"\\]|\\.)*)"`)
	err = fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, path)
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, m[1])
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if _, ok := cat.Translation("de", k); !ok {
			t.Errorf("no German for %q", k)
		}
	}
	if len(keys) < 20 {
		t.Fatalf("only %d texts found: the scan is broken", len(keys))
	}
}
