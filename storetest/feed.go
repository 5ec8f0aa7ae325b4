package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func changeIDs(cs []gatehouse.Change) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func testChangeFeed(t *testing.T, s gatehouse.Store) {
	empty, err := s.ChangesSince(ctx(), 0, base, 100)
	must(t, err, "ChangesSince on an empty store")
	if len(empty) != 0 {
		t.Fatalf("ChangesSince on an empty store = %+v", empty)
	}
	var added []gatehouse.Change
	for i := range 5 {
		c := &gatehouse.Change{Kind: gatehouse.ChangeUser, Subject: fmt.Sprint(i + 1), At: base.Add(time.Duration(i) * time.Second), ExpiresAt: base.Add(time.Hour)}
		must(t, s.AddChange(ctx(), c), "AddChange")
		if c.ID <= 0 || (len(added) > 0 && c.ID <= added[len(added)-1].ID) {
			t.Fatalf("AddChange set ID %d after %v, want increasing positive IDs", c.ID, changeIDs(added))
		}
		added = append(added, *c)
	}
	short := &gatehouse.Change{Kind: gatehouse.ChangeSettings, At: base, ExpiresAt: base.Add(time.Minute)}
	must(t, s.AddChange(ctx(), short), "AddChange")
	all := append(slices.Clone(added), *short)
	ids := changeIDs(all)

	got, err := s.ChangesSince(ctx(), 0, base, 100)
	must(t, err, "ChangesSince")
	if !slices.Equal(changeIDs(got), ids) {
		t.Fatalf("ChangesSince(0) = %v, want %v in ID order", changeIDs(got), ids)
	}
	for i, c := range got {
		w := all[i]
		if c.Kind != w.Kind || c.Subject != w.Subject || !c.At.Equal(w.At) || !c.ExpiresAt.Equal(w.ExpiresAt) {
			t.Fatalf("change %d = %+v, want %+v", i, c, w)
		}
	}
	got, err = s.ChangesSince(ctx(), ids[1], base, 100)
	must(t, err, "ChangesSince")
	if !slices.Equal(changeIDs(got), ids[2:]) {
		t.Fatalf("ChangesSince(%d) = %v, want %v", ids[1], changeIDs(got), ids[2:])
	}
	got, err = s.ChangesSince(ctx(), ids[1], base, 2)
	must(t, err, "ChangesSince")
	if !slices.Equal(changeIDs(got), ids[2:4]) {
		t.Fatalf("ChangesSince(%d, limit 2) = %v, want %v", ids[1], changeIDs(got), ids[2:4])
	}
	got, err = s.ChangesSince(ctx(), ids[len(ids)-1], base, 100)
	must(t, err, "ChangesSince")
	if len(got) != 0 {
		t.Fatalf("ChangesSince(last) = %v, want none", changeIDs(got))
	}
	// Expired rows are not returned.
	got, err = s.ChangesSince(ctx(), 0, base.Add(2*time.Minute), 100)
	must(t, err, "ChangesSince")
	if !slices.Equal(changeIDs(got), ids[:5]) {
		t.Fatalf("ChangesSince after a row expired = %v, want %v", changeIDs(got), ids[:5])
	}
	got, err = s.ChangesSince(ctx(), 0, base.Add(2*time.Hour), 100)
	must(t, err, "ChangesSince")
	if len(got) != 0 {
		t.Fatalf("ChangesSince after every row expired = %v, want none", changeIDs(got))
	}
	// Later rows keep coming after the cursor.
	late := &gatehouse.Change{Kind: gatehouse.ChangeSessionRevoked, Subject: "sess", At: base.Add(time.Minute), ExpiresAt: base.Add(time.Hour)}
	must(t, s.AddChange(ctx(), late), "AddChange")
	got, err = s.ChangesSince(ctx(), ids[len(ids)-1], base, 100)
	must(t, err, "ChangesSince")
	if len(got) != 1 || got[0].ID != late.ID || got[0].Kind != late.Kind || got[0].Subject != "sess" {
		t.Fatalf("ChangesSince(last) after one more = %+v, want only %d", got, late.ID)
	}
}

func eventIDs(es []*gatehouse.Event) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// reversed returns the IDs of es newest first (es in insertion order).
func reversed(es []*gatehouse.Event) []int64 {
	ids := eventIDs(es)
	slices.Reverse(ids)
	return ids
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err, "json.Marshal")
	return string(b)
}

