package auth_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/geo"
	"github.com/gatehouse/gatehouse/internal/geotest"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

const benchPW = "correct horse battery"

// BenchmarkRequestCheckBinding measures the cookie request check (what every API call and every
// forward-auth request pays) without session binding, with every binding level on and the
// client at its usual address (the cached path), and with the client's address changing on
// every request within the same network (a full comparison with two database lookups each time).
func BenchmarkRequestCheckBinding(b *testing.B) {
	city, asn := geotest.Path(b, "city.mmdb"), geotest.Path(b, "asn.mmdb")
	geotest.WriteCity(b, city, geotest.GeoLite2, geotest.Place{CIDR: "5.4.0.0/16", Continent: "EU", Country: "DE", City: "Kassel", Lat: 51.3, Long: 9.5})
	geotest.WriteASN(b, asn, geotest.GeoLite2, geotest.AS{CIDR: "5.4.0.0/16", ASN: 6805, Org: "Telefonica Germany"})
	db, err := geo.Open(city, asn, nil)
	if err != nil {
		b.Fatal(err)
	}
	e := testserver.New(b, testserver.Options{GeoIP: db})
	admin, _ := e.Setup("alice", "alice@example.com", benchPW)
	c := e.Client()
	r := c.Do("POST", "/api/auth/login", map[string]any{"login": "alice", "password": benchPW}, "X-Forwarded-For", "5.4.0.1")
	if r.Status != 200 {
		b.Fatalf("login: %d %s", r.Status, r.Body)
	}
	var tok string
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		if ck.Name == "gatehouse_session" {
			tok = ck.Value
		}
	}
	ctx := context.Background()
	meta := auth.ClientMeta{IP: "5.4.0.1", UserAgent: "bench", Method: "GET", Path: "/api/auth/verify"}
	set := func(network, geoip string) {
		if r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_session_network_binding": network, "auth_session_geoip_binding": geoip}); r.Status != 200 {
			b.Fatalf("settings: %d %s", r.Status, r.Body)
		}
	}
	check := func(b *testing.B, m auth.ClientMeta) {
		if _, err := e.Auth.Core.AuthenticateCookie(ctx, tok, func() auth.ClientMeta { return m }); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("binding=none", func(b *testing.B) {
		set("none", "none")
		b.ReportAllocs()
		for b.Loop() {
			check(b, meta)
		}
	})
	b.Run("binding=all/same-ip", func(b *testing.B) {
		set("asn_network", "continent_country_city")
		b.ReportAllocs()
		for b.Loop() {
			check(b, meta)
		}
	})
	b.Run("binding=all/ip-changes-every-request", func(b *testing.B) {
		set("asn_network", "continent_country_city")
		ips := []string{"5.4.0.2", "5.4.0.3"}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m := meta
			m.IP = ips[i&1]
			i++
			check(b, m)
		}
	})
}
