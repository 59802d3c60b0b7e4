package syscalls

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxDuration bounds ParseDuration; MinPeriod and MaxPeriod bound a rate's
// period, and MaxRateCount its count.
const (
	MaxDuration  = time.Hour
	MinPeriod    = time.Millisecond
	MaxPeriod    = time.Hour
	MaxRateCount = 1_000_000
)

// ParseDuration reads a Go duration ("30ms", "1.5s", "100us", "2m") that is
// positive and at most an hour.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: give a number and a unit, e.g. 100us, 30ms, 1.5s or 2m", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("invalid duration %q: it must be more than zero", s)
	}
	if d > MaxDuration {
		return 0, fmt.Errorf("invalid duration %q: it must be at most %s", s, MaxDuration)
	}
	return d, nil
}

// rateUnits are the bare units a rate's period can be written as: "1/s"
// means one per second. "m" and "min" are both minutes.
var rateUnits = map[string]time.Duration{
	"ms":  time.Millisecond,
	"s":   time.Second,
	"m":   time.Minute,
	"min": time.Minute,
	"h":   time.Hour,
}

// ParseRate reads COUNT/PERIOD: "10/s", "5/100ms", "60/min", "3/2s". The
// period is a bare unit (ms, s, m, min, h) or a Go duration, from 1ms to
// 1h; the count is 1..1000000.
func ParseRate(s string) (count int, per time.Duration, err error) {
	form := "at_most takes COUNT/PERIOD, e.g. 1/s or 10/100ms"
	countStr, perStr, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("invalid rate %q: %s", s, form)
	}
	count, err = strconv.Atoi(countStr)
	if err != nil || countStr[0] < '0' || countStr[0] > '9' || count < 1 || count > MaxRateCount {
		return 0, 0, fmt.Errorf("invalid rate %q: the count must be a whole number from 1 to %d (%s)", s, MaxRateCount, form)
	}
	per, ok = rateUnits[perStr]
	if !ok {
		per, err = time.ParseDuration(perStr)
		if err != nil {
			return 0, 0, fmt.Errorf("invalid rate %q: the period %q is not a unit (ms, s, m, min, h) or a duration (%s)", s, perStr, form)
		}
	}
	if per < MinPeriod || per > MaxPeriod {
		return 0, 0, fmt.Errorf("invalid rate %q: the period must be from %s to %s (%s)", s, MinPeriod, MaxPeriod, form)
	}
	return count, per, nil
}
