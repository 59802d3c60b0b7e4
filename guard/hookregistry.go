package guard

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/sigguard/sigguard/internal/bpf"
)

// hookRole says what an attached hook serves.
type hookRole uint8

const (
	// roleRoute is a route's syscall tracepoint, or one of the tp_btf
	// programs of a route with no syscall of its own (io_uring).
	roleRoute hookRole = iota
	// roleCompatEnter and roleCompatExit are the whole-table hooks for
	// 32-bit syscalls (see syncCompat).
	roleCompatEnter
	roleCompatExit
	// roleVeto is a deny tier's hook.
	roleVeto
	// roleConfirmExit confirms kills by the process's exit.
	roleConfirmExit
	// roleNoteStop notes whom a killed caller had stopped, for clean-up.
	roleNoteStop
	// roleNoteSharing notes processes that share a descriptor table, so
	// that kills reach them (sharers.go).
	roleNoteSharing
	// roleGenericEnter, roleGenericExit and roleGenericVeto serve a
	// syscall of the generic route: its entry and exit tracepoints, and a
	// deny tier's veto of its function (generichooks.go).
	roleGenericEnter
	roleGenericExit
	roleGenericVeto
	// roleUnknown is a pinned hook adopted under a name this build does
	// not give any hook: kept as found until Close.
	roleUnknown
)

var hookRoleNames = [...]string{
	roleRoute: "route", roleCompatEnter: "32-bit entry", roleCompatExit: "32-bit exit", roleVeto: "veto",
	roleConfirmExit: "exit confirmation", roleNoteStop: "stop note", roleNoteSharing: "sharing note",
	roleGenericEnter: "generic entry", roleGenericExit: "generic exit", roleGenericVeto: "generic veto", roleUnknown: "unknown",
}

func (r hookRole) String() string { return enumName(r, hookRoleNames[:], "role") }

// enumName names v, a value of one of this package's small enum types,
// from its table of names, or as kind-N when the table has none.
func enumName[T ~uint8](v T, names []string, kind string) string {
	if int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return kind + "-" + strconv.Itoa(int(v))
}

// hook is one attached hook.
type hook struct {
	// name is what it is pinned as under links/: the tracepoint of a
	// syscall tracepoint hook, else the program's name.
	name    string
	program string // the BPF program it runs
	role    hookRole
	syscall Syscall // the route it serves (roleRoute)
	link    link.Link
	pinned  bool
}

// hookNamed describes the hook pinned, or to be pinned, as name.
func hookNamed(name string) hook {
	h := hook{name: name, program: name, role: roleUnknown}
	for _, r := range routes {
		if name == r.tracepoint || slices.Contains(r.tracing, name) {
			h.role, h.syscall = roleRoute, r.syscall
			if name == r.tracepoint {
				h.program = r.program
			}
			return h
		}
	}
	for _, v := range vetoes {
		if name == v.program {
			h.role = roleVeto
			return h
		}
	}
	if g, ok := genericHookNamed(name); ok {
		return g
	}
	switch name {
	case bpf.GuardProgSgCompatEnter:
		h.role = roleCompatEnter
	case bpf.GuardProgSgCompatExit:
		h.role = roleCompatExit
	case bpf.GuardProgSgConfirmExit:
		h.role = roleConfirmExit
	case bpf.GuardProgSgNoteStop:
		h.role = roleNoteStop
	case bpf.GuardProgSgNoteSharing:
		h.role = roleNoteSharing
	}
	return h
}

// hookRegistry holds every hook a guard has attached or adopted, pinned or
// not. Callers hold g.mu (or own the guard exclusively).
type hookRegistry struct {
	linksDir string  // where hooks are pinned; "" when the guard is not pinned
	hooks    []*hook // in the order attached
}

// add registers a hook just attached as name, and pins it when the guard
// is pinned. A hook that fails to pin stays registered, so that it is
// closed with the others.
func (r *hookRegistry) add(name string, l link.Link) error {
	h := hookNamed(name)
	h.link = l
	r.hooks = append(r.hooks, &h)
	if r.linksDir == "" {
		return nil
	}
	if err := l.Pin(filepath.Join(r.linksDir, name)); err != nil {
		hint := ""
		if errors.Is(err, ebpf.ErrNotSupported) {
			hint = " (pinning syscall tracepoint links needs Linux 5.15 or later; run without --pin)"
		}
		return fmt.Errorf("pin %s: %w%s", name, err, hint)
	}
	h.pinned = true
	return nil
}

// adopt registers a hook found pinned as name.
func (r *hookRegistry) adopt(name string, l link.Link) {
	h := hookNamed(name)
	h.link, h.pinned = l, true
	r.hooks = append(r.hooks, &h)
}

// find returns the first hook that program runs, or nil.
func (r *hookRegistry) find(program string) *hook {
	for _, h := range r.hooks {
		if h.program == program {
			return h
		}
	}
	return nil
}

// findNamed returns the hook registered as name, or nil.
func (r *hookRegistry) findNamed(name string) *hook {
	for _, h := range r.hooks {
		if h.name == name {
			return h
		}
	}
	return nil
}

// has says whether a hook of role is attached.
func (r *hookRegistry) has(role hookRole) bool {
	return slices.ContainsFunc(r.hooks, func(h *hook) bool { return h.role == role })
}

// hooked says whether any hook serves route s.
func (r *hookRegistry) hooked(s Syscall) bool {
	return slices.ContainsFunc(r.hooks, func(h *hook) bool { return h.role == roleRoute && h.syscall == s })
}

// compat says whether either 32-bit syscall hook is attached.
func (r *hookRegistry) compat() bool { return r.has(roleCompatEnter) || r.has(roleCompatExit) }

// syscalls lists the routes with a hook attached, in order.
func (r *hookRegistry) syscalls() []Syscall {
	var out []Syscall
	for _, h := range r.hooks {
		if (h.role == roleRoute || h.role == roleGenericEnter) && !slices.Contains(out, h.syscall) {
			out = append(out, h.syscall)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// drop detaches a hook for good: unpinned first, or it would stay.
func (r *hookRegistry) drop(h *hook) error {
	if h.pinned {
		if err := h.link.Unpin(); err != nil {
			return err
		}
		h.pinned = false
	}
	r.hooks = slices.DeleteFunc(r.hooks, func(o *hook) bool { return o == h })
	return h.link.Close()
}

// dropRoutes detaches for good the hooks of every route need does not
// name.
func (r *hookRegistry) dropRoutes(need map[Syscall]bool) error {
	for _, h := range slices.Clone(r.hooks) {
		if h.role != roleRoute || need[h.syscall] {
			continue
		}
		if err := r.drop(h); err != nil {
			return fmt.Errorf("detach %s: %w", h.syscall, err)
		}
	}
	return nil
}

// closeAll lets go of every hook: the routes' first, then the 32-bit
// hooks, then the rest. A pinned hook stays attached through its pin: only
// this process's hold on it goes.
func (r *hookRegistry) closeAll() error {
	var errs []error
	byRole := slices.Clone(r.hooks)
	slices.SortStableFunc(byRole, func(a, b *hook) int { return int(a.role) - int(b.role) })
	for _, h := range byRole {
		err := h.link.Close()
		if err != nil && (h.role == roleRoute || h.role.generic()) {
			err = fmt.Errorf("detach %s: %w", h.syscall, err)
		}
		errs = append(errs, err)
	}
	r.hooks = nil
	return errors.Join(errs...)
}
