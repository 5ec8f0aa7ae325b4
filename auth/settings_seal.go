package auth

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/seal"
)

// Write-only settings (mail_smtp_password) are stored sealed under a key derived from
// [auth] mfa_secret_key, so a database copy does not hand out the mail account. A value stored
// before sealing existed is read as it is and sealed at the next start (sealStoredSecrets).
const (
	settingSealPurpose = "gatehouse secret setting"
	settingSealPrefix  = "gatehouse-sealed:v1:"
)

func newSettingsBox(key string) *seal.Box {
	if key == "" {
		return nil
	}
	b, err := seal.New(key, settingSealPurpose)
	if err != nil {
		return nil
	}
	return b
}

// secretKeys are the keys of the write-only settings.
func secretKeys(cookieSecure bool) []string {
	var out []string
	for _, d := range gatehouse.SettingDefs(cookieSecure) {
		if d.Type == gatehouse.TypeSecret {
			out = append(out, d.Key)
		}
	}
	return out
}

// sealSecretSettings seals the write-only values of vals in place (the key is the additional
// data: a sealed value copied to another setting does not open). Without a key they stay plain.
func (s *Core) sealSecretSettings(vals map[string]string) {
	if s.settingsBox == nil {
		return
	}
	for _, k := range secretKeys(s.cookieSecureDefault) {
		v, ok := vals[k]
		if !ok || v == "" || strings.HasPrefix(v, settingSealPrefix) {
			continue
		}
		vals[k] = settingSealPrefix + base64.RawStdEncoding.EncodeToString(s.settingsBox.Seal([]byte(v), []byte(k)))
	}
}

// openSecretSettings opens the write-only values of raw in place. One that does not open
// (mfa_secret_key changed) becomes empty, with an error naming the setting, never its value.
func (s *Core) openSecretSettings(raw map[string]string) {
	for _, k := range secretKeys(s.cookieSecureDefault) {
		rest, ok := strings.CutPrefix(raw[k], settingSealPrefix)
		if !ok {
			continue
		}
		b, err := base64.RawStdEncoding.DecodeString(rest)
		var plain []byte
		if err == nil && s.settingsBox != nil {
			plain, err = s.settingsBox.Open(b, []byte(k))
		}
		if err != nil || s.settingsBox == nil {
			s.log.Error("a stored secret setting cannot be decrypted: [auth] mfa_secret_key has changed since it was saved; enter it again", "setting", k)
			raw[k] = ""
			continue
		}
		raw[k] = string(plain)
	}
}

// sealStoredSecrets seals write-only values stored in clear text by an earlier version. It runs
// at start; a failure is logged and tried again at the next start.
func (s *Core) sealStoredSecrets(ctx context.Context) {
	if s.settingsBox == nil {
		return
	}
	raw, err := s.store.Settings(ctx)
	if err != nil {
		s.log.Warn("checking stored secret settings failed", "err", err)
		return
	}
	plain := map[string]string{}
	for _, k := range secretKeys(s.cookieSecureDefault) {
		if v := raw[k]; v != "" && !strings.HasPrefix(v, settingSealPrefix) {
			plain[k] = v
		}
	}
	if len(plain) == 0 {
		return
	}
	s.sealSecretSettings(plain)
	if err := s.store.UpdateSettings(ctx, plain, s.clock.Now()); err != nil {
		s.log.Warn("sealing stored secret settings failed; they stay in clear text until the next start", "err", err)
		return
	}
	s.log.Info("sealed secret settings stored in clear text by an earlier version", "count", len(plain))
}
