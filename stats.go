package gatehouse

import (
	"context"
	"time"
)

// HourCount is how many events of one kind fell in one UTC hour (the admin dashboard's charts).
type HourCount struct {
	Hour  time.Time
	Kind  string
	Count int
}

// AddressCount is how many events of a kind came from one client address.
type AddressCount struct {
	IP    string
	Count int
}

// MethodCounts are how many enabled users can sign in each way.
type MethodCounts struct {
	Users    int // enabled, activated users
	Password int // with a password
	TOTP     int // with a confirmed authenticator app
	Passkey  int // with at least one passkey
	External int // with at least one linked external identity
}

// StatsStore answers the aggregate questions of the admin dashboard. Every query is bounded by
// time or by n, and served by an index, so a large audit trail does not make the page slow.
type StatsStore interface {
	// EventsPerHour counts the events of the given kinds at or after since, per UTC hour; hours
	// without events are absent.
	EventsPerHour(ctx context.Context, kinds []string, since time.Time) ([]HourCount, error)
	// TopAddresses returns at most n client addresses with the most events of the given kinds at
	// or after since, most first.
	TopAddresses(ctx context.Context, kinds []string, since time.Time, n int) ([]AddressCount, error)
	// SignInMethods counts the enabled users per way of signing in.
	SignInMethods(ctx context.Context) (MethodCounts, error)
	// CountActiveSessions counts sessions neither revoked nor expired at now.
	CountActiveSessions(ctx context.Context, now time.Time) (int, error)
}
