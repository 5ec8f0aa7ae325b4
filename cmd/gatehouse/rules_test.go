package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesExportImport(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gatehouse.toml")
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db"), "GATEHOUSE__AUTH__JWT_SECRET": "0123456789abcdef0123456789abcdef"}
	ctx := context.Background()
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"users", "bootstrap-admin", "--config", cfg, "--email", "root@example.com", "--password-stdin"}, env(vars), strings.NewReader("s3cure password\n"), &out, &errb); err != nil {
		t.Fatalf("bootstrap: %v %s", err, errb.String())
	}
	rulesPath := filepath.Join(dir, "rules.toml")
	write := func(text string) {
		if err := os.WriteFile(rulesPath, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	imp := func() error {
		out.Reset()
		return run(ctx, []string{"rules", "import", rulesPath, "--config", cfg}, env(vars), strings.NewReader(""), &out, &errb)
	}
	write(`[[rules]]
domains = ["WWW.Example.com"]
policy = "bypass"

[[rules]]
domains = ["*.example.com"]
paths = ["^/admin(/.*)?$"]
methods = ["post"]
networks = ["10.1.2.3/8"]
subjects = ["user:Root"]
policy = "two_factor"
name = "Admin area"
url = "https://admin.example.com/admin/"
`)
	if err := imp(); err != nil || !strings.Contains(out.String(), "2 access rules saved") {
		t.Fatalf("import: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"rules", "export", "--config", cfg}, env(vars), strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("export: %v", err)
	}
	exported := out.String()
	for _, want := range []string{`domains = ['www.example.com']`, `policy = 'bypass'`, `methods = ['POST']`, `networks = ['10.0.0.0/8']`, `subjects = ['user:root']`, `paths = ['^/admin(/.*)?$']`,
		`name = 'Admin area'`, `url = 'https://admin.example.com/admin/'`} {
		if !strings.Contains(exported, want) {
			t.Fatalf("export lacks %s:\n%s", want, exported)
		}
	}
	// What was exported imports again unchanged.
	write(exported)
	if err := imp(); err != nil {
		t.Fatalf("re-import of the export: %v", err)
	}

	// Bad files: one clear sentence naming the problem, nothing saved.
	for text, want := range map[string]string{
		"[[rules]]\npaths = [\"^/admin([\"]\npolicy = \"deny\"\n":                              `rule 1: path "^/admin([" is not a valid regular expression`,
		"[[rules]]\nsubjects = [\"group:ghosts\"]\npolicy = \"deny\"\n":                        `rule 1: unknown group "ghosts"`,
		"[[rules]]\ndomain = [\"x.example.com\"]\npolicy = \"deny\"\n":                         "domain",
		"[[rules]]\npolicy = deny\n":                                                           "line 2",
		"[[rules]]\nnetworks = [\"10.0.0.0/33\"]\npolicy = \"deny\"\n":                         `rule 1: network "10.0.0.0/33"`,
		"[[rules]]\nname = \"Wiki\"\nurl = \"javascript:alert(1)\"\npolicy = \"one_factor\"\n": "rule 1: the launch URL must be an http:// or https:// address",
	} {
		write(text)
		err := imp()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("import of %q: %v, want an error saying %q", text, err, want)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"rules", "export", "--config", cfg}, env(vars), strings.NewReader(""), &out, &errb); err != nil || out.String() != exported {
		t.Fatalf("a refused import changed the rules:\n%s", out.String())
	}
	if err := run(ctx, []string{"rules", "import", "--config", cfg}, env(vars), strings.NewReader(""), &out, &errb); err == nil || exitCode(err) != 2 {
		t.Fatalf("import without a file: %v", err)
	}
}
