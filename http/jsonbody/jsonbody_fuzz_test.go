package jsonbody

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// FuzzDecode: any body gets either a decoded object or an error with a code and a message;
// nothing panics.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"login":"a","password":"b"}`, `{}`, `[]`, `{"login":1}`, `{"x":1}`, `{"login":"a"}{}`, `{"login":"\ud800"}`, ``, `nul`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var v struct {
			Login    string `json:"login"`
			Password string `json:"password"`
			Stay     bool   `json:"stay_signed_in"`
		}
		err := Decode(httptest.NewRecorder(), r, &v)
		if err == nil {
			return
		}
		var e *gatehouse.Error
		if !errors.As(err, &e) || e.Code == "" || e.Message == "" {
			t.Fatalf("body %q: error without a code or message: %v", body, err)
		}
	})
}
