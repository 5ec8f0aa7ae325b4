package gatehouse_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is the longest a production function may be (STYLE.md): past it, split the
// function into named steps.
const maxFuncLines = 80

// testSupport are the directories of code that only tests and the load harness run: the store
// conformance suite, test servers and fakes, benchmarks. The limit is for the product.
var testSupport = []string{"storetest", "bench", "e2e", "internal/testserver", "internal/testdb",
	"internal/accesstest", "internal/faultnet", "internal/geotest", "internal/hydratest",
	"internal/oidctest", "internal/smtptest", "internal/webauthntest"}

// TestNoLongProductionFunction keeps every production function (methods and function literals
// counted with the function that holds them) within maxFuncLines lines, from "func" to its
// closing brace.
func TestNoLongProductionFunction(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			for _, dir := range testSupport {
				if filepath.ToSlash(path) == dir {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			start, end := fset.Position(fd.Pos()), fset.Position(fd.End())
			if n := end.Line - start.Line + 1; n > maxFuncLines {
				t.Errorf("%s:%d: %s is %d lines long (at most %d): split it into named steps", path, start.Line, fd.Name.Name, n, maxFuncLines)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
