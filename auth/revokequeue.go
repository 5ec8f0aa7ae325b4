package auth

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
)

// A revocation the store could not write is never reported as done. The session is refused on
// this instance at once (the in-memory set), the revocation waits in revokeQueue, and the Run
// loop writes it when the store takes writes again; from there the change feed carries it to the
// other instances. The queue lives in memory: a restart while the store is still failing loses
// it (docs/session-policy.md says so), which is why the answer says "not yet everywhere".

// revokeRetryInterval is how often Run retries queued revocations.
const revokeRetryInterval = 5 * time.Second

// pendingRevocation is one session (sid set), or every session of a user but except (sid empty,
// when even listing them failed).
type pendingRevocation struct {
	sid, except, reason string
	userID              int64
	meta                ClientMeta
	extra               map[string]any
}

type revokeQueue struct {
	mu    sync.Mutex
	items map[string]pendingRevocation // by sid, or "user:<id>"
}

func newRevokeQueue() *revokeQueue { return &revokeQueue{items: map[string]pendingRevocation{}} }

func (q *revokeQueue) key(p pendingRevocation) string {
	if p.sid != "" {
		return p.sid
	}
	return "user:" + strconv.FormatInt(p.userID, 10)
}

func (q *revokeQueue) add(p pendingRevocation) {
	q.mu.Lock()
	q.items[q.key(p)] = p
	q.mu.Unlock()
}

func (q *revokeQueue) take() []pendingRevocation {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]pendingRevocation, 0, len(q.items))
	for _, p := range q.items {
		out = append(out, p)
	}
	clear(q.items)
	return out
}

// Len is how many revocations wait for the store.
func (q *revokeQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// PendingRevocations reports how many revocations wait for the store (metrics, tests).
func (b *Background) PendingRevocations() int { return b.c.pending.Len() }

// errRevocationPending is the truthful answer when the store did not take a revocation.
func errRevocationPending() error {
	return gatehouse.Errorf(gatehouse.EStoreUnavailable, "the database is not accepting changes: this device is signed out here, and the sign-out will reach other devices and servers when the database is back")
}

// RetryRevocations writes queued revocations; those that fail again stay queued. It logs once
// per round, not per revocation, so an outage does not flood the log.
func (b *Background) RetryRevocations(ctx context.Context) {
	s := b.c
	items := s.pending.take()
	if len(items) == 0 {
		return
	}
	for _, p := range items {
		if p.sid != "" {
			_, _ = s.revoke(ctx, p, true)
		} else {
			_, _ = s.endUserSessions(ctx, p, true)
		}
	}
	if n := s.pending.Len(); n > 0 {
		s.log.Warn("revocations still waiting for the database", "count", n)
	} else {
		s.log.Info("queued revocations written", "count", len(items))
	}
}
