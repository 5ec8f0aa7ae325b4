package mail

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/seal"
)

// Queued bodies hold live links (activation, reset, email change): whoever reads them signs in
// as their recipient. They are sealed at rest under a key derived from [auth] mfa_secret_key, so
// a copy of the database taken while mail is queued (an SMTP outage) hands out nothing. A body
// written before sealing existed (no prefix) is read as it is.
const (
	sealPurpose = "gatehouse outbox body"
	sealPrefix  = "gatehouse-sealed:v1:"
)

// errBodySealed means a queued body cannot be opened: mfa_secret_key changed since it was queued.
var errBodySealed = errors.New("the queued mail body cannot be decrypted: [auth] mfa_secret_key has changed since it was queued; send the link again")

// newBodyBox derives the outbox key; no key (the CLI, some tests) leaves bodies unsealed.
func newBodyBox(key string) *seal.Box {
	if key == "" {
		return nil
	}
	b, err := seal.New(key, sealPurpose)
	if err != nil {
		return nil
	}
	return b
}

// bodyAAD binds a sealed body to its mail's kind, recipient and part, so a body copied to
// another row (another recipient) does not open.
func bodyAAD(m *gatehouse.OutboxMail, part string) []byte {
	return []byte(m.Kind + "\x00" + m.To + "\x00" + part)
}

func sealBodies(box *seal.Box, m *gatehouse.OutboxMail) {
	if box == nil {
		return
	}
	seal1 := func(part, plain string) string {
		if plain == "" || strings.HasPrefix(plain, sealPrefix) {
			return plain
		}
		return sealPrefix + base64.RawStdEncoding.EncodeToString(box.Seal([]byte(plain), bodyAAD(m, part)))
	}
	m.Text = seal1("text", m.Text)
	m.HTML = seal1("html", m.HTML)
}

// openBodies returns the plain text and HTML parts of m, sealed or not.
func openBodies(box *seal.Box, m *gatehouse.OutboxMail) (text, html string, err error) {
	open1 := func(part, v string) (string, error) {
		rest, ok := strings.CutPrefix(v, sealPrefix)
		if !ok {
			return v, nil
		}
		raw, err := base64.RawStdEncoding.DecodeString(rest)
		if err != nil || box == nil {
			return "", errBodySealed
		}
		plain, err := box.Open(raw, bodyAAD(m, part))
		if err != nil {
			return "", errBodySealed
		}
		return string(plain), nil
	}
	if text, err = open1("text", m.Text); err != nil {
		return "", "", err
	}
	if html, err = open1("html", m.HTML); err != nil {
		return "", "", err
	}
	return text, html, nil
}

// Sealed reports whether a stored body is sealed (tests and the migration check).
func Sealed(body string) bool { return strings.HasPrefix(body, sealPrefix) }

// Bodies returns the plain parts of a mail composed or stored by this outbox.
func (o *Outbox) Bodies(m *gatehouse.OutboxMail) (text, html string, err error) {
	return openBodies(o.box, m)
}

// OpenBodies returns the plain parts of a stored mail, opened with the key derived from
// mfaSecretKey (tests that read a link from the outbox).
func OpenBodies(mfaSecretKey string, m *gatehouse.OutboxMail) (text, html string, err error) {
	return openBodies(newBodyBox(mfaSecretKey), m)
}
