package unittest

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/bpf"
)

// Object is the loaded test object. Close it: nothing of it stays loaded.
type Object struct {
	objs UnitObjects
}

// Load loads the test object. It needs the privileges the guard needs
// (root, or CAP_BPF and CAP_PERFMON).
func Load() (*Object, error) {
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
	limit := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &limit)
	o := &Object{}
	if err := LoadUnitObjects(&o.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("load test object: %w\n%+v", err, ve)
		}
		return nil, fmt.Errorf("load test object: %w", err)
	}
	return o, nil
}

// Close unloads the object.
func (o *Object) Close() error { return o.objs.Close() }

// ProgramIDs are the kernel's ids of the object's programs, to check that
// they are gone after Close.
func (o *Object) ProgramIDs() ([]ebpf.ProgramID, error) {
	var ids []ebpf.ProgramID
	for _, p := range []*ebpf.Program{o.objs.Resolve, o.objs.File, o.objs.Match, o.objs.Condition, o.objs.Rate} {
		info, err := p.Info()
		if err != nil {
			return nil, err
		}
		id, ok := info.ID()
		if !ok {
			return nil, errors.New("the kernel reports no program ids")
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Resolve runs the resolve program: nr looked up in the caller's pid
// namespace by resolve_target when fd is -1, else in the pid namespace of
// the process behind the pidfd fd (by find_pid_ns and target_pid).
// FoundNs is 0 when fd is no pidfd.
func (o *Object) Resolve(nr int64, fd int) (UnitResolveResult, error) {
	var out UnitResolveResult
	err := o.run(o.objs.Resolve, o.objs.ResolveResults, []uint64{uint64(nr), uint64(int64(fd))}, &out)
	return out, err
}

// File runs the file program on the caller's descriptor fd: what
// pidfd_pid, and is_proc_mem with proc_file_pid, make of it.
func (o *Object) File(fd int) (UnitFileResult, error) {
	var out UnitFileResult
	err := o.run(o.objs.File, o.objs.FileResults, []uint64{uint64(int64(fd))}, &out)
	return out, err
}

// Match runs matching_rules for a call of the calling thread that names
// the pid nr (in the caller's pid namespace), of syscall (an enum
// syscall_id) with ptrace request request, against the active generation
// the maps hold. The thread it runs on is in the result (Tgid, Tid).
func (o *Object) Match(nr int64, syscall uint16, request int64) (UnitMatchResult, error) {
	var out UnitMatchResult
	err := o.run(o.objs.Match, o.objs.MatchResults, []uint64{uint64(nr), uint64(syscall), uint64(request)}, &out)
	return out, err
}

// WriteGenericRule writes a rule's conditions and limit to slot
// (generation * SG_MAX_RULES + rule) of the generic route's table.
func (o *Object) WriteGenericRule(slot uint32, r bpf.GuardGenericRule) error {
	return o.objs.GenericRules.Update(slot, &r, ebpf.UpdateAny)
}

// ConditionFails runs condition_fails: whether condition ci of the rule in
// slot fails for value, judged at exit or at entry.
func (o *Object) ConditionFails(slot, ci uint32, value uint64, atExit bool) (bool, error) {
	var out UnitConditionResult
	exit := uint64(0)
	if atExit {
		exit = 1
	}
	err := o.run(o.objs.Condition, o.objs.ConditionResults, []uint64{uint64(slot), uint64(ci), value, exit}, &out)
	return out.Fails != 0, err
}

// WithinRate runs within_rate once for a call of process tgid at boot-clock
// time now: whether the rule in slot may act on it.
func (o *Object) WithinRate(slot, tgid uint32, now uint64) (bool, error) {
	var out UnitConditionResult
	err := o.run(o.objs.Rate, o.objs.ConditionResults, []uint64{uint64(slot), uint64(tgid), now}, &out)
	return out.Within != 0, err
}

// run test-runs prog once, in this thread, and reads its result.
func (o *Object) run(prog *ebpf.Program, results *ebpf.Map, args []uint64, out any) error {
	// raw_tp programs take up to 12 u64 arguments; the context is always
	// four, so that it covers every argument a program reads.
	ctx := make([]uint64, 4)
	copy(ctx, args)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ret, err := prog.Run(&ebpf.RunOptions{Context: ctx})
	if err != nil {
		return err
	}
	if ret != 0 {
		return fmt.Errorf("%v returned %d", prog, ret)
	}
	return results.Lookup(uint32(0), out)
}

// WriteGeneration fills generation gen of the policy maps, as the guard
// does, with what user space compiled (the guard's own types: the test
// object's maps have the same C types), and makes it the active one.
// Values left in the generation by an earlier write are removed first.
func (o *Object) WriteGeneration(gen uint32, policy bpf.GuardPolicy, rules []bpf.GuardRule,
	matchers map[bpf.GuardMatcherKey]bpf.GuardMatcherMasks) error {
	m := o.objs
	generations := m.Policies.MaxEntries()              // SG_GENERATIONS
	perGeneration := m.Rules.MaxEntries() / generations // SG_MAX_RULES
	if gen >= generations || uint32(len(rules)) > perGeneration {
		return fmt.Errorf("generation %d of %d rules: the maps hold %d generations of %d", gen, len(rules), generations, perGeneration)
	}
	var stale []bpf.GuardMatcherKey
	var k bpf.GuardMatcherKey
	var v bpf.GuardMatcherMasks
	it := m.Matchers.Iterate()
	for it.Next(&k, &v) {
		if k.Generation == gen {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("list matchers: %w", err)
	}
	for _, k := range stale {
		if err := m.Matchers.Delete(k); err != nil {
			return fmt.Errorf("delete matcher: %w", err)
		}
	}
	for k, v := range matchers {
		if k.Generation != gen {
			return fmt.Errorf("matcher %+v is not of generation %d", k, gen)
		}
		if err := m.Matchers.Update(k, v, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("write matcher: %w", err)
		}
	}
	for i := uint32(0); i < perGeneration; i++ {
		var r bpf.GuardRule
		if int(i) < len(rules) {
			r = rules[i]
		}
		if err := m.Rules.Update(gen*perGeneration+i, r, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("write rule %d: %w", i, err)
		}
	}
	if err := m.Policies.Update(gen, policy, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("write policy: %w", err)
	}
	if err := m.Active.Update(uint32(0), gen, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("activate generation %d: %w", gen, err)
	}
	return nil
}
