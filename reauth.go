package gatehouse

import "time"

// ReauthWindow is how long after signing in, or after confirming it is them, a session may make
// the changes that EReauthRequired guards (GitHub's "sudo mode", Keycloak's max age).
const ReauthWindow = 10 * time.Minute

// RecentAuthUntil is when the session stops counting as recently authenticated: ReauthWindow after
// the later of its sign-in and its last re-authentication.
func (s *Session) RecentAuthUntil() time.Time {
	t := s.CreatedAt
	if s.ReauthAt != nil && s.ReauthAt.After(t) {
		t = *s.ReauthAt
	}
	return t.Add(ReauthWindow)
}
