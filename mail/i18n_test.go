package mail

import (
	"io/fs"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/i18n"
)

// TestEveryMailTextHasGerman fails for each {{t "..."}} of a built-in mail template without a
// German translation.
func TestEveryMailTextHasGerman(t *testing.T) {
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := templateFS.ReadFile(path)
		if err != nil {
			return err
		}
		tree := parse.New(path)
		tree.Mode = parse.SkipFuncCheck
		trees := map[string]*parse.Tree{}
		if _, err := tree.Parse(string(src), "", "", trees); err != nil {
			return err
		}
		for _, tr := range trees {
			for _, key := range tKeys(tr.Root) {
				n++
				if _, ok := cat.Translation("de", key); !ok {
					t.Errorf("%s: %q has no German translation (i18n/de_mail.go)", path, key)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 30 {
		t.Fatalf("only %d translated texts found in the mail templates", n)
	}
}

// tKeys finds the literal keys of {{t "..."}} actions (the templates use no nested blocks
// inside t calls, only if/range/with around them).
func tKeys(n parse.Node) []string {
	var out []string
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				out = append(out, tKeys(c)...)
			}
		}
	case *parse.ActionNode:
		for _, c := range n.Pipe.Cmds {
			if len(c.Args) >= 2 {
				if id, ok := c.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" {
					if s, ok := c.Args[1].(*parse.StringNode); ok {
						out = append(out, s.Text)
					}
				}
			}
		}
	case *parse.IfNode:
		out = append(tKeys(n.List), tKeys(n.ElseList)...)
	case *parse.RangeNode:
		out = append(tKeys(n.List), tKeys(n.ElseList)...)
	case *parse.WithNode:
		out = append(tKeys(n.List), tKeys(n.ElseList)...)
	}
	return out
}

// TestComposeInLanguage: every kind composes in German with German words and <html lang="de">,
// a language not offered falls back to English, and the duration is translated.
func TestComposeInLanguage(t *testing.T) {
	o := New(Deps{Settings: func() *gatehouse.Settings { return &gatehouse.Settings{SiteName: "Burg"} }})
	for _, kind := range Kinds() {
		m, err := o.Compose(kind, "greta@example.com", Data{Username: "greta", Link: "https://x.example/l?token=t", ExpiresIn: "24 hours", Provider: "Corp", NewEmail: "n@example.com", Language: "de"})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if strings.Contains(m.Text, "Hello") || !strings.Contains(m.Text, "Hallo") || !strings.Contains(m.HTML, `<html lang="de">`) || strings.Contains(m.Text, "%!") || strings.Contains(m.Subject, "%!") {
			t.Errorf("%s is not German:\n%s\n%s", kind, m.Subject, m.Text)
		}
		if strings.Contains(m.Text, "24 hours") {
			t.Errorf("%s: the duration is not translated:\n%s", kind, m.Text)
		}
	}
	m, err := o.Compose(KindTest, "x@example.com", Data{Language: "fr"})
	if err != nil || !strings.HasPrefix(m.Subject, "Test mail from Burg") || !strings.Contains(m.HTML, `<html lang="en">`) {
		t.Fatalf("a language not offered: %v %+v", err, m)
	}
}
