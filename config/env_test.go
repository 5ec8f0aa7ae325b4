package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A container configured by environment alone: no file is written (the filesystem may be
// read-only) and nothing is needed on disk.
func TestEnvOnlyNeedsNoFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.toml")
	vars := map[string]string{
		"GATEHOUSE__AUTH__JWT_SECRET":     secretA,
		"GATEHOUSE__AUTH__MFA_SECRET_KEY": secretB,
		"GATEHOUSE__SERVER__LISTEN":       ":9999",
	}
	res, err := Load(path, env(vars), Overrides{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || !res.NoFile {
		t.Fatalf("Created=%v NoFile=%v, want no file written", res.Created, res.NoFile)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a file was written at %s: %v", path, err)
	}
	if res.Config.Server.Listen != ":9999" || res.Config.Auth.JWTSecret != secretA || res.Config.Auth.MFASecretKey != secretB {
		t.Fatalf("config not from the environment: %+v", res.Config.Server)
	}
	// With only one secret in the environment the file is still written with persistent secrets
	// (CONTRACT: a missing file is written), and the environment's secret still wins.
	delete(vars, "GATEHOUSE__AUTH__MFA_SECRET_KEY")
	res, err = Load(path, env(vars), Overrides{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Config.Auth.JWTSecret != secretA {
		t.Fatalf("Created=%v, jwt from env=%v", res.Created, res.Config.Auth.JWTSecret == secretA)
	}
}

func TestSecretFromFileVariable(t *testing.T) {
	dir := t.TempDir()
	jwtFile := filepath.Join(dir, "jwt")
	if err := os.WriteFile(jwtFile, []byte(secretA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mfaFile := filepath.Join(dir, "mfa")
	if err := os.WriteFile(mfaFile, []byte(secretB), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"GATEHOUSE__AUTH__JWT_SECRET_FILE":     jwtFile,
		"GATEHOUSE__AUTH__MFA_SECRET_KEY_FILE": mfaFile,
	}
	res, err := Load(filepath.Join(dir, "none.toml"), env(vars), Overrides{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.Auth.JWTSecret != secretA || res.Config.Auth.MFASecretKey != secretB {
		t.Fatal("secrets not read from the files (or the trailing newline kept)")
	}
	if !res.NoFile {
		t.Fatal("secrets from _FILE variables should need no config file")
	}
	if got := res.Sources["auth.jwt_secret"]; got != "file named by environment variable GATEHOUSE__AUTH__JWT_SECRET_FILE" {
		t.Fatalf("source = %q", got)
	}

	// Both the variable and its _FILE: refused, naming both and no value.
	vars["GATEHOUSE__AUTH__JWT_SECRET"] = "another-secret-0123456789abcdefghijkl"
	msg := loadErr(t, write(t, ""), vars, Overrides{})
	if !strings.Contains(msg, "GATEHOUSE__AUTH__JWT_SECRET and GATEHOUSE__AUTH__JWT_SECRET_FILE") || strings.Contains(msg, "another-secret") {
		t.Fatalf("error = %q", msg)
	}
	delete(vars, "GATEHOUSE__AUTH__JWT_SECRET")

	// A missing file: named, and the value of nothing leaks.
	vars["GATEHOUSE__AUTH__JWT_SECRET_FILE"] = filepath.Join(dir, "missing")
	if msg := loadErr(t, write(t, ""), vars, Overrides{}); !strings.Contains(msg, "GATEHOUSE__AUTH__JWT_SECRET_FILE") || !strings.Contains(msg, "missing") {
		t.Fatalf("error = %q", msg)
	}
	// An empty file is an error, not an empty secret silently replaced by the file's.
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	vars["GATEHOUSE__AUTH__JWT_SECRET_FILE"] = empty
	if msg := loadErr(t, write(t, ""), vars, Overrides{}); !strings.Contains(msg, "is empty") {
		t.Fatalf("error = %q", msg)
	}
}

func TestUnknownEnv(t *testing.T) {
	got := UnknownEnv([]string{
		"GATEHOUSE__SERVER__LISTEN=:1", "GATEHOUSE__SERVER__LISTN=:2", "GATEHOUSE__AUTH__JWT_SECRET_FILE=/x",
		"GATEHOUSE__NOPE_FILE=/y", "GATEHOUSE_LOG_LEVEL=debug", "PATH=/bin",
	})
	if strings.Join(got, ",") != "GATEHOUSE__NOPE_FILE,GATEHOUSE__SERVER__LISTN" {
		t.Fatalf("UnknownEnv = %v", got)
	}
}

func TestSettingsMaskSecrets(t *testing.T) {
	vars := map[string]string{
		"GATEHOUSE__DATABASE__DRIVER": "postgres",
		"GATEHOUSE__DATABASE__DSN":    "postgres://gh:hunter2-pw@db:5432/gh?sslmode=require&password=qq-pw",
		"GATEHOUSE__REDIS__URL":       "redis://:redis-pw@cache:6379/0",
	}
	res := mustLoad(t, write(t, ""), vars, Overrides{})
	var all strings.Builder
	for _, s := range res.Config.Settings(res.Sources) {
		all.WriteString(s.Key + " = " + s.Value + " (" + s.Source + ")\n")
	}
	out := all.String()
	for _, secret := range []string{secretA, secretB, "hunter2-pw", "qq-pw", "redis-pw"} {
		if strings.Contains(out, secret) {
			t.Fatalf("a secret is shown:\n%s", out)
		}
	}
	for _, want := range []string{"db:5432", "auth.jwt_secret = (set, ", "(environment variable GATEHOUSE__DATABASE__DSN)", "server.listen = \"127.0.0.1:8080\" (default)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in:\n%s", want, out)
		}
	}
}
