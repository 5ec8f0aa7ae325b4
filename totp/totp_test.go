package totp

import (
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testdb"
)

// rfcSecret is RFC 6238 appendix B's SHA-1 seed "12345678901234567890" in base32.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// RFC 6238 appendix B, SHA-1 column; the published values have 8 digits, a 6-digit code is
// their last 6 (the truncation is modulo 10^digits).
var rfcVectors = []struct {
	unix int64
	code string
}{
	{59, "94287082"},
	{1111111109, "07081804"},
	{1111111111, "14050471"},
	{1234567890, "89005924"},
	{2000000000, "69279037"},
	{20000000000, "65353130"},
}

func TestRFC6238Vectors(t *testing.T) {
	for _, v := range rfcVectors {
		now := time.Unix(v.unix, 0)
		want := v.code[2:]
		if got, err := Code(rfcSecret, now); err != nil || got != want {
			t.Errorf("Code at %d = %q, %v; want %q", v.unix, got, err, want)
		}
		step, ok, err := Match(rfcSecret, want, now, 0)
		if err != nil || !ok || step != v.unix/30 {
			t.Errorf("Match at %d = %d, %v, %v", v.unix, step, ok, err)
		}
	}
}

func TestMatchSkewAndReplay(t *testing.T) {
	now := time.Unix(1234567890, 0)
	code, _ := Code(rfcSecret, now)
	cur := Step(now)
	// One step of skew either way is accepted, two are not.
	for _, d := range []time.Duration{-30 * time.Second, 30 * time.Second} {
		if _, ok, _ := Match(rfcSecret, code, now.Add(d), 0); !ok {
			t.Errorf("code refused with %v of skew", d)
		}
	}
	for _, d := range []time.Duration{-60 * time.Second, 60 * time.Second} {
		if _, ok, _ := Match(rfcSecret, code, now.Add(d), 0); ok {
			t.Errorf("code accepted with %v of skew", d)
		}
	}
	// The step already used, or any later one, makes the code worthless.
	if _, ok, _ := Match(rfcSecret, code, now, cur); ok {
		t.Error("code accepted for a step already used")
	}
	if _, ok, _ := Match(rfcSecret, code, now, cur-1); !ok {
		t.Error("code refused although only an earlier step was used")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", "12 456", strings.Repeat("0", 6)} {
		if _, ok, err := Match(rfcSecret, bad, now, 0); ok || err != nil {
			t.Errorf("Match(%q) = %v, %v", bad, ok, err)
		}
	}
}

// TestAgainstOathtool checks codes against an independent implementation, oathtool (Debian
// package oathtool), for a freshly generated secret.
func TestAgainstOathtool(t *testing.T) {
	path, err := exec.LookPath("oathtool")
	if err != nil {
		testdb.Unavailable(t, "oathtool", "oathtool not found (apt-get install -y oathtool)")
	}
	k, err := Generate("gatehouse", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(k.URL)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != k.Secret ||
		u.Query().Get("issuer") != "gatehouse" || u.Query().Get("digits") != "6" || u.Query().Get("period") != "30" || u.Query().Get("algorithm") != "SHA1" {
		t.Fatalf("otpauth URL %q", k.URL)
	}
	if rebuilt, err := URL("gatehouse", "alice@example.com", k.Secret); err != nil || rebuilt != k.URL {
		t.Fatalf("URL() = %q, %v; want %q", rebuilt, err, k.URL)
	}
	for _, unix := range []int64{1700000000, 1800000015, 2000000029} {
		now := time.Unix(unix, 0).UTC()
		out, err := exec.Command(path, "--totp", "--base32", "--now", now.Format("2006-01-02 15:04:05 UTC"), k.Secret).Output()
		if err != nil {
			t.Fatalf("oathtool: %v", err)
		}
		want := strings.TrimSpace(string(out))
		if got, _ := Code(k.Secret, now); got != want {
			t.Fatalf("at %d: our code %q, oathtool %q", unix, got, want)
		}
		if _, ok, _ := Match(k.Secret, want, now, 0); !ok {
			t.Fatalf("oathtool's code %q refused at %d", want, unix)
		}
	}
}

func TestQRCode(t *testing.T) {
	k, _ := Generate("gatehouse", "bob")
	png, err := QRCode(k.URL, 200)
	if err != nil || len(png) < 100 || string(png[1:4]) != "PNG" {
		t.Fatalf("QRCode: %d bytes, %v", len(png), err)
	}
}
