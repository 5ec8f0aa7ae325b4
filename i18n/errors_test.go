package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// errorDirs hold the messages (gatehouse.Errorf, gatehouse.FieldError, gatehouse.Error
// literals) that pages show: the domain checks, the use cases, the stores, mail and pages.
var errorDirs = []string{"..", "../auth", "../password", "../mail", "../web", "../internal/sqlstore"}

// errorKeys reads the English messages from the source.
func errorKeys(t *testing.T) map[string]string {
	t.Helper()
	keys := map[string]string{}
	letters := regexp.MustCompile(`[A-Za-z]`)
	for _, dir := range errorDirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			fs := token.NewFileSet()
			af, err := parser.ParseFile(fs, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			add := func(e ast.Expr) {
				bl, ok := e.(*ast.BasicLit)
				if !ok || bl.Kind != token.STRING {
					return
				}
				s, err := strconv.Unquote(bl.Value)
				// "%s" alone is a message passed through, not a text.
				if err == nil && letters.MatchString(verbRE.ReplaceAllString(s, "")) {
					keys[s] = fs.Position(bl.Pos()).String()
				}
			}
			ast.Inspect(af, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					switch fn := n.Fun.(type) {
					case *ast.SelectorExpr:
						if id, ok := fn.X.(*ast.Ident); ok && id.Name == "fmt" {
							return true
						}
						if (fn.Sel.Name == "Errorf" || fn.Sel.Name == "FieldError") && len(n.Args) > 1 {
							add(n.Args[1])
						}
					case *ast.Ident:
						if (fn.Name == "Errorf" || fn.Name == "FieldError") && len(n.Args) > 1 {
							add(n.Args[1])
						}
					}
				case *ast.KeyValueExpr:
					if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Message" {
						add(n.Value)
					}
				}
				return true
			})
		}
	}
	return keys
}

// TestEveryErrorHasGerman fails for each error message of the domain, the use cases, the
// stores and the pages that has no German translation.
func TestEveryErrorHasGerman(t *testing.T) {
	keys := errorKeys(t)
	if len(keys) < 100 {
		t.Fatalf("only %d messages found: is the source layout different?", len(keys))
	}
	de := German()
	for k, where := range keys {
		if _, ok := de[k]; !ok {
			t.Errorf("%s: %q has no German translation (i18n/de_errors.go)", where, k)
		}
	}
}

// TestLocalizeErrors: finished messages, as pages show them, come back in German.
func TestLocalizeErrors(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	de := c.Printer("de")
	for in, want := range map[string]string{
		"password must be at least 12 characters":      "das Passwort muss mindestens 12 Zeichen haben",
		"Password must be at least 12 characters.":     "Das Passwort muss mindestens 12 Zeichen haben.",
		"cannot disable the last active administrator": "der letzte aktive Administrator kann nicht deaktiviert werden",
		"the subject must not be empty":                "der Betreff darf nicht leer sein",
		"there is no mail template \"nope\"":           "es gibt keine E-Mail-Vorlage \"nope\"",
		"username is already taken":                    "dieser Benutzername ist bereits vergeben",
	} {
		if got := de.Localize(in); got != want {
			t.Errorf("Localize(%q) = %q, want %q", in, got, want)
		}
	}
}
