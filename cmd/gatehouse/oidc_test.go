package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func jwksKeys(t *testing.T, base string) int {
	t.Helper()
	r, err := http.Get(base + "/oauth2/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(r.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return len(set.Keys)
}

// `gatehouse oidc rotate-keys` publishes new keys to the running server (it re-reads the key
// table within a minute; a restart shows them at once) and refuses bad input with exit code 2.
func TestOIDCRotateKeysCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gatehouse.toml")
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db")}
	base, _, stop := startServe(t, dir, vars)
	if n := jwksKeys(t, base); n != 2 {
		t.Fatalf("%d keys at first start, want 2", n)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"oidc", "rotate-keys", "--config", cfg, "--publish", "10m"}, env(vars), strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("rotate-keys: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "published") {
		t.Fatalf("output %q", out.String())
	}
	base, _, _ = startServe(t, dir, vars)
	if n := jwksKeys(t, base); n != 4 {
		t.Fatalf("%d keys after rotation, want 4", n)
	}
	err := run(context.Background(), []string{"oidc", "rotate-keys", "--config", cfg, "--publish", "-1h"}, env(vars), strings.NewReader(""), &out, &errb)
	if exitCode(err) != 2 {
		t.Fatalf("bad --publish: %v", err)
	}
	if err := run(context.Background(), []string{"oidc", "rotate-keys", "--config", filepath.Join(dir, "missing.toml")}, env(vars), strings.NewReader(""), &out, &errb); err == nil {
		t.Fatal("rotate-keys made up a configuration")
	}
}
