// Package geo looks up the autonomous system and the place of a client address in MaxMind-format
// databases (GeoLite2, GeoIP2 or DB-IP lite, configured as [geoip] city_db and asn_db) for session
// binding and the session list. The files are re-read when they change on disk, so a nightly
// geoipupdate needs no restart.
package geo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Network is what an ASN database says about an address.
type Network struct {
	ASN   uint
	Org   string
	CIDR  netip.Prefix // the database's network block holding the address
	Found bool
}

// Location is what a city (or country) database says about an address.
type Location struct {
	Continent string // two-letter continent code, e.g. "EU"
	Country   string // ISO 3166-1 alpha-2, e.g. "DE"
	City      string // English name; empty when the database has none for the address
	Lat, Long float64
	HasCoords bool
	Found     bool
}

// cityRecord is the part of a GeoLite2-City / GeoIP2-City / DB-IP City Lite record we read; the
// two vendors use the same field names. Struct fields (not maps) keep a lookup allocation-free
// apart from the strings.
type cityRecord struct {
	City struct {
		Names struct {
			EN string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

// asnRecord is a GeoLite2-ASN / DB-IP ASN Lite record (same field names in both).
type asnRecord struct {
	Number uint   `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

// source is one database file and the reader of its last good version.
type source struct {
	kind   string // "city" or "asn", for messages
	path   string
	reader atomic.Pointer[maxminddb.Reader]
	// stat of the file the current reader was built from (or of the last bad attempt, so a
	// broken file is reported once, not on every poll). Only reload touches these, under DB.mu.
	modTime time.Time
	size    int64
}

// DB holds the configured databases. A nil *DB, or one without a given file, answers every
// lookup with "not found". Lookups never block: they load an atomic pointer.
type DB struct {
	city, asn *source
	log       *slog.Logger
	mu        sync.Mutex // one reload at a time
	gen       atomic.Uint64
}

// Open loads the configured files (an empty path means "not configured"). A configured file
// that cannot be read is an error: the server should not start with a binding it cannot check.
func Open(cityPath, asnPath string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &DB{log: log}
	if cityPath != "" {
		d.city = &source{kind: "city", path: cityPath}
		if err := d.load(d.city); err != nil {
			return nil, fmt.Errorf("geoip.city_db: %w", err)
		}
	}
	if asnPath != "" {
		d.asn = &source{kind: "asn", path: asnPath}
		if err := d.load(d.asn); err != nil {
			return nil, fmt.Errorf("geoip.asn_db: %w", err)
		}
	}
	return d, nil
}

// HasCity reports whether a city database is configured.
func (d *DB) HasCity() bool { return d != nil && d.city != nil }

// HasASN reports whether an ASN database is configured.
func (d *DB) HasASN() bool { return d != nil && d.asn != nil }

// Generation changes whenever a database is reloaded, so callers can drop results cached from
// the previous data.
func (d *DB) Generation() uint64 {
	if d == nil {
		return 0
	}
	return d.gen.Load()
}

// lookupable reports whether an address can have database data at all. Loopback, private
// (RFC 1918, fc00::/7), link-local, multicast and unspecified addresses never do; they are
// answered "not found" without a lookup, whatever the file holds.
func lookupable(ip netip.Addr) bool {
	return ip.IsValid() && ip.IsGlobalUnicast() && !ip.IsPrivate()
}

// ASN looks up the autonomous system of ip.
func (d *DB) ASN(ip netip.Addr) Network {
	if !d.HasASN() || !lookupable(ip) {
		return Network{}
	}
	r := d.asn.reader.Load()
	res := r.Lookup(ip.Unmap())
	var rec asnRecord
	if !res.Found() || res.Decode(&rec) != nil || rec.Number == 0 {
		return Network{}
	}
	return Network{ASN: rec.Number, Org: rec.Org, CIDR: res.Prefix().Masked(), Found: true}
}

// City looks up the place of ip.
func (d *DB) City(ip netip.Addr) Location {
	if !d.HasCity() || !lookupable(ip) {
		return Location{}
	}
	r := d.city.reader.Load()
	res := r.Lookup(ip.Unmap())
	var rec cityRecord
	if !res.Found() || res.Decode(&rec) != nil {
		return Location{}
	}
	l := Location{Continent: rec.Continent.Code, Country: rec.Country.ISOCode, City: rec.City.Names.EN}
	if rec.Location.Latitude != nil && rec.Location.Longitude != nil {
		l.Lat, l.Long, l.HasCoords = *rec.Location.Latitude, *rec.Location.Longitude, true
	}
	l.Found = l.Continent != "" || l.Country != "" || l.City != ""
	return l
}

// load reads the file into memory and swaps the reader in. The file is read, not memory-mapped:
// a database rewritten in place (instead of renamed over) would otherwise change under a live
// mapping and could crash the process.
func (d *DB) load(s *source) error {
	st, err := os.Stat(s.path)
	if err != nil {
		return err
	}
	s.modTime, s.size = st.ModTime(), st.Size()
	b, err := os.ReadFile(s.path)
	if err != nil {
		return err
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return fmt.Errorf("%s is not a MaxMind-format database: %w", s.path, err)
	}
	if t := r.Metadata.DatabaseType; !looksLike(s.kind, t) {
		d.log.Warn("the GeoIP database may be of the wrong kind", "path", s.path, "database_type", t, "expected", s.kind)
	}
	s.reader.Store(r)
	d.gen.Add(1)
	return nil
}

// looksLike is a hint only (a warning, never a refusal): vendors name their types freely.
func looksLike(kind, dbType string) bool {
	t := strings.ToLower(dbType)
	if kind == "asn" {
		return strings.Contains(t, "asn") || strings.Contains(t, "isp") || strings.Contains(t, "enterprise")
	}
	return strings.Contains(t, "city") || strings.Contains(t, "country") || strings.Contains(t, "enterprise")
}

// Reload re-reads every file whose modification time or size changed since it was last read.
// A file that is missing or unreadable keeps the previous data in use and is logged once. It
// reports whether any database changed.
func (d *DB) Reload() (bool, error) {
	if d == nil {
		return false, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	changed := false
	var errs []error
	for _, s := range []*source{d.city, d.asn} {
		if s == nil {
			continue
		}
		st, err := os.Stat(s.path)
		if err != nil {
			if s.size != -1 {
				d.log.Warn("GeoIP database cannot be read; the previous data stays in use", "path", s.path, "err", err)
				s.size = -1
			}
			errs = append(errs, err)
			continue
		}
		if st.ModTime().Equal(s.modTime) && st.Size() == s.size {
			continue
		}
		if err := d.load(s); err != nil {
			d.log.Warn("GeoIP database changed but cannot be loaded; the previous data stays in use", "path", s.path, "err", err)
			errs = append(errs, err)
			continue
		}
		d.log.Info("GeoIP database reloaded", "path", s.path, "kind", s.kind)
		changed = true
	}
	return changed, errors.Join(errs...)
}

// Run polls the files every `every` until ctx ends. Reloading happens here, off the request path.
func (d *DB) Run(ctx context.Context, every time.Duration) {
	if d == nil || (d.city == nil && d.asn == nil) {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = d.Reload()
		}
	}
}
