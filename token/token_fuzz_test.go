package token

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// FuzzParse: any string is refused unless it is a token this issuer signed; nothing panics, and
// a refusal is EUnauthorized.
func FuzzParse(f *testing.F) {
	clock := fixedClock{time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	iss, err := NewIssuer("fuzz-secret-0123456789abcdefghijkl", clock)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := iss.Issue(7, "sid", "", clock.t.Add(time.Minute))
	f.Add(good)
	f.Add(good[:len(good)-2])
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiI3In0.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := iss.Parse(tok)
		if err != nil {
			if !gatehouse.IsCode(err, gatehouse.EUnauthorized) {
				t.Fatalf("%q: refused with %v, want unauthorized", tok, err)
			}
			return
		}
		if tok != good {
			// Only a token signed with the key verifies; the fuzzer cannot forge HMAC-SHA256, so
			// any other accepted string is a parser bug (e.g. a second encoding of the same token).
			if _, err := c.UserID(); err != nil {
				t.Fatalf("%q accepted with an unreadable subject", tok)
			}
		}
	})
}
