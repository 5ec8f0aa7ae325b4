// Package geotest writes small MaxMind-format databases for tests, in the field layouts of
// MaxMind GeoLite2 and DB-IP lite, with github.com/maxmind/mmdbwriter. Nothing is downloaded.
package geotest

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Layout is the vendor whose record shape a database imitates.
type Layout int

const (
	GeoLite2 Layout = iota // MaxMind GeoLite2-City / GeoLite2-ASN
	DBIP                   // DB-IP City Lite / ASN Lite
)

// AS is one network block of an ASN database.
type AS struct {
	CIDR string
	ASN  uint32
	Org  string
}

// Place is one network block of a city database. City may be empty (country-level data only).
type Place struct {
	CIDR                     string
	Continent, Country, City string
	Lat, Long                float64
}

// WriteASN writes an ASN database to path (replacing it) and gives it a modification time
// later than any earlier version, so a reload check sees the change.
func WriteASN(t testing.TB, path string, layout Layout, nets ...AS) {
	t.Helper()
	typ := "GeoLite2-ASN"
	if layout == DBIP {
		typ = "DBIP-ASN-Lite (compat=GeoLite2-ASN)"
	}
	w := newTree(t, typ)
	for _, n := range nets {
		rec := mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(n.ASN),
			"autonomous_system_organization": mmdbtype.String(n.Org),
		}
		insert(t, w, n.CIDR, rec)
	}
	write(t, w, path)
}

// WriteCity writes a city database to path (replacing it), as WriteASN.
func WriteCity(t testing.TB, path string, layout Layout, places ...Place) {
	t.Helper()
	typ := "GeoLite2-City"
	if layout == DBIP {
		typ = "DBIP-City-Lite"
	}
	w := newTree(t, typ)
	for _, p := range places {
		names := func(s string) mmdbtype.Map { return mmdbtype.Map{"en": mmdbtype.String(s), "de": mmdbtype.String(s)} }
		rec := mmdbtype.Map{
			"continent": mmdbtype.Map{"code": mmdbtype.String(p.Continent), "names": names(p.Continent)},
			"country":   mmdbtype.Map{"iso_code": mmdbtype.String(p.Country), "names": names(p.Country)},
			"location":  mmdbtype.Map{"latitude": mmdbtype.Float64(p.Lat), "longitude": mmdbtype.Float64(p.Long)},
		}
		if p.City != "" {
			rec["city"] = mmdbtype.Map{"names": names(p.City)}
		}
		switch layout {
		case GeoLite2:
			// GeoLite2 carries geoname ids and accuracy; readers must ignore what they do not use.
			rec["continent"].(mmdbtype.Map)["geoname_id"] = mmdbtype.Uint32(6255148)
			rec["country"].(mmdbtype.Map)["geoname_id"] = mmdbtype.Uint32(2921044)
			rec["location"].(mmdbtype.Map)["accuracy_radius"] = mmdbtype.Uint16(100)
			rec["location"].(mmdbtype.Map)["time_zone"] = mmdbtype.String("Europe/Berlin")
			rec["registered_country"] = mmdbtype.Map{"iso_code": mmdbtype.String(p.Country)}
		case DBIP:
			// DB-IP has no geoname ids but flags EU membership and subdivisions.
			rec["country"].(mmdbtype.Map)["is_in_european_union"] = mmdbtype.Bool(p.Continent == "EU")
			rec["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"names": names("Somewhere")}}
		}
		insert(t, w, p.CIDR, rec)
	}
	write(t, w, path)
}

// Path returns a file name in a fresh temporary directory of the test.
func Path(t testing.TB, name string) string { return filepath.Join(t.TempDir(), name) }

func newTree(t testing.TB, typ string) *mmdbwriter.Tree {
	t.Helper()
	// Documentation ranges (192.0.2.0/24, 2001:db8::/32 ...) are "reserved" to mmdbwriter;
	// tests use them on purpose, so they must be allowed.
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: typ, IncludeReservedNetworks: true, RecordSize: 28})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func insert(t testing.TB, w *mmdbwriter.Tree, cidr string, rec mmdbtype.Map) {
	t.Helper()
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatalf("geotest: %v", err)
	}
	if err := w.Insert(n, rec); err != nil {
		t.Fatalf("geotest: inserting %s: %v", cidr, err)
	}
}

func write(t testing.TB, w *mmdbwriter.Tree, path string) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	var prev time.Time
	if st, err := os.Stat(path); err == nil {
		prev = st.ModTime()
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// Same-size rewrites within one timestamp tick would be invisible to an mtime+size check;
	// move the time on explicitly instead of sleeping.
	if mt := prev.Add(time.Second); !prev.IsZero() {
		if err := os.Chtimes(path, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
}
