package password

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse/gatehouse"
)

// fast keeps tests quick; the format and logic are the same as with DefaultParams.
var fast = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestDefaultParamsMeetOWASP(t *testing.T) {
	p := DefaultParams()
	// OWASP Password Storage Cheat Sheet: m >= 19 MiB with t >= 2 and p = 1.
	if p.Memory < 19*1024 || p.Time < 2 || p.Threads < 1 || p.SaltLen < 16 || p.KeyLen < 32 {
		t.Fatalf("DefaultParams below OWASP minimum: %+v", p)
	}
}

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", h)
	}
	h2, _ := Hash("correct horse", fast)
	if h == h2 {
		t.Fatal("two hashes of the same password are equal: salt is not random")
	}
	ok, rehash, err := Verify("correct horse", h, fast)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify(right) = %v, %v, %v", ok, rehash, err)
	}
	ok, _, err = Verify("correct horsf", h, fast)
	if err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v", ok, err)
	}
	// A hash made with weaker parameters than wanted asks for a rehash.
	ok, rehash, _ = Verify("correct horse", h, Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if !ok || !rehash {
		t.Fatalf("weaker hash: ok=%v rehash=%v, want true true", ok, rehash)
	}
}

// TestKnownVector checks the encoding against a hash computed directly with x/crypto/argon2,
// so a change of format (base64 padding, parameter order) is caught.
func TestKnownVector(t *testing.T) {
	salt, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	key := argon2.IDKey([]byte("pw"), salt, 1, 64, 1, 32)
	phc := "$argon2id$v=19$m=64,t=1,p=1$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
	if ok, _, err := Verify("pw", phc, fast); !ok || err != nil {
		t.Fatalf("Verify(known vector) = %v, %v", ok, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	good, _ := Hash("x", fast)
	parts := strings.Split(good, "$")
	cases := map[string]string{
		"empty":       "",
		"bcrypt":      "$2a$10$abcdefghijklmnopqrstuu",
		"argon2i":     strings.Replace(good, "argon2id", "argon2i", 1),
		"old version": strings.Replace(good, "v=19", "v=16", 1),
		"huge memory": strings.Replace(good, "m=64", "m=4294967295", 1),
		"zero time":   strings.Replace(good, "t=1", "t=0", 1),
		"bad salt":    "$" + strings.Join([]string{parts[1], parts[2], parts[3], "!!!", parts[5]}, "$"),
		"short key":   "$" + strings.Join([]string{parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"extra field": good + "$x",
		"unknown kv":  strings.Replace(good, "p=1", "q=1", 1),
	}
	for name, phc := range cases {
		ok, _, err := Verify("x", phc, fast)
		if ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Verify = %v, %v; want false, ErrMalformed", name, ok, err)
		}
	}
}

func TestPolicy(t *testing.T) {
	p := Policy{MinLen: 8, MaxLen: 16}
	for pw, want := range map[string]string{
		"short":                    "at least 8",
		"12345678":                 "",
		"éééééééé":                 "", // 8 characters, 16 bytes
		"1234567890123456":         "",
		"12345678901234567":        "at most 16",
		strings.Repeat("a", 1<<20): "at most 16",
	} {
		err := p.Check(pw)
		if want == "" {
			if err != nil {
				t.Errorf("Check(%.20q) = %v, want nil", pw, err)
			}
			continue
		}
		var e *gatehouse.Error
		if !errors.As(err, &e) || e.Code != gatehouse.EInvalid || e.Field != "password" || !strings.Contains(e.Message, want) {
			t.Errorf("Check(%.20q) = %v, want invalid_input on password containing %q", pw, err, want)
		}
	}
}

func TestHasherRoundTrip(t *testing.T) {
	h := NewHasher(fast, 2, 2)
	ctx := context.Background()
	phc, err := h.Hash(ctx, "secret")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(ctx, "secret", phc); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
	if ok, _, _ := h.Verify(ctx, "Secret", phc); ok {
		t.Fatal("wrong password accepted")
	}
	if err := h.VerifyDummy(ctx, "anything"); err != nil {
		t.Fatal(err)
	}
	if h.Params() != fast {
		t.Fatal("Params not returned")
	}
}

// TestHasherBounded fills the worker and the queue and checks that the next caller is refused
// with EBusy and a Retry-After instead of waiting. The work held in the pool blocks on a channel,
// so the test does not depend on how fast the machine hashes.
func TestHasherBounded(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 1)
	ctx := context.Background()
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range 2 {
		wg.Go(func() { _ = h.do(ctx, false, func() time.Duration { <-release; return 0 }) })
	}
	// Wait until one runs and one waits.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, w := h.Stats()
		if r == 1 && w == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool never filled: running=%d waiting=%d", r, w)
		}
		time.Sleep(time.Millisecond)
	}
	if !h.Saturated() {
		t.Fatal("a full pool does not report Saturated")
	}
	_, err := h.Hash(ctx, "y")
	var e *gatehouse.Error
	if !errors.As(err, &e) || e.Code != gatehouse.EBusy || e.RetryAfter <= 0 {
		t.Fatalf("third hash: %v, want server_busy with RetryAfter", err)
	}
	close(release)
	wg.Wait()
	if h.Saturated() {
		t.Fatal("a drained pool reports Saturated")
	}
	if r, w := h.Stats(); r != 0 || w != 0 {
		t.Fatalf("after: running=%d waiting=%d", r, w)
	}
	// Once drained it accepts work again.
	if _, err := h.Hash(ctx, "z"); err != nil {
		t.Fatal(err)
	}
}

