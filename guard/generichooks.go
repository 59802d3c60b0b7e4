package guard

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/syscalls"
)

// The generic route's hooks, one set per syscall a rule names: the shared
// entry and exit programs on the syscall's own tracepoints, so that a
// syscall no rule names runs nothing of sigguard's, and in a deny tier an
// fmod_ret copy of the veto program on the syscall's x86-64 function.
// Each is registered, and pinned, under a name of its own.
var genericHookKinds = []struct {
	role    hookRole
	prefix  string // of the hook's name; the tracepoint's name follows
	program string
}{
	{roleGenericEnter, "generic_enter_", bpf.GuardProgSgGenericEnter},
	{roleGenericExit, "generic_exit_", bpf.GuardProgSgGenericExit},
	{roleGenericVeto, "generic_veto_", bpf.GuardProgSgGenericVeto},
}

func (r hookRole) generic() bool {
	return r == roleGenericEnter || r == roleGenericExit || r == roleGenericVeto
}

// genericHookName is the name of role's hook for the syscall whose
// tracepoints are named tp.
func genericHookName(role hookRole, tp string) string {
	for _, k := range genericHookKinds {
		if k.role == role {
			return k.prefix + tp
		}
	}
	return ""
}

// genericHookNamed describes a generic hook by its name.
func genericHookNamed(name string) (hook, bool) {
	for _, k := range genericHookKinds {
		tp, ok := strings.CutPrefix(name, k.prefix)
		if !ok {
			continue
		}
		_, nr, ok := syscalls.ByTracepoint(tp)
		if !ok {
			return hook{}, false
		}
		program := k.program
		if k.role == roleGenericVeto {
			program = vetoProgramKey(tp)
		}
		return hook{name: name, program: program, role: k.role, syscall: GenericSyscall(nr)}, true
	}
	return hook{}, false
}

// vetoProgramKey names the veto program loaded for one syscall's function.
func vetoProgramKey(tp string) string { return bpf.GuardProgSgGenericVeto + ":" + tp }

// genericHooksWanted are the names of the hooks policy c needs, in the
// guard's tier.
func (g *Guard) genericHooksWanted(c *compiled) map[string]bool {
	want := map[string]bool{}
	for s, need := range c.genericNeeds {
		tp := c.tracepoints[s]
		want[genericHookName(roleGenericEnter, tp)] = true
		if need.exit {
			want[genericHookName(roleGenericExit, tp)] = true
		}
		if need.veto && g.tier != TierSignal {
			want[genericHookName(roleGenericVeto, tp)] = true
		}
	}
	return want
}

