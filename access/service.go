package access

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Store is what the access service needs of the database.
type Store interface {
	gatehouse.GroupStore
	gatehouse.AccessRuleStore
	UserByID(ctx context.Context, id int64) (*gatehouse.User, error)
	UserByLogin(ctx context.Context, login string) (*gatehouse.User, error)
	AddEvent(ctx context.Context, e *gatehouse.Event) error
}

// Limiter is a token bucket keyed by string (package ratelimit); it keeps access.denied events
// from flooding the audit trail.
type Limiter interface {
	Allow(ctx context.Context, key string, burst int, every time.Duration) (bool, time.Duration, error)
}

// Deps are what a Service needs.
type Deps struct {
	Store   Store
	Limiter Limiter
	Clock   gatehouse.Clock
	Logger  *slog.Logger
	// Settings returns the current runtime settings (access_default_policy).
	Settings func() *gatehouse.Settings
}

// Actor is who performs an admin action, and from where, for the permission check and events.
type Actor struct {
	UserID    int64
	Admin     bool
	SessionID string
	IP        string
	UserAgent string
}

// Service keeps groups and access rules and answers, for the request check, which rule
// applies. Safe for concurrent use.
type Service struct {
	store    Store
	limiter  Limiter
	clock    gatehouse.Clock
	log      *slog.Logger
	settings func() *gatehouse.Settings

	matcher atomic.Pointer[Matcher]
	groups  groupCache
	// reloadMu orders rule reloads, so an older list never replaces a newer one.
	reloadMu sync.Mutex
}

// New builds the service and compiles the stored rules.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Clock == nil {
		d.Clock = gatehouse.SystemClock{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: d.Store, limiter: d.Limiter, clock: d.Clock, log: d.Logger, settings: d.Settings}
	s.groups.m = map[int64]*GroupSet{}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// denyAll answers every request with deny: what a stored list that no longer compiles gets.
var denyAll = &Matcher{rules: []rule{{policy: Deny}}, byHost: map[string][]int32{}, other: []int32{0}, def: Deny}

// Reload reads and compiles the stored rules and swaps them in.
func (s *Service) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	rules, err := s.store.AccessRules(ctx)
	if err != nil {
		return err
	}
	m, err := Compile(rules, OneFactor)
	if err != nil {
		// Rules are validated before they are saved; a stored list that does not compile was
		// edited by hand or by another version. Letting everyone through would be the wrong
		// failure: deny until an administrator saves a valid list.
		s.log.Error("the stored access rules do not compile: every forward-auth request is denied until they are fixed", "err", err)
		m = denyAll
	}
	s.matcher.Store(m)
	return nil
}

// Matcher is the compiled rule list in force.
func (s *Service) Matcher() *Matcher { return s.matcher.Load() }

// DefaultPolicy is the runtime setting access_default_policy.
func (s *Service) DefaultPolicy() Policy {
	if s.settings != nil {
		if p, ok := ParsePolicy(s.settings().AccessDefaultPolicy); ok {
			return p
		}
	}
	return OneFactor
}

// Decide matches r for sub (nil: not signed in); a request no rule matches gets the default
// policy. No allocation, no lock.
func (s *Service) Decide(r *Request, sub *Subject) Decision {
	m := s.matcher.Load()
	d := m.Match(r, sub)
	if d.Rule < 0 {
		d.Policy = s.DefaultPolicy()
	}
	d.from = m
	return d
}

// DecideUser is Decide for the signed-in sub after anon, Decide's answer for the same request
// without a user (the request check asks that first, before looking at credentials): anon
// itself when the user does not matter, else the scan resumes where anon's stopped
// (Matcher.Resume), on the rule list anon came from, so a list swapped in between is never
// mixed with the one before.
func (s *Service) DecideUser(r *Request, sub *Subject, anon Decision) Decision {
	m := anon.from
	if m == nil {
		return s.Decide(r, sub)
	}
	if !anon.NeedUser {
		return anon
	}
	d := m.Resume(r, sub, anon)
	if d.Rule < 0 {
		d.Policy = s.DefaultPolicy()
	}
	d.from = m
	return d
}

