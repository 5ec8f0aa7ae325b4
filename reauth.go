package gatehouse

import "time"

// EReauthRequired (403) refuses a change that turns a session into lasting access (adding a
// passkey, setting up an authenticator, linking an external identity, deleting a passkey) when the
// session has not authenticated recently: a stolen cookie or an unlocked device alone must not
// be enough. The client asks the user to confirm it is them (POST /api/account/reauth) and tries
// again.
const EReauthRequired = "reauthentication_required"

// ReauthWindow is how long after signing in, or after confirming it is them, a session may make
// such changes (GitHub's "sudo mode", Keycloak's max age).
const ReauthWindow = 10 * time.Minute

// Events of re-authentication: a confirmed password or code, and a refused one (login.failed
// with data.during "reauth" is recorded too, so failed guesses show next to failed sign-ins).
const (
	EventReauthenticated = "session.reauthenticated"
)

// RecentAuthUntil is when the session stops counting as recently authenticated: ReauthWindow after
// the later of its sign-in and its last re-authentication.
func (s *Session) RecentAuthUntil() time.Time {
	t := s.CreatedAt
	if s.ReauthAt != nil && s.ReauthAt.After(t) {
		t = *s.ReauthAt
	}
	return t.Add(ReauthWindow)
}
