package passkey_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse/passkey"
)

func TestRelyingPartyFromPublicURL(t *testing.T) {
	for _, tc := range []struct {
		url, id, origin, refusal string
	}{
		{url: "https://login.example.com", id: "login.example.com", origin: "https://login.example.com"},
		{url: "https://Login.Example.com:8443/auth/", id: "login.example.com", origin: "https://login.example.com:8443"},
		{url: "http://localhost:8080", id: "localhost", origin: "http://localhost:8080"},
		{url: "http://gatehouse.localhost", id: "gatehouse.localhost", origin: "http://gatehouse.localhost"},
		{url: "http://127.0.0.1:8080", refusal: "IP address 127.0.0.1"},
		{url: "https://[::1]:8443", refusal: "IP address ::1"},
		{url: "https://192.168.1.10", refusal: "IP address 192.168.1.10"},
		{url: "http://login.example.com", refusal: "only over HTTPS"},
	} {
		u, _ := url.Parse(tc.url)
		rp, err := passkey.New(u, "")
		if tc.refusal != "" {
			if err == nil || !strings.Contains(err.Error(), tc.refusal) || !strings.Contains(err.Error(), "passkeys are off") {
				t.Errorf("%s: err = %v, want a refusal saying %q", tc.url, err, tc.refusal)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if rp.ID() != tc.id || rp.Origin() != tc.origin {
			t.Errorf("%s: RP ID %q origin %q, want %q %q", tc.url, rp.ID(), rp.Origin(), tc.id, tc.origin)
		}
	}
	if _, err := passkey.New(nil, ""); err == nil {
		t.Error("no public URL accepted")
	}
}

func TestOptions(t *testing.T) {
	u, _ := url.Parse("https://login.example.com")
	rp, err := passkey.New(u, "")
	if err != nil {
		t.Fatal(err)
	}
	user := &passkey.User{Handle: []byte("0123456789abcdef0123456789abcdef"), Name: "alice", DisplayName: "Alice",
		Credentials: []webauthn.Credential{{ID: []byte("existing")}}}
	opts, session, err := rp.BeginRegistration(user)
	if err != nil {
		t.Fatal(err)
	}
	var c protocol.PublicKeyCredentialCreationOptions
	if err := json.Unmarshal(opts, &c); err != nil {
		t.Fatal(err)
	}
	if c.RelyingParty.ID != "login.example.com" || c.AuthenticatorSelection.UserVerification != protocol.VerificationRequired ||
		c.AuthenticatorSelection.ResidentKey != protocol.ResidentKeyRequirementRequired || len(c.CredentialExcludeList) != 1 ||
		c.Attestation != protocol.PreferNoAttestation || c.Timeout != 300000 {
		t.Fatalf("creation options: %s", opts)
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(session, &sd); err != nil || sd.Challenge != c.Challenge.String() || string(sd.UserID) != string(user.Handle) {
		t.Fatalf("session data %s (%v)", session, err)
	}
	opts, _, err = rp.BeginLogin()
	if err != nil {
		t.Fatal(err)
	}
	var r protocol.PublicKeyCredentialRequestOptions
	if err := json.Unmarshal(opts, &r); err != nil {
		t.Fatal(err)
	}
	if r.RelyingPartyID != "login.example.com" || r.UserVerification != protocol.VerificationRequired || len(r.AllowedCredentials) != 0 {
		t.Fatalf("request options: %s", opts)
	}
}

func TestRecordKeepsFlagsAndDropsCloneWarning(t *testing.T) {
	c := &webauthn.Credential{ID: []byte("id"), PublicKey: []byte("pk"),
		Flags:         webauthn.NewCredentialFlags(protocol.FlagUserPresent | protocol.FlagUserVerified | protocol.FlagBackupEligible),
		Authenticator: webauthn.Authenticator{SignCount: 7, CloneWarning: true}}
	b, err := passkey.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := passkey.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Flags.ProtocolValue() != c.Flags.ProtocolValue() || !got.Flags.BackupEligible || got.Flags.BackupState ||
		got.Authenticator.SignCount != 7 || got.Authenticator.CloneWarning || string(got.PublicKey) != "pk" {
		t.Fatalf("round trip: %+v", got)
	}
	if _, err := passkey.Decode([]byte("not json")); err == nil {
		t.Fatal("garbage decoded")
	}
}
