// Package totp adapts github.com/pquerna/otp to gatehouse's rules: RFC 6238 with SHA-1, 6 digits
// and 30-second steps (what every authenticator app understands), one step of clock skew either
// way, and the matched time step reported so the caller can refuse a code used before.
package totp

import (
	"bytes"
	"encoding/base32"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// Fixed parameters. Changing them would invalidate every enrolled authenticator.
const (
	Period = 30 // seconds per step
	Digits = 6
	Skew   = 1 // steps accepted before and after the current one
)

var opts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Key is a new authenticator: its base32 secret and the otpauth:// URI apps import.
type Key struct {
	Secret string
	URL    string
}

// Generate makes a new random 160-bit secret (RFC 4226's recommended length).
func Generate(issuer, account string) (*Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, SecretSize: 20})
	if err != nil {
		return nil, err
	}
	return &Key{Secret: k.Secret(), URL: k.URL()}, nil
}

// URL rebuilds the otpauth:// URI of an existing base32 secret.
func URL(issuer, account, secret string) (string, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		return "", err
	}
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Secret: raw})
	if err != nil {
		return "", err
	}
	return k.URL(), nil
}

// Step is the RFC 6238 time step of t.
func Step(t time.Time) int64 { return t.Unix() / Period }

// Match checks code against the steps around now and returns the earliest matching step later
// than after (the last step accepted for this secret), so a code is never accepted twice. ok is
// false for a wrong, malformed or replayed code.
func Match(secret, code string, now time.Time, after int64) (step int64, ok bool, err error) {
	code = strings.TrimSpace(code)
	if len(code) != Digits || strings.Trim(code, "0123456789") != "" {
		return 0, false, nil
	}
	cur := Step(now)
	for s := cur - Skew; s <= cur+Skew; s++ {
		if s <= after || s < 0 {
			continue
		}
		// hotp.ValidateCustom compares in constant time.
		good, err := hotp.ValidateCustom(code, uint64(s), secret, opts)
		if err != nil {
			return 0, false, err
		}
		if good {
			return s, true, nil
		}
	}
	return 0, false, nil
}

// Code returns the code of secret at t (tests and tools).
func Code(secret string, t time.Time) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(Step(t)), opts)
}

// QRCode renders uri as a PNG QR code of size×size pixels.
func QRCode(uri string, size int) ([]byte, error) {
	k, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, err
	}
	img, err := k.Image(size, size)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
