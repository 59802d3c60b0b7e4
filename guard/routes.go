package guard

import (
	"os"
	"strings"
)

// OpenRoutes lists the ways to another process's memory that the rules in
// force leave open, each with what would close it. sigguard says so at
// start: a guard that is silent about its gaps invites false confidence.
func (g *Guard) OpenRoutes() []string {
	g.mu.Lock()
	cur := g.current
	compat := g.compatEnter != nil || g.compatExit != nil
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
	if ioUringEnabled() {
		open = append(open, "io_uring can open /proc/<pid>/mem without an open syscall (not covered yet; "+
			"sysctl kernel.io_uring_disabled=2 closes it where the kernel has it)")
	}
	return open
}

// ioUringEnabled reads kernel.io_uring_disabled (Linux 6.6+): 2 disables
// io_uring for everyone. Older kernels have no switch.
func ioUringEnabled() bool {
	b, err := os.ReadFile("/proc/sys/kernel/io_uring_disabled")
	return err != nil || strings.TrimSpace(string(b)) != "2"
}
