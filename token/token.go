// Package token issues and checks access tokens (HS256 JWTs), makes opaque tokens for cookies,
// refresh and one-time links, and keeps the in-memory set of revoked sessions.
package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse"
)

// Claims are the claims of an access token: sub (user id), sid (session id), iat, exp, jti,
// and auth_method.
type Claims struct {
	jwt.RegisteredClaims
	SID string `json:"sid"`
	// AuthMethod is how the session had been authenticated when the token was minted
	// (gatehouse.Auth*: "password", "totp", "recovery_code", "passkey", ...). Access rules with
	// policy two_factor read it, so a token minted from a session with a second factor counts
	// as two. It is signed like every claim; tokens without it count as one factor.
	AuthMethod string `json:"auth_method,omitempty"`
	// IssuedMs is the issue time in Unix milliseconds: iat has whole seconds, too coarse to tell
	// the token a refresh replaced from the one it issued in the same second.
	IssuedMs int64 `json:"iat_ms,omitempty"`
}

// IssuedAtMs is the issue time in Unix milliseconds (from iat for tokens without iat_ms).
func (c *Claims) IssuedAtMs() int64 {
	if c.IssuedMs != 0 {
		return c.IssuedMs
	}
	if c.IssuedAt != nil {
		return c.IssuedAt.Unix() * 1000
	}
	return 0
}

// UserID returns sub as a user id.
func (c *Claims) UserID() (int64, error) { return strconv.ParseInt(c.Subject, 10, 64) }

// Issuer signs and verifies access tokens with one HMAC key.
type Issuer struct {
	key    []byte
	clock  gatehouse.Clock
	parser *jwt.Parser

	// verified remembers tokens whose signature and claims were already checked, so the next
	// request with the same token skips the JWT parse (about 50 allocations and most of the
	// check's time). Only tokens that passed Parse get in, so an attacker cannot fill it with
	// garbage; expiry is still checked on every hit, revocation by the caller as before.
	cacheMu  sync.RWMutex
	verified map[string]*Claims
}

// verifiedMax bounds the cache of verified tokens; when full it is emptied and refills.
const verifiedMax = 100_000

// NewIssuer returns an Issuer for the given secret. The secret is used as the HMAC key as is;
// a changed secret invalidates every token (seed 002).
func NewIssuer(secret string, clock gatehouse.Clock) (*Issuer, error) {
	if len(secret) < 16 {
		return nil, errors.New("jwt secret must be at least 16 characters")
	}
	return &Issuer{
		key:      []byte(secret),
		clock:    clock,
		verified: map[string]*Claims{},
		// Only HS256 is accepted: "none", RS256 with the HMAC key as a public key and every
		// other algorithm-confusion trick is refused before the signature is looked at.
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithTimeFunc(clock.Now),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
		),
	}, nil
}

// Issue returns a signed access token for the user and session, valid until exp; method is how
// the session was authenticated (its AuthMethod) at this moment.
func (i *Issuer) Issue(userID int64, sid, method string, exp time.Time) (string, error) {
	now := i.clock.Now()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatInt(userID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        RandomID(),
		},
		SID:        sid,
		AuthMethod: method,
		IssuedMs:   now.UnixMilli(),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(i.key)
}

// Parse verifies signature, algorithm and expiry and returns the claims. The claims returned
// may be shared with other callers: treat them as read-only.
func (i *Issuer) Parse(tok string) (*Claims, error) {
	i.cacheMu.RLock()
	c, ok := i.verified[tok]
	i.cacheMu.RUnlock()
	if ok {
		if i.clock.Now().Before(c.ExpiresAt.Time) {
			return c, nil
		}
		i.cacheMu.Lock()
		delete(i.verified, tok)
		i.cacheMu.Unlock()
		return nil, errInvalidToken
	}
	c, err := i.parse(tok)
	if err != nil {
		return nil, err
	}
	i.cacheMu.Lock()
	if len(i.verified) >= verifiedMax {
		clear(i.verified)
	}
	i.verified[tok] = c
	i.cacheMu.Unlock()
	return c, nil
}

