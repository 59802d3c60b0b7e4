package guard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/syscalls"
)

// CondOp is how a condition compares a value.
type CondOp uint8

const (
	// CondEquals holds when the value is one of Values (at most 8).
	CondEquals = CondOp(bpf.GuardConditionOpSG_COND_EQUALS)
	// CondAnyBits holds when the value has any bit of Values[0].
	CondAnyBits = CondOp(bpf.GuardConditionOpSG_COND_ANY_BITS)
	// CondAllBits holds when the value has every bit of Values[0].
	CondAllBits = CondOp(bpf.GuardConditionOpSG_COND_ALL_BITS)
	// CondRange holds when Values[0] <= value <= Values[1], compared as
	// the argument's type is signed or not.
	CondRange = CondOp(bpf.GuardConditionOpSG_COND_RANGE)
)

var condOpNames = [...]string{CondEquals: "equals", CondAnyBits: "any_bits", CondAllBits: "all_bits", CondRange: "range"}

func (o CondOp) String() string { return enumName(o, condOpNames[:], "op") }

// ParseCondOp reads a condition's name as a policy writes it.
func ParseCondOp(name string) (CondOp, error) {
	for op, n := range condOpNames {
		if n != "" && n == name {
			return CondOp(op), nil
		}
	}
	return 0, fmt.Errorf("unknown condition %q (use equals, any_bits, all_bits or range)", name)
}

// Condition tests one value of a call: an argument, or what it returned.
// Values are 64-bit two's complement: -1 is 0xffffffffffffffff.
type Condition struct {
	Op     CondOp
	Values []uint64
}

// ArgCondition is a condition on the argument the kernel's syscall
// tracepoint names Arg (docs/policy.md#arguments).
type ArgCondition struct {
	Arg string
	Condition
}

// When holds a rule's conditions on the result of a call: a rule with any
// is judged at the call's exit, after it ran, and never refuses it.
type When struct {
	// SlowerThan holds when the call took longer than this, from its
	// entry to its exit, on the calling thread.
	SlowerThan time.Duration
	// FailsWith holds when the call returned one of these errors.
	FailsWith []syscall.Errno
	// Returns holds when the return value passes the condition.
	Returns *Condition
}

func (w When) empty() bool { return w.SlowerThan == 0 && len(w.FailsWith) == 0 && w.Returns == nil }

// RateScope says whose calls a rate limit counts together.
type RateScope uint8

const (
	RateProcess = RateScope(bpf.GuardRateScopeSG_RATE_PROCESS)
	RateThread  = RateScope(bpf.GuardRateScopeSG_RATE_THREAD)
	RateRule    = RateScope(bpf.GuardRateScopeSG_RATE_RULE)
	RateCgroup  = RateScope(bpf.GuardRateScopeSG_RATE_CGROUP)
)

var rateScopeNames = [...]string{RateProcess: "process", RateThread: "thread", RateRule: "rule", RateCgroup: "cgroup"}

func (s RateScope) String() string { return enumName(s, rateScopeNames[:], "scope") }

// ParseRateScope reads "process", "thread", "rule" or "cgroup".
func ParseRateScope(name string) (RateScope, error) {
	for s, n := range rateScopeNames {
		if n == name {
			return RateScope(s), nil
		}
	}
	return 0, fmt.Errorf("unknown rate scope %q (use process, thread, rule or cgroup)", name)
}

// RateLimit lets a rule signal and report at most Count calls in each
// window of length Per (windows are aligned to the boot clock), counted
// per process, thread, cgroup or for the whole rule. Calls held back are
// counted (Stats.HeldBack, RuleStats.HeldBack) and reported.
type RateLimit struct {
	Count int
	Per   time.Duration
	Scope RateScope
}

func (r RateLimit) String() string {
	return strconv.Itoa(r.Count) + "/" + r.Per.String() + " per " + r.Scope.String()
}

