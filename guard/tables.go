package guard

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/bpf"
)

// writeGeneration fills the inactive generation's tables and zeroes its
// per-rule counters. The kernel does not read them until `active` flips.
func (g *Guard) writeGeneration(c *compiled) error {
	for k, v := range c.matchers {
		if err := g.maps.Matchers.Update(k, v, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("write policy values: %w (the kernel table holds %d)", err, g.maps.Matchers.MaxEntries())
		}
	}
	for i := uint32(0); i < MaxRules; i++ {
		var r bpf.GuardRule
		if int(i) < len(c.rules) {
			r = c.rules[i]
		}
		if err := g.maps.Rules.Update(c.gen*MaxRules+i, &r, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("write rule %d: %w", i, err)
		}
	}
	zero := make([]uint64, ebpf.MustPossibleCPU())
	for i := uint32(0); i < MaxRules*ruleCounters; i++ {
		if err := g.maps.RuleCounters.Update(c.gen*MaxRules*ruleCounters+i, zero, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("reset rule counters: %w", err)
		}
	}
	if err := g.writeGeneric(c); err != nil {
		return err
	}
	if err := g.maps.Policies.Update(c.gen, &c.policy, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("write policy: %w", err)
	}
	return g.writeNames(c)
}

const ruleCounters = uint32(bpf.GuardRuleCounterSG_RULE_COUNTER_MAX)

// deleteMatchers empties c's generation of the matcher table. It looks
// through the table rather than at c: a policy adopted from a pin left
// entries this process never compiled.
func (g *Guard) deleteMatchers(c *compiled) error {
	var (
		key   bpf.GuardMatcherKey
		masks bpf.GuardMatcherMasks
		stale []bpf.GuardMatcherKey
	)
	for it := g.maps.Matchers.Iterate(); it.Next(&key, &masks); {
		if key.Generation == c.gen {
			stale = append(stale, key)
		}
	}
	for _, k := range stale {
		if err := g.maps.Matchers.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("remove old policy: %w", err)
		}
	}
	return nil
}

// waitForRCUGracePeriod returns after every BPF program run that began
// before it has ended: membarrier(MEMBARRIER_CMD_GLOBAL) is
// synchronize_rcu() in the kernel. Where it is unavailable (nohz_full
// kernels refuse it), a pause far longer than any program run stands in.
func waitForRCUGracePeriod() {
	const memberarrierCmdGlobal = 1
	if _, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, memberarrierCmdGlobal, 0, 0); errno != 0 {
		time.Sleep(50 * time.Millisecond)
	}
}

// activeGeneration reads which generation the kernel enforces.
func (g *Guard) activeGeneration() (uint32, error) {
	var gen uint32
	if err := g.maps.Active.Lookup(uint32(0), &gen); err != nil {
		return 0, fmt.Errorf("read active generation: %w", err)
	}
	return gen % 2, nil
}

// writeNames stores a generation's rule names for whoever adopts the pin.
func (g *Guard) writeNames(c *compiled) error {
	for i := uint32(0); i < MaxRules; i++ {
		var n bpf.GuardRuleName
		if int(i) < len(c.names) {
			copy(n.Name[:len(n.Name)-1], toInt8(c.names[i]))
		}
		if err := g.maps.RuleNames.Update(c.gen*MaxRules+i, &n, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("write rule names: %w", err)
		}
	}
	return nil
}

// readNames reads back the names of generation gen's rules.
func readNames(m *ebpf.Map, gen uint32, rules uint64) ([]string, error) {
	var names []string
	for i := uint32(0); i < MaxRules && rules&(1<<i) != 0; i++ {
		var n bpf.GuardRuleName
		if err := m.Lookup(gen*MaxRules+i, &n); err != nil {
			return nil, fmt.Errorf("read rule names: %w", err)
		}
		names = append(names, fromInt8(n.Name[:]))
	}
	return names, nil
}

func toInt8(s string) []int8 {
	out := make([]int8, len(s))
	for i := range len(s) {
		out[i] = int8(s[i])
	}
	return out
}

func fromInt8(b []int8) string {
	var out []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

// newCgroupEpoch has the programs drop every cached cgroup verdict: called
// after the rules' cgroup ids changed (another generation in force, or a
// cgroup id rewritten in place).
func (g *Guard) newCgroupEpoch() error {
	return g.bumpVariable(bpf.GuardVarCgroupEpoch)
}

// bumpVariable adds one to a count that only user space writes. Read and
// written back, not counted here: a sigguard that adopted pinned programs
// continues the pin's count.
func (g *Guard) bumpVariable(name string) error {
	v := g.coll.Variables[name]
	var n uint64
	if err := v.Get(&n); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if err := v.Set(n + 1); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
