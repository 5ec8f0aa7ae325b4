// Package i18n is gatehouse's message catalog: every page and mail string is an English source
// text used as the key (golang.org/x/text/message), with a German translation beside it. The
// Catalog is built once at start (New) and handed to the pages and the outbox. Nothing here is
// global and a Catalog is never changed after New, so several servers in one process may share
// one (the test servers do) or each build their own.
package i18n

import (
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// CookieName is the browser's choice of language, set by the switch on every page and by the
// preference saved on the account page. It holds a code from Codes ("en", "de").
const CookieName = "gatehouse_lang"

// Default is the language when nothing else matches.
const Default = "en"

// Catalog holds the messages of every supported language and the matcher that picks one.
type Catalog struct {
	builder *catalog.Builder
	matcher language.Matcher
	tags    []language.Tag // supported, Default first
	codes   []string
	// tables are the translations by language code; English is the key itself.
	tables map[string]map[string]string
	// printers are built once per language: a Printer is safe for concurrent use.
	printers map[string]*Printer
}

// New builds the catalog. It fails when a translation does not keep its source's formatting
// verbs (a German text that drops a %s would print "%!(EXTRA ...)").
func New() (*Catalog, error) {
	c := &Catalog{
		builder:  catalog.NewBuilder(catalog.Fallback(language.English)),
		tags:     []language.Tag{language.English, language.German},
		codes:    []string{"en", "de"},
		tables:   map[string]map[string]string{"de": German()},
		printers: map[string]*Printer{},
	}
	c.matcher = language.NewMatcher(c.tags)
	for code, table := range c.tables {
		tag := language.MustParse(code)
		for key, text := range table {
			if verbs(key) != verbs(text) {
				return nil, fmt.Errorf("i18n: the %s text of %q has verbs %q, the source %q", code, key, verbs(text), verbs(key))
			}
			if err := c.builder.SetString(tag, key, text); err != nil {
				return nil, fmt.Errorf("i18n: %s %q: %w", code, key, err)
			}
		}
	}
	for i, code := range c.codes {
		c.printers[code] = &Printer{code: code, table: c.tables[code], patterns: compilePatterns(c.tables[code]), p: message.NewPrinter(c.tags[i], message.Catalog(c.builder))}
	}
	return c, nil
}

// verbs lists the formatting verbs of s in order (%% excluded), to compare a translation with
// its source.
func verbs(s string) string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 >= len(s) {
			continue
		}
		j := i + 1
		for j < len(s) && strings.IndexByte("+-# 0123456789.[]", s[j]) >= 0 {
			j++
		}
		if j < len(s) && s[j] != '%' {
			out = append(out, s[i:j+1])
		}
		i = j
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// Codes lists the supported languages, English first.
func (c *Catalog) Codes() []string { return append([]string(nil), c.codes...) }

// Supported reports whether code is one of Codes.
func (c *Catalog) Supported(code string) bool {
	_, ok := c.printers[code]
	return ok
}

// Translation returns the text of key in language code and whether there is one. English has
// every key (the key is the English text).
func (c *Catalog) Translation(code, key string) (string, bool) {
	if code == Default {
		return key, true
	}
	t, ok := c.tables[code][key]
	return t, ok
}

// Match picks the language from an Accept-Language header; "" or nothing supported gives
// Default. Weights are honoured ("en;q=0.5, de" is German).
func (c *Catalog) Match(acceptLanguage string) string {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Default
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return Default
	}
	return c.codes[i]
}

// ForRequest is the language of a page request: the gatehouse_lang cookie when it names a
// supported language, else the Accept-Language header, else English. explicit reports whether
// the cookie decided (a stored account preference then does not override it).
func (c *Catalog) ForRequest(r *http.Request) (code string, explicit bool) {
	if ck, err := r.Cookie(CookieName); err == nil && c.Supported(ck.Value) {
		return ck.Value, true
	}
	return c.Match(r.Header.Get("Accept-Language")), false
}

// Printer returns the printer of code, or English's when code is not supported.
func (c *Catalog) Printer(code string) *Printer {
	if p, ok := c.printers[code]; ok {
		return p
	}
	return c.printers[Default]
}

// Printer translates into one language.
type Printer struct {
	code  string
	p     *message.Printer
	table map[string]string
	// patterns read formatted keys back from finished sentences (Localize).
	patterns []pattern
}

// Code is the printer's language ("en", "de"), as used in <html lang>.
func (p *Printer) Code() string { return p.code }

// T translates key and formats it with args, like fmt.Sprintf. A key with no translation is
// printed as it is (English).
func (p *Printer) T(key string, args ...any) string {
	if len(args) == 0 {
		// Without arguments the text is not a format: a stray % in dynamic text stays as it is.
		if t, ok := p.table[key]; ok {
			return t
		}
		return key
	}
	for i, a := range args {
		// Templates print what a pointer points to ({{$id}} of an *int64 is "3"); so does T.
		if v := reflect.ValueOf(a); v.Kind() == reflect.Pointer && !v.IsNil() {
			args[i] = v.Elem().Interface()
		}
	}
	return p.p.Sprintf(key, args...)
}
