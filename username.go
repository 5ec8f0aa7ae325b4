package gatehouse

import (
	"strings"

	"github.com/mtibben/confusables"
	"golang.org/x/text/secure/precis"
)

// NormalizeUsername prepares a username the way it is stored and compared: trimmed, then the
// PRECIS UsernameCaseMapped profile (RFC 8265: fullwidth forms to their ASCII letters, case
// folded, NFC), then ValidateUsername. So "ＡＬＩＣＥ" becomes "alice", and a name the profile
// refuses (spaces, symbols, unassigned code points) is refused with a field error.
func NormalizeUsername(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", FieldError("username", "username is required")
	}
	n, err := precis.UsernameCaseMapped.String(s)
	if err != nil {
		return "", FieldError("username", "username contains characters that are not allowed in usernames (letters, digits, '.', '_' and '-' only)")
	}
	if err := ValidateUsername(n); err != nil {
		return "", err
	}
	return n, nil
}

// NormalizeSignInLogin prepares what someone typed to sign in: trimmed and lower case, like
// NormalizeLogin, then through the PRECIS profile usernames are stored under when the profile
// takes it, so "ＡＬＩＣＥ" typed on a fullwidth keyboard (or "alice＠example.com") finds the
// account registered as alice. What the profile refuses is looked up as typed, and simply
// matches nothing.
func NormalizeSignInLogin(s string) string {
	s = NormalizeLogin(s)
	if n, err := precis.UsernameCaseMapped.String(s); err == nil {
		return n
	}
	return s
}

// UsernameSkeleton is the Unicode TR39 confusable skeleton of a normalized username: two names
// with the same skeleton look alike ("alice", Cyrillic "аlice", "alıce"), and only one of them
// may exist. The stores keep it in a unique column.
func UsernameSkeleton(name string) string {
	return strings.ToLower(confusables.Skeleton(name))
}

// ErrConfusable is the error for a username whose skeleton is taken.
func ErrConfusable() *Error {
	return &Error{Code: EConfusable, Field: "username", Message: "this username looks like an existing username (letters from another script or look-alike characters); choose another"}
}
