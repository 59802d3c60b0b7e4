package guard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/kernfs"
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

// hasConditions says whether the rule is for the generic route only.
func (r Rule) hasConditions() bool {
	return len(r.Args) > 0 || !r.When.empty() || r.AtMost != nil || r.DenyErrno != 0
}

// genericSyscalls are the rule's syscalls the generic route judges: all of
// them for a rule with conditions (a route's syscall then means every call
// of it), else those that are no route.
func (r Rule) genericSyscalls() ([]Syscall, error) {
	var out []Syscall
	for _, s := range r.syscalls() {
		if !r.hasConditions() && !s.Generic() {
			continue
		}
		g, ok := s.asGeneric()
		if !ok {
			return nil, configError(SettingSyscalls, "%s is no single syscall, so args, when, at_most and a deny errno "+
				"do not apply to it (put it in a rule of its own)", s)
		}
		out = append(out, g)
	}
	return out, nil
}

// oldOpens are the names that meant opens of /proc/<pid>/mem before the
// generic route, and now mean every call.
var oldOpens = []string{"open", "openat", "openat2", "creat"}

// validateGeneric checks what only generic rules have. It needs nothing
// of the kernel: checkArgs does the rest against its tracepoints.
func (r Rule) validateGeneric(generic []Syscall) error {
	if len(r.Args) == 0 && r.When.empty() {
		for _, s := range generic {
			if name := s.String(); contains(oldOpens, name) {
				return configError(SettingSyscalls, "%s means every %s call on the machine; opens of another process's "+
					"/proc/<pid>/mem are the route proc-mem (write syscalls: [proc-mem]); to act on every %s, "+
					"narrow the rule with args or when", name, name, name)
			}
		}
	}
	if r.Action == ActionDeny && !r.When.empty() {
		return configError(SettingAction, "deny refuses a call at its entry, and when is judged at its exit, after "+
			"the call ran (send a signal instead, or drop when)")
	}
	if r.AtMost != nil && r.Action == ActionDeny {
		return configError(SettingAction, "a veto is never rate-limited: at_most applies to signals and events (remove at_most)")
	}
	if r.DenyErrno != 0 && r.Action != ActionDeny {
		return configError(SettingAction, "an errno applies to deny rules only")
	}
	if r.DenyErrno < 0 || r.DenyErrno > 4095 {
		return configError(SettingAction, "errno %d is out of range (1 to 4095)", r.DenyErrno)
	}
	if n := r.conditionCount(); n > MaxConditions {
		return configError(SettingArgs, "%d conditions (args, returns and fails_with each count one), the kernel side "+
			"holds %d per rule (split the rule)", n, MaxConditions)
	}
	if r.AtMost != nil {
		if r.AtMost.Count < 1 || r.AtMost.Per <= 0 {
			return configError(SettingAtMost, "at_most needs a count of at least 1 per a positive period")
		}
	}
	if len(r.When.FailsWith) > MaxConditionValues {
		return configError(SettingWhen, "fails_with lists %d errors, at most %d", len(r.When.FailsWith), MaxConditionValues)
	}
	for _, e := range r.When.FailsWith {
		if e <= 0 || e > 4095 {
			return configError(SettingWhen, "fails_with: errno %d is out of range", e)
		}
	}
	if r.When.Returns != nil {
		if err := r.When.Returns.validate(true, true); err != nil {
			return &ConfigError{Setting: SettingWhen, Err: fmt.Errorf("returns: %w", err)}
		}
	}
	for _, a := range r.Args {
		if err := a.validate(false, false); err != nil {
			return &ConfigError{Setting: SettingArgs, Err: fmt.Errorf("%s: %w", a.Arg, err)}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (r Rule) conditionCount() int {
	n := len(r.Args)
	if r.When.Returns != nil {
		n++
	}
	if len(r.When.FailsWith) > 0 {
		n++
	}
	return n
}

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

// kernelTable is the running kernel's syscall tracepoints, read once
// they could be read. Where tracefs is not mounted yet (a fresh machine,
// a guest) it is mounted first, as the guard would before attaching.
func kernelTable() (*syscalls.Table, error) {
	kernelTableMu.Lock()
	defer kernelTableMu.Unlock()
	if kernelTableRead != nil {
		return kernelTableRead, nil
	}
	t, err := syscalls.Load("")
	if err != nil && kernfs.EnsureTracefs() == nil {
		t, err = syscalls.Load("")
	}
	if err != nil {
		return nil, err
	}
	kernelTableRead = t
	return t, nil
}

var (
	kernelTableMu   sync.Mutex
	kernelTableRead *syscalls.Table
)

// compileGeneric fills the rule's row of the generic route: its
// conditions, checked against the arguments the kernel declares for each
// of its syscalls present on this kernel, and its rate limit.
func (c *compiled) compileGeneric(index int, name string, r Rule, generic []Syscall) error {
	var row bpf.GuardGenericRule
	present, err := c.presentSyscalls(name, generic)
	if err != nil {
		return err
	}
	slot := 0
	for _, a := range r.Args {
		arg, err := sameArgument(a.Arg, present)
		if err != nil {
			return &ConfigError{Setting: SettingArgs, Err: err}
		}
		a.Values = narrowAll(a.Values, arg.Value)
		if err := a.validate(true, arg.Signed); err != nil {
			return &ConfigError{Setting: SettingArgs, Err: fmt.Errorf("%s: %w", a.Arg, err)}
		}
		row.Conditions[slot] = kernelCondition(a.Condition, uint8(arg.Index), arg.Bits, arg.Signed, arg.Value)
		slot++
	}
	identity := func(v uint64) uint64 { return v }
	if len(r.When.FailsWith) > 0 {
		cond := Condition{Op: CondEquals}
		for _, e := range r.When.FailsWith {
			cond.Values = append(cond.Values, uint64(-int64(e)))
		}
		row.Conditions[slot] = kernelCondition(cond, fieldRet, 64, true, identity)
		slot++
	}
	if r.When.Returns != nil {
		row.Conditions[slot] = kernelCondition(*r.When.Returns, fieldRet, 64, true, identity)
	}
	row.SlowerThanNs = uint64(r.When.SlowerThan.Nanoseconds())
	if l := r.AtMost; l != nil {
		row.RatePeriodNs, row.RateCount, row.RateScope = uint64(l.Per.Nanoseconds()), uint32(l.Count), uint8(l.Scope)
	}
	c.generic[index] = row
	return nil
}

// sameArgument finds the argument name names in every syscall: a
// condition is compared at one register, of one type.
func sameArgument(name string, present []syscalls.Syscall) (syscalls.Arg, error) {
	var first syscalls.Arg
	for i, s := range present {
		arg, err := s.Arg(name)
		if err != nil {
			return first, err
		}
		if arg.Pointer {
			return first, fmt.Errorf("%s of %s is a pointer (%s): what it points to is the caller's memory, which "+
				"another thread can change after any check, so sigguard does not match it (match other arguments, "+
				"or the result with when)", name, s.Name, arg.Type)
		}
		if i == 0 {
			first = arg
			continue
		}
		if arg.Index != first.Index || arg.Bits != first.Bits || arg.Signed != first.Signed {
			return first, fmt.Errorf("%s is argument %d (%s) of %s but argument %d (%s) of %s (split the rule)",
				name, first.Index+1, first.Type, present[0].Name, arg.Index+1, arg.Type, s.Name)
		}
	}
	return first, nil
}

// presentSyscalls are the rule's generic syscalls as the running kernel
// traces them. One the kernel was built without (init_module without
// module support) has no tracepoint: nothing can call it, and the notice
// says the rule guards nothing there.
func (c *compiled) presentSyscalls(rule string, generic []Syscall) ([]syscalls.Syscall, error) {
	table, err := kernelTable()
	if err != nil {
		return nil, &ConfigError{Setting: SettingSyscalls, Err: err}
	}
	var out []syscalls.Syscall
	for _, s := range generic {
		k, ok := table.Lookup(s.String())
		if !ok {
			c.absent[s] = append(c.absent[s], rule)
			continue
		}
		out = append(out, k)
		c.tracepoints[s] = k.Tracepoint
	}
	return out, nil
}

// narrowAll is values as an argument of the kernel's type holds them: a
// policy's -1 for an int argument is 0xffffffff sign-extended, as the
// kernel side narrows the register.
func narrowAll(values []uint64, narrow func(uint64) uint64) []uint64 {
	out := make([]uint64, len(values))
	for i, v := range values {
		out[i] = narrow(v)
	}
	return out
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

// genericNeed is what hooks a generic syscall needs besides its entry's.
type genericNeed struct {
	exit bool // a rule judges it at exit
	veto bool // a deny rule names it: in a deny tier, its function is vetoed
}

// addGeneric puts rule index's generic syscalls and conditions in c.
func (c *compiled) addGeneric(index int, name string, r Rule) error {
	generic, err := r.genericSyscalls()
	if err != nil || len(generic) == 0 {
		return err
	}
	bit := uint64(1) << index
	c.policy.Syscalls[bpf.GuardSyscallIdSG_SYSCALL_GENERIC] |= bit
	if err := c.compileGeneric(index, name, r, generic); err != nil {
		return err
	}
	if len(r.Args) > 0 {
		c.policy.Conditioned |= bit
	}
	if !r.When.empty() {
		c.policy.AtExit |= bit
	}
	if r.AtMost != nil {
		c.policy.Limited |= bit
	}
	for _, s := range generic {
		if _, ok := c.tracepoints[s]; !ok {
			continue // not in this kernel
		}
		nr, _ := s.Number()
		c.policy.Generic[nr] |= bit
		c.syscalls[s] = true
		need := c.genericNeeds[s]
		need.exit = need.exit || !r.When.empty()
		need.veto = need.veto || r.Action == ActionDeny
		c.genericNeeds[s] = need
	}
	return nil
}

// argNames are the tracepoints' names of each generic syscall's
// arguments, made once the kernel's tracepoints could be read.
func argNames() map[Syscall][]string {
	if m := argNamesMade.Load(); m != nil {
		return *m
	}
	table, err := kernelTable()
	if err != nil {
		return nil
	}
	out := map[Syscall][]string{}
	for _, name := range table.Names() {
		k, _ := table.Lookup(name)
		names := make([]string, len(k.Args))
		for i, a := range k.Args {
			names[i] = a.Name
		}
		out[GenericSyscall(k.Number)] = names
	}
	argNamesMade.Store(&out)
	return out
}

var argNamesMade atomic.Pointer[map[Syscall][]string]

// ArgNames are the names the running kernel's tracepoint gives the
// arguments of generic syscall s, in register order; nil for a route, or
// where the tracepoints cannot be read.
func ArgNames(s Syscall) []string { return argNames()[s] }
