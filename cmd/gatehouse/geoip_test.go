package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/geotest"
)

func TestServeRefusesUnreadableGeoIPDatabase(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db"), "GATEHOUSE__GEOIP__ASN_DB": filepath.Join(dir, "nope.mmdb")}
	err := run(context.Background(), []string{"serve", "--config", filepath.Join(dir, "gatehouse.toml"), "--listen", "127.0.0.1:0"}, env(vars), strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "geoip.asn_db") {
		t.Fatalf("serve with a missing ASN database: %v", err)
	}
}

func TestServeLoadsGeoIPDatabases(t *testing.T) {
	dir := t.TempDir()
	city, asn := filepath.Join(dir, "city.mmdb"), filepath.Join(dir, "asn.mmdb")
	geotest.WriteCity(t, city, geotest.DBIP, geotest.Place{CIDR: "5.4.0.0/16", Continent: "EU", Country: "DE", City: "Kassel"})
	geotest.WriteASN(t, asn, geotest.DBIP, geotest.AS{CIDR: "5.4.0.0/16", ASN: 6805, Org: "Telefonica Germany"})
	vars := map[string]string{"GATEHOUSE__DATABASE__DSN": filepath.Join(dir, "gh.db"), "GATEHOUSE__GEOIP__CITY_DB": city, "GATEHOUSE__GEOIP__ASN_DB": asn}
	base, logs, _ := startServe(t, dir, vars)
	post := func(method, path, body string, hdr ...string) *http.Response {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}
	r := post("POST", "/api/setup/admin", `{"username":"alice","email":"alice@example.com","password":"correct horse battery"}`)
	if r.StatusCode != 201 {
		t.Fatalf("setup: %d", r.StatusCode)
	}
	var cookie string
	for _, c := range r.Cookies() {
		if c.Name == "gatehouse_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	// Both bindings are accepted: the server has both databases.
	if r := post("PATCH", "/api/admin/settings", `{"auth_session_network_binding":"asn_network","auth_session_geoip_binding":"continent_country_city"}`, "Cookie", cookie); r.StatusCode != 200 {
		t.Fatalf("binding settings refused with databases configured: %d\n%s", r.StatusCode, logs.String())
	}
}
