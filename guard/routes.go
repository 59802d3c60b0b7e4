package guard

import (
	"strings"
)

// OpenRoutes lists the ways to another process's memory that the rules in
// force leave open, each with what would close it. sigguard says so at
// start: a guard that is silent about its gaps invites false confidence.
func (g *Guard) OpenRoutes() []string {
	g.mu.Lock()
	cur := g.current
	compat := g.hooks.compat()
	sharers := g.sharers
	var generic []string
	if cur != nil {
		generic = g.genericOpen(cur) // reads vetoRefused, which installs write
	}
	g.mu.Unlock()
	if cur == nil {
		return nil
	}
	var open, unguarded []string
	for _, s := range Presets["memory-access"] {
		if !cur.syscalls[s] {
			unguarded = append(unguarded, s.String())
		}
	}
	if len(unguarded) > 0 {
		open = append(open, strings.Join(unguarded, ", ")+" (guard them: syscalls: [memory-access])")
	}
	if !compat {
		open = append(open, "32-bit syscalls (int $0x80) fire no syscall tracepoint (catch them: compat: true)")
	}
	if g.tier == TierSignal && cur.guardsAny(descriptorRoutes) {
		open = append(open, descriptorsOpen)
		if sharers == sharersUnreachable {
			open = append(open, sharersOpen)
		}
	}
	if cur.guardsAny(Presets["memory-access"]) {
		open = append(open, procDoorsOpen)
	}
	open = append(open, generic...)
	if cur.syscalls[SyscallIoUring] && ioUringEnabled() {
		if why := uringOpen(g.tier); why != "" {
			open = append(open, why+" (sysctl kernel.io_uring_disabled=2 turns io_uring off where the kernel has the switch)")
		}
	}
	return open
}

// descriptorRoutes hand the caller a descriptor to another process's
// memory or files, judged only once the kernel has installed it.
var descriptorRoutes = []Syscall{SyscallOpen, SyscallOpenat, SyscallOpenat2, SyscallCreat, SyscallIoUring, SyscallPidfdGetfd}

// descriptorsOpen is what the signal tier cannot take back from such a
// route: the kill lands on the caller's process, the descriptor is in a
// table that others may share or use first.
const descriptorsOpen = "descriptors: an open of /proc/<pid>/mem is judged once the kernel has installed the descriptor, " +
	"and pidfd_getfd still installs one after its kill is queued, so another thread of the caller can use it before the " +
	"kill lands; a descriptor moved by another thread (dup2) before the judgement is not seen, and io_uring " +
	"with IORING_SETUP_DEFER_TASKRUN installs an opened descriptor before it posts the completion that is judged " +
	"(deny tiers refuse the open itself: no descriptor is ever made)"

// sharersOpen: where the kernel cannot signal another task from BPF, a
// process sharing the killed caller's descriptor table keeps the descriptor.
const sharersOpen = "descriptor sharers: this kernel has no bpf_send_signal_task (Linux 6.13), so a process sharing a killed " +
	"caller's descriptor table (clone with CLONE_FILES) keeps the descriptor the call made"

// procDoorsOpen: /proc doors to another process that pass only the
// kernel's read-mode access check, which no tier judges (every ps and top
// passes it).
const procDoorsOpen = "/proc/<pid>/environ, /proc/<pid>/fd/<n> (reopening the process's files) and /proc/<pid>/map_files " +
	"pass only the kernel's read-mode ptrace check, which sigguard does not judge in any tier (restrict them with " +
	"hidepid=invisible on /proc, or by running processes as separate users)"

// uringOpen says what of io_uring's way to /proc/<pid>/mem a guard in
// tier leaves open when a rule guards it.
func uringOpen(tier Tier) string {
	if !uringNative() {
		return "io_uring's workers are kernel threads before Linux 5.12: the opens they make are not caught"
	}
	if tier != TierSignal {
		return "" // refused in the ptrace access check, as every open is
	}
	if _, why := uringPrograms(); why != "" {
		return "io_uring opens of /proc/<pid>/mem: " + why
	}
	return "io_uring opens flagged IOSQE_CQE_SKIP_SUCCESS post no completion: their file is not seen when a read or " +
		"write syscall or a fixed-file slot uses it, and an io_uring write on it is caught but may land before the kill " +
		"(deny tiers refuse such opens)"
}
