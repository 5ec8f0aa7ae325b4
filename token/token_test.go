package token

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type fakeClock struct{ t time.Time }

func (f *fakeClock) Now() time.Time { return f.t }

func newIssuer(t *testing.T, secret string, c *fakeClock) *Issuer {
	t.Helper()
	i, err := NewIssuer(secret, c)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestIssueAndParse(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	i := newIssuer(t, "0123456789abcdef0123", c)
	tok, err := i.Issue(42, "sid-1", "", c.t.Add(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := i.Parse(tok)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if uid, _ := cl.UserID(); uid != 42 || cl.SID != "sid-1" || cl.ID == "" || cl.IssuedAt == nil {
		t.Fatalf("claims = %+v", cl)
	}
	c.t = c.t.Add(16 * time.Minute)
	if _, err := i.Parse(tok); err == nil {
		t.Fatal("expired token accepted")
	}
}

func TestOtherSecretRefused(t *testing.T) {
	c := &fakeClock{t: time.Now()}
	a := newIssuer(t, "0123456789abcdef0123", c)
	b := newIssuer(t, "another-secret-entirely", c)
	tok, _ := a.Issue(1, "s", "", c.t.Add(time.Minute))
	if _, err := b.Parse(tok); err == nil {
		t.Fatal("token signed with another secret accepted")
	}
}

// Algorithm confusion: "none" and other HMAC sizes must be refused even with the right key.
func TestOnlyHS256(t *testing.T) {
	c := &fakeClock{t: time.Now()}
	secret := "0123456789abcdef0123"
	i := newIssuer(t, secret, c)
	claims := Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "1", IssuedAt: jwt.NewNumericDate(c.t), ExpiresAt: jwt.NewNumericDate(c.t.Add(time.Minute))}, SID: "s"}
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, claims).SignedString([]byte(secret))
	if _, err := i.Parse(hs512); err == nil {
		t.Fatal("HS512 token accepted")
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if _, err := i.Parse(none); err == nil {
		t.Fatal("alg=none token accepted")
	}
	// A token without exp is refused.
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "1"}, SID: "s"}).SignedString([]byte(secret))
	if _, err := i.Parse(noExp); err == nil {
		t.Fatal("token without exp accepted")
	}
	// Tampered payload.
	good, _ := i.Issue(1, "s", "", c.t.Add(time.Minute))
	parts := strings.Split(good, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"2","sid":"s","exp":9999999999,"iat":1}`))
	if _, err := i.Parse(strings.Join(parts, ".")); err == nil {
		t.Fatal("tampered token accepted")
	}
}

func TestShortSecretRefused(t *testing.T) {
	if _, err := NewIssuer("short", &fakeClock{}); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestOpaque(t *testing.T) {
	a, ha := Opaque()
	b, _ := Opaque()
	if a == b || len(a) != 43 || string(Hash(a)) != string(ha) {
		t.Fatalf("opaque tokens: %q %q", a, b)
	}
}

func TestRevocations(t *testing.T) {
	r := NewRevocations()
	now := time.Now()
	r.Add("a", now.Add(time.Minute))
	r.Add("b", now.Add(-time.Minute))
	if !r.Revoked("a") || !r.Revoked("b") || r.Revoked("c") {
		t.Fatal("membership wrong")
	}
	r.Prune(now)
	if !r.Revoked("a") || r.Revoked("b") || r.Len() != 1 {
		t.Fatal("prune wrong")
	}
}

// BenchmarkParse is the check of a token seen before (the cache of verified tokens);
// BenchmarkParseCold the full HMAC and claims check of a new one.
func BenchmarkParse(b *testing.B) {
	c := &fakeClock{t: time.Now()}
	i, _ := NewIssuer("0123456789abcdef0123", c)
	tok, _ := i.Issue(1, "sid", "", c.t.Add(time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := i.Parse(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCold(b *testing.B) {
	c := &fakeClock{t: time.Now()}
	i, _ := NewIssuer("0123456789abcdef0123", c)
	tok, _ := i.Issue(1, "sid", "", c.t.Add(time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := i.parse(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRevoked looks up a session id that is not revoked in a set of 100,000 revocations:
// the common case on every Bearer check.
func BenchmarkRevoked(b *testing.B) {
	r := NewRevocations()
	exp := time.Now().Add(time.Hour)
	for range 100_000 {
		r.Add(RandomID(), exp)
	}
	sid := RandomID()
	b.ReportAllocs()
	for b.Loop() {
		if r.Revoked(sid) {
			b.Fatal("a fresh id is revoked")
		}
	}
}

// TestHashKeySHA256 holds HashKey to SHA-256 of the token's bytes on both sides of its stack
// buffer's size, and to no allocation for a token that fits (the session cookie's check).
func TestHashKeySHA256(t *testing.T) {
	for _, n := range []int{0, 1, 32, 33, 127, 128, 129, 1000} {
		tok := strings.Repeat("x", n)
		if n > 0 {
			tok = tok[:n-1] + "y"
		}
		if got, want := HashKey(tok), sha256.Sum256([]byte(tok)); got != want {
			t.Errorf("length %d: HashKey %x, SHA-256 %x", n, got, want)
		}
	}
	tok := strings.Repeat("c", 43)
	if n := testing.AllocsPerRun(100, func() { _ = HashKey(tok) }); n != 0 {
		t.Errorf("HashKey of a 43-byte token allocates %v times", n)
	}
}
