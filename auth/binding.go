package auth

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/geo"
)

// Session binding (seed 004): the network (ASN, network block, IP) and place (continent,
// country, city) of the sign-in address are recorded on the session; every later use of the
// session is compared with them according to auth_session_network_binding and
// auth_session_geoip_binding, and a mismatch ends the session.
//
// Decisions, documented in docs/session-policy.md:
//   - A use from the sign-in IP itself always passes: it cannot be another network or place.
//   - An address the database has no data for (loopback, private, link-local, or simply unknown)
//     cannot be compared. If either side of a comparison lacks data the binding is broken with
//     `network.missing` / `geoip.missing`; so a session signed in from a private address is, in
//     effect, bound to that exact address. Failing closed is deliberate: otherwise a cookie
//     stolen from a LAN session would be usable from anywhere.
//   - Data is recorded at every sign-in when a database is configured, whatever the binding
//     settings, so that turning a binding on later applies to existing sessions as well.

// Binding levels (settings values).
const (
	bindNone         = "none"
	bindASN          = "asn"
	bindASNNetwork   = "asn_network"
	bindASNNetworkIP = "asn_network_ip"
	bindContinent    = "continent"
	bindCountry      = "continent_country"
	bindCity         = "continent_country_city"
)

// bindingRecord is the JSON stored in Session.Binding.
type bindingRecord struct {
	IP  string     `json:"ip"`
	ASN *asnValue  `json:"asn,omitempty"`
	Geo *geoValues `json:"geo,omitempty"`
}

type asnValue struct {
	ASN     uint   `json:"asn"`
	Org     string `json:"as_org"`
	Network string `json:"network"`
}

type geoValues struct {
	Continent string   `json:"continent"`
	Country   string   `json:"country"`
	City      string   `json:"city"`
	Lat       *float64 `json:"lat,omitempty"`
	Long      *float64 `json:"long,omitempty"`
}

func asnOf(n geo.Network) *asnValue {
	if !n.Found {
		return nil
	}
	return &asnValue{ASN: n.ASN, Org: n.Org, Network: n.CIDR.String()}
}

func geoOf(l geo.Location) *geoValues {
	if !l.Found {
		return nil
	}
	g := &geoValues{Continent: l.Continent, Country: l.Country, City: l.City}
	if l.HasCoords {
		lat, long := l.Lat, l.Long
		g.Lat, g.Long = &lat, &long
	}
	return g
}

// boundSession is what the check needs of a session, cached per session id.
type boundSession struct {
	signInIP string
	asn      *asnValue
	geo      *geoValues
	// pass remembers the last address that passed, under which settings snapshot and database
	// generation: a repeated use from it costs two pointer loads and a string comparison.
	pass atomic.Pointer[passMark]
}

type passMark struct {
	ip  string
	gen uint64
	st  *gatehouse.Settings
}

func newBound(sess *gatehouse.Session) *boundSession {
	b := &boundSession{signInIP: sess.IP}
	if len(sess.Binding) > 0 {
		var rec bindingRecord
		if json.Unmarshal(sess.Binding, &rec) == nil {
			b.asn, b.geo = rec.ASN, rec.Geo
			if rec.IP != "" {
				b.signInIP = rec.IP
			}
		}
	}
	return b
}

// boundCache maps session ids to their binding data; bounded like sessionCache.
type boundCache struct {
	mu sync.RWMutex
	m  map[string]*boundSession
}

func newBoundCache() *boundCache { return &boundCache{m: map[string]*boundSession{}} }

func (c *boundCache) get(sid string) *boundSession {
	c.mu.RLock()
	b := c.m[sid]
	c.mu.RUnlock()
	return b
}

func (c *boundCache) put(sid string, b *boundSession) {
	c.mu.Lock()
	if len(c.m) >= 200_000 {
		c.m = map[string]*boundSession{}
	}
	c.m[sid] = b
	c.mu.Unlock()
}

func (c *boundCache) drop(sid string) {
	c.mu.Lock()
	delete(c.m, sid)
	c.mu.Unlock()
}

var errBindingBroken = gatehouse.Errorf(gatehouse.EUnauthorized, "the session has ended: it was used from another network or place than where you signed in; sign in again")