// Apply updates caches for one change-feed row; the core calls it for every row it follows.
func (s *Service) Apply(ctx context.Context, c gatehouse.Change) {
	switch c.Kind {
	case gatehouse.ChangeAccessRules:
		if err := s.Reload(ctx); err != nil {
			s.log.Error("reloading access rules failed", "err", err)
		}
	case gatehouse.ChangeGroups:
		s.groups.clear()
	case gatehouse.ChangeUser:
		if id, err := strconv.ParseInt(c.Subject, 10, 64); err == nil {
			s.groups.drop(id)
		}
	}
}

// GroupSet is a user's groups as the request check needs them.
type GroupSet struct {
	Names []string
	// Header is Names joined with commas: the Remote-Groups value, built once per fill.
	Header string
}

// groupCache keeps each user's groups. gen counts invalidations, so a fill that read the
// database before an invalidation does not store what it read.
type groupCache struct {
	mu  sync.RWMutex
	m   map[int64]*GroupSet
	gen uint64
}

func (c *groupCache) get(id int64) (*GroupSet, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[id], c.gen
}

func (c *groupCache) put(id int64, g *GroupSet, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.m) >= 200_000 {
		c.m = map[int64]*GroupSet{}
	}
	c.m[id] = g
}

func (c *groupCache) drop(id int64) {
	c.mu.Lock()
	delete(c.m, id)
	c.gen++
	c.mu.Unlock()
}

func (c *groupCache) clear() {
	c.mu.Lock()
	c.m = map[int64]*GroupSet{}
	c.gen++
	c.mu.Unlock()
}

// Groups returns the user's groups, from the cache or, on a miss, the store.
func (s *Service) Groups(ctx context.Context, userID int64) (*GroupSet, error) {
	g, gen := s.groups.get(userID)
	if g != nil {
		return g, nil
	}
	names, err := s.store.UserGroups(ctx, userID)
	if err != nil {
		return nil, err
	}
	g = &GroupSet{Names: names, Header: strings.Join(names, ",")}
	s.groups.put(userID, g, gen)
	return g, nil
}

// UserGroups implements gatehouse.UserGroupLister from the cache.
func (s *Service) UserGroups(ctx context.Context, userID int64) ([]string, error) {
	g, err := s.Groups(ctx, userID)
	if err != nil {
		return nil, err
	}
	return g.Names, nil
}

var _ gatehouse.UserGroupLister = (*Service)(nil)

// deniedEvery bounds access.denied events: one per client address and rule per interval, so a
// crawler hammering a denied URL cannot flood the audit trail.
const deniedEvery = time.Minute

// Denied records an access.denied event, rate-limited per client address and rule.
func (s *Service) Denied(ctx context.Context, d Decision, url string, u *gatehouse.User, sid, ip, ua string) {
	key := "access.denied|" + ip + "|" + strconv.Itoa(d.Rule)
	if s.limiter != nil {
		if ok, _, err := s.limiter.Allow(ctx, key, 1, deniedEvery); err != nil || !ok {
			return
		}
	}
	if len(url) > 512 {
		url = url[:512]
	}
	data := map[string]any{"url": strings.ToValidUTF8(url, ""), "policy": d.Policy.String(), "rule": ruleNumber(d.Rule)}
	var uid int64
	if u != nil {
		uid = u.ID
		data["user"] = u.Username
	}
	s.event(ctx, gatehouse.EventAccessDenied, Actor{UserID: uid, SessionID: sid, IP: ip, UserAgent: ua}, data)
}

// ruleNumber is the rule as people count it (1-based), or "default".
func ruleNumber(i int) any {
	if i < 0 {
		return "default"
	}
	return i + 1
}

// event records an audit event; a failure is logged, never returned.
func (s *Service) event(ctx context.Context, kind string, a Actor, data map[string]any) {
	e := &gatehouse.Event{Time: s.clock.Now(), Kind: kind, SessionID: a.SessionID, IP: a.IP, UserAgent: a.UserAgent, Data: data}
	if a.UserID != 0 {
		uid := a.UserID
		e.UserID = &uid
	}
	if err := s.store.AddEvent(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("recording event failed", "kind", kind, "err", err)
	}
}
