package oidcprovider

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/seal"
)

// Signing keys: one RS256 key (every relying party supports it; it signs ID tokens) and one
// ES256 key, published next to it for relying parties that prefer it. Keys are generated on first
// start, sealed under a key derived from auth.mfa_secret_key and kept in the store, so every
// instance signs with the same keys.

// Algorithms the provider keeps a key for; the first one signs.
var keyAlgs = []string{string(jose.RS256), string(jose.ES256)}

// keyReload is how often an instance re-reads the key table, so a rotation made on another
// instance (or by the CLI) is followed.
const keyReload = time.Minute

type signingKey struct {
	id   string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
	// active and retire bound the time the key signs.
	active time.Time
	retire *time.Time
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) Key() any                                    { return k.priv }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k.priv.Public() }

// keyRing holds the keys in memory.
type keyRing struct {
	store gatehouse.OPStore
	box   *seal.Box
	clock gatehouse.Clock

	log *slog.Logger

	mu     sync.Mutex
	keys   []*signingKey
	loaded time.Time
	warned bool
}

func newKeyRing(store gatehouse.OPStore, secret string, clock gatehouse.Clock, log *slog.Logger) (*keyRing, error) {
	box, err := seal.New(secret, "gatehouse oidc provider signing key")
	if err != nil {
		return nil, fmt.Errorf("sealing the provider's signing keys needs auth.mfa_secret_key: %w", err)
	}
	return &keyRing{store: store, box: box, clock: clock, log: log}, nil
}

func generate(alg string) (crypto.Signer, error) {
	switch alg {
	case string(jose.RS256):
		return rsa.GenerateKey(rand.Reader, 2048)
	case string(jose.ES256):
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("unknown key algorithm %q", alg)
}

func newKeyID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// add generates, seals and stores a key of alg that signs from activeAt; with rotate, the keys of
// that algorithm it replaces stop signing then and leave JWKS at expireOld.
func (r *keyRing) add(ctx context.Context, alg string, activeAt time.Time, rotate bool, expireOld time.Time) error {
	priv, err := generate(alg)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	id := newKeyID()
	k := &gatehouse.OPKey{ID: id, Alg: alg, Sealed: r.box.Seal(der, []byte(id)), CreatedAt: r.clock.Now(), ActiveAt: activeAt}
	return r.store.AddOPKey(ctx, k, rotate, expireOld)
}

// ensure creates the keys missing on first start.
func (r *keyRing) ensure(ctx context.Context) error {
	keys, err := r.reload(ctx)
	if err != nil {
		return err
	}
	for _, alg := range keyAlgs {
		found := false
		for _, k := range keys {
			found = found || string(k.alg) == alg
		}
		if !found {
			if err := r.add(ctx, alg, r.clock.Now(), false, time.Time{}); err != nil {
				return fmt.Errorf("creating the %s signing key: %w", alg, err)
			}
		}
	}
	_, err = r.reload(ctx)
	return err
}

// rotate adds a new key of every algorithm. It is published at once and signs from now+publish;
// the old ones leave JWKS after keep more (the longest an ID token they signed lives).
func (r *keyRing) rotate(ctx context.Context, publish, keep time.Duration) error {
	now := r.clock.Now()
	for _, alg := range keyAlgs {
		if err := r.add(ctx, alg, now.Add(publish), true, now.Add(publish+keep)); err != nil {
			return err
		}
	}
	_, err := r.reload(ctx)
	return err
}

func (r *keyRing) reload(ctx context.Context) ([]*signingKey, error) {
	rows, err := r.store.OPKeys(ctx, r.clock.Now())
	if err != nil {
		return nil, err
	}
	keys := make([]*signingKey, 0, len(rows))
	unreadable := 0
	for _, row := range rows {
		der, err := r.box.Open(row.Sealed, []byte(row.ID))
		if err != nil {
			// Like TOTP secrets, keys sealed under another mfa_secret_key are unusable, but the
			// server still starts: ensure makes new keys when none of an algorithm opens.
			unreadable++
			continue
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", row.ID, err)
		}
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("signing key %s is not a signing key", row.ID)
		}
		keys = append(keys, &signingKey{id: row.ID, alg: jose.SignatureAlgorithm(row.Alg), priv: signer, active: row.ActiveAt, retire: row.RetireAt})
	}
	r.mu.Lock()
	r.keys, r.loaded = keys, r.clock.Now()
	warn := unreadable > 0 && !r.warned
	r.warned = r.warned || warn
	r.mu.Unlock()
	if warn {
		r.log.Error("some OpenID Provider signing keys do not open: auth.mfa_secret_key has probably changed; they are left out of JWKS, and new keys are made if none is left", "unreadable", unreadable)
	}
	return keys, nil
}

func (r *keyRing) current(ctx context.Context) ([]*signingKey, error) {
	r.mu.Lock()
	keys, loaded := r.keys, r.loaded
	r.mu.Unlock()
	if keys != nil && r.clock.Now().Sub(loaded) < keyReload {
		return keys, nil
	}
	return r.reload(ctx)
}

// signer is the newest RS256 key that is active and not retired.
func (r *keyRing) signer(ctx context.Context) (op.SigningKey, error) {
	keys, err := r.current(ctx)
	if err != nil {
		return nil, err
	}
	now := r.clock.Now()
	var best *signingKey
	for _, k := range keys {
		if string(k.alg) != keyAlgs[0] || now.Before(k.active) || (k.retire != nil && !now.Before(*k.retire)) {
			continue
		}
		if best == nil || k.active.After(best.active) {
			best = k
		}
	}
	if best == nil {
		return nil, errors.New("no active signing key")
	}
	return best, nil
}

// published is every key in JWKS: active, waiting to sign, and retired but not yet expired.
func (r *keyRing) published(ctx context.Context) ([]op.Key, error) {
	keys, err := r.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, 0, len(keys))
	for _, k := range keys {
		out = append(out, publicKey{k})
	}
	return out, nil
}
