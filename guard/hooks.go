package guard

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/bpf"
)

// attach hooks a syscall's tracepoint, once.
func (g *Guard) attach(s Syscall) error {
	if g.hooks.hooked(s) {
		return nil
	}
	h := hooks[s]
	if h.tracepoint == "" {
		return g.attachTracing()
	}
	prog, err := g.program(h.program)
	if err != nil {
		return err
	}
	l, err := retryWhileHeld(func() (link.Link, error) { return link.Tracepoint("syscalls", h.tracepoint, prog, nil) })
	if err != nil {
		hint := hintFor(err)
		if errors.Is(err, os.ErrNotExist) {
			hint = " (the kernel needs CONFIG_FTRACE_SYSCALLS for syscall tracepoints)"
		}
		return fmt.Errorf("attach tracepoint syscalls/%s: %w%s", h.tracepoint, err, hint)
	}
	return g.hooks.add(h.tracepoint, l)
}

// attachTracing hooks the route that has no syscall, io_uring, with the
// tp_btf programs this kernel takes: all of them, or, on a kernel that
// lacks them, none (OpenRoutes says so).
func (g *Guard) attachTracing() error {
	programs, why := uringPrograms()
	if why != "" {
		return nil
	}
	for _, name := range programs {
		l, err := g.attachProgram(name, name, true)
		if err != nil {
			return err
		}
		if err := g.hooks.add(name, l); err != nil {
			return err
		}
	}
	return nil
}

// isExist recognises EEXIST, which cilium/ebpf reports as text only
// ("cannot create bpf perf link: file exists").
func isExist(err error) bool {
	return err != nil && (errors.Is(err, unix.EEXIST) || strings.HasSuffix(err.Error(), unix.EEXIST.Error()))
}

// attachOnce attaches a tracing program (tp_btf) if it is not yet.
func (g *Guard) attachOnce(name string) error {
	if g.hooks.find(name) != nil {
		return nil
	}
	l, err := g.attachProgram(name, name, false)
	if err != nil {
		return err
	}
	return g.hooks.add(name, l)
}

// attachProgram loads a program and attaches it to the kernel hook it
// names by BTF; an attach error calls the hook what. A hook that a reload
// may detach and attach again retries while the kernel still holds the
// last link (retryWhileHeld); one kept until Close attaches in one try.
func (g *Guard) attachProgram(name, what string, retry bool) (link.Link, error) {
	p, err := g.program(name)
	if err != nil {
		return nil, err
	}
	attach := func() (link.Link, error) { return attachBTF(p) }
	var l link.Link
	if retry {
		l, err = retryWhileHeld(attach)
	} else {
		l, err = attach()
	}
	if err != nil {
		return nil, fmt.Errorf("attach %s: %w%s", what, err, hintFor(err))
	}
	return l, nil
}

// attachBTF attaches a program that names its kernel hook by BTF:
// link.AttachTracing takes fentry, fexit and fmod_ret programs, an LSM
// program needs link.AttachLSM (AttachTracing refuses its type).
func attachBTF(p *ebpf.Program) (link.Link, error) {
	if p.Type() == ebpf.LSM {
		return link.AttachLSM(link.LSMOptions{Program: p})
	}
	return link.AttachTracing(link.TracingOptions{Program: p})
}

// syncCompat attaches (before a switch) or detaches (after it) the two
// whole-table hooks for 32-bit syscalls: the entry hook for ptrace,
// process_vm_*, pidfd_getfd and perf_event_open, the exit hook for opens of
// /proc/<pid>/mem. Each costs every syscall of every process, so each runs
// only when the policy needs it.
func (g *Guard) syncCompat(c *compiled, detach bool) error {
	for _, want := range []struct {
		prog string
		need bool
	}{
		{bpf.GuardProgSgCompatEnter, c.compat && c.guardsAny(compatEnterSyscalls)},
		{bpf.GuardProgSgCompatExit, c.compat && c.guardsAny(Presets["proc-mem"])},
	} {
		h := g.hooks.find(want.prog)
		switch {
		case !detach && want.need && h == nil:
			l, err := g.attachProgram(want.prog, "32-bit syscall hook", true)
			if err != nil {
				return err
			}
			if err := g.hooks.add(want.prog, l); err != nil {
				return err
			}
		case detach && !want.need && h != nil:
			if err := g.hooks.drop(h); err != nil {
				return fmt.Errorf("detach 32-bit syscall hook: %w", err)
			}
		}
	}
	return nil
}

var compatEnterSyscalls = []Syscall{SyscallPtrace, SyscallProcessVMReadv, SyscallProcessVMWritev, SyscallPidfdGetfd, SyscallPerfEventOpen}

// retryWhileHeld attaches, and tries again for up to a second while the
// kernel refuses with EEXIST: a hook detached by an earlier reload stays
// attached while any process still holds its link, and a child this
// process forks holds a copy until its exec has closed it.
func retryWhileHeld(attach func() (link.Link, error)) (link.Link, error) {
	l, err := attach()
	for wait := time.Millisecond; isExist(err) && wait < time.Second; wait *= 2 {
		time.Sleep(wait)
		l, err = attach()
	}
	return l, err
}

// Compat reports whether 32-bit syscalls are hooked.
func (g *Guard) Compat() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.hooks.compat()
}

// Hooked lists the syscalls whose hooks are attached.
func (g *Guard) Hooked() []Syscall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.hooks.syscalls()
}
