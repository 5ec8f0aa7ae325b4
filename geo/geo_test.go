package geo_test

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/geo"
	"github.com/gatehouse/gatehouse/internal/geotest"
)

func TestLookupBothLayouts(t *testing.T) {
	for _, layout := range []geotest.Layout{geotest.GeoLite2, geotest.DBIP} {
		city, asn := geotest.Path(t, "city.mmdb"), geotest.Path(t, "asn.mmdb")
		geotest.WriteCity(t, city, layout,
			geotest.Place{CIDR: "5.4.0.0/14", Continent: "EU", Country: "DE", City: "Kassel", Lat: 51.2993, Long: 9.491},
			geotest.Place{CIDR: "2001:db8:1::/48", Continent: "NA", Country: "US"})
		geotest.WriteASN(t, asn, layout,
			geotest.AS{CIDR: "5.4.0.0/14", ASN: 6805, Org: "Telefonica Germany"},
			geotest.AS{CIDR: "2001:db8:1::/48", ASN: 64500, Org: "Example v6"})
		d, err := geo.Open(city, asn, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := d.ASN(netip.MustParseAddr("5.6.7.8"))
		if !n.Found || n.ASN != 6805 || n.Org != "Telefonica Germany" || n.CIDR.String() != "5.4.0.0/14" {
			t.Errorf("layout %d: ASN = %+v", layout, n)
		}
		l := d.City(netip.MustParseAddr("5.6.7.8"))
		if !l.Found || l.Continent != "EU" || l.Country != "DE" || l.City != "Kassel" || !l.HasCoords || l.Lat != 51.2993 || l.Long != 9.491 {
			t.Errorf("layout %d: City = %+v", layout, l)
		}
		// IPv6, and an IPv4-mapped IPv6 address finds the IPv4 data.
		if n := d.ASN(netip.MustParseAddr("2001:db8:1::42")); n.ASN != 64500 || n.CIDR.String() != "2001:db8:1::/48" {
			t.Errorf("layout %d: IPv6 ASN = %+v", layout, n)
		}
		if l := d.City(netip.MustParseAddr("2001:db8:1::42")); l.Country != "US" || l.City != "" {
			t.Errorf("layout %d: IPv6 City = %+v", layout, l)
		}
		if n := d.ASN(netip.MustParseAddr("::ffff:5.6.7.8")); n.ASN != 6805 {
			t.Errorf("layout %d: mapped ASN = %+v", layout, n)
		}
		// Unknown public addresses, and addresses that never have data.
		for _, ip := range []string{"8.8.8.8", "127.0.0.1", "10.1.2.3", "192.168.1.1", "::1", "fe80::1", "fd00::1"} {
			if n, l := d.ASN(netip.MustParseAddr(ip)), d.City(netip.MustParseAddr(ip)); n.Found || l.Found {
				t.Errorf("layout %d: %s found %+v %+v", layout, ip, n, l)
			}
		}
	}
}

func TestPrivateAddressesAreNeverLookedUp(t *testing.T) {
	// Even a database that (wrongly) holds data for private space gives none: such addresses
	// say nothing about where a client is.
	asn := geotest.Path(t, "asn.mmdb")
	geotest.WriteASN(t, asn, geotest.GeoLite2, geotest.AS{CIDR: "10.0.0.0/8", ASN: 1, Org: "LAN"}, geotest.AS{CIDR: "127.0.0.0/8", ASN: 2, Org: "lo"})
	d, err := geo.Open("", asn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := d.ASN(netip.MustParseAddr("10.0.0.1")); n.Found {
		t.Errorf("private address looked up: %+v", n)
	}
	if n := d.ASN(netip.MustParseAddr("127.0.0.1")); n.Found {
		t.Errorf("loopback address looked up: %+v", n)
	}
}

func TestNotConfigured(t *testing.T) {
	d, err := geo.Open("", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.HasASN() || d.HasCity() || d.ASN(netip.MustParseAddr("5.6.7.8")).Found || d.City(netip.MustParseAddr("5.6.7.8")).Found {
		t.Error("an unconfigured DB answered")
	}
	var nilDB *geo.DB
	if nilDB.HasASN() || nilDB.ASN(netip.MustParseAddr("5.6.7.8")).Found || nilDB.Generation() != 0 {
		t.Error("a nil DB answered")
	}
	if changed, err := nilDB.Reload(); changed || err != nil {
		t.Error("nil reload")
	}
}

func TestOpenErrorsNameTheKey(t *testing.T) {
	_, err := geo.Open(geotest.Path(t, "missing.mmdb"), "", nil)
	if err == nil || !strings.Contains(err.Error(), "geoip.city_db") {
		t.Errorf("missing city db: %v", err)
	}
	bad := geotest.Path(t, "bad.mmdb")
	if err := os.WriteFile(bad, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = geo.Open("", bad, nil)
	if err == nil || !strings.Contains(err.Error(), "geoip.asn_db") || !strings.Contains(err.Error(), "not a MaxMind-format database") {
		t.Errorf("garbage asn db: %v", err)
	}
}

func TestReload(t *testing.T) {
	asn := geotest.Path(t, "asn.mmdb")
	geotest.WriteASN(t, asn, geotest.GeoLite2, geotest.AS{CIDR: "5.4.0.0/14", ASN: 6805, Org: "Old"})
	d, err := geo.Open("", asn, nil)
	if err != nil {
		t.Fatal(err)
	}
	gen := d.Generation()
	if changed, err := d.Reload(); changed || err != nil {
		t.Fatalf("unchanged file reloaded: %v %v", changed, err)
	}
	ip := netip.MustParseAddr("5.6.7.8")
	if n := d.ASN(ip); n.Org != "Old" {
		t.Fatalf("before: %+v", n)
	}
	// Rewritten in place, as an admin copying a new file over the old one would.
	geotest.WriteASN(t, asn, geotest.GeoLite2, geotest.AS{CIDR: "5.6.0.0/15", ASN: 3320, Org: "New"}, geotest.AS{CIDR: "198.51.100.0/24", ASN: 64501, Org: "Added"})
	if d.ASN(ip).Org != "Old" {
		t.Fatal("the data changed before the reload check")
	}
	if changed, err := d.Reload(); !changed || err != nil {
		t.Fatalf("changed file not reloaded: %v %v", changed, err)
	}
	if n := d.ASN(ip); n.ASN != 3320 || n.Org != "New" || n.CIDR.String() != "5.6.0.0/15" {
		t.Errorf("after: %+v", n)
	}
	if n := d.ASN(netip.MustParseAddr("198.51.100.7")); n.ASN != 64501 {
		t.Errorf("added network: %+v", n)
	}
	if d.Generation() == gen {
		t.Error("generation did not change")
	}
	// A broken or vanished file keeps the last good data.
	if err := os.WriteFile(asn, []byte("truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	if changed, err := d.Reload(); changed || err == nil {
		t.Errorf("broken file: %v %v", changed, err)
	}
	if err := os.Remove(asn); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Reload(); err == nil {
		t.Error("missing file: no error")
	}
	if n := d.ASN(ip); n.ASN != 3320 {
		t.Errorf("last good data lost: %+v", n)
	}
}

func BenchmarkLookup(b *testing.B) {
	city, asn := geotest.Path(b, "city.mmdb"), geotest.Path(b, "asn.mmdb")
	geotest.WriteCity(b, city, geotest.GeoLite2, geotest.Place{CIDR: "5.4.0.0/14", Continent: "EU", Country: "DE", City: "Kassel", Lat: 51.3, Long: 9.5})
	geotest.WriteASN(b, asn, geotest.GeoLite2, geotest.AS{CIDR: "5.4.0.0/14", ASN: 6805, Org: "Telefonica Germany"})
	d, err := geo.Open(city, asn, nil)
	if err != nil {
		b.Fatal(err)
	}
	ip := netip.MustParseAddr("5.6.7.8")
	b.ReportAllocs()
	for b.Loop() {
		_ = d.ASN(ip)
		_ = d.City(ip)
	}
}

// Lookups never wait for, nor see half of, a reload (run with -race).
func TestLookupsDuringReload(t *testing.T) {
	asn := geotest.Path(t, "asn.mmdb")
	geotest.WriteASN(t, asn, geotest.GeoLite2, geotest.AS{CIDR: "5.4.0.0/14", ASN: 1, Org: "One"})
	d, err := geo.Open("", asn, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan error)
	go func() {
		ip := netip.MustParseAddr("5.6.7.8")
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if n := d.ASN(ip); !n.Found || (n.ASN != 1 && n.ASN != 2) || n.CIDR.String() != "5.4.0.0/14" {
				done <- fmt.Errorf("lookup during reload: %+v", n)
				return
			}
		}
	}()
	for i := range 20 {
		geotest.WriteASN(t, asn, geotest.GeoLite2, geotest.AS{CIDR: "5.4.0.0/14", ASN: uint32(1 + i%2), Org: fmt.Sprint("v", i)})
		if _, err := d.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