var errInvalidToken = gatehouse.Errorf(gatehouse.EUnauthorized, "access token is invalid or expired")

func (i *Issuer) parse(tok string) (*Claims, error) {
	var c Claims
	if _, err := i.parser.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return i.key, nil }); err != nil {
		return nil, errInvalidToken
	}
	if c.SID == "" || c.Subject == "" {
		return nil, errInvalidToken
	}
	return &c, nil
}

// NextRefresh derives the refresh token that follows prev: HMAC-SHA256 under the signing key,
// so it is as unguessable as a random token to anyone without the key and prev, and two
// concurrent refreshes with the same token get the same successor instead of forking the chain.
func (i *Issuer) NextRefresh(prev string) (string, []byte) {
	m := hmac.New(sha256.New, i.key)
	m.Write([]byte("gatehouse refresh token\x00"))
	m.Write([]byte(prev))
	t := base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	return t, Hash(t)
}

// Opaque returns a new 256-bit random token (base64url) and its SHA-256, the only form stored.
func Opaque() (string, []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes the program instead)
	t := base64.RawURLEncoding.EncodeToString(b[:])
	return t, Hash(t)
}

// Hash returns SHA-256 of an opaque token. Tokens carry 256 bits of entropy, so a fast hash is
// enough: nobody can brute-force a preimage.
func Hash(t string) []byte {
	h := HashKey(t)
	return h[:]
}

// HashKey is Hash as an array, usable as a map key without allocating. A token of up to 128
// bytes (every session cookie the request check accepts) is copied into a stack buffer: the
// conversion []byte(t) allocates for anything longer than 32 bytes, once per request check.
func HashKey(t string) [32]byte {
	var buf [128]byte
	if len(t) <= len(buf) {
		return sha256.Sum256(buf[:copy(buf[:], t)])
	}
	return sha256.Sum256([]byte(t))
}

// RandomID returns a 128-bit random identifier (base64url), used for session ids and jti.
func RandomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Revocations is the in-memory set of revoked session ids, each kept until no access token for
// it can still be valid. It is filled from the persisted change feed at start and while running.
type Revocations struct {
	mu sync.RWMutex
	m  map[string]time.Time
}

// NewRevocations returns an empty set.
func NewRevocations() *Revocations { return &Revocations{m: map[string]time.Time{}} }

// Add marks sid revoked until exp.
func (r *Revocations) Add(sid string, exp time.Time) {
	r.mu.Lock()
	if old, ok := r.m[sid]; !ok || exp.After(old) {
		r.m[sid] = exp
	}
	r.mu.Unlock()
}

// Revoked reports whether sid is revoked.
func (r *Revocations) Revoked(sid string) bool {
	r.mu.RLock()
	_, ok := r.m[sid]
	r.mu.RUnlock()
	return ok
}

// Len is the number of entries (for metrics).
func (r *Revocations) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.m)
}

// Prune drops entries that expired before now.
func (r *Revocations) Prune(now time.Time) {
	r.mu.Lock()
	for k, exp := range r.m {
		if exp.Before(now) {
			delete(r.m, k)
		}
	}
	r.mu.Unlock()
}

// fingerprintLabel separates the fingerprint from every other use of the secret.
const fingerprintLabel = "gatehouse jwt_secret fingerprint v1"

// Fingerprint identifies the signing secret without revealing it: HMAC-SHA256 of a fixed label
// under the secret, hex-encoded. It is stored in the database so that a start with another
// secret is noticed (and everyone signed out, as the seeds say); the secret is at least 32
// random characters, so the fingerprint gives no handle to guess it by.
func (i *Issuer) Fingerprint() string {
	m := hmac.New(sha256.New, i.key)
	m.Write([]byte(fingerprintLabel))
	return hex.EncodeToString(m.Sum(nil))
}
