// Package password hashes and verifies passwords with Argon2id in PHC string form, checks the
// length policy before any hashing happens, and bounds how many hashes run at once so a sign-in
// flood cannot exhaust memory.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse/gatehouse"
)

// Params are the Argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are OWASP's first recommended Argon2id configuration (m=19 MiB, t=2, p=1).
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

var b64 = base64.RawStdEncoding

// ErrMalformed is returned by Verify for a stored hash that is not a valid Argon2id PHC string.
var ErrMalformed = errors.New("password: malformed argon2id hash")

// Hash returns the PHC string $argon2id$v=19$m=..,t=..,p=..$salt$key for pw.
func Hash(pw string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// maxStoredMemory caps the memory a stored hash may ask for, so a tampered row cannot make
// verification allocate gigabytes.
const maxStoredMemory = 1 << 20 // 1 GiB in KiB

// decode parses a PHC string into its parameters, salt and key.
func decode(phc string) (Params, []byte, []byte, error) {
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformed
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, ErrMalformed
	}
	var p Params
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return Params{}, nil, nil, ErrMalformed
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Params{}, nil, nil, ErrMalformed
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return Params{}, nil, nil, ErrMalformed
			}
			p.Threads = uint8(n)
		default:
			return Params{}, nil, nil, ErrMalformed
		}
	}
	if p.Memory == 0 || p.Memory > maxStoredMemory || p.Time == 0 || p.Time > 64 || p.Threads == 0 || p.Memory < 8*uint32(p.Threads) {
		return Params{}, nil, nil, ErrMalformed
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return Params{}, nil, nil, ErrMalformed
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 128 {
		return Params{}, nil, nil, ErrMalformed
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// Verify reports whether pw matches the PHC string and whether the hash was made with weaker
// parameters than want, so the caller can store a fresh hash after a successful sign-in.
func Verify(pw, phc string, want Params) (ok, needsRehash bool, err error) {
	p, salt, key, err := decode(phc)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	weaker := p.Memory < want.Memory || p.Time < want.Time || p.KeyLen < want.KeyLen || p.SaltLen < want.SaltLen
	return true, weaker, nil
}

// Policy is the length policy for new passwords (auth_password_min_length, ..._max_length).
type Policy struct {
	MinLen, MaxLen int // in characters; 0 means no bound
}

// Check returns a FieldError naming "password" when pw is out of bounds. The byte length is
// checked first, so a megabyte password is refused without counting its runes or hashing it.
func (p Policy) Check(pw string) error {
	// A rune is at most 4 bytes: more than 4*MaxLen bytes is certainly too long.
	if p.MaxLen > 0 && len(pw) > 4*p.MaxLen {
		return gatehouse.FieldError("password", "password must be at most %d characters", p.MaxLen)
	}
	n := utf8.RuneCountInString(pw)
	if p.MaxLen > 0 && n > p.MaxLen {
		return gatehouse.FieldError("password", "password must be at most %d characters", p.MaxLen)
	}
	if n < p.MinLen {
		return gatehouse.FieldError("password", "password must be at least %d characters", p.MinLen)
	}
	return nil
}

// randomBytes returns 32 random bytes; crypto/rand.Read never fails on supported platforms.
func randomBytes() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}
