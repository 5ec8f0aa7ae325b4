package redirect

import (
	"net/url"
	"testing"
)

// FuzzSafe: whatever rd is, an accepted target is an absolute URL on the public URL's site, with
// no credentials, no scheme downgrade, and accepting it again gives the same answer.
func FuzzSafe(f *testing.F) {
	for _, s := range []string{"/", "/app?x=1", "https://app.example.com/", "//evil.com", "https://evil.com", "/\\evil.com",
		"https://user@app.example.com", "http://app.example.com", "javascript:alert(1)", "https://example.com.evil.com/", "%2F%2Fevil.com", "\t//evil.com"} {
		f.Add(s)
	}
	public, _ := url.Parse("https://auth.example.com")
	f.Fuzz(func(t *testing.T, rd string) {
		out, ok := Safe(public, rd)
		if !ok {
			if out != "" {
				t.Fatalf("%q refused but returned %q", rd, out)
			}
			return
		}
		u, err := url.Parse(out)
		if err != nil {
			t.Fatalf("%q accepted as %q, which does not parse: %v", rd, out, err)
		}
		if u.Scheme != "https" || u.User != nil || !SameSite("auth.example.com", u.Hostname()) {
			t.Fatalf("%q accepted as %q: off-site, downgraded or with credentials", rd, out)
		}
		if again, ok := Safe(public, out); !ok || again != out {
			t.Fatalf("%q accepted as %q, but that is then %q (%v)", rd, out, again, ok)
		}
	})
}