func TestHasherContextCancelledWhileWaiting(t *testing.T) {
	slow := Params{Memory: 32 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := NewHasher(slow, 1, 4)
	done := make(chan struct{})
	go func() { _, _ = h.Hash(context.Background(), "x"); close(done) }()
	for r, _ := h.Stats(); r == 0; r, _ = h.Stats() {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "y"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	<-done
}

func FuzzVerify(f *testing.F) {
	good, _ := Hash("pw", fast)
	f.Add("pw", good)
	f.Add("", "$argon2id$v=19$m=64,t=1,p=1$$")
	f.Add("x", "$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, pw, phc string) {
		// Never panics, never allocates what a tampered string asks for beyond the cap.
		ok, _, err := Verify(pw, phc, fast)
		if ok && err != nil {
			t.Fatal("ok with error")
		}
	})
}

func BenchmarkHashDefault(b *testing.B) {
	p := DefaultParams()
	for b.Loop() {
		if _, err := Hash("correct horse battery staple", p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPolicyRejectHuge(b *testing.B) {
	pw := strings.Repeat("a", 1<<20)
	p := Policy{MinLen: 8, MaxLen: 128}
	b.ReportAllocs()
	for b.Loop() {
		if p.Check(pw) == nil {
			b.Fatal("accepted")
		}
	}
}

// TestTrustedCallersGetReservedPlacesAndGoFirst fills the pool with untrusted work, as a sign-in
// flood does: a further untrusted caller is refused, a trusted one is let in on a reserved place
// and, once the running hash ends, runs before every untrusted caller that waited longer.
func TestTrustedCallersGetReservedPlacesAndGoFirst(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 2)
	ctx := context.Background()
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	run := func(name string, trusted bool) {
		wg.Go(func() {
			_ = h.do(ctx, trusted, func() time.Duration {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				<-release
				return 0
			})
		})
	}
	waitFor := func(running, waiting int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			r, w := h.Stats()
			if r == running && w == waiting {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("pool: running=%d waiting=%d, want %d and %d", r, w, running, waiting)
			}
			time.Sleep(time.Millisecond)
		}
	}
	run("flood1", false)
	waitFor(1, 0)
	run("flood2", false)
	run("flood3", false)
	waitFor(1, 2)
	if !h.Saturated() {
		t.Fatal("the untrusted places are all taken, yet Saturated is false")
	}
	if _, err := h.Hash(ctx, "x"); !gatehouse.IsCode(err, gatehouse.EBusy) {
		t.Fatalf("untrusted caller on a full pool: %v, want server_busy", err)
	}
	run("device", true)
	waitFor(1, 3)
	// Hand the worker on one hash at a time and watch who gets it.
	for i := range 3 {
		release <- struct{}{}
		waitFor(1, 2-i)
	}
	close(release)
	wg.Wait()
	if len(order) != 4 || order[0] != "flood1" || order[1] != "device" {
		t.Fatalf("run order %v: the trusted caller should run right after the hash that was running", order)
	}
	if r, w := h.Stats(); r != 0 || w != 0 || h.Saturated() {
		t.Fatalf("after: running=%d waiting=%d saturated=%v", r, w, h.Saturated())
	}
}
