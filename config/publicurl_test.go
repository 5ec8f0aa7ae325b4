package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A mistyped --config must not write new secrets beside a database made with other ones.
func TestMissingConfigBesideExistingDatabaseIsRefused(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "data", "gatehouse.db")
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, []byte("SQLite format 3\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	typo := filepath.Join(dir, "gatehuose.toml")
	_, err := Load(typo, env(map[string]string{"GATEHOUSE__DATABASE__DSN": db}), Overrides{}, true)
	if err == nil {
		t.Fatal("a new configuration was created beside an existing database")
	}
	for _, want := range []string{typo, db, "mfa_secret_key", "--config"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if _, err := os.Stat(typo); !os.IsNotExist(err) {
		t.Fatalf("the mistyped file was written anyway: %v", err)
	}
	// Without a database there, the first start still writes the file.
	fresh := filepath.Join(t.TempDir(), "gatehouse.toml")
	res, err := Load(fresh, env(map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(t.TempDir(), "new.db")}), Overrides{}, true)
	if err != nil || !res.Created {
		t.Fatalf("first start: created=%v err=%v", res != nil && res.Created, err)
	}
}

func TestDefaultPublicURLFollowsTheListenAddress(t *testing.T) {
	generated := write(t, "[server]\npublic_url = \""+DefaultPublicURL+"\"\n")
	cases := []struct {
		name   string
		path   string
		vars   map[string]string
		o      Overrides
		want   string
		warned bool
	}{
		{"only the port changed", generated, nil, Overrides{Listen: ptr("127.0.0.1:18101")}, "http://localhost:18101", false},
		{"all interfaces", generated, nil, Overrides{Listen: ptr("0.0.0.0:9000")}, "http://localhost:9000", false},
		{"a LAN address", generated, nil, Overrides{Listen: ptr("192.0.2.7:9000")}, "http://192.0.2.7:9000", false},
		{"no public_url in the file", write(t, ""), nil, Overrides{Listen: ptr("127.0.0.1:18102")}, "http://localhost:18102", false},
		{"the flag wins", generated, nil, Overrides{Listen: ptr("127.0.0.1:18101"), PublicURL: ptr("https://auth.example.com")}, "https://auth.example.com", false},
		{"the environment wins, and disagrees", generated, map[string]string{"GATEHOUSE__SERVER__PUBLIC_URL": "http://localhost:8080"},
			Overrides{Listen: ptr("127.0.0.1:18101")}, "http://localhost:8080", true},
		{"an operator's local URL on another port", write(t, "[server]\npublic_url = \"http://localhost:3000\"\nlisten = \"127.0.0.1:4000\"\n"), nil,
			Overrides{}, "http://localhost:3000", true},
		{"behind a proxy", write(t, "[server]\npublic_url = \"https://auth.example.com\"\nlisten = \"127.0.0.1:4000\"\n"), nil,
			Overrides{}, "https://auth.example.com", false},
		{"default everything", generated, nil, Overrides{}, DefaultPublicURL, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := mustLoad(t, c.path, c.vars, c.o)
			if got := res.Config.PublicURL.String(); got != c.want {
				t.Fatalf("public_url %q, want %q", got, c.want)
			}
			mismatch := res.Config.PublicURLMismatch()
			warned := false
			for _, w := range res.Warnings {
				warned = warned || (mismatch != "" && w == mismatch)
			}
			if warned != c.warned || (mismatch != "") != c.warned {
				t.Fatalf("mismatch warning %v (%q), want %v", warned, mismatch, c.warned)
			}
		})
	}
}
