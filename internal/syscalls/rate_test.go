package syscalls

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"30ms": 30 * time.Millisecond, "1.5s": 1500 * time.Millisecond, "100us": 100 * time.Microsecond,
		"2m": 2 * time.Minute, "1h": time.Hour, "1ns": 1,
	} {
		got, err := ParseDuration(s)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for s, wantErr := range map[string]string{
		"":      "give a number and a unit",
		"30":    "give a number and a unit",
		"1 s":   "give a number and a unit",
		"0s":    "more than zero",
		"-1s":   "more than zero",
		"61m":   "at most 1h0m0s",
		"1h1ns": "at most 1h0m0s",
	} {
		_, err := ParseDuration(s)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseDuration(%q) error = %v; want it to contain %q", s, err, wantErr)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, c := range []struct {
		s     string
		count int
		per   time.Duration
	}{
		{"1/s", 1, time.Second},
		{"10/s", 10, time.Second},
		{"5/100ms", 5, 100 * time.Millisecond},
		{"60/min", 60, time.Minute},
		{"100/m", 100, time.Minute},
		{"1/h", 1, time.Hour},
		{"3/2s", 3, 2 * time.Second},
		{"7/ms", 7, time.Millisecond},
		{"1000000/1h", 1_000_000, time.Hour},
		{"2/1.5s", 2, 1500 * time.Millisecond},
	} {
		count, per, err := ParseRate(c.s)
		if err != nil || count != c.count || per != c.per {
			t.Errorf("ParseRate(%q) = %d, %v, %v; want %d, %v", c.s, count, per, err, c.count, c.per)
		}
	}
	form := "at_most takes COUNT/PERIOD, e.g. 1/s or 10/100ms"
	for s, wantErr := range map[string]string{
		"10":        `invalid rate "10": ` + form,
		"":          form,
		"0/s":       "the count must be a whole number from 1 to 1000000",
		"-1/s":      "the count must be a whole number",
		"+1/s":      "the count must be a whole number",
		"1.5/s":     "the count must be a whole number",
		"1000001/s": "from 1 to 1000000",
		"/s":        "the count must be a whole number",
		"1/":        `the period "" is not a unit`,
		"1/sec":     `the period "sec" is not a unit (ms, s, m, min, h) or a duration`,
		"1/100us":   "the period must be from 1ms to 1h0m0s",
		"1/2h":      "the period must be from 1ms to 1h0m0s",
		"1/-1s":     "the period must be from 1ms",
		"1/s/s":     `the period "s/s" is not a unit`,
	} {
		_, _, err := ParseRate(s)
		if err == nil || !strings.Contains(err.Error(), wantErr) || !strings.Contains(err.Error(), form) {
			t.Errorf("ParseRate(%q) error = %v; want it to contain %q and the form", s, err, wantErr)
		}
	}
}