// valueMap turns a recorded value into the event's JSON object; {} when there is none, as in
// seed 004's example.
func valueMap(v any) map[string]any {
	out := map[string]any{}
	switch x := v.(type) {
	case *asnValue:
		if x != nil {
			out["asn"], out["as_org"], out["network"] = x.ASN, x.Org, x.Network
		}
	case *geoValues:
		if x != nil {
			out["continent"], out["country"], out["city"] = x.Continent, x.Country, x.City
			if x.Lat != nil && x.Long != nil {
				out["lat"], out["long"] = *x.Lat, *x.Long
			}
		}
	}
	return out
}

// SessionLocation and SessionNetwork are where a session signed in from, for the session list.
type SessionLocation struct {
	City      string
	Country   string
	Continent string
}

type SessionNetwork struct {
	ASN   uint
	ASOrg string
}

// sessionPlace reads the recorded binding data for display.
func sessionPlace(raw json.RawMessage) (*SessionLocation, *SessionNetwork) {
	if len(raw) == 0 {
		return nil, nil
	}
	var rec bindingRecord
	if json.Unmarshal(raw, &rec) != nil {
		return nil, nil
	}
	var l *SessionLocation
	var n *SessionNetwork
	if rec.Geo != nil {
		l = &SessionLocation{City: rec.Geo.City, Country: rec.Geo.Country, Continent: rec.Geo.Continent}
	}
	if rec.ASN != nil {
		n = &SessionNetwork{ASN: rec.ASN.ASN, ASOrg: rec.ASN.Org}
	}
	return l, n
}

// lookup asks the configured databases about ip.
func (s *bindingRules) lookup(ip string) (*asnValue, *geoValues) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, nil
	}
	return asnOf(s.geo.ASN(a)), geoOf(s.geo.City(a))
}

// recordBinding is the Session.Binding of a new session from ip; nil when no database knows it.
func (s *bindingRules) recordBinding(ip string) json.RawMessage {
	a, g := s.lookup(ip)
	if a == nil && g == nil {
		return nil
	}
	b, err := json.Marshal(bindingRecord{IP: ip, ASN: a, Geo: g})
	if err != nil {
		return nil
	}
	return b
}

// primeBinding caches the binding data of a session row the caller already has, saving the
// store read on its first check.
func (s *Core) primeBinding(sess *gatehouse.Session) {
	if s.binding.bindingOn(s.Settings()) {
		s.sessions.bound.put(sess.ID, newBound(sess))
	}
}

func (s *bindingRules) bindingOn(st *gatehouse.Settings) bool {
	return st.NetworkBinding != bindNone || st.GeoIPBinding != bindNone
}

// checkBinding passes when the session may be used from meta.IP; otherwise it ends the session
// (reason session_binding_broken, with the details in the logout event) and returns
// EUnauthorized. client describes the request; load fetches the session row on a cache miss.
func (s *Core) checkBinding(ctx context.Context, sid string, userID int64, client func() ClientMeta, load func() (*gatehouse.Session, error)) error {
	st := s.Settings()
	if !s.binding.bindingOn(st) {
		return nil
	}
	meta := client()
	b := s.sessions.bound.get(sid)
	if b == nil {
		sess, err := load()
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return errUnauthorized
		}
		if err != nil {
			return err
		}
		b = newBound(sess)
		s.sessions.bound.put(sid, b)
	}
	gen := s.geo.Generation()
	if m := b.pass.Load(); m != nil && m.ip == meta.IP && m.gen == gen && m.st == st {
		return nil
	}
	reason := s.binding.judge(b, st, meta.IP)
	if reason == "" {
		b.pass.Store(&passMark{ip: meta.IP, gen: gen, st: st})
		return nil
	}
	// Broken: now (off the common path) gather everything the event should tell.
	newASN, newGeo := s.binding.lookup(meta.IP)
	prev, next := valueMap(b.asn), valueMap(newASN)
	if strings.HasPrefix(reason, "geoip.") {
		prev, next = valueMap(b.geo), valueMap(newGeo)
	}
	data := map[string]any{
		"logout_reason": "Session binding broken",
		"binding":       map[string]any{"reason": reason, "previous_value": prev, "new_value": next},
		"asn":           valueMap(newASN),
		"geo":           valueMap(newGeo),
		"ip":            map[string]any{"previous": b.signInIP, "new": meta.IP},
		"http_request":  map[string]any{"path": meta.Path, "method": meta.Method, "user_agent": meta.UserAgent},
	}
	s.sessions.drop(sid)
	_, _ = s.endSession(ctx, sid, userID, gatehouse.ReasonBindingBroken, meta, data) // refused here either way; a failed write is queued
	return errBindingBroken
}