// Limits of the kernel side's tables for conditions.
const (
	MaxConditions      = len(bpf.GuardGenericRule{}.Conditions)
	MaxConditionValues = len(bpf.GuardCondition{}.Values)
)

// fieldRet is the field of a condition on the return value.
const fieldRet = uint8(bpf.GuardConditionFieldSG_FIELD_RET)

// validate checks the shape of a condition and, when ordered, that a
// range is not empty as a signed or unsigned type compares it (known once
// the argument is).
func (c Condition) validate(ordered, signed bool) error {
	switch c.Op {
	case CondEquals:
		if len(c.Values) == 0 || len(c.Values) > MaxConditionValues {
			return fmt.Errorf("equals takes 1 to %d values, not %d", MaxConditionValues, len(c.Values))
		}
	case CondAnyBits, CondAllBits:
		if len(c.Values) == 0 {
			return fmt.Errorf("%s takes at least one bit", c.Op)
		}
	case CondRange:
		if len(c.Values) != 2 {
			return errors.New("range takes two values, [low, high]")
		}
		lo, hi := c.Values[0], c.Values[1]
		if ordered && ((signed && int64(lo) > int64(hi)) || (!signed && lo > hi)) {
			return fmt.Errorf("range [%s, %s] is empty (low is above high)", c.format(lo, signed), c.format(hi, signed))
		}
	default:
		return fmt.Errorf("unknown condition %d", c.Op)
	}
	return nil
}

func (c Condition) format(v uint64, signed bool) string {
	if signed {
		return strconv.FormatInt(int64(v), 10)
	}
	return "0x" + strconv.FormatUint(v, 16)
}

func (c Condition) String() string {
	vals := make([]string, len(c.Values))
	for i, v := range c.Values {
		if int64(v) < 0 && int64(v) > -4096 {
			vals[i] = strconv.FormatInt(int64(v), 10)
		} else {
			vals[i] = "0x" + strconv.FormatUint(v, 16)
		}
	}
	return c.Op.String() + " " + strings.Join(vals, "|")
}

// kernelCondition is c as the kernel compares it to a value seen as arg.
func kernelCondition(c Condition, field uint8, bits int, signed bool, narrow func(uint64) uint64) bpf.GuardCondition {
	k := bpf.GuardCondition{Op: uint8(c.Op), Field: field, Bits: uint8(bits), IsSigned: boolByte(signed)}
	values := c.Values
	if c.Op == CondAnyBits || c.Op == CondAllBits {
		var mask uint64
		for _, v := range values {
			mask |= v
		}
		values = []uint64{mask}
	}
	for i, v := range values {
		k.Values[i] = narrow(v)
	}
	k.Count = uint8(len(values))
	return k
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func (r Rule) denyErrnoName() string {
	if r.DenyErrno == 0 {
		return "EPERM"
	}
	return syscalls.ErrnoName(int(r.DenyErrno))
}

// conditionsString describes the rule's conditions and limit, for
// start-up lines and checks: "" for a rule with none.
func (r Rule) conditionsString() string {
	var parts []string
	for _, a := range r.Args {
		parts = append(parts, a.Arg+" "+a.Condition.String())
	}
	if r.When.SlowerThan > 0 {
		parts = append(parts, "at exit, slower than "+r.When.SlowerThan.String())
	}
	if len(r.When.FailsWith) > 0 {
		var names []string
		for _, e := range r.When.FailsWith {
			names = append(names, syscalls.ErrnoName(int(e)))
		}
		parts = append(parts, "at exit, failing with "+strings.Join(names, "|"))
	}
	if r.When.Returns != nil {
		parts = append(parts, "at exit, returning "+r.When.Returns.String())
	}
	out := ""
	if len(parts) > 0 {
		out = ", when " + strings.Join(parts, " and ")
	}
	if r.AtMost != nil {
		out += ", at most " + r.AtMost.String()
	}
	return out
}
