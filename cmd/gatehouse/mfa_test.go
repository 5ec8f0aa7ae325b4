package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func post(t *testing.T, url, bearer, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(r.Body).Decode(&v)
	return r.StatusCode, v
}

// serve passes [auth] mfa_secret_key (here the --mfa-secret-key flag) to the service: MFA works
// under one key, and a restart under another gives the clear error and log line.
func TestServeMFASecretKey(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db")}
	base, _, stop := startServe(t, dir, vars, "--mfa-secret-key", "first-mfa-key-0123456789abcdefghij")
	_, v := post(t, base+"/api/setup/admin", "", `{"username":"a","email":"a@example.com","password":"a password!"}`)
	tok, _ := v["access_token"].(string)
	st, v := post(t, base+"/api/account/mfa/totp/setup", tok, `{}`)
	secret, _ := v["secret"].(string)
	if st != 200 || secret == "" {
		t.Fatalf("setup: %d %v", st, v)
	}
	code, _ := totp.GenerateCode(secret, time.Now())
	if st, v := post(t, base+"/api/account/mfa/totp/confirm", tok, `{"code":"`+code+`"}`); st != 200 {
		t.Fatalf("confirm: %d %v", st, v)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	base, logs, _ := startServe(t, dir, vars, "--mfa-secret-key", "other-mfa-key-0123456789abcdefghij")
	st, v = post(t, base+"/api/auth/login", "", `{"login":"a","password":"a password!"}`)
	if st != 200 || v["mfa_required"] != true {
		t.Fatalf("login: %d %v", st, v)
	}
	code, _ = totp.GenerateCode(secret, time.Now())
	st, v = post(t, base+"/api/auth/login/mfa", "", `{"mfa_token":"`+v["mfa_token"].(string)+`","code":"`+code+`"}`)
	if e, _ := v["error"].(map[string]any); st != 500 || e["code"] != "mfa_unavailable" {
		t.Fatalf("code under another key: %d %v", st, v)
	}
	if !strings.Contains(logs.String(), "mfa_secret_key has probably changed") {
		t.Fatalf("the log does not say what happened:\n%s", logs.String())
	}
}
