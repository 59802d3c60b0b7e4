package unittest

import (
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/bpf"
)

const (
	opEquals  = uint8(bpf.GuardConditionOpSG_COND_EQUALS)
	opAnyBits = uint8(bpf.GuardConditionOpSG_COND_ANY_BITS)
	opAllBits = uint8(bpf.GuardConditionOpSG_COND_ALL_BITS)
	opRange   = uint8(bpf.GuardConditionOpSG_COND_RANGE)
	fieldRet  = uint8(bpf.GuardConditionFieldSG_FIELD_RET)
	slowerCi  = uint32(len(bpf.GuardGenericRule{}.Conditions)) // the slower_than pseudo-condition
)

func cond(op, field, bits uint8, signed bool, values ...uint64) bpf.GuardCondition {
	c := bpf.GuardCondition{Op: op, Field: field, Bits: bits, Count: uint8(len(values))}
	if signed {
		c.IsSigned = 1
	}
	copy(c.Values[:], values)
	return c
}

// Conditions judge a value as the syscall's body sees its declared type,
// and apply only in their phase: arguments at entry, the result at exit.
func TestBPFConditions(t *testing.T) {
	o := LoadForTest(t)
	const slot = 3
	rule := bpf.GuardGenericRule{SlowerThanNs: uint64(30 * time.Millisecond)}
	rule.Conditions[0] = cond(opEquals, 1, 32, true, 1, uint64(0xffffffffffffff9c)) // int: 1 or AT_FDCWD (-100)
	rule.Conditions[1] = cond(opRange, 2, 32, true, uint64(0xfffffffffffffffe), 5)  // int in [-2, 5]
	rule.Conditions[2] = cond(opAnyBits, 0, 64, false, 0x10000000|0x20000000)
	rule.Conditions[3] = cond(opEquals, fieldRet, 64, true, uint64(0xfffffffffffffff3)) // -EACCES
	if err := o.WriteGenericRule(slot, rule); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		ci     uint32
		value  uint64
		atExit bool
		fails  bool
	}{
		{"int equals, plain", 0, 1, false, false},
		{"int equals, garbage in the upper half", 0, 0xdead000000000001, false, false},
		{"int equals, -100 from a 32-bit register", 0, 0xffffff9c, false, false},
		{"int equals, other low half", 0, 0x100000002, false, true},
		{"signed range, -2", 1, 0xfffffffe, false, false},
		{"signed range, -3", 1, 0xfffffffd, false, true},
		{"signed range, 5 with the upper half set", 1, 0xffffffff00000005, false, false},
		{"signed range, 6", 1, 6, false, true},
		{"any bits, one of them", 2, 0x20000000, false, false},
		{"any bits, none", 2, 0x40000000, false, true},
		{"an argument's condition does not apply at exit", 2, 0, true, false},
		{"result: -EACCES at exit", 3, uint64(0xfffffffffffffff3), true, false},
		{"result: -EPERM at exit", 3, uint64(0xffffffffffffffff), true, true},
		{"a result's condition does not apply at entry", 3, 0, false, false},
		{"slower_than: 31 ms", slowerCi, uint64(31 * time.Millisecond), true, false},
		{"slower_than: 29 ms", slowerCi, uint64(29 * time.Millisecond), true, true},
		{"slower_than does not apply at entry", slowerCi, 0, false, false},
	} {
		fails, err := o.ConditionFails(slot, c.ci, c.value, c.atExit)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if fails != c.fails {
			t.Errorf("%s: fails %v, want %v", c.name, fails, c.fails)
		}
	}

	// all_bits and a 16-bit unsigned type (umode_t).
	rule = bpf.GuardGenericRule{}
	rule.Conditions[0] = cond(opAllBits, 3, 16, false, 0o6000)
	if err := o.WriteGenericRule(slot, rule); err != nil {
		t.Fatal(err)
	}
	for value, fails := range map[uint64]bool{0o6755: false, 0o4755: true, 0xffff0000_0000_0c00: false, 0x10000: true} {
		got, err := o.ConditionFails(slot, 0, value, false)
		if err != nil || got != fails {
			t.Errorf("all_bits 06000 of umode_t %#x: fails %v (%v), want %v", value, got, err, fails)
		}
	}
}

// at_most: a rule acts on at most rate_count calls of a process per
// window; the count of each process, and each window, is its own.
func TestBPFRateWindows(t *testing.T) {
	o := LoadForTest(t)
	const slot = 5
	period := uint64(time.Second)
	if err := o.WriteGenericRule(slot, bpf.GuardGenericRule{RatePeriodNs: period, RateCount: 2}); err != nil {
		t.Fatal(err)
	}
	start := 1000 * period // the start of a window
	for _, c := range []struct {
		tgid   uint32
		at     uint64
		within bool
	}{
		{100, start, true}, {100, start + 1, true}, {100, start + 2, false}, // the third in a window
		{200, start + 3, true},           // another process counts apart
		{100, start + period - 1, false}, // still the same window
		{100, start + period, true},      // the next one
		{100, start + period + 5, true}, {100, start + period + 6, false},
	} {
		got, err := o.WithinRate(slot, c.tgid, c.at)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.within {
			t.Errorf("process %d at %d: within %v, want %v", c.tgid, c.at-start, got, c.within)
		}
	}
}
