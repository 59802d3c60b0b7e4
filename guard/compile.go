package guard

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/bpf"
)

// compiled is one generation of the policy in the form the kernel reads.
type compiled struct {
	gen      uint32   // which of the kernel's two generations this fills
	names    []string // rule names, by index
	policy   bpf.GuardPolicy
	rules    []bpf.GuardRule
	matchers map[bpf.GuardMatcherKey]bpf.GuardMatcherMasks // what the kernel's table holds
	// fixed are the matchers resolved once (all but cgroups); tracked
	// the cgroup paths, in the table by the id each has now (cgroups.go).
	fixed    map[bpf.GuardMatcherKey]bpf.GuardMatcherMasks
	tracked  []trackedValue
	cgroupID map[string]uint64 // by path; 0 while the directory does not exist
	syscalls map[Syscall]bool  // syscalls some rule guards: the hooks to attach
	// The generic route: each rule's conditions (by rule index), and the
	// hooks each syscall needs (policy.Generic has the rules naming it).
	generic      map[int]bpf.GuardGenericRule
	genericNeeds map[Syscall]genericNeed
	tracepoints  map[Syscall]string   // a generic syscall's tracepoint name, for those the kernel has
	absent       map[Syscall][]string // generic syscalls this kernel has no tracepoint for, and the rules naming them
	compat       bool                 // also hook the 32-bit syscall entry
	kills        bool                 // some rule sends SIGKILL: its kills are confirmed
	cleanup      bool                 // and their collateral cleaned up
}

// compile checks rules and turns them into generation gen of the kernel's
// tables: for every value a rule names, the mask of rules naming it.
func compile(cfg Config, gen uint32) (*compiled, error) {
	rules := cfg.Rules
	if len(rules) == 0 {
		return nil, configError(SettingRules, "no rules (add at least one)")
	}
	if len(rules) > MaxRules {
		return nil, configError(SettingRules, "%d rules, the kernel side holds at most %d (merge rules)", len(rules), MaxRules)
	}
	c := &compiled{
		gen:      gen,
		compat:   cfg.Compat,
		fixed:    map[bpf.GuardMatcherKey]bpf.GuardMatcherMasks{},
		cgroupID: map[string]uint64{},
		syscalls: map[Syscall]bool{},

		generic:      map[int]bpf.GuardGenericRule{},
		genericNeeds: map[Syscall]genericNeed{},
		tracepoints:  map[Syscall]string{},
		absent:       map[Syscall][]string{},
	}
	seen := map[string]bool{}
	for i, r := range rules {
		name := r.nameOr(i)
		if seen[name] {
			return nil, &ConfigError{Rule: name, Setting: SettingName, Err: errors.New("a second rule has this name (names must be unique)")}
		}
		seen[name] = true
		if err := r.validate(); err != nil {
			return nil, errorIn(err, name)
		}
		if err := c.add(gen, uint(i), name, r); err != nil {
			return nil, errorIn(err, name)
		}
		c.names = append(c.names, name)
	}
	c.cleanup = c.kills && !cfg.KeepCollateral
	c.matchers = c.table(c.cgroupID)
	// Counted as if every cgroup existed: one that appears later must fit.
	if n := c.valuesAtMost(); n > MaxMatcherValues {
		return nil, configError(SettingRules, "the rules name %d values in all, the kernel side holds %d (shorten the lists)",
			n, MaxMatcherValues)
	}
	return c, nil
}

func (c *compiled) add(gen uint32, index uint, name string, r Rule) error {
	bit := uint64(1) << index
	c.policy.Rules |= bit
	for _, s := range r.syscalls() {
		if s.Generic() || r.hasConditions() {
			continue // the generic route's (addGeneric)
		}
		c.policy.Syscalls[s] |= bit
		c.syscalls[s] = true
	}
	if err := c.addGeneric(int(index), name, r); err != nil {
		return err
	}
	sig := r.Signal
	if r.Action == ActionDeny {
		sig = syscall.SIGKILL // where the call cannot be refused
	}
	c.rules = append(c.rules, bpf.GuardRule{Signal: uint32(sig), Action: uint8(r.Action), DenyErrno: uint16(r.DenyErrno)})
	c.kills = c.kills || (r.Action != ActionAudit && sig == syscall.SIGKILL)
	if err := c.addMatchers(gen, bit, name, r.Match, false); err != nil {
		return err
	}
	return c.addMatchers(gen, bit, name, r.Except, true)
}

// guardsAny reports whether some rule guards one of the syscalls.
func (c *compiled) guardsAny(syscalls []Syscall) bool {
	for _, s := range syscalls {
		if c.syscalls[s] {
			return true
		}
	}
	return false
}

// keyValue is one value of one key, as the kernel compares it, or the
// path of a tracked value, which compile resolves.
type keyValue struct {
	key  bpf.GuardMatchKey
	a, b uint64
	path string
}

func (c *compiled) addMatchers(gen uint32, bit uint64, rule string, m Matchers, except bool) error {
	values, err := m.keyValues()
	if err != nil {
		return err
	}
	for _, v := range values {
		if except {
			c.policy.Excepts[v.key] |= bit
		} else {
			c.policy.Uses[v.key] |= bit
		}
		if v.path != "" {
			if err := c.track(v, bit, rule, except); err != nil {
				return &ConfigError{Setting: settingOf(v.key), Err: err}
			}
			continue
		}
		k := bpf.GuardMatcherKey{Generation: gen, Key: uint32(v.key), A: v.a, B: v.b}
		c.fixed[k] = addMask(c.fixed[k], bit, except)
	}
	return nil
}

func addMask(masks bpf.GuardMatcherMasks, bit uint64, except bool) bpf.GuardMatcherMasks {
	if except {
		masks.Except |= bit
	} else {
		masks.Match |= bit
	}
	return masks
}

// settingOf names the key the kernel compares as key.
func settingOf(key bpf.GuardMatchKey) Setting {
	for _, k := range matchKeys {
		if k.kernel == key {
			return k.Setting()
		}
	}
	return SettingRules
}

// keyValues resolves every listed value to what the kernel compares.
func (m Matchers) keyValues() ([]keyValue, error) {
	var out []keyValue
	err := eachKey(func(k MatchKey) (err error) {
		out, err = k.values.compile(m, k.kernel, out)
		return err
	})
	return out, err
}

// executableID is what the kernel sees of a file: its superblock's dev_t,
// encoded the kernel's way (major << 20 | minor, unlike stat's), and inode.
func executableID(path string) (dev, ino uint64, err error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, 0, fmt.Errorf("%s: %w (name an existing executable)", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, 0, fmt.Errorf("%s is not a regular file (name an executable)", path)
	}
	kdev := uint64(unix.Major(st.Dev))<<20 | uint64(unix.Minor(st.Dev))
	return kdev, st.Ino, nil
}
