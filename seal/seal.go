// Package seal encrypts small secrets at rest (TOTP secrets, later OIDC client secrets) with
// AES-256-GCM under a key derived from [auth] mfa_secret_key with HKDF-SHA256. Each purpose gets
// its own derived key, and callers bind a ciphertext to its row with additional data, so a sealed
// value copied to another user's row does not open.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// version prefixes every sealed value so the format can change without guessing.
const version = 1

// ErrOpen means a sealed value could not be decrypted: it was sealed under another key (the
// configured mfa_secret_key changed) or it was altered.
var ErrOpen = errors.New("seal: cannot decrypt: sealed under another key, or altered")

// Box seals and opens values for one purpose.
type Box struct{ aead cipher.AEAD }

// New derives the key for purpose from secret. An empty secret is refused.
func New(secret, purpose string) (*Box, error) {
	if secret == "" {
		return nil, errors.New("seal: the key is empty (set [auth] mfa_secret_key)")
	}
	// The salt is fixed and public: the configured secret is already random, HKDF here only
	// separates purposes and shapes the key to 32 bytes.
	key, err := hkdf.Key(sha256.New, []byte(secret), []byte("gatehouse seal v1"), purpose, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain with a fresh random nonce; aad is authenticated but not stored.
func (b *Box) Seal(plain, aad []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, plain, aad)
}

// Open decrypts a value made by Seal with the same key, purpose and aad; ErrOpen otherwise.
func (b *Box) Open(sealed, aad []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