// judge compares the sign-in data with the current address's and returns "" when the binding
// holds, else the detailed reason. It looks up only what the settings compare.
func (s *bindingRules) judge(b *boundSession, st *gatehouse.Settings, ip string) string {
	if ip == b.signInIP && ip != "" {
		return ""
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		addr = netip.Addr{} // no address: no data, so any binding reports "missing"
	}
	if lvl := st.NetworkBinding; lvl != bindNone {
		n := s.geo.ASN(addr)
		switch {
		case b.asn == nil || !n.Found:
			return "network.missing"
		case b.asn.ASN != n.ASN:
			return "network.asn_changed"
		case lvl != bindASN && b.asn.Network != n.CIDR.String():
			return "network.network_changed"
		case lvl == bindASNNetworkIP:
			// A different IP: the same one passed above.
			return "network.ip_changed"
		}
	}
	if lvl := st.GeoIPBinding; lvl != bindNone {
		l := s.geo.City(addr)
		switch {
		case b.geo == nil || !l.Found:
			return "geoip.missing"
		case b.geo.Continent != l.Continent:
			return "geoip.continent_changed"
		case lvl != bindContinent && b.geo.Country != l.Country:
			return "geoip.country_changed"
		case lvl == bindCity && b.geo.City != l.City:
			return "geoip.city_changed"
		}
	}
	return ""
}

// checkBindingSettings refuses a binding level whose database is not configured: the setting
// could not be enforced as the admin expects.
func (s *bindingRules) checkBindingSettings(vals map[string]string) error {
	if v, ok := vals["auth_session_network_binding"]; ok && v != bindNone && !s.geo.HasASN() {
		return &gatehouse.Error{Code: gatehouse.EInvalid, Field: "auth_session_network_binding",
			Message: "auth_session_network_binding: " + v + " needs an ASN database, and none is configured; set [geoip] asn_db (GeoLite2-ASN or DB-IP ASN Lite) in the configuration and restart, or choose none"}
	}
	if v, ok := vals["auth_session_geoip_binding"]; ok && v != bindNone && !s.geo.HasCity() {
		return &gatehouse.Error{Code: gatehouse.EInvalid, Field: "auth_session_geoip_binding",
			Message: "auth_session_geoip_binding: " + v + " needs a city database, and none is configured; set [geoip] city_db (GeoLite2-City or DB-IP City Lite) in the configuration and restart, or choose none"}
	}
	return nil
}

// warnBindingWithoutDB logs, at start, a binding left on after its database was removed from
// the configuration: every session then breaks as soon as its IP changes (network.missing /
// geoip.missing), which is safe but surprising.
func (s *Core) warnBindingWithoutDB() {
	st := s.Settings()
	if st.NetworkBinding != bindNone && !s.geo.HasASN() {
		s.log.Warn("auth_session_network_binding is on but [geoip] asn_db is not configured: sessions are bound to their exact sign-in IP", "binding", st.NetworkBinding)
	}
	if st.GeoIPBinding != bindNone && !s.geo.HasCity() {
		s.log.Warn("auth_session_geoip_binding is on but [geoip] city_db is not configured: sessions are bound to their exact sign-in IP", "binding", st.GeoIPBinding)
	}
}

// SettingNote is a remark about a setting on this server, shown after its help on the admin
// page: for the bindings, whether the database they need is configured.
func (s *bindingRules) SettingNote(key string) string {
	switch key {
	case "auth_session_network_binding":
		if !s.geo.HasASN() {
			return " On this server no ASN database is configured, so only none can be chosen."
		}
		return " On this server an ASN database is configured."
	case "auth_session_geoip_binding":
		if !s.geo.HasCity() {
			return " On this server no city database is configured, so only none can be chosen."
		}
		return " On this server a city database is configured."
	}
	return ""
}