func testEvents(t *testing.T, s gatehouse.Store) {
	a := mkUser(t, s, "alice", gatehouse.RoleAdmin)
	b := mkUser(t, s, "bob", gatehouse.RoleUser)
	var all, ofA, ofB, failed, failedA []*gatehouse.Event
	add := func(kind string, uid *int64, data map[string]any) *gatehouse.Event {
		t.Helper()
		e := &gatehouse.Event{Time: base.Add(time.Duration(len(all)) * time.Minute), Kind: kind, UserID: uid,
			SessionID: fmt.Sprintf("sess-%d", len(all)), IP: "2001:db8::1", UserAgent: "storetest/1", Data: data}
		must(t, s.AddEvent(ctx(), e), "AddEvent")
		if e.ID <= 0 || (len(all) > 0 && e.ID <= all[len(all)-1].ID) {
			t.Fatalf("AddEvent set ID %d after %v, want increasing positive IDs", e.ID, eventIDs(all))
		}
		all = append(all, e)
		if uid != nil && *uid == a.ID {
			ofA = append(ofA, e)
		}
		if uid != nil && *uid == b.ID {
			ofB = append(ofB, e)
		}
		if kind == gatehouse.EventLoginFailed {
			failed = append(failed, e)
			if uid != nil && *uid == a.ID {
				failedA = append(failedA, e)
			}
		}
		return e
	}
	add(gatehouse.EventSetupAdminCreated, &a.ID, nil)
	first := add(gatehouse.EventLoginSucceeded, &a.ID, map[string]any{"method": "password", "attempt": 3, "nested": map[string]any{"ok": true}})
	add(gatehouse.EventLoginFailed, &a.ID, map[string]any{"reason": "bad password"})
	add(gatehouse.EventLoginFailed, nil, map[string]any{"login": "nobody"})
	add(gatehouse.EventLoginFailed, &b.ID, nil)
	out := add(gatehouse.EventLogout, &b.ID, map[string]any{"reason": gatehouse.ReasonUser})
	add(gatehouse.EventLoginFailed, &a.ID, nil)
	anon := add(gatehouse.EventLoginRateLimited, nil, nil)

	list := func(f gatehouse.EventFilter) ([]*gatehouse.Event, bool) {
		t.Helper()
		es, more, err := s.ListEvents(ctx(), f)
		must(t, err, "ListEvents")
		return es, more
	}
	cases := []struct {
		name string
		f    gatehouse.EventFilter
		want []int64
	}{
		{"all", gatehouse.EventFilter{Limit: 50}, reversed(all)},
		{"user a", gatehouse.EventFilter{UserID: &a.ID, Limit: 50}, reversed(ofA)},
		{"user b", gatehouse.EventFilter{UserID: &b.ID, Limit: 50}, reversed(ofB)},
		{"kind", gatehouse.EventFilter{Kind: gatehouse.EventLoginFailed, Limit: 50}, reversed(failed)},
		{"user and kind", gatehouse.EventFilter{UserID: &a.ID, Kind: gatehouse.EventLoginFailed, Limit: 50}, reversed(failedA)},
		{"unknown kind", gatehouse.EventFilter{Kind: "no.such.kind", Limit: 50}, []int64{}},
		{"kinds", gatehouse.EventFilter{Kinds: []string{gatehouse.EventLogout, gatehouse.EventLoginRateLimited, "no.such.kind"}, Limit: 50}, []int64{anon.ID, out.ID}},
		{"unknown user", gatehouse.EventFilter{UserID: ptr(a.ID + b.ID + 1000), Limit: 50}, []int64{}},
	}
	for _, c := range cases {
		es, more := list(c.f)
		if got := eventIDs(es); !slices.Equal(got, c.want) || more {
			t.Fatalf("ListEvents %s = %v more %v; want %v more false", c.name, got, more, c.want)
		}
		for _, e := range es {
			if c.f.Kind != "" && e.Kind != c.f.Kind {
				t.Fatalf("ListEvents %s returned kind %q", c.name, e.Kind)
			}
			if c.f.UserID != nil && (e.UserID == nil || *e.UserID != *c.f.UserID) {
				t.Fatalf("ListEvents %s returned user %v", c.name, e.UserID)
			}
		}
	}

	// Rows round-trip.
	es, _ := list(gatehouse.EventFilter{Limit: 50})
	byID := map[int64]*gatehouse.Event{}
	for _, e := range es {
		byID[e.ID] = e
	}
	for _, w := range all {
		g := byID[w.ID]
		if g == nil {
			t.Fatalf("event %d missing", w.ID)
		}
		if !g.Time.Equal(w.Time) || g.Kind != w.Kind || g.SessionID != w.SessionID || g.IP != w.IP || g.UserAgent != w.UserAgent {
			t.Fatalf("event %d = %+v, want %+v", w.ID, *g, *w)
		}
		if (g.UserID == nil) != (w.UserID == nil) || (g.UserID != nil && *g.UserID != *w.UserID) {
			t.Fatalf("event %d user = %v, want %v", w.ID, g.UserID, w.UserID)
		}
		if len(w.Data) > 0 && jsonText(t, g.Data) != jsonText(t, w.Data) {
			t.Fatalf("event %d data = %s, want %s", w.ID, jsonText(t, g.Data), jsonText(t, w.Data))
		}
		if len(w.Data) == 0 && len(g.Data) != 0 {
			t.Fatalf("event %d data = %v, want empty", w.ID, g.Data)
		}
	}
	if g := byID[anon.ID]; g.UserID != nil {
		t.Fatalf("event without a user read back with user %d", *g.UserID)
	}
	if g := byID[first.ID]; g.Data["method"] != "password" {
		t.Fatalf("event data method = %v", g.Data["method"])
	}

	// Events outlive the account: the audit trail is not "theirs" to delete.
	must(t, s.DeleteUser(ctx(), b.ID), "DeleteUser")
	es, _ = list(gatehouse.EventFilter{UserID: &b.ID, Limit: 50})
	if !slices.Equal(eventIDs(es), reversed(ofB)) {
		t.Fatalf("events of a deleted user = %v, want %v", eventIDs(es), reversed(ofB))
	}
}

