// Package webauthntest is a software WebAuthn authenticator for tests: it answers creation and
// request options the way a browser plus a platform authenticator would (attestation "none",
// ES256 signatures over real ECDSA P-256 keys), and every field that a relying party must check
// can be made wrong on purpose. It uses crypto/ecdsa and CBOR from fxamacker/cbor; it is never
// used outside tests.
package webauthntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator flags (WebAuthn §6.1).
const (
	FlagUP = 0x01
	FlagUV = 0x04
	FlagBE = 0x08
	FlagBS = 0x10
	FlagAT = 0x40
)

// Authenticator holds one discoverable credential.
type Authenticator struct {
	Key          *ecdsa.PrivateKey
	CredentialID []byte
	UserHandle   []byte // set by Create from the options' user.id
	SignCount    uint32
	// CountStep is added to SignCount before each assertion; 0 means the authenticator keeps no
	// counter (it always reports 0, as synced passkeys do).
	CountStep uint32
	// Flags are reported in every response (FlagAT is added on creation).
	Flags byte

	// Origin is put into client data; RPID is hashed into authenticator data. Empty means the
	// values from the options (RPID) / the relying party (Origin must be set).
	Origin string
	RPID   string
}

// New returns an authenticator with a fresh key, user presence and verification, backup
// eligible and backed up, and a counter that rises by one per sign-in.
func New(origin string) *Authenticator {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &Authenticator{Key: k, CredentialID: id, Origin: origin, Flags: FlagUP | FlagUV | FlagBE | FlagBS, CountStep: 1}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(fmt.Sprintf("webauthntest: %q is not base64url: %v", s, err))
	}
	return b
}

func (a *Authenticator) authData(rpID string, flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append([]byte{}, h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, a.SignCount)
	return append(out, attested...)
}

func (a *Authenticator) coseKey() []byte {
	x := a.Key.X.FillBytes(make([]byte, 32))
	y := a.Key.Y.FillBytes(make([]byte, 32))
	em, _ := cbor.CTAP2EncOptions().EncMode()
	b, err := em.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		panic(err)
	}
	return b
}

// CreationOptions are the members of PublicKeyCredentialCreationOptions the authenticator reads.
type CreationOptions struct {
	Challenge string `json:"challenge"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
}

// Create answers navigator.credentials.create({publicKey: options}) and returns the
// PublicKeyCredential as JSON (binary members base64url), as gatehouse's script sends it.
func (a *Authenticator) Create(options json.RawMessage) json.RawMessage {
	var o CreationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		panic(err)
	}
	a.UserHandle = unb64(o.User.ID)
	rpID := o.RP.ID
	if a.RPID != "" {
		rpID = a.RPID
	}
	cd, _ := json.Marshal(map[string]any{"type": "webauthn.create", "challenge": o.Challenge, "origin": a.Origin, "crossOrigin": false})
	attested := make([]byte, 16) // AAGUID: zero, as with attestation "none"
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.CredentialID)))
	attested = append(attested, a.CredentialID...)
	attested = append(attested, a.coseKey()...)
	em, _ := cbor.CTAP2EncOptions().EncMode()
	att, err := em.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(rpID, a.Flags|FlagAT, attested)})
	if err != nil {
		panic(err)
	}
	out, _ := json.Marshal(map[string]any{
		"id": b64(a.CredentialID), "rawId": b64(a.CredentialID), "type": "public-key",
		"clientExtensionResults": map[string]any{}, "authenticatorAttachment": "platform",
		"response": map[string]any{"clientDataJSON": b64(cd), "attestationObject": b64(att), "transports": []string{"internal"}},
	})
	return out
}

// RequestOptions are the members of PublicKeyCredentialRequestOptions the authenticator reads.
type RequestOptions struct {
	Challenge        string `json:"challenge"`
	RPID             string `json:"rpId"`
	UserVerification string `json:"userVerification"`
	AllowCredentials []any  `json:"allowCredentials"`
}

// Get answers navigator.credentials.get({publicKey: options}) with this credential and returns
// the PublicKeyCredential as JSON.
func (a *Authenticator) Get(options json.RawMessage) json.RawMessage {
	var o RequestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		panic(err)
	}
	return a.Assert(o.Challenge, o.RPID)
}

// Assert signs an assertion over challenge (base64url) for rpID (or a.RPID when set).
func (a *Authenticator) Assert(challenge, rpID string) json.RawMessage {
	if a.RPID != "" {
		rpID = a.RPID
	}
	a.SignCount += a.CountStep
	cd, _ := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	ad := a.authData(rpID, a.Flags, nil)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		panic(err)
	}
	out, _ := json.Marshal(map[string]any{
		"id": b64(a.CredentialID), "rawId": b64(a.CredentialID), "type": "public-key",
		"clientExtensionResults": map[string]any{}, "authenticatorAttachment": "platform",
		"response": map[string]any{"clientDataJSON": b64(cd), "authenticatorData": b64(ad), "signature": b64(sig), "userHandle": b64(a.UserHandle)},
	})
	return out
}
