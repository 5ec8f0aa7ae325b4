package i18n

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Messages from package auth and the stores (gatehouse.Error) are English sentences built
// with fmt.Sprintf long before a page decides its language, and pages adjust them further
// (a capital first letter, a final full stop). Localize translates such a finished sentence:
// an exact key first, then the formatted keys, read back as patterns ("the %s must not be
// empty" matches "the subject must not be empty" and gives "subject" as its argument).

// pattern is a formatted key compiled to read its arguments back.
type pattern struct {
	key string
	re  *regexp.Regexp
}

var verbRE = regexp.MustCompile(`%[-+# 0-9.\[\]]*[a-zA-Z]`)

func compilePatterns(table map[string]string) []pattern {
	var out []pattern
	for key := range table {
		if !strings.Contains(key, "%") {
			continue
		}
		parts := verbRE.Split(strings.ReplaceAll(key, "%%", "\x00"), -1)
		var b strings.Builder
		b.WriteString("^")
		for i, part := range parts {
			if i > 0 {
				b.WriteString("(.+?)")
			}
			b.WriteString(regexp.QuoteMeta(strings.ReplaceAll(part, "\x00", "%")))
		}
		b.WriteString("$")
		re, err := regexp.Compile(b.String())
		if err != nil {
			continue
		}
		out = append(out, pattern{key: key, re: re})
	}
	// The longest keys first: the most specific pattern wins over "%s: %s".
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].key) != len(out[j].key) {
			return len(out[i].key) > len(out[j].key)
		}
		return out[i].key < out[j].key
	})
	return out
}

// Localize translates a finished English sentence (see above). Text the catalog does not know
// is returned as it is.
func (p *Printer) Localize(s string) string {
	if p.table == nil || s == "" {
		return s
	}
	if t, ok := p.table[s]; ok {
		return t
	}
	// The page may have capitalised the first letter and added a full stop.
	core, dot := strings.CutSuffix(s, ".")
	cands := []candidate{{s, false}, {lowerFirst(s), false}, {core, dot}, {lowerFirst(core), dot}}
	for _, c := range cands {
		if t, ok := p.table[c.text]; ok {
			return c.finish(t, s)
		}
	}
	// Patterns outside, candidates inside: the most specific pattern wins whichever form of the
	// sentence it matches. The other way round, a short key such as "%v of %v" matched the
	// sentence with its added full stop before a long key could match it without.
	for _, pt := range p.patterns {
		for _, c := range cands {
			if m := pt.re.FindStringSubmatch(c.text); m != nil {
				return c.finish(p.format(pt, m), s)
			}
		}
	}
	return s
}

// candidate is one form of a sentence to look up: as it is, lower-cased first, without the
// page's full stop (needDot: add it back).
type candidate struct {
	text    string
	needDot bool
}

func (c candidate) finish(t, s string) string {
	if c.needDot && !strings.HasSuffix(t, ".") {
		t += "."
	}
	if isUpperFirst(s) {
		t = upperFirst(t)
	}
	return t
}

// format prints the translation of pt with the arguments m read back from the sentence.
func (p *Printer) format(pt pattern, m []string) string {
	// The arguments are text now (user input, names, numbers: never translated), so every
	// verb of the translation prints them as they are.
	args := make([]any, len(m)-1)
	for i, a := range m[1:] {
		args[i] = a
	}
	format := verbRE.ReplaceAllStringFunc(p.table[pt.key], func(v string) string {
		if strings.HasPrefix(v, "%[") {
			return v[:strings.IndexByte(v, ']')+1] + "s"
		}
		return "%s"
	})
	return fmt.Sprintf(format, args...)
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func isUpperFirst(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsUpper(r)
}
