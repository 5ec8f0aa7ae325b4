package gatehouse

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// durationUnits are the keys of the `hours=1,minutes=2.5` syntax (seed 004), in the order they
// are documented.
var durationUnits = map[string]time.Duration{
	"microseconds": time.Microsecond,
	"milliseconds": time.Millisecond,
	"seconds":      time.Second,
	"minutes":      time.Minute,
	"hours":        time.Hour,
	"days":         24 * time.Hour,
	"weeks":        7 * 24 * time.Hour,
}

// maxSettingDuration bounds parsed durations so sums cannot overflow time.Duration.
const maxSettingDuration = 100 * 365 * 24 * time.Hour

// ParseDuration parses "hours=1,minutes=2.5". Keys may repeat (values add up); values are
// non-negative floats. The error names the part that is wrong.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, Errorf(EInvalid, "duration is empty; use key=value pairs such as hours=1,minutes=30")
	}
	var total float64
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return 0, Errorf(EInvalid, "part %d is empty (a stray comma?); use key=value pairs such as hours=1,minutes=30", i+1)
		}
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			return 0, Errorf(EInvalid, "%q is not key=value", part)
		}
		key = strings.ToLower(strings.TrimSpace(key))
		unit, known := durationUnits[key]
		if !known {
			return 0, Errorf(EInvalid, "%q: unknown unit %q (use microseconds, milliseconds, seconds, minutes, hours, days or weeks)", part, key)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, Errorf(EInvalid, "%q: %q is not a number", part, strings.TrimSpace(val))
		}
		if f < 0 {
			return 0, Errorf(EInvalid, "%q: value must not be negative", part)
		}
		total += f * float64(unit)
		if total > float64(maxSettingDuration) {
			return 0, Errorf(EInvalid, "%q: duration is longer than 100 years", part)
		}
	}
	return time.Duration(total), nil
}

// formatUnits are the units FormatDuration writes, largest first.
var formatUnits = []struct {
	key  string
	unit time.Duration
}{{"weeks", 7 * 24 * time.Hour}, {"days", 24 * time.Hour}, {"hours", time.Hour}, {"minutes", time.Minute}, {"seconds", time.Second}}

// FormatDuration writes d in the `hours=1,minutes=30` syntax, largest units first, whole units
// only (below a second is dropped); ParseDuration reads it back. Zero is "seconds=0".
func FormatDuration(d time.Duration) string {
	var parts []string
	for _, u := range formatUnits {
		if n := d / u.unit; n > 0 {
			parts = append(parts, u.key+"="+strconv.FormatInt(int64(n), 10))
			d -= n * u.unit
		}
	}
	if len(parts) == 0 {
		return "seconds=0"
	}
	return strings.Join(parts, ",")
}
