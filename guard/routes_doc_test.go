package guard

import (
	"strings"
	"testing"

	"github.com/sigguard/sigguard/internal/syscalls"
)

const (
	// The lines between these two are made from routes.
	routesBegin = "<!-- made from the rows of guard/syscalls.go; go test ./guard -run TestSyscallsTableInDocs -update rewrites it -->\n"
	routesEnd   = "<!-- end of the syscalls -->\n"
)

// docs/policy.md's Syscalls table is the route table's rows: what each
// guards, where it is hooked and judged, how its target is found.
func TestSyscallsTableInDocs(t *testing.T) {
	checkDocBlock(t, "Syscalls table", routesBegin, routesEnd, routesDoc())
}

func routesDoc() string {
	var b strings.Builder
	b.WriteString("| name | guards | judged | target |\n|---|---|---|---|\n")
	for _, r := range routes {
		hook := "`tp_btf/io_uring_complete`, `tp_btf/io_uring_file_get`"
		if r.tracepoint != "" {
			hook = "`syscalls/" + r.tracepoint + "`"
		}
		when := "at syscall entry, "
		if r.atExit {
			when = "on the opened file, "
		}
		b.WriteString("| `" + r.name + "` | " + r.guards + " | " + when + hook + " | " + r.target + " |\n")
	}
	b.WriteString("| any other syscall of the x86-64 table (`unshare`, `read`, `openat`...) | every call of it " +
		"| at syscall entry, `syscalls/sys_enter_<name>`; a rule with `when` at its exit, `syscalls/sys_exit_<name>` " +
		"| none: see [Any syscall](#any-syscall) |\n")
	for _, p := range []string{"proc-mem", "memory-access"} {
		var names []string
		for _, s := range Presets[p] {
			names = append(names, "`"+s.String()+"`")
		}
		b.WriteString("| `" + p + "` (preset) | " + strings.Join(names, ", ") + " | | |\n")
	}
	for _, p := range syscalls.Presets {
		names := make([]string, len(p.Syscalls))
		for i, s := range p.Syscalls {
			names[i] = "`" + s + "`"
		}
		b.WriteString("| `" + p.Name + "` (preset) | " + strings.Join(names, ", ") + ": " + p.Doc + " | | |\n")
	}
	return b.String()
}
