package redirect

import (
	"net/url"
	"testing"
)

func TestSafe(t *testing.T) {
	pub, _ := url.Parse("https://auth.example.com")
	cases := []struct {
		rd   string
		want string
	}{
		{"https://app.example.com/x?y=1", "https://app.example.com/x?y=1"},
		{"https://example.com/", "https://example.com/"},
		{"https://auth.example.com/settings", "https://auth.example.com/settings"},
		{"/settings/security", "https://auth.example.com/settings/security"},
		{"https://evil.com/", ""},
		{"https://example.com.evil.com/", ""},
		{"https://evilexample.com/", ""},
		{"//evil.com/", ""},
		{"/\\evil.com", ""},
		{"http://app.example.com/", ""}, // downgrade
		{"javascript:alert(1)", ""},
		{"https://user:pw@app.example.com/", ""},
		{"https://app.example.com/\n", ""},
		{"data:text/html,hi", ""},
		{"", ""},
		{"https://co.uk/", ""},
	}
	for _, c := range cases {
		got, ok := Safe(pub, c.rd)
		if ok != (c.want != "") || got != c.want {
			t.Errorf("Safe(%q) = %q, %v; want %q", c.rd, got, ok, c.want)
		}
	}
	// Public suffixes: two different sites under the same suffix are not the same site.
	pub2, _ := url.Parse("https://alice.github.io")
	if _, ok := Safe(pub2, "https://bob.github.io/"); ok {
		t.Error("bob.github.io accepted as alice.github.io's site")
	}
	// Localhost and IPs match only exactly.
	loc, _ := url.Parse("http://localhost:8080")
	if got, ok := Safe(loc, "http://localhost:9000/app"); !ok || got != "http://localhost:9000/app" {
		t.Errorf("localhost other port refused: %q", got)
	}
	if _, ok := Safe(loc, "http://127.0.0.1:8080/"); ok {
		t.Error("127.0.0.1 accepted for localhost")
	}
}