func testEventPaging(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "bob", gatehouse.RoleUser)
	var all []*gatehouse.Event
	for i := range 7 {
		e := &gatehouse.Event{Time: base.Add(time.Duration(i) * time.Second), Kind: gatehouse.EventTokenRefreshed, UserID: &u.ID}
		must(t, s.AddEvent(ctx(), e), "AddEvent")
		all = append(all, e)
	}
	want := reversed(all)
	cases := []struct {
		offset, limit int
		want          []int64
		more          bool
	}{
		{0, 3, want[0:3], true},
		{3, 3, want[3:6], true},
		{6, 3, want[6:7], false},
		{4, 3, want[4:7], false},
		{7, 3, []int64{}, false},
		{0, 7, want, false},
		{0, 6, want[:6], true},
	}
	for _, c := range cases {
		es, more, err := s.ListEvents(ctx(), gatehouse.EventFilter{UserID: &u.ID, Offset: c.offset, Limit: c.limit})
		must(t, err, "ListEvents")
		if got := eventIDs(es); !slices.Equal(got, c.want) || more != c.more {
			t.Fatalf("ListEvents offset %d limit %d = %v more %v; want %v more %v", c.offset, c.limit, got, more, c.want, c.more)
		}
	}
}

func testSettings(t *testing.T, s gatehouse.Store) {
	read := func() map[string]string {
		t.Helper()
		m, err := s.Settings(ctx())
		must(t, err, "Settings")
		return m
	}
	defaults := gatehouse.SettingDefaults(true)
	must(t, s.InitSettings(ctx(), defaults), "InitSettings")
	got := read()
	for k, v := range defaults {
		if g, ok := got[k]; !ok || g != v {
			t.Fatalf("after InitSettings %s = %q (present %v), want %q", k, g, ok, v)
		}
	}

	at := base.Add(time.Hour)
	upd := map[string]string{"site_name": "Acme sign-in", "auth_password_min_length": "12", "custom_key": "x"}
	must(t, s.UpdateSettings(ctx(), upd, at), "UpdateSettings")
	got = read()
	for k, v := range upd {
		if got[k] != v {
			t.Fatalf("after UpdateSettings %s = %q, want %q", k, got[k], v)
		}
	}
	if got["mail_smtp_port"] != defaults["mail_smtp_port"] {
		t.Fatalf("UpdateSettings changed an unrelated key: mail_smtp_port = %q", got["mail_smtp_port"])
	}
	rows := changesOfKind(t, s, gatehouse.ChangeSettings, at)
	if len(rows) != 1 || !rows[0].At.Equal(at) || !rows[0].ExpiresAt.After(at) {
		t.Fatalf("settings change rows after one UpdateSettings = %+v, want one at %v", rows, at)
	}

	// InitSettings never overwrites, but adds what is missing.
	again := gatehouse.SettingDefaults(false)
	again["new_setting"] = "fresh"
	must(t, s.InitSettings(ctx(), again), "InitSettings again")
	got = read()
	for k, v := range upd {
		if got[k] != v {
			t.Fatalf("InitSettings overwrote %s: %q, want %q", k, got[k], v)
		}
	}
	if got["auth_cookie_secure"] != defaults["auth_cookie_secure"] {
		t.Fatalf("InitSettings overwrote auth_cookie_secure: %q, want %q", got["auth_cookie_secure"], defaults["auth_cookie_secure"])
	}
	if got["new_setting"] != "fresh" {
		t.Fatalf("InitSettings did not add a missing key: new_setting = %q", got["new_setting"])
	}
	if len(got) != len(defaults)+2 {
		t.Fatalf("Settings has %d keys, want %d", len(got), len(defaults)+2)
	}

	// A second update overwrites and appends another feed row.
	at2 := at.Add(time.Minute)
	must(t, s.UpdateSettings(ctx(), map[string]string{"site_name": "Acme", "mail_smtp_host": "smtp.example.com"}, at2), "UpdateSettings")
	got = read()
	if got["site_name"] != "Acme" || got["mail_smtp_host"] != "smtp.example.com" || got["custom_key"] != "x" {
		t.Fatalf("after second UpdateSettings: site_name %q mail_smtp_host %q custom_key %q", got["site_name"], got["mail_smtp_host"], got["custom_key"])
	}
	rows = changesOfKind(t, s, gatehouse.ChangeSettings, at2)
	if len(rows) != 2 || !rows[1].At.Equal(at2) || rows[1].ID <= rows[0].ID {
		t.Fatalf("settings change rows after two updates = %+v", rows)
	}
}
