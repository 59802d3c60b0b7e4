package guard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/kernfs"
)

// ErrNotPinned says a directory holds no pinned guard.
var ErrNotPinned = errors.New("no pinned guard")

// PinStatus describes a pinned guard, read from its pins without loading
// anything: what is attached, which rules are in force, and its counters.
type PinStatus struct {
	Dir string
	// Reader is the pid of the sigguard reading the events, 0 if none is.
	Reader int
	// LastReport is when a reader last took note of the counters.
	LastReport time.Time
	// Tier is how the pinned programs enforce.
	Tier Tier
	// Hooks are the attached hooks, by tracepoint or program name; none
	// means the pin enforces nothing.
	Hooks []string
	// SetAside are the hooks of another build that an upgrade set aside
	// and has not yet removed: they enforce too.
	SetAside []string
	// TakingOver says a sigguard holds the pin but has not yet recorded
	// itself as the reader: Reader is then 0.
	TakingOver bool
	// Programs are the kernel ids of the hooks' programs.
	Programs []ebpf.ProgramID
	// Rules are the rules in force with their counters.
	Rules []RuleStats
	// Stats are the kernel-side counters since the pin was made.
	Stats Stats
}

// CheckPinDir refuses, as a *ConfigError, a directory that cannot be a
// pin directory: a relative path, or an existing directory outside a bpf
// filesystem. status and unpin check it before reading or removing
// anything, so that unpin never deletes ordinary files.
func CheckPinDir(dir string) error {
	if err := checkPinDirAbs(dir); err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if !kernfs.IsBPFFS(dir) {
		return configError(SettingPinDir, "%s is not on a bpf filesystem, so it holds no pins (name the directory sigguard --pin-dir was given, under %s)",
			dir, kernfs.BPFFSPath)
	}
	return nil
}

// checkPinDirAbs refuses a relative pin directory: CheckPinDir's first
// test, and a start's (claimPinDir), which mounts the bpf filesystem
// before it asks whether dir is on one.
func checkPinDirAbs(dir string) error {
	if !filepath.IsAbs(dir) {
		return configError(SettingPinDir, "%q is not an absolute path (use a directory under %s)", dir, kernfs.BPFFSPath)
	}
	return nil
}

// ReadPin describes the guard pinned in dir, or returns ErrNotPinned.
func ReadPin(dir string) (*PinStatus, error) {
	if err := CheckPinDir(dir); err != nil {
		return nil, err
	}
	p := &pinState{dir: dir}
	if !p.complete() {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotPinned)
	}
	open := func(name string) (*ebpf.Map, error) {
		m, err := ebpf.LoadPinnedMap(p.mapPath(name), &ebpf.LoadPinOptions{ReadOnly: true})
		if err != nil {
			return nil, fmt.Errorf("open pinned map %s: %w", name, err)
		}
		return m, nil
	}
	var maps bpf.GuardMaps
	var err error
	for _, m := range []struct {
		into **ebpf.Map
		name string
	}{
		{&maps.PinMeta, bpf.GuardMapPinMeta}, {&maps.Active, bpf.GuardMapActive}, {&maps.Policies, bpf.GuardMapPolicies},
		{&maps.RuleNames, bpf.GuardMapRuleNames}, {&maps.RuleCounters, bpf.GuardMapRuleCounters}, {&maps.Counters, bpf.GuardMapCounters},
	} {
		if *m.into, err = open(m.name); err != nil {
			maps.Close()
			return nil, err
		}
	}
	defer maps.Close()
	st := &PinStatus{Dir: dir}
	if err := st.readRecord(&maps, dir); err != nil {
		return nil, err
	}
	if err := st.readRules(&maps); err != nil {
		return nil, err
	}
	if err := st.readCounters(&maps); err != nil {
		return nil, err
	}
	return st, st.readHooks(p)
}

