package oidcprovider_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func basic(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(user)+":"+url.QueryEscape(pw)))
}