// attachGeneric attaches every generic hook c needs that is not attached.
// A veto that the kernel refuses is no error: the syscall's deny rules
// then kill at its entry, as in the signal tier, and OpenRoutes says so.
func (g *Guard) attachGeneric(c *compiled) error {
	for name := range g.genericHooksWanted(c) {
		if g.hooks.findNamed(name) != nil {
			continue
		}
		h := hookNamed(name)
		tp := c.tracepoints[h.syscall]
		var (
			l   link.Link
			err error
		)
		switch h.role {
		case roleGenericVeto:
			l, err = g.attachGenericVeto(tp)
			if err != nil {
				g.vetoRefused[h.syscall] = err
				continue
			}
			delete(g.vetoRefused, h.syscall)
		case roleGenericExit:
			l, err = g.attachGenericTracepoint(h.program, "sys_exit_"+tp)
		default:
			l, err = g.attachGenericTracepoint(h.program, "sys_enter_"+tp)
		}
		if err != nil {
			return err
		}
		if err := g.hooks.add(name, l); err != nil {
			return err
		}
		if h.role == roleGenericVeto {
			if err := g.markVetoed(h.syscall, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// attachGenericTracepoint attaches one of the shared generic programs to
// a syscall tracepoint.
func (g *Guard) attachGenericTracepoint(program, tracepoint string) (link.Link, error) {
	prog, err := g.program(program)
	if err != nil {
		return nil, err
	}
	l, err := retryWhileHeld(func() (link.Link, error) { return link.Tracepoint("syscalls", tracepoint, prog, nil) })
	if err != nil {
		hint := hintFor(err)
		if errors.Is(err, os.ErrNotExist) {
			hint = " (the kernel has no such syscall tracepoint)"
		}
		return nil, fmt.Errorf("attach tracepoint syscalls/%s: %w%s", tracepoint, err, hint)
	}
	return l, nil
}

// attachGenericVeto loads the veto program for the syscall whose
// tracepoints are named tp, on its x86-64 function (the function takes
// the SYSCALL_DEFINE name, as the tracepoints do), and attaches it.
func (g *Guard) attachGenericVeto(tp string) (link.Link, error) {
	key := vetoProgramKey(tp)
	p := g.progs[key]
	if p == nil {
		spec := g.spec.Programs[bpf.GuardProgSgGenericVeto].Copy()
		spec.AttachTo = "__x64_sys_" + tp
		one := &ebpf.CollectionSpec{Maps: g.spec.Maps, Variables: g.spec.Variables, Types: g.spec.Types,
			Programs: map[string]*ebpf.ProgramSpec{bpf.GuardProgSgGenericVeto: spec}}
		coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{MapReplacements: g.allMaps})
		if err != nil {
			hint := hintFor(err)
			if strings.Contains(err.Error(), "is not modifiable") {
				hint = " (this kernel lets no program change a syscall's return value: kernels before 7.x allow it only " +
					"with CONFIG_FUNCTION_ERROR_INJECTION, which Debian builds without)"
			}
			return nil, fmt.Errorf("load the veto of %s: %w%s", spec.AttachTo, err, hint)
		}
		p = coll.DetachProgram(bpf.GuardProgSgGenericVeto)
		coll.Close()
		g.progs[key] = p
	}
	l, err := retryWhileHeld(func() (link.Link, error) { return attachBTF(p) })
	if err != nil {
		return nil, fmt.Errorf("attach the veto of __x64_sys_%s: %w%s", tp, err, hintFor(err))
	}
	return l, nil
}

// markVetoed tells the entry program whether a veto judges s's deny rules.
func (g *Guard) markVetoed(s Syscall, on bool) error {
	nr, _ := s.Number()
	v := uint32(0)
	if on {
		v = 1
	}
	if err := g.maps.VetoedSyscalls.Update(uint32(nr), v, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("mark %s vetoed: %w", s, err)
	}
	return nil
}

// dropGeneric detaches the generic hooks c does not need: after a switch,
// those only the policy before it needed. A veto is unmarked before it
// goes, so that no call is left to a veto no longer there.
func (g *Guard) dropGeneric(c *compiled) error {
	want := g.genericHooksWanted(c)
	for _, h := range slices.Clone(g.hooks.hooks) {
		if !h.role.generic() || want[h.name] {
			continue
		}
		if h.role == roleGenericVeto {
			if err := g.markVetoed(h.syscall, false); err != nil {
				return err
			}
		}
		if err := g.hooks.drop(h); err != nil {
			return fmt.Errorf("detach %s: %w", h.name, err)
		}
	}
	return nil
}

// writeGeneric fills the inactive generation's rows of the generic
// route's conditions (the rules naming each syscall are in its policy).
func (g *Guard) writeGeneric(c *compiled) error {
	for i := range uint32(MaxRules) {
		row := c.generic[int(i)]
		if err := g.maps.GenericRules.Update(c.gen*MaxRules+i, &row, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("write the generic route's conditions: %w", err)
		}
	}
	return nil
}

// genericOpen says what the generic route leaves open for policy c: the
// 32-bit entry, which fires no per-syscall tracepoint, and deny rules
// that cannot refuse here. Callers hold g.mu.
func (g *Guard) genericOpen(c *compiled) []string {
	var named, signalled, refused []string
	for _, s := range slices.Sorted(maps.Keys(c.genericNeeds)) {
		named = append(named, s.String())
		if !c.genericNeeds[s].veto {
			continue
		}
		if err := g.vetoRefused[s]; err != nil {
			refused = append(refused, fmt.Sprintf("%s (%v)", s, err))
		} else if g.tier == TierSignal {
			signalled = append(signalled, s.String())
		}
	}
	var open []string
	if len(named) > 0 {
		open = append(open, "32-bit calls (int $0x80) of "+strings.Join(named, ", ")+": the generic route sees 64-bit "+
			"calls only, in every tier (their tracepoints do not fire for the 32-bit entry)")
	}
	if len(signalled) > 0 {
		open = append(open, "deny rules on "+strings.Join(signalled, ", ")+" cannot refuse in the signal tier: "+
			"they send SIGKILL at the call's entry, and the call runs before the caller dies")
	}
	if len(refused) > 0 {
		open = append(open, "deny rules on "+strings.Join(refused, ", ")+": the kernel refused the veto, so they "+
			"send SIGKILL at the call's entry instead, and the call runs")
	}
	return open
}
