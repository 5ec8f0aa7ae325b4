package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/seal"
)

// DeviceTTL is how long a device token is honoured after the sign-in that issued it.
const DeviceTTL = 365 * 24 * time.Hour

// devices issues and reads device tokens, after OWASP's "slow down online guessing with device
// cookies": a client that completed a sign-in to an account holds a token naming that account;
// its later password attempts for the same account are charged to a budget of the token's own
// (not to the address, not to the account), are never refused by the account lockout, and hash on
// places of the pool kept for them. So an attacker who floods sign-ins from rotating addresses, or
// drains an account's budget to lock its owner out, does not stop the owner's known devices.
//
// The token is sealed (AES-GCM under a key derived from [auth] mfa_secret_key, package seal): it
// cannot be forged or moved to another account, and says nothing readable. It holds the account,
// a random device id (the budget's key) and the issue time.
type devices struct {
	box   *seal.Box // nil: no key configured, device tokens are off
	clock gatehouse.Clock
}

// device is a valid token's content.
type device struct {
	userID int64
	id     string
}

var deviceAAD = []byte("gatehouse device token v1")

func newDevices(secret string, clock gatehouse.Clock) *devices {
	box, err := seal.New(secret, "gatehouse device token")
	if err != nil {
		box = nil
	}
	return &devices{box: box, clock: clock}
}

// issue returns a new device token for userID ("" when device tokens are off).
func (d *devices) issue(userID int64) string {
	if d.box == nil {
		return ""
	}
	var plain [32]byte
	binary.BigEndian.PutUint64(plain[0:8], uint64(userID))
	binary.BigEndian.PutUint64(plain[8:16], uint64(d.clock.Now().Unix()))
	_, _ = rand.Read(plain[16:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(d.box.Seal(plain[:], deviceAAD))
}

// parse reads a token; ok is false for anything not issued here, altered, or older than DeviceTTL.
func (d *devices) parse(tok string) (device, bool) {
	// A sealed token is 1+12+32+16 bytes, 81 characters: anything much longer is not one, and is
	// not worth decoding.
	if d.box == nil || tok == "" || len(tok) > 128 {
		return device{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return device{}, false
	}
	plain, err := d.box.Open(raw, deviceAAD)
	if err != nil || len(plain) != 32 {
		return device{}, false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(plain[8:16])), 0)
	now := d.clock.Now()
	if now.Sub(issued) > DeviceTTL || issued.After(now.Add(time.Minute)) {
		return device{}, false
	}
	return device{userID: int64(binary.BigEndian.Uint64(plain[0:8])), id: hex.EncodeToString(plain[16:])}, true
}
