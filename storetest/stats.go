package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// testStats: the dashboard's aggregates count what they say, per hour, per address and per
// way of signing in, and leave out what is before since, of other kinds, or disabled.
func testStats(t *testing.T, s gatehouse.Store) {
	add := func(at time.Time, kind, ip string) {
		t.Helper()
		must(t, s.AddEvent(ctx(), &gatehouse.Event{Time: at, Kind: kind, IP: ip}), "AddEvent")
	}
	hour := base.Truncate(time.Hour)
	add(hour.Add(-2*time.Hour), gatehouse.EventLoginFailed, "192.0.2.1") // before since
	add(hour.Add(time.Minute), gatehouse.EventLoginSucceeded, "192.0.2.1")
	add(hour.Add(2*time.Minute), gatehouse.EventLoginFailed, "192.0.2.2")
	add(hour.Add(59*time.Minute), gatehouse.EventLoginFailed, "192.0.2.2")
	add(hour.Add(61*time.Minute), gatehouse.EventLoginFailed, "192.0.2.3")
	add(hour.Add(62*time.Minute), gatehouse.EventLogout, "192.0.2.3") // another kind
	add(hour.Add(63*time.Minute), gatehouse.EventLoginFailed, "")     // no address (CLI)

	got, err := s.EventsPerHour(ctx(), []string{gatehouse.EventLoginSucceeded, gatehouse.EventLoginFailed}, hour.Add(-time.Hour))
	must(t, err, "EventsPerHour")
	want := []gatehouse.HourCount{
		{Hour: hour, Kind: gatehouse.EventLoginFailed, Count: 2},
		{Hour: hour, Kind: gatehouse.EventLoginSucceeded, Count: 1},
		{Hour: hour.Add(time.Hour), Kind: gatehouse.EventLoginFailed, Count: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("EventsPerHour = %+v, want %+v", got, want)
	}
	if got, err := s.EventsPerHour(ctx(), nil, hour); err != nil || len(got) != 0 {
		t.Fatalf("EventsPerHour without kinds = %v, %v", got, err)
	}

	top, err := s.TopAddresses(ctx(), []string{gatehouse.EventLoginFailed}, hour, 2)
	must(t, err, "TopAddresses")
	if want := []gatehouse.AddressCount{{IP: "192.0.2.2", Count: 2}, {IP: "192.0.2.3", Count: 1}}; !reflect.DeepEqual(top, want) {
		t.Fatalf("TopAddresses = %+v, want %+v", top, want)
	}

	const phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
	pw := newUser("withpassword", gatehouse.RoleUser)
	pw.PasswordHash = phc
	must(t, s.CreateUser(ctx(), pw), "CreateUser withpassword")
	tot := mkUser(t, s, "withtotp", gatehouse.RoleUser)
	must(t, s.PutPendingTOTP(ctx(), tot.ID, []byte("sealed"), base), "PutPendingTOTP")
	must(t, s.ConfirmTOTP(ctx(), tot.ID, 1, codeHashes("s", 1), base), "ConfirmTOTP")
	pending := mkUser(t, s, "pendingtotp", gatehouse.RoleUser)
	must(t, s.PutPendingTOTP(ctx(), pending.ID, []byte("sealed"), base), "PutPendingTOTP unconfirmed")
	pk := mkUser(t, s, "withpasskey", gatehouse.RoleUser)
	must(t, s.CreatePasskey(ctx(), &gatehouse.Passkey{UserID: pk.ID, CredentialID: []byte{9, 9}, Name: "key", Credential: []byte(`{}`), CreatedAt: base}), "CreatePasskey")
	must(t, s.CreatePasskey(ctx(), &gatehouse.Passkey{UserID: pk.ID, CredentialID: []byte{9, 8}, Name: "key 2", Credential: []byte(`{}`), CreatedAt: base}), "CreatePasskey 2")
	ext := mkUser(t, s, "withidentity", gatehouse.RoleUser)
	mkProvider(t, s, "corp")
	must(t, s.CreateIdentity(ctx(), &gatehouse.ExternalIdentity{UserID: ext.ID, ProviderID: "corp", Subject: "x", BoundAt: base}), "CreateIdentity")
	off := newUser("disabled", gatehouse.RoleUser)
	off.Disabled, off.PasswordHash = true, phc
	must(t, s.CreateUser(ctx(), off), "CreateUser disabled")
	waiting := newUser("waiting", gatehouse.RoleUser)
	waiting.Pending, waiting.PasswordHash = true, phc
	must(t, s.CreateUser(ctx(), waiting), "CreateUser pending")

	m, err := s.SignInMethods(ctx())
	must(t, err, "SignInMethods")
	if want := (gatehouse.MethodCounts{Users: 5, Password: 1, TOTP: 1, Passkey: 1, External: 1}); m != want {
		t.Fatalf("SignInMethods = %+v, want %+v", m, want)
	}
}
