package http

import (
	"net/http"
	"testing"
)

// The request check reads the session cookie with its own scanner; whatever a client sends, it
// must find exactly what net/http's r.Cookie finds, or a malformed header could reach a session
// net/http would not have given it.
func TestSessionCookieMatchesNetHTTP(t *testing.T) {
	for _, lines := range [][]string{
		nil,
		{""},
		{"gatehouse_session=abc"},
		{"a=1; gatehouse_session=abc; b=2"},
		{"a=1;gatehouse_session=abc"},
		{"  gatehouse_session=abc  "},
		{`gatehouse_session="abc"`},
		{`gatehouse_session="abc`},
		{"gatehouse_session=a b"},
		{"gatehouse_session=a,b"},
		{"gatehouse_session=a\\b; gatehouse_session=good"},
		{"gatehouse_session=a\"b"},
		{"gatehouse_session=\x7fbad; gatehouse_session=second"},
		{"gatehouse_session="},
		{"gatehouse_session"},
		{"Gatehouse_session=abc"},
		{"x=1", "gatehouse_session=second-line"},
		{"gatehouse_session=first", "gatehouse_session=second"},
		{"gatehouse_session=a=b=c"},
		{"gatehouse_session_x=1; gatehouse_session=y"},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		for _, l := range lines {
			r.Header.Add("Cookie", l)
		}
		var want string
		c, err := r.Cookie(CookieName)
		if err == nil {
			want = c.Value
		}
		got, ok := sessionCookie(r)
		if ok != (err == nil) || got != want {
			t.Errorf("Cookie %q: got %q (found %v), net/http %q (err %v)", lines, got, ok, want, err)
		}
	}
}

func TestSessionCookieAllocatesNothing(t *testing.T) {
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "theme=dark; gatehouse_session=abcdef; lang=en")
	if n := testing.AllocsPerRun(100, func() { _, _ = sessionCookie(r) }); n != 0 {
		t.Errorf("sessionCookie allocates %v times per call, want 0", n)
	}
}
