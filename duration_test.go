package gatehouse

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"seconds=0":               0,
		"hours=1,minutes=2.5":     time.Hour + 2*time.Minute + 30*time.Second,
		" Hours = 1 , minutes=2 ": time.Hour + 2*time.Minute,
		"weeks=1,days=1":          8 * 24 * time.Hour,
		"milliseconds=1.5":        1500 * time.Microsecond,
		"microseconds=3":          3 * time.Microsecond,
		"minutes=1,minutes=1":     2 * time.Minute,
		"hours=0.25":              15 * time.Minute,
		"seconds=1e2":             100 * time.Second,
	}
	for in, want := range good {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                     "empty",
		"hours":                `"hours" is not key=value`,
		"hours=1,fortnights=2": `unknown unit "fortnights"`,
		"hours=one":            `"one" is not a number`,
		"hours=-1":             "must not be negative",
		"hours=NaN":            "not a number",
		"hours=Inf":            "not a number",
		"weeks=999999":         "longer than 100 years",
		"hours=1,":             "part 2 is empty",
		",hours=1":             "part 1 is empty",
		"=5":                   `unknown unit ""`,
		"hours=":               `"" is not a number`,
		"hours=1=2":            `"1=2" is not a number`,
	}
	for in, want := range bad {
		_, err := ParseDuration(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDuration(%q) error = %v; want it to mention %q", in, err, want)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"hours=1,minutes=2.5", "seconds=0", "weeks=1e3", "a=b,c", "=", ",,", "hours=1e308"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if !IsCode(err, EInvalid) {
				t.Fatalf("error without the invalid_input code: %v", err)
			}
			return
		}
		if d < 0 || d > maxSettingDuration {
			t.Fatalf("ParseDuration(%q) = %v out of range", s, d)
		}
		// Adding a zero part changes nothing: parts are independent and add up.
		if d2, err := ParseDuration(s + ",seconds=0"); err != nil || d2 != d {
			t.Fatalf("ParseDuration(%q + \",seconds=0\") = %v, %v; want %v", s, d2, err, d)
		}
	})
}

func TestFormatDurationReadsBack(t *testing.T) {
	cases := map[time.Duration]string{
		0:                                "seconds=0",
		90 * time.Second:                 "minutes=1,seconds=30",
		12 * time.Hour:                   "hours=12",
		14 * 24 * time.Hour:              "weeks=2",
		(24 + 1) * time.Hour:             "days=1,hours=1",
		365 * 24 * time.Hour:             "weeks=52,days=1",
		time.Hour + 500*time.Millisecond: "hours=1",
	}
	for d, want := range cases {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for s := int64(0); s < 3*86400; s += 3607 {
		d := time.Duration(s) * time.Second
		back, err := ParseDuration(FormatDuration(d))
		if err != nil || back != d {
			t.Fatalf("%v -> %q -> %v, %v", d, FormatDuration(d), back, err)
		}
	}
}
