package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/gatehouse/gatehouse/i18n"
)

// templateKeys are the literal keys of every {{t "..."}} in the page templates.
func templateKeys(t *testing.T) map[string]string {
	t.Helper()
	keys := map[string]string{}
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := templateFS.ReadFile(path)
		if err != nil {
			return err
		}
		trees := map[string]*parse.Tree{}
		tree := parse.New(path)
		// Without a function check: the key walk needs only the tree.
		tree.Mode = parse.SkipFuncCheck
		if _, err := tree.Parse(string(src), "", "", trees); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, tr := range trees {
			walkT(tr.Root, func(k string) { keys[k] = path })
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func walkT(n parse.Node, found func(string)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkT(c, found)
		}
	case *parse.ActionNode:
		walkT(n.Pipe, found)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkT(c, found)
		}
	case *parse.CommandNode:
		if len(n.Args) >= 2 {
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" {
				if s, ok := n.Args[1].(*parse.StringNode); ok {
					found(s.Text)
				}
			}
		}
		for _, a := range n.Args {
			walkT(a, found)
		}
	case *parse.IfNode:
		walkT(n.Pipe, found)
		walkT(n.List, found)
		walkT(n.ElseList, found)
	case *parse.RangeNode:
		walkT(n.Pipe, found)
		walkT(n.List, found)
		walkT(n.ElseList, found)
	case *parse.WithNode:
		walkT(n.Pipe, found)
		walkT(n.List, found)
		walkT(n.ElseList, found)
	case *parse.TemplateNode:
		walkT(n.Pipe, found)
	}
}

// goKeys are the English texts the page handlers put on pages: view titles, notices and
// errors, errorPage messages and p.tr keys, read from web/*.go.
func goKeys(t *testing.T) map[string]string {
	t.Helper()
	keys := map[string]string{}
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		consts := map[string]string{}
		ast.Inspect(af, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := literal(vs.Values[i], nil); ok {
							consts[name.Name] = s
						}
					}
				}
			}
			return true
		})
		add := func(e ast.Expr) {
			if s, ok := literal(e, consts); ok && strings.ContainsFunc(s, func(r rune) bool { return r >= 'A' && r <= 'z' }) {
				keys[s] = fset.Position(e.Pos()).String()
			}
		}
		// The notices shown after a redirect (?done=...) are maps named *Notices.
		ast.Inspect(af, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && strings.HasSuffix(strings.ToLower(vs.Names[0].Name), "notices") && len(vs.Values) == 1 {
				if cl, ok := vs.Values[0].(*ast.CompositeLit); ok {
					for _, e := range cl.Elts {
						if kv, ok := e.(*ast.KeyValueExpr); ok {
							add(kv.Value)
						}
					}
				}
			}
			return true
		})
		ast.Inspect(af, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && (id.Name == "Title" || id.Name == "Notice" || id.Name == "Error") {
					add(n.Value)
				}
			case *ast.AssignStmt:
				for i, l := range n.Lhs {
					if i >= len(n.Rhs) {
						break
					}
					switch l := l.(type) {
					case *ast.SelectorExpr:
						if l.Sel.Name == "Title" || l.Sel.Name == "Notice" || l.Sel.Name == "Error" {
							add(n.Rhs[i])
						}
					case *ast.IndexExpr:
						if sel, ok := l.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Errors" {
							add(n.Rhs[i])
						}
					}
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					switch sel.Sel.Name {
					case "errorPage":
						add(n.Args[len(n.Args)-1])
					case "tr":
						add(n.Args[1])
					case "FieldError", "Errorf":
						if len(n.Args) > 1 {
							add(n.Args[1])
						}
					}
				}
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "flowView" {
					add(n.Args[0])
				}
			}
			return true
		})
	}
	return keys
}

func literal(e ast.Expr, consts map[string]string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		}
	case *ast.Ident:
		s, ok := consts[e.Name]
		return s, ok
	}
	return "", false
}

// TestEveryPageTextHasGerman fails for each text of a template or a page handler that has no
// German translation: a page added or changed without one cannot land.
func TestEveryPageTextHasGerman(t *testing.T) {
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, set := range []map[string]string{templateKeys(t), goKeys(t)} {
		for k, where := range set {
			if _, ok := cat.Translation("de", k); !ok {
				missing = append(missing, where+": "+strconv.Quote(k))
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d texts have no German translation (add them to i18n/de_*.go):\n%s", len(missing), strings.Join(missing, "\n"))
	}
}
