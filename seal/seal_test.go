package seal

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := New("key-one-0123456789abcdefghijklmnop", "totp")
	if err != nil {
		t.Fatal(err)
	}
	s1 := b.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("user:1"))
	s2 := b.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("user:1"))
	if bytes.Equal(s1, s2) {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	if bytes.Contains(s1, []byte("JBSWY3DPEHPK3PXP")) {
		t.Fatal("the sealed value contains the plaintext")
	}
	got, err := b.Open(s1, []byte("user:1"))
	if err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Another row, another key, another purpose, a flipped bit, a truncated value: all refused.
	other, _ := New("key-two-0123456789abcdefghijklmnop", "totp")
	purpose, _ := New("key-one-0123456789abcdefghijklmnop", "oidc")
	flipped := bytes.Clone(s1)
	flipped[len(flipped)-1] ^= 1
	cases := map[string]func() ([]byte, error){
		"other aad":     func() ([]byte, error) { return b.Open(s1, []byte("user:2")) },
		"other key":     func() ([]byte, error) { return other.Open(s1, []byte("user:1")) },
		"other purpose": func() ([]byte, error) { return purpose.Open(s1, []byte("user:1")) },
		"flipped":       func() ([]byte, error) { return b.Open(flipped, []byte("user:1")) },
		"truncated":     func() ([]byte, error) { return b.Open(s1[:10], []byte("user:1")) },
		"empty":         func() ([]byte, error) { return b.Open(nil, []byte("user:1")) },
	}
	for name, f := range cases {
		if _, err := f(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
	if _, err := New("", "totp"); err == nil {
		t.Fatal("an empty key was accepted")
	}
}
