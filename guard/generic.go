// The generic route's side of a rule: which of its syscalls the generic
// route judges, and its conditions as the kernel compares them.

package guard

import (
	"fmt"
	"slices"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/syscalls"
)

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
// of the kernel: compileGeneric checks the arguments against its tracepoints.
func (r Rule) validateGeneric(generic []Syscall) error {
	if len(r.Args) == 0 && r.When.empty() {
		for _, s := range generic {
			if name := s.String(); slices.Contains(oldOpens, name) {
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
	if r.DenyErrno > 4095 {
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
		if e == 0 || e > 4095 {
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