func (st *PinStatus) readRecord(maps *bpf.GuardMaps, dir string) error {
	var r bpf.GuardPinRecord
	if err := maps.PinMeta.Lookup(uint32(0), &r); err != nil {
		return fmt.Errorf("read pin record: %w", err)
	}
	var clock bootClock
	clock.sync()
	st.LastReport = clock.wall(r.ReaderSeenNs)
	st.Tier = tierOf(uint8(r.Tier))
	if pinHeld(dir) {
		// The lock is held from the start of a sigguard, the record names
		// it only once it has taken over: until then it names the last
		// reader, whose process is gone.
		if r.ReaderTgid != 0 && processExists(int(r.ReaderTgid)) {
			st.Reader = int(r.ReaderTgid)
		} else {
			st.TakingOver = true
		}
	}
	return nil
}

func (st *PinStatus) readRules(maps *bpf.GuardMaps) error {
	var gen uint32
	if err := maps.Active.Lookup(uint32(0), &gen); err != nil {
		return fmt.Errorf("read active generation: %w", err)
	}
	gen %= 2
	var policy bpf.GuardPolicy
	if err := maps.Policies.Lookup(gen, &policy); err != nil {
		return fmt.Errorf("read pinned policy: %w", err)
	}
	names, err := readNames(maps.RuleNames, gen, policy.Rules)
	if err != nil {
		return err
	}
	st.Rules, err = ruleStats(maps.RuleCounters, gen, names)
	return err
}

func (st *PinStatus) readCounters(maps *bpf.GuardMaps) error {
	for _, c := range counterFields(&st.Stats) {
		v, err := sumPerCPU(maps.Counters, uint32(c.which))
		if err != nil {
			return err
		}
		*c.into = v
	}
	return nil
}

func (st *PinStatus) readHooks(p *pinState) error {
	for _, sub := range []struct {
		dir  string
		into *[]string
	}{{pinLinksDir, &st.Hooks}, {oldLinksDir, &st.SetAside}} {
		entries, err := os.ReadDir(filepath.Join(p.dir, sub.dir))
		if errors.Is(err, os.ErrNotExist) && sub.dir == oldLinksDir {
			continue
		}
		if err != nil {
			return fmt.Errorf("read pinned links: %w (sigguard unpin --pin-dir %s removes the pin)", err, p.dir)
		}
		for _, e := range entries {
			*sub.into = append(*sub.into, e.Name())
			id, err := pinnedLinkProgram(filepath.Join(p.dir, sub.dir, e.Name()))
			if err != nil {
				return err
			}
			st.Programs = append(st.Programs, id)
		}
		sort.Strings(*sub.into)
	}
	return nil
}

// pinnedLinkProgram is the id of the program a pinned link runs.
func pinnedLinkProgram(path string) (ebpf.ProgramID, error) {
	l, err := link.LoadPinnedLink(path, nil)
	if err != nil {
		return 0, fmt.Errorf("open pinned link %s: %w (is it still a pin? sigguard unpin removes the whole pin)", path, err)
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		return 0, fmt.Errorf("read pinned link %s: %w", path, err)
	}
	return info.Program, nil
}

// Enforcing says whether any pinned hook still runs the guard's programs.
func (st *PinStatus) Enforcing() bool { return len(st.Hooks)+len(st.SetAside) > 0 }

// pinHeld says whether a running sigguard holds dir's lock.
func pinHeld(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	return false
}

// Unpin stops a pinned guard for good: its hooks are unpinned first, so
// enforcement ends before its maps go. It refuses while a sigguard is
// running with these pins. It returns what it removed.
func Unpin(dir string) ([]string, error) {
	if err := CheckPinDir(dir); err != nil {
		return nil, err
	}
	p := &pinState{dir: dir}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotPinned)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	var removed []string
	for _, sub := range pinSubdirs {
		entries, err := os.ReadDir(filepath.Join(p.dir, sub))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("read %s: %w", sub, err)
		}
		for _, e := range entries {
			path := filepath.Join(p.dir, sub, e.Name())
			if err := os.Remove(path); err != nil {
				return removed, fmt.Errorf("unpin %s: %w", path, err)
			}
			removed = append(removed, filepath.Join(sub, e.Name()))
		}
		if err := os.Remove(filepath.Join(p.dir, sub)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("remove %s: %w", sub, err)
		}
	}
	if err := os.Remove(dir); err != nil {
		return removed, fmt.Errorf("%w (it holds something sigguard did not pin: look, then remove it by hand)", err)
	}
	return removed, nil
}
