package gatehouse_test

import (
	"testing"

	"github.com/gatehouse/gatehouse"
)

// The cases issue #15 item 7 names: look-alikes of "alice" normalize to it or share its
// skeleton; distinct names keep distinct skeletons.
func TestUsernameNormalizationAndSkeletons(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"alice", "alice"}, {"  Alice ", "alice"}, {"ａｌｉｃｅ", "alice"}, {"ＡＬＩＣＥ", "alice"}, {"Zoë", "zoë"},
	} {
		got, err := gatehouse.NormalizeUsername(c.in)
		if err != nil || got != c.want {
			t.Errorf("NormalizeUsername(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "a b", "ali\u200bce", "a@b", "-x", "☃"} {
		if _, err := gatehouse.NormalizeUsername(bad); gatehouse.ErrorCode(err) != gatehouse.EInvalid {
			t.Errorf("NormalizeUsername(%q): %v, want invalid_input", bad, err)
		}
	}
	base := gatehouse.UsernameSkeleton("alice")
	for _, look := range []string{"\u0430lice", "al\u0131ce", "alic\u0435", "\u0430dmin"} {
		n, err := gatehouse.NormalizeUsername(look)
		if err != nil {
			t.Fatalf("%q: %v", look, err)
		}
		want := base
		if look == "\u0430dmin" {
			want = gatehouse.UsernameSkeleton("admin")
		}
		if gatehouse.UsernameSkeleton(n) != want {
			t.Errorf("skeleton(%q) = %q, want %q", n, gatehouse.UsernameSkeleton(n), want)
		}
	}
	if gatehouse.UsernameSkeleton("alice") == gatehouse.UsernameSkeleton("alise") || gatehouse.UsernameSkeleton("bob") == gatehouse.UsernameSkeleton("rob") {
		t.Error("distinct names share a skeleton")
	}
}
