package guard

import (
	"errors"
	"fmt"
	"maps"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/kernfs"
)

// Start checks the kernel and privileges, loads the programs with cfg's
// rules and attaches the hooks they need. When Start returns without error,
// enforcement is live; on error nothing is left loaded.
func Start(cfg Config) (_ *Guard, err error) {
	policy, pin, err := checkStart(cfg)
	if err != nil {
		return nil, err
	}
	g := &Guard{progs: map[string]*ebpf.Program{}, pin: pin, notices: make(chan Notice, noticeBuffer), vetoRefused: map[Syscall]error{}}
	if pin != nil {
		g.hooks.linksDir = pin.linksDir()
	}
	defer func() {
		if err != nil {
			g.abandonPin()
			_ = g.Close()
		}
	}()
	if err := g.open(cfg); err != nil {
		return nil, err
	}
	if g.adopting() {
		err = g.adoptPin(cfg)
	} else {
		err = g.enforce(cfg, policy)
	}
	if err != nil {
		return nil, err
	}
	for _, n := range g.current.missingNotices() {
		g.notify(n)
	}
	g.followCgroups()
	return g, nil
}

// checkStart does what Start does before it loads anything: it compiles
// cfg's rules, checks privileges and the kernel, and claims the pin
// directory, if any (a bad directory is bad input, found before any bpf(2)
// call).
func checkStart(cfg Config) (*compiled, *pinState, error) {
	if err := validateRingBufferSize(cfg.RingBufferBytes); err != nil {
		return nil, nil, err
	}
	policy, err := compile(cfg, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := checkEnvironment(); err != nil {
		return nil, nil, err
	}
	var pin *pinState
	if cfg.PinDir != "" {
		if pin, err = claimPinDir(cfg.PinDir); err != nil {
			return nil, nil, err
		}
	}
	raiseMemlock()
	if err := checkKernelAndTracefs(); err != nil {
		if pin != nil {
			pin.lock.Close()
		}
		return nil, nil, err
	}
	return policy, pin, nil
}

// open creates the maps (or opens the pinned ones), exempts this process
// and opens the event reader.
func (g *Guard) open(cfg Config) (err error) {
	if err := g.load(cfg); err != nil {
		return err
	}
	if err := g.exemptSelf(); err != nil {
		return err
	}
	if g.reader, err = ringbuf.NewReader(g.maps.Events); err != nil {
		return fmt.Errorf("open ring buffer reader: %w", err)
	}
	g.clock.sync()
	return nil
}

// enforce puts policy in force on a guard that adopted nothing, and
// completes its pin.
func (g *Guard) enforce(cfg Config, policy *compiled) error {
	// The deny tier's hook goes first: from the moment a rule is in force,
	// the calls it judges are judged there.
	if err := g.chooseTier(cfg.Tier); err != nil {
		return err
	}
	// Hooks attach last, onto a policy already in place.
	if err := g.install(policy); err != nil {
		return err
	}
	if g.pin == nil {
		return nil
	}
	if err := g.pinMaps(); err != nil {
		return err
	}
	// Only now may the hooks of a guard this one replaces go.
	return g.pin.removeSetAside()
}

func checkKernelAndTracefs() error {
	if err := CheckKernel(); err != nil {
		return err
	}
	return kernfs.EnsureTracefs()
}

// raiseMemlock lifts RLIMIT_MEMLOCK, which kernels before 5.11 charge BPF
// maps and programs to; later kernels ignore it. cilium/ebpf's rlimit
// package would do the same, but probes BPF as soon as it is imported,
// and sigguard makes no bpf(2) call before its input is known to be good.
// A failure shows later as a load error, which hintFor explains.
func raiseMemlock() {
	limit := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &limit)
}

// load creates the maps. Programs are loaded as policies need them: each
// costs ~12 ms of verification here, and most policies need one or two.
func (g *Guard) load(cfg Config) error {
	spec, err := bpf.LoadGuard()
	if err != nil {
		return fmt.Errorf("read embedded bpf object: %w", err)
	}
	if cfg.RingBufferBytes != 0 {
		spec.Maps[bpf.GuardMapEvents].MaxEntries = uint32(cfg.RingBufferBytes)
	}
	var pinned map[string]*ebpf.Map
	if g.adopting() {
		pinned, err = g.pin.loadPinnedMaps(spec)
		if errors.Is(err, errOtherBuild) {
			err = g.pin.setAsideOtherBuild()
		}
		if err != nil {
			return err
		}
		defer func() {
			for _, m := range pinned {
				m.Close()
			}
		}()
	} else if g.pin != nil && !g.pin.empty() {
		// Whatever hooks it did pin still enforce: they stay until a
		// human removes them.
		g.pin.phase = pinForeign
		return fmt.Errorf("%s holds an incomplete pin, left by a sigguard that failed while pinning "+
			"(sigguard unpin --pin-dir %s removes it)", g.pin.dir, g.pin.dir)
	}
	g.spec = spec
	g.coll, err = ebpf.NewCollectionWithOptions(&ebpf.CollectionSpec{Maps: spec.Maps, Variables: spec.Variables, Types: spec.Types},
		ebpf.CollectionOptions{MapReplacements: pinned})
	if err != nil {
		return fmt.Errorf("create bpf maps: %w%s", err, hintFor(err))
	}
	// Assign takes the named maps out of coll.Maps; programs loaded later
	// need all of them, the internal .rodata and .bss included.
	g.allMaps = maps.Clone(g.coll.Maps)
	if err := g.coll.Assign(&g.maps); err != nil {
		return fmt.Errorf("create bpf maps: %w", err)
	}
	return nil
}

// program loads a program once, into the maps load created.
func (g *Guard) program(name string) (*ebpf.Program, error) {
	if p := g.progs[name]; p != nil {
		return p, nil
	}
	one := &ebpf.CollectionSpec{
		Maps: g.spec.Maps, Variables: g.spec.Variables, Types: g.spec.Types,
		Programs: map[string]*ebpf.ProgramSpec{name: g.spec.Programs[name]},
	}
	coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{MapReplacements: g.allMaps})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			// The whole log: its last lines alone rarely explain a rejection.
			return nil, fmt.Errorf("load bpf program %s: the verifier rejected it: %w\n%+v", name, err, ve)
		}
		return nil, fmt.Errorf("load bpf program %s: %w%s", name, err, hintFor(err))
	}
	defer coll.Close()
	p := coll.DetachProgram(name)
	g.progs[name] = p
	return p, nil
}
