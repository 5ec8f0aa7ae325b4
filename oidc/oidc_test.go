package oidc

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	rp, err := New("a key of enough length for tests", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := rp.Seal("google", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("s3cret")) {
		t.Fatal("the secret is visible in the sealed form")
	}
	again, _ := rp.Seal("google", "s3cret")
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one secret are equal: the nonce is not random")
	}
	if got, err := rp.Open("google", sealed); err != nil || got != "s3cret" {
		t.Fatalf("open: %q %v", got, err)
	}
	// Bound to the provider id: a sealed secret copied to another provider does not open.
	if _, err := rp.Open("github", sealed); !errors.Is(err, ErrUnseal) {
		t.Fatalf("other provider: %v", err)
	}
	// Another mfa_secret_key cannot open it.
	other, _ := New("another key of enough length!!", nil, nil)
	if _, err := other.Open("google", sealed); !errors.Is(err, ErrUnseal) {
		t.Fatalf("other key: %v", err)
	}
	// Damaged or empty data is refused, not a panic.
	for _, bad := range [][]byte{nil, {1}, {2, 0, 0}, append([]byte{}, sealed[:len(sealed)-1]...)} {
		if _, err := rp.Open("google", bad); !errors.Is(err, ErrUnseal) {
			t.Fatalf("damaged %v: %v", bad, err)
		}
	}
	if _, err := New("", nil, nil); err == nil {
		t.Fatal("empty key accepted")
	}
}

func TestTruthy(t *testing.T) {
	for raw, want := range map[string]bool{`true`: true, `false`: false, `"true"`: true, `"false"`: false, `"yes"`: false, `null`: false, `1`: false} {
		if got := truthy(json.RawMessage(raw)); got != want {
			t.Errorf("truthy(%s) = %v, want %v", raw, got, want)
		}
	}
	if truthy(nil) {
		t.Error("truthy(nil)")
	}
}
